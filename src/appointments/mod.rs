//! Appointments: booking, the parties' lists, doctor assignment and status changes, serialized
//! per hospital by `HospitalDesk` actors and made safe across processes by the database
//! (row locks, exclusion constraints against overlapping confirmed slots).

pub mod desk;
pub mod jobs;
pub mod model;
pub mod policy;
pub mod repo;
pub mod routes;
pub mod service;
