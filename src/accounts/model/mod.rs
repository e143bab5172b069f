//! Account types and the rules on them: roles and the authenticated principal (`principal`),
//! accounts as shown and logins as stored (`user`), the value types that parse untrusted input
//! (`values`), reading request fields (`fields`), request and response bodies (`bodies`) and who
//! may do what (`policy`).

mod bodies;
mod fields;
pub mod policy;
mod principal;
mod user;
mod values;

pub use bodies::*;
pub use fields::*;
pub use principal::*;
pub use user::*;
pub use values::*;
