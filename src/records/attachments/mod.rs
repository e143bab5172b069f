//! Prescription attachments: a file the prescribing doctor adds to one version of a
//! prescription, shown with every version of its chain ([`service::for_chain`], which the
//! prescription detail calls), uploaded and scanned as reports are (`records::files`), served
//! once clean to the parties of the prescription (its patient, its doctor, a doctor holding a
//! grant, an admin).

pub mod model;
pub mod repo;
pub mod routes;
pub mod service;
