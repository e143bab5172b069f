//! The operations console: server-rendered pages at `/console/` for admins, served by
//! `carehub serve` itself (no second app). Its own login (password, then a TOTP second factor,
//! enrolled at the first login), a cookie session with CSRF tokens on every form, and no script
//! at all: every read and every action works as plain links and forms that post and redirect.
//!
//! The console is a view: every action calls the service of the context that owns the rule
//! (hospital approval, account activation, job retries, the recommendation cache), so the API and
//! the console cannot drift apart. Its own SQL (sessions, second factors, read-only overviews)
//! lives in `repo/`.

pub mod admin;
pub mod assets;
pub mod cache;
pub mod charts;
pub mod error;
pub mod layout;
pub mod login;
pub mod mfa;
pub mod pages;
pub mod probes;
pub mod repo;
pub mod routes;
pub mod session;
pub mod totp;
