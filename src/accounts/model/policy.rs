//! Who may do what with accounts: the one place these rules live.

use super::Principal;

/// A refusal, with the reason shown to the caller (403).
#[derive(Debug, Clone, Copy)]
pub struct Denied(pub &'static str);

/// Admins list every user; anyone else sees only themselves.
pub fn may_list_all_users(principal: &Principal) -> bool {
    principal.is_admin()
}

pub fn may_view_dashboard(principal: &Principal) -> bool {
    principal.is_admin()
}

/// Queue operations (statistics, re-queueing dead jobs) are the admins'.
pub fn may_operate(principal: &Principal) -> bool {
    principal.is_admin()
}

pub fn require(allowed: bool, reason: &'static str) -> Result<(), Denied> {
    if allowed { Ok(()) } else { Err(Denied(reason)) }
}
