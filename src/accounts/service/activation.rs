//! An admin deactivates or reactivates an account (from the operations console).
//!
//! Deactivation ends every login of the account in its transaction: its refresh-token families
//! are revoked, so a refresh answers 401 and an access token is refused at its next request (the
//! login check reads `is_active` and the family). Other processes forget their cached login
//! states when it commits (the triggers on `users.is_active` and `refresh_token_families` notify
//! `carehub_sessions`); this one at once ([`crate::accounts::sessions`]).
//!
//! Both are idempotent: asking for the state an account already has changes nothing and writes
//! no audit row. An admin cannot deactivate their own account. A hospital's account (and a
//! doctor's) comes back only with its hospital: reactivating one whose hospital is not approved,
//! or a doctor their hospital switched off, is refused: that is the hospital's approval (or the
//! hospital's own decision), not an account's.

use serde_json::json;

use super::super::{
    model::{Principal, UserType},
    repo::{self, UserSummary, activation},
};
use crate::{
    audit::{self, AuditEvent, RequestMeta, Via, details},
    http::error::ApiError,
    ids::UserId,
    state::AppState,
};

/// Deactivates (`active = false`) or reactivates account `user` (admins only), recording
/// `reason` (trimmed, at most 500 characters, empty = none) in the audit row; the account as it
/// now is.
pub async fn set_active(
    state: &AppState,
    caller: &Principal,
    meta: &RequestMeta,
    user: UserId,
    active: bool,
    reason: Option<&str>,
) -> Result<UserSummary, ApiError> {
    if !caller.is_admin() {
        return Err(ApiError::Forbidden("Only administrators can deactivate or reactivate accounts."));
    }
    if !active && user == caller.user_id {
        return Err(ApiError::Refused {
            code: "cannot_deactivate_self",
            detail: "An administrator cannot deactivate their own account.",
        });
    }
    let reason = details::reason(reason);
    let mut tx = state.db.begin().await?;
    let account = activation::lock_account(&mut tx, user).await?.ok_or(ApiError::NotFound)?;
    if account.is_active == active {
        let unchanged = repo::user_summary(&mut *tx, user).await?.ok_or(ApiError::NotFound)?;
        tx.rollback().await?;
        return Ok(unchanged);
    }
    let recorded = if active {
        may_reactivate(account.user_type, activation::hospital_standing(&mut tx, user).await?)?;
        activation::reactivate(&mut tx, user).await?;
        json!({ "reason": reason, "via": Via::Console.as_str() })
    } else {
        let ended = activation::deactivate(&mut tx, user).await?;
        json!({ "reason": reason, "via": Via::Console.as_str(), "logins_ended": ended })
    };
    let action = if active { "user_reactivated" } else { "user_deactivated" };
    audit::record(&mut tx, meta, AuditEvent::new(action).by(caller).target("user", user).details(recorded)).await?;
    let changed = repo::user_summary(&mut *tx, user).await?.ok_or(ApiError::NotFound)?;
    tx.commit().await?;
    // The triggers tell the other processes; this one forgets its cached login states now, so the
    // account's next request here is checked against the change.
    state.sessions.changed();
    tracing::info!(user.id = user.get(), active, "account activation changed");
    Ok(changed)
}

/// Whether an account of `user_type` standing so with its hospital may be reactivated by an admin.
fn may_reactivate(user_type: UserType, standing: activation::HospitalStanding) -> Result<(), ApiError> {
    let hospital_not_approved = ApiError::Refused {
        code: "hospital_not_approved",
        detail: "The account's hospital is not approved: approve the hospital (its approval reactivates the account) \
                 instead of reactivating the account.",
    };
    match user_type {
        UserType::Hospital if standing.hospital_approved != Some(true) => Err(hospital_not_approved),
        UserType::Doctor if standing.hospital_approved == Some(false) => Err(hospital_not_approved),
        UserType::Doctor if standing.doctor_profile_active == Some(false) => Err(ApiError::Refused {
            code: "doctor_deactivated_by_hospital",
            detail: "The doctor's hospital has deactivated this doctor: only the hospital can reactivate them.",
        }),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::accounts::repo::activation::HospitalStanding;

    fn standing(hospital_approved: Option<bool>, doctor_profile_active: Option<bool>) -> HospitalStanding {
        HospitalStanding { hospital_approved, doctor_profile_active }
    }

    fn code(result: Result<(), ApiError>) -> Option<&'static str> {
        match result {
            Err(ApiError::Refused { code, .. }) => Some(code),
            _ => None,
        }
    }

    #[test]
    fn a_hospital_account_comes_back_only_with_its_approved_hospital() {
        assert_eq!(
            code(may_reactivate(UserType::Hospital, standing(Some(false), None))),
            Some("hospital_not_approved")
        );
        assert_eq!(code(may_reactivate(UserType::Hospital, standing(None, None))), Some("hospital_not_approved"));
        assert!(may_reactivate(UserType::Hospital, standing(Some(true), None)).is_ok());
    }

    #[test]
    fn a_doctor_comes_back_only_with_an_approved_hospital_and_an_active_profile() {
        assert_eq!(
            code(may_reactivate(UserType::Doctor, standing(Some(false), Some(true)))),
            Some("hospital_not_approved")
        );
        assert_eq!(
            code(may_reactivate(UserType::Doctor, standing(Some(true), Some(false)))),
            Some("doctor_deactivated_by_hospital")
        );
        assert!(may_reactivate(UserType::Doctor, standing(Some(true), Some(true))).is_ok());
        assert!(may_reactivate(UserType::Patient, HospitalStanding::default()).is_ok());
        assert!(may_reactivate(UserType::Admin, HospitalStanding::default()).is_ok());
    }
}
