//! The stored-file pipeline of reports and prescription attachments:
//! upload → store → scan → download.
//!
//! - [`upload`]: a `multipart/form-data` body read part by part; [`intake`] streams its `file`
//!   part into the store (type sniffed from the first bytes, size capped, SHA-256 computed).
//!   [`kind`] says what a file is (its cleaned name, extension, content type).
//! - [`storage`]: the object store (`STORAGE_URL`) and the generated keys objects live under.
//! - [`jobs`] and [`scan`]: each stored file is scanned by clamd once (a job queued with the
//!   upload's transaction, a schedule for files left PENDING); the verdict is a
//!   [`model::ScanStatus`], written once.
//! - [`download`], [`links`] and [`presented`]: a CLEAN file served as an attachment, with a
//!   bearer token or through a signed link (made by `links`, checked by `presented`).
//! - [`repo`]: every SQL statement of `stored_files`.

pub mod download;
pub mod intake;
pub mod jobs;
pub mod kind;
pub mod links;
pub mod model;
pub mod presented;
pub mod repo;
pub mod scan;
pub mod storage;
pub mod upload;
