//! Every SQL statement of the console: its sessions and second factors, and the read-only
//! overviews of its pages (actions go through the contexts' services).

pub mod audit;
pub mod factors;
pub mod hospitals;
pub mod overview;
pub mod recommendations;
pub mod sessions;
pub mod sms;
