//! The signed-in console admin, as pages and actions see it (its extractor is in `session`).

use uuid::Uuid;

use crate::accounts::model::Principal;

/// A console session's CSRF token, checked against every form it posts.
pub trait HasCsrf {
    fn csrf(&self) -> &str;
}

/// The signed-in console admin (password and second factor passed).
#[derive(Debug, Clone)]
pub struct Admin {
    /// The admin as the contexts' services take a caller (`session_id` is the console session's).
    pub principal: Principal,
    pub username: String,
    pub csrf: String,
    pub session_id: Uuid,
}

impl HasCsrf for Admin {
    fn csrf(&self) -> &str {
        &self.csrf
    }
}
