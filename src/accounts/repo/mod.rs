//! Every SQL statement of the accounts context, one file per aggregate: accounts (`users`), what
//! a login checks (`credentials`), logins and their refresh tokens (`sessions`), a doctor's
//! password resets (`password_resets`), the admin's counts (`stats`), an admin's deactivation
//! and reactivation of an account (`activation`) and the admins' search of accounts (`search`).

pub mod activation;
mod credentials;
pub mod password_resets;
mod search;
mod sessions;
mod stats;
mod users;

pub use credentials::*;
pub use search::*;
pub use sessions::*;
pub use stats::*;
pub use users::*;
