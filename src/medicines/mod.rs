//! Medicines: the formulary (a reviewed data file loaded into Postgres), its typo-tolerant
//! search, and recommendations grounded in it.

pub mod formulary;
pub mod model;
pub mod recommendations;
pub mod repo;
pub mod routes;
