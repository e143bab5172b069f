//! Hospitals: registration and approval, the public directory and nearby search, and each
//! hospital's departments and doctors, isolated per tenant.

pub mod departments;
pub mod directory;
pub mod doctor_accounts;
pub mod doctors;
pub mod dto;
pub mod model;
pub mod registration;
pub mod repo;
pub mod routes;
pub mod service;
