//! The `file` part of an upload streamed into the object store under a generated key: the first
//! bytes held until the magic number is known (it must agree with the extension of the client's
//! file name, else 415 and nothing written), then every chunk written as it comes, counted (past
//! the limit the write is aborted: 413) and hashed (SHA-256).

use actix_multipart::Field;
use futures::StreamExt as _;
use sha2::{Digest as _, Sha256};
use tokio::io::AsyncWriteExt as _;

use super::{
    kind::{EXTENSIONS, clean_file_name, extension_of, sniff},
    model::StoredObject,
    storage::Storage,
};
use crate::{errors::FieldErrors, http::error::ApiError};

/// Bytes held before the file's type is decided.
const SNIFF_BYTES: usize = 8 * 1024;
/// What is still read (and dropped) of a file past the limit, so the client, still sending,
/// reads the 413 instead of a reset connection.
pub const DRAIN_BYTES: u64 = 4 * 1024 * 1024;

pub fn malformed(err: impl std::fmt::Display) -> ApiError {
    ApiError::Malformed(format!("multipart body - {err}"))
}

pub fn unsupported(extension: Option<&str>) -> ApiError {
    ApiError::UnsupportedMediaType(match extension {
        Some(extension) => format!("{extension} file whose content is not {extension}"),
        None => format!("file type (allowed: {})", EXTENSIONS.join(", ")),
    })
}

/// Past the limit: reads on (dropping) up to [`DRAIN_BYTES`], so a client still sending gets
/// the 413.
pub async fn drain_after_limit(field: &mut Field) {
    let mut drained = 0u64;
    while drained < DRAIN_BYTES {
        match field.next().await {
            Some(Ok(chunk)) => drained += chunk.len() as u64,
            _ => break,
        }
    }
}

/// Streams the file part to the store: the first [`SNIFF_BYTES`] held until the type is known,
/// then every chunk written as it comes, counted and hashed.
pub async fn store_file(
    field: &mut Field,
    client_name: &str,
    storage: &Storage,
    limit: u64,
    key_for: impl FnOnce(&str) -> String,
) -> Result<StoredObject, ApiError> {
    let original_name = clean_file_name(client_name);
    let extension = extension_of(&original_name).ok_or_else(|| unsupported(None))?;
    let mut hasher = Sha256::new();
    let mut size = 0u64;
    let mut head = Vec::with_capacity(SNIFF_BYTES);
    let mut ended = true;
    while let Some(chunk) = field.next().await {
        let chunk = chunk.map_err(malformed)?;
        size += chunk.len() as u64;
        if size > limit {
            drain_after_limit(field).await;
            return Err(ApiError::PayloadTooLarge);
        }
        hasher.update(&chunk);
        head.extend_from_slice(&chunk);
        if head.len() >= SNIFF_BYTES {
            ended = false;
            break;
        }
    }
    if size == 0 {
        return Err(FieldErrors::single("file", "The submitted file is empty.").into());
    }
    let content_type = sniff(extension, &head).ok_or_else(|| unsupported(Some(extension)))?;
    let key = key_for(extension);
    let mut writer = storage.writer(&key);
    let written = async {
        writer.write_all(&head).await.map_err(|e| ApiError::Internal(e.into()))?;
        drop(head);
        if !ended {
            while let Some(chunk) = field.next().await {
                let chunk = chunk.map_err(malformed)?;
                size += chunk.len() as u64;
                if size > limit {
                    return Err(ApiError::PayloadTooLarge);
                }
                hasher.update(&chunk);
                writer.write_all(&chunk).await.map_err(|e| ApiError::Internal(e.into()))?;
            }
        }
        Ok(())
    }
    .await;
    if let Err(err) = written {
        if let Err(abort) = writer.abort().await {
            tracing::warn!(key, error = %abort, "could not abort an upload");
        }
        if matches!(err, ApiError::PayloadTooLarge) {
            drain_after_limit(field).await;
        }
        return Err(err);
    }
    if let Err(err) = writer.shutdown().await {
        storage.delete_quietly(&key).await;
        return Err(ApiError::Internal(err.into()));
    }
    Ok(StoredObject {
        key,
        original_name,
        extension: extension.to_owned(),
        content_type,
        size: i64::try_from(size).unwrap_or(i64::MAX),
        sha256: hasher.finalize().to_vec(),
    })
}
