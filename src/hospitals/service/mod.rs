//! The hospitals context's rules and transactions, one file per aggregate: `hospitals` (the
//! directory and the owner's changes), `registration` (registration and approval),
//! `departments`, `doctors` (profiles) and `doctor_accounts` (a doctor's login: creation and
//! password resets). Each change reads and locks its row, checks the request against it, writes,
//! audits and commits in one transaction; routes only extract and answer.

pub mod departments;
pub mod doctor_accounts;
pub mod doctors;
pub mod hospitals;
pub mod registration;

pub use self::hospitals::visible_hospital;
