//! The console's pages, one file each: what they show is read through the contexts (or the
//! console's own read-only `repo`), what they change goes through the contexts' services.

pub mod audit;
pub mod hospitals;
pub mod overview;
pub mod queues;
pub mod recommendations;
pub mod sms;
pub mod users;
