//! CareHub: a multi-tenant healthcare booking-and-records service. The binary (`src/main.rs`)
//! is a thin command-line layer over this library.

pub mod access;
pub mod accounts;
pub mod actors;
pub mod appointments;
pub mod audit;
pub mod cli;
pub mod config;
pub mod console;
pub mod errors;
pub mod hospitals;
pub mod http;
pub mod ids;
pub mod jobs;
pub mod locks;
pub mod medicines;
pub mod notified;
pub mod ops;
pub mod records;
pub mod signing;
pub mod startup;
pub mod state;
pub mod telemetry;
