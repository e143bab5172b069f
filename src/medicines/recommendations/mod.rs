//! Medicine recommendations: the server's own warnings from the formulary, and a language model's
//! (or the mock's) alternatives and suggestion, answered through the job queue.

pub mod jobs;
pub mod model;
pub mod repo;
pub mod routes;
pub mod service;
pub mod waiters;
