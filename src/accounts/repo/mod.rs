//! Every SQL statement of the accounts context, one file per aggregate: accounts (`users`), what
//! a login checks (`credentials`), logins and their refresh tokens (`sessions`), a doctor's
//! password resets (`password_resets`) and the admin's counts (`stats`).

mod credentials;
pub mod password_resets;
mod sessions;
mod stats;
mod users;

pub use credentials::*;
pub use sessions::*;
pub use stats::*;
pub use users::*;
