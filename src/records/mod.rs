//! Medical records: prescriptions (versioned), reports and prescription attachments (uploaded,
//! virus-scanned files: the pipeline is [`files`]), and a patient's summary. Who may read them
//! is decided in one place, [`policy`].

pub mod attachments;
pub mod files;
pub mod policy;
pub mod prescriptions;
pub mod reports;
pub mod routes;
pub mod summary;
