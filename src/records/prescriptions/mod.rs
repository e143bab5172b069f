//! Prescriptions: chains of immutable versions. A doctor writes one for a patient they hold a
//! grant for (or met at a confirmed appointment); an edit by its doctor is a new version; every
//! version stays readable, and lists show each chain's latest.

pub mod model;
pub mod repo;
pub mod routes;
pub mod service;
