//! Hospitals: registration and approval, the public directory and nearby search, and each
//! hospital's departments and doctors, isolated per tenant.

pub mod departments;
pub mod doctors;
pub mod model;
pub mod repo;
pub mod routes;
