//! Hospitals: registration and approval, the public directory and nearby search, and each
//! hospital's departments and doctors, isolated per tenant.
//!
//! `routes/` (handlers, one file per resource) → `service/` (rules and transactions) → `repo/`
//! (all SQL) → `model/` (types, request and response shapes, checks, `policy`); `cache` holds
//! the public directory's pages for `AppState`.

pub mod cache;
pub mod model;
pub mod repo;
pub mod routes;
pub mod service;
