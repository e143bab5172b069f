//! Access to a patient's records: one-time codes (OTP) a patient passes on to a doctor, and the
//! access grants a verified code gives. Issuance, verification and grant changes for one patient
//! are serialized by that patient's desk (an actor, [`desk`]) inside a process, and by an
//! advisory lock on the patient in Postgres across processes ([`service`]). Who may read records
//! with a grant is decided by `records::policy`.

pub mod desk;
pub mod jobs;
pub mod model;
pub mod repo;
pub mod routes;
pub mod service;
