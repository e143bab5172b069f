//! Hospital, department and doctor types, the rules on their input (coordinates, weekly
//! timings, generated usernames), the request and response shapes of every route, and who may
//! see or change what (`policy`): the one place the tenant rules of this context live.
//!
//! One file per aggregate: `hospital` (the record and the directory's query), `nearby`,
//! `hospital_request` (the hospital fields of a request and their checks), `registration`
//! (registration and approval shapes), `department`, `doctor`, `timings`, `username`.

mod department;
mod doctor;
mod hospital;
mod hospital_request;
mod nearby;
pub mod policy;
mod registration;
mod timings;
mod username;

pub use self::{
    department::*, doctor::*, hospital::*, hospital_request::*, nearby::*, registration::*, timings::*, username::*,
};
