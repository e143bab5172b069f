//! Every SQL statement of the hospitals context. Functions that touch one hospital's data take
//! that hospital's id and filter by it: another hospital's row is simply not found.
//!
//! Split by what the statements serve: `hospitals` (registration, approval, the record),
//! `directory` (the directory's pages and nearby search), `departments`, `doctors`; `select`
//! holds the column list of the one statement built at run time. Callers use
//! `hospitals::repo::…` as one module.
//!
//! Every `lock_…` reads one row and locks it (`FOR UPDATE`) for the rest of the caller's
//! transaction: the shape of every read-modify-write here (PUT and PATCH merge the request into
//! the current row and write every field back). A concurrent change of the same row waits for
//! this one to commit and then reads the result, instead of overwriting it with what it read
//! before.

mod departments;
mod directory;
mod doctors;
mod hospitals;
mod select;

pub use self::{departments::*, directory::*, doctors::*, hospitals::*};
