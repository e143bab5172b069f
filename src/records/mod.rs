//! Medical records: prescriptions (versioned), reports and prescription attachments (uploaded,
//! virus-scanned files), and a patient's summary. Who may read them is decided in one place,
//! [`policy`].

pub mod attachments;
pub mod download;
pub mod file_kind;
pub mod files;
pub mod links;
pub mod policy;
pub mod prescriptions;
pub mod reports;
pub mod routes;
pub mod scan;
pub mod storage;
pub mod summary;
pub mod upload;
