//! Receiving an uploaded file: a `multipart/form-data` body read part by part, the `file` part
//! streamed chunk by chunk into the object store under a generated key while its size is
//! counted (past the limit the write is aborted: 413) and its SHA-256 computed. The first bytes
//! are held until the magic number is known: it must agree with the extension of the client's
//! file name (else 415, nothing written). The text parts are read with a small limit each. The
//! client's file name is cleaned and kept as metadata only.
//!
//! One request carries one file: a second `file` part is a 400 naming `file`. The whole body is
//! capped at the file limit plus [`FORM_ALLOWANCE`] (the text parts, boundaries and part headers):
//! past it the read stops with a 413, whatever the parts.
//!
//! Whoever calls [`receive`] owns the stored object from then on: a later refusal (a field that
//! breaks the rules, the uploader's access that ended while the file streamed in, a failed
//! insert) must remove it ([`Storage::delete_quietly`]). Access is decided before the body is
//! read and again in the transaction that writes the row: an upload takes seconds, a grant can
//! end meanwhile.

use std::{cell::Cell, collections::BTreeMap, rc::Rc};

use actix_multipart::{Field, Multipart};
use actix_web::{
    error::PayloadError,
    http::header::{self, HeaderMap},
    web,
};
use bytes::Bytes;
use futures::{Stream, StreamExt as _};

use super::{
    intake::{DRAIN_BYTES, malformed, store_file},
    model::StoredObject,
    storage::Storage,
};
use crate::{
    errors::FieldErrors,
    http::{error::ApiError, nul::NUL_MESSAGE},
};

/// Largest text part.
const TEXT_LIMIT: usize = 64 * 1024;
/// What a whole upload request may carry beyond its file: the text parts, the boundaries and
/// the part headers together.
pub const FORM_ALLOWANCE: u64 = 64 * 1024;
const ONE_FILE: &str = "Send one file per upload.";
/// Most parts one upload may have.
const MAX_PARTS: usize = 32;

/// A received upload: the file when one was sent, and the text parts by name.
#[derive(Debug, Default)]
pub struct Received {
    pub file: Option<StoredObject>,
    pub fields: BTreeMap<String, String>,
}

impl Received {
    /// The text part `name`, trimmed, `None` when absent or blank.
    pub fn text(&self, name: &str) -> Option<&str> {
        self.fields.get(name).map(|v| v.trim()).filter(|v| !v.is_empty())
    }
}

/// The one shape of every upload route: receives the body ([`receive`], the file into the store
/// at `key_for(extension)`), then `save`s what came (the rows, in a transaction of its own). When
/// saving fails (a field that breaks the rules, access that ended while the file streamed in, a
/// failed insert) the stored object is removed before the error is answered.
pub async fn receive_and_save<T>(
    headers: &HeaderMap,
    payload: web::Payload,
    storage: &Storage,
    limit: u64,
    key_for: impl FnOnce(&str) -> String,
    save: impl AsyncFnOnce(&Received) -> Result<T, ApiError>,
) -> Result<T, ApiError> {
    let received = receive(headers, payload, storage, limit, key_for).await?;
    let saved = save(&received).await;
    if saved.is_err()
        && let Some(file) = &received.file
    {
        storage.delete_quietly(&file.key).await;
    }
    saved
}

/// Reads a `multipart/form-data` body: the `file` part into the store at `key_for(extension)`,
/// the other parts as text. Anything but multipart is a 415.
pub async fn receive(
    headers: &HeaderMap,
    payload: web::Payload,
    storage: &Storage,
    limit: u64,
    key_for: impl FnOnce(&str) -> String,
) -> Result<Received, ApiError> {
    let media = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or_default();
    let essence = media.split(';').next().unwrap_or_default().trim().to_ascii_lowercase();
    if essence != "multipart/form-data" {
        return Err(ApiError::UnsupportedMediaType(essence.chars().take(100).collect()));
    }
    let over = Rc::new(Cell::new(false));
    let mut multipart = Multipart::new(headers, capped(payload, limit.saturating_add(FORM_ALLOWANCE), over.clone()));
    let mut received = Received::default();
    let mut key_for = Some(key_for);
    let read = async {
        let mut parts = 0;
        while let Some(field) = multipart.next().await {
            let mut field = field.map_err(malformed)?;
            parts += 1;
            if parts > MAX_PARTS {
                return Err(ApiError::Malformed(format!("more than {MAX_PARTS} parts")));
            }
            let name = field.name().unwrap_or_default().replace('\0', "");
            let file_name = field.content_disposition().and_then(|cd| cd.get_filename()).map(str::to_owned);
            match (name.as_str(), file_name, key_for.take()) {
                ("file", Some(file_name), Some(key_for)) => {
                    received.file = Some(store_file(&mut field, &file_name, storage, limit, key_for).await?);
                }
                ("file", Some(_), None) => return Err(FieldErrors::single("file", ONE_FILE).into()),
                ("file", None, _) => {
                    let message = "The submitted data was not a file. Check the encoding type on the form.";
                    return Err(FieldErrors::single("file", message).into());
                }
                (_, _, unused) => {
                    key_for = key_for.or(unused);
                    let value = read_text(&mut field, &name).await?;
                    received.fields.insert(name, value);
                }
            }
        }
        Ok(())
    };
    let result = read.await;
    match result {
        Ok(()) => Ok(received),
        Err(err) => {
            if let Some(file) = &received.file {
                storage.delete_quietly(&file.key).await;
            }
            // Whatever part was being read when the body passed its cap, the answer is a 413.
            Err(if over.get() { ApiError::PayloadTooLarge } else { err })
        }
    }
}

/// The request body, ending in an error once more than `cap` bytes came in (`over` then set).
/// Past the cap it reads on (dropping) up to [`DRAIN_BYTES`], so a client still sending reads
/// the 413.
fn capped(
    payload: web::Payload,
    cap: u64,
    over: Rc<Cell<bool>>,
) -> impl Stream<Item = Result<Bytes, PayloadError>> + 'static {
    futures::stream::unfold(Some((payload, 0u64)), move |state| {
        let over = over.clone();
        async move {
            let (mut payload, total) = state?;
            match payload.next().await? {
                Err(err) => Some((Err(err), None)),
                Ok(chunk) => {
                    let total = total + chunk.len() as u64;
                    if total <= cap {
                        return Some((Ok(chunk), Some((payload, total))));
                    }
                    over.set(true);
                    let mut drained = 0u64;
                    while drained < DRAIN_BYTES {
                        match payload.next().await {
                            Some(Ok(chunk)) => drained += chunk.len() as u64,
                            _ => break,
                        }
                    }
                    Some((Err(PayloadError::Overflow), None))
                }
            }
        }
    })
    // The multipart reader may poll again after the end.
    .fuse()
}

/// A text part, at most [`TEXT_LIMIT`] bytes of UTF-8 without NUL characters.
async fn read_text(field: &mut Field, name: &str) -> Result<String, ApiError> {
    let field_name = if name.is_empty() { "non_field_errors" } else { name };
    let mut bytes = Vec::new();
    while let Some(chunk) = field.next().await {
        let chunk = chunk.map_err(malformed)?;
        if bytes.len() + chunk.len() > TEXT_LIMIT {
            let message = format!("Ensure this field has no more than {TEXT_LIMIT} bytes.");
            return Err(FieldErrors::single(field_name, message).into());
        }
        bytes.extend_from_slice(&chunk);
    }
    let text = String::from_utf8(bytes).map_err(|_| FieldErrors::single(field_name, "Not valid UTF-8 text."))?;
    if text.contains('\0') {
        return Err(FieldErrors::single(field_name, NUL_MESSAGE).into());
    }
    Ok(text)
}
