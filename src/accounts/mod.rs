//! Accounts: users of the four roles, login and the refresh-token families behind it, password
//! rules and changes, patient registration, the admin's view of users.
//!
//! The usual homes: `routes/` (handlers, one file per resource), `service/` (rules and
//! transactions), `repo/` (all SQL), `model/` (types, parsing, request and response bodies),
//! `jobs` (the password reset's SMS). Beside them: `password` (argon2 hashing on its own threads),
//! `tokens` (access JWTs, refresh tokens), `sessions` (the per-process cache of login states),
//! `throttle` and `device` (failed-login budgets and the device cookies exempting known clients),
//! `password_change` (the `Password-Change-Required` response header).

pub mod device;
pub mod jobs;
pub mod model;
pub mod password;
pub mod password_change;
pub mod repo;
pub mod routes;
pub mod service;
pub mod sessions;
pub mod throttle;
pub mod tokens;
