//! `POST /console/hospitals/{id}/approval/`: approve or reject a hospital through the hospitals
//! context's own service (`registration::approve`: the account activated or deactivated, its
//! logins ended, the SMS queued, the audit row written with the admin as actor), as the API does.

use actix_web::{HttpResponse, web};
use serde::Deserialize;

use super::{detail::MAX_REASON, parse_id, path};
use crate::console::{
    error::ConsoleError,
    layout,
    repo::hospitals::{self as repo, Approval},
    session::Posted,
};
use crate::{
    audit::{RequestMeta, Via},
    errors::FieldErrors,
    hospitals::service::registration,
    http::error::ApiError,
    state::AppState,
};

#[derive(Deserialize)]
pub struct ApprovalForm {
    /// `approve` or `reject`.
    #[serde(default)]
    decision: String,
    #[serde(default)]
    reason: String,
}

/// The decision of a form: approve (`true`) or reject (`false`), and the reason given to reject
/// (none when blank, or when approving).
fn read(form: &ApprovalForm) -> Result<(bool, Option<&str>), ApiError> {
    let approved = match form.decision.as_str() {
        "approve" => true,
        "reject" => false,
        _ => return Err(ApiError::Validation(FieldErrors::single("decision", "Choose approve or reject."))),
    };
    let reason = form.reason.trim();
    if reason.chars().count() > MAX_REASON {
        let message = format!("Ensure this field has no more than {MAX_REASON} characters.");
        return Err(ApiError::Validation(FieldErrors::single("reason", message)));
    }
    Ok((approved, (!approved && !reason.is_empty()).then_some(reason)))
}

pub async fn submit(
    state: web::Data<AppState>,
    meta: RequestMeta,
    id: web::Path<String>,
    posted: Posted<ApprovalForm>,
) -> Result<HttpResponse, ConsoleError> {
    let id = parse_id(&id)?;
    let Posted { session: admin, form } = posted;
    let (approved, reason) = read(&form)?;
    let hospital = repo::facts(&state.db, id).await?.ok_or(ConsoleError::NotFound)?;
    let target = if approved { Approval::Approved } else { Approval::Rejected };
    if Approval::of(hospital.is_approved, hospital.rejected_at) == target {
        // A second click (or a stale page): no second SMS for a state the hospital already has.
        return Ok(layout::redirect_with(&path(id), "unchanged"));
    }
    registration::approve(&state, &admin.principal, &meta, id, Some(approved), reason, Via::Console).await?;
    Ok(layout::redirect_with(&path(id), if approved { "approved" } else { "rejected" }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form(decision: &str, reason: &str) -> ApprovalForm {
        ApprovalForm { decision: decision.into(), reason: reason.into() }
    }

    #[test]
    fn a_form_approves_or_rejects_with_a_reason_only_to_reject() {
        assert_eq!(read(&form("approve", "because")).ok(), Some((true, None)));
        assert_eq!(read(&form("reject", "  no licence  ")).ok(), Some((false, Some("no licence"))));
        assert_eq!(read(&form("reject", "   ")).ok(), Some((false, None)));
    }

    #[test]
    fn anything_else_is_refused() {
        assert!(matches!(read(&form("", "")), Err(ApiError::Validation(e)) if e.contains("decision")));
        assert!(matches!(read(&form("APPROVE", "")), Err(ApiError::Validation(_))));
        let long = "x".repeat(MAX_REASON + 1);
        assert!(matches!(read(&form("reject", &long)), Err(ApiError::Validation(e)) if e.contains("reason")));
    }
}
