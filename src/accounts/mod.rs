//! Accounts: users of the four roles, login and the refresh-token families behind it, password
//! rules and changes, patient registration, the admin's view of users.

pub mod auth;
pub mod device;
pub mod dto;
pub mod model;
pub mod password;
pub mod password_reset;
pub mod registration;
pub mod repo;
pub mod routes;
pub mod sessions;
pub mod signup;
pub mod throttle;
pub mod tokens;
