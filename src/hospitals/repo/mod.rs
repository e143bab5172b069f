//! Every SQL statement of the hospitals context. Functions that touch one hospital's data take
//! that hospital's id and filter by it: another hospital's row is simply not found.
//!
//! Split by what the statements serve: `hospitals` (registration, approval, directory, nearby),
//! `departments`, `doctors`; `select` holds the column lists and the read-and-lock they share.
//! Callers use `hospitals::repo::…` as one module.

mod departments;
mod doctors;
mod hospitals;
mod select;

pub use self::{departments::*, doctors::*, hospitals::*};
