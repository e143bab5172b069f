//! The accounts' rules and transactions: login, refresh and logout (`login`), password changes
//! (`password`) and a doctor's password reset (`password_reset`), registration (`registration`),
//! the caller's profile and the admin's views (`profile`), an admin's deactivation and
//! reactivation of an account (`activation`).

pub mod activation;
pub mod login;
pub mod password;
pub mod password_reset;
pub mod profile;
pub mod registration;
