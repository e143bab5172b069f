//! Where uploaded files live: an object store built from `STORAGE_URL` (`file://<dir>`, a
//! relative dir taken from the working directory and created if missing; `s3://bucket/prefix`
//! with the usual AWS environment), under generated keys
//! (`patient_reports/{patient_id}/{uuid}.{ext}`). The client's file name is never part of a key.

use std::sync::Arc;

use anyhow::Context as _;
use bytes::Bytes;
use futures::{Stream, StreamExt as _};
use object_store::{ObjectStore, ObjectStoreExt as _, buffered::BufWriter, path::Path};

use crate::ids::PatientId;

/// Bytes a writer holds before it sends a part: S3's smallest multipart part. An upload never
/// holds more than this in memory, whatever the file's size.
const PART_BYTES: usize = 5 * 1024 * 1024;

/// The object store and the key prefix every key lives under.
#[derive(Clone)]
pub struct Storage {
    store: Arc<dyn ObjectStore>,
    prefix: String,
}

impl std::fmt::Debug for Storage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Storage").field("store", &self.store.to_string()).field("prefix", &self.prefix).finish()
    }
}

/// What an uploaded file belongs to, which names its key's folder.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Folder {
    PatientReports,
    PrescriptionAttachments,
}

impl Folder {
    fn name(self) -> &'static str {
        match self {
            Self::PatientReports => "patient_reports",
            Self::PrescriptionAttachments => "prescription_attachments",
        }
    }
}

/// A generated key: `{folder}/{patient_id}/{uuid}.{extension}`.
pub fn new_key(folder: Folder, patient_id: PatientId, extension: &str) -> String {
    format!("{}/{patient_id}/{}.{extension}", folder.name(), uuid::Uuid::new_v4().simple())
}

impl Storage {
    /// The store `url` names: `file://<dir>` or `s3://bucket[/prefix]`.
    pub fn from_url(url: &str) -> anyhow::Result<Self> {
        if let Some(dir) = url.strip_prefix("file://") {
            let dir = std::path::Path::new(if dir.is_empty() { "." } else { dir });
            let dir = if dir.is_absolute() { dir.to_path_buf() } else { std::env::current_dir()?.join(dir) };
            std::fs::create_dir_all(&dir)
                .with_context(|| format!("creating the upload directory {}", dir.display()))?;
            let store = object_store::local::LocalFileSystem::new_with_prefix(&dir)
                .with_context(|| format!("opening the upload directory {}", dir.display()))?;
            return Ok(Self { store: Arc::new(store), prefix: String::new() });
        }
        if let Some(rest) = url.strip_prefix("s3://") {
            let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
            anyhow::ensure!(!bucket.is_empty(), "STORAGE_URL s3://bucket/prefix names no bucket");
            let store = object_store::aws::AmazonS3Builder::from_env().with_bucket_name(bucket).build()?;
            return Ok(Self { store: Arc::new(store), prefix: prefix.trim_matches('/').to_owned() });
        }
        anyhow::bail!("STORAGE_URL must start with file:// or s3://")
    }

    fn path(&self, key: &str) -> Path {
        if self.prefix.is_empty() { Path::from(key) } else { Path::from(format!("{}/{key}", self.prefix)) }
    }

    /// A writer of the object at `key`: parts go out as they fill, `shutdown` completes the
    /// object, `abort` removes what was sent.
    pub fn writer(&self, key: &str) -> BufWriter {
        BufWriter::with_capacity(self.store.clone(), self.path(key), PART_BYTES)
    }

    /// The object's bytes as a stream, and its size; `Ok(None)` when there is no such object.
    pub async fn read(
        &self,
        key: &str,
    ) -> anyhow::Result<Option<(u64, impl Stream<Item = Result<Bytes, std::io::Error>> + use<>)>> {
        match self.store.get(&self.path(key)).await {
            Ok(found) => {
                let size = found.meta.size;
                Ok(Some((size, found.into_stream().map(|chunk| chunk.map_err(std::io::Error::other)))))
            }
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(err) => Err(err.into()),
        }
    }

    /// Whether the object exists.
    pub async fn exists(&self, key: &str) -> anyhow::Result<bool> {
        match self.store.head(&self.path(key)).await {
            Ok(_) => Ok(true),
            Err(object_store::Error::NotFound { .. }) => Ok(false),
            Err(err) => Err(err.into()),
        }
    }

    /// Removes the object; one already gone is fine.
    pub async fn delete(&self, key: &str) -> anyhow::Result<()> {
        match self.store.delete(&self.path(key)).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(err) => Err(err.into()),
        }
    }

    /// Removes the object, logging (with its key, never its contents) when that fails: for
    /// clean-up after an upload that was refused or a row that was deleted.
    pub async fn delete_quietly(&self, key: &str) {
        if let Err(err) = self.delete(key).await {
            tracing::warn!(key, error = %err, "could not remove an uploaded object");
        }
    }

    /// Stores `bytes` at `key` in one put (small generated files: the demo data's).
    pub async fn put(&self, key: &str, bytes: Bytes) -> anyhow::Result<()> {
        self.store.put(&self.path(key), bytes.into()).await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_generated_under_the_folder_and_patient() {
        let key = new_key(Folder::PatientReports, PatientId(42), "pdf");
        let parts: Vec<&str> = key.split('/').collect();
        assert_eq!(parts[..2], ["patient_reports", "42"]);
        assert!(parts[2].ends_with(".pdf") && parts[2].len() == 36, "{key}");
        assert!(
            new_key(Folder::PrescriptionAttachments, PatientId(7), "png").starts_with("prescription_attachments/7/")
        );
    }

    #[test]
    fn an_unknown_scheme_is_refused() {
        assert!(Storage::from_url("ftp://x").is_err());
    }
}
