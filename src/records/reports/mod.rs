//! Patient reports: uploaded files (virus-scanned before they are served) with a title, a type
//! and a date, read by the patient, a doctor holding a grant and an admin.

pub mod model;
pub mod repo;
pub mod routes;
pub mod service;
