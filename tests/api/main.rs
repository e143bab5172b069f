//! Integration tests: the real app over HTTP against a real Postgres (a database per test) and
//! Redis. Run with `./scripts/test`.

mod access;
mod accounts;
mod activation;
mod appointments;
mod attachments;
mod audit;
mod audit_chain;
mod audit_logs;
mod audit_verifications;
mod auth;
mod cli;
mod console;
mod console_auth;
mod console_ops;
mod console_pages_a;
mod console_pages_b;
mod contract;
mod downloads;
mod drills;
mod helpers;
mod hospitals;
mod http;
mod jobs;
mod medicines;
mod ops;
mod otp_limits;
mod prescriptions;
mod reports;
mod scans;
mod trust;
mod uploads;
mod walkthrough;
