//! "Verify the chain" (`POST /console/audit/verify/`) and its verdicts on the audit page. The
//! verifier recomputes the whole chain, too long for a request: the button queues it as a worker
//! job (the audit context's `request_verification`, audited `audit_chain_verification_requested`
//! with the admin as actor) and the page shows the latest verdicts the job wrote.

use actix_web::{HttpResponse, web};
use chrono::{DateTime, Utc};
use maud::{Markup, html};

use crate::{
    audit::{
        RequestMeta,
        repo::verifications::{Outcome, Verification},
        verifications,
    },
    console::{admin::Admin, error::ConsoleError, layout, login::NoFields, session::Posted},
    state::AppState,
};

/// How many verdicts the page shows.
pub const SHOWN: i64 = 5;

/// One verification as the page shows it.
#[derive(Debug, Clone)]
pub struct Verdict {
    pub id: i64,
    pub requested_at: DateTime<Utc>,
    /// The admin who asked (none: the account is gone).
    pub requested_by: Option<String>,
    pub finished_at: Option<DateTime<Utc>>,
    /// `None` while it waits or runs; then whether the chain was intact.
    pub intact: Option<bool>,
    /// What the verifier found: rows checked and the head, or the first broken row and why.
    pub summary: String,
}

/// The latest verdicts, newest first.
pub async fn latest(state: &AppState) -> Result<Vec<Verdict>, ConsoleError> {
    let rows = verifications::latest_verifications(&state.db, SHOWN).await?;
    Ok(rows.into_iter().map(Verdict::from).collect())
}

impl From<Verification> for Verdict {
    fn from(row: Verification) -> Self {
        let intact = match row.outcome {
            Outcome::Intact => Some(true),
            Outcome::Broken => Some(false),
            Outcome::Pending | Outcome::Running | Outcome::Failed => None,
        };
        let summary = match row.outcome {
            Outcome::Intact => match (row.head_position, row.head_hash.as_deref()) {
                (Some(position), Some(hash)) => format!(
                    "{} rows checked; head at position {position}, {}…",
                    row.rows_checked.unwrap_or(0),
                    hash.get(..12).unwrap_or(hash)
                ),
                _ => "nothing sealed yet".to_owned(),
            },
            Outcome::Broken => format!(
                "row {} (position {}): {}",
                row.broken_row_id.unwrap_or_default(),
                row.broken_position.unwrap_or_default(),
                row.reason.as_deref().unwrap_or("")
            ),
            Outcome::Failed => format!("the verifier failed: {}", row.reason.as_deref().unwrap_or("unknown")),
            Outcome::Pending | Outcome::Running => String::new(),
        };
        Self {
            id: row.id,
            requested_at: row.requested_at,
            requested_by: row.requested_by_username,
            finished_at: row.finished_at,
            intact,
            summary,
        }
    }
}

/// `POST /console/audit/verify/`: queues a verification of the chain; 303 back to the page.
/// The extractor has checked the session and the form's CSRF token before this runs.
pub async fn verify(
    state: web::Data<AppState>,
    meta: RequestMeta,
    posted: Posted<NoFields>,
) -> Result<HttpResponse, ConsoleError> {
    verifications::request_verification(&state, &posted.session.principal, &meta).await?;
    Ok(layout::redirect_with("/console/audit/", "verification_queued"))
}

/// The verdicts and the button that asks for a new one (`section#verification`).
pub fn section(admin: &Admin, verdicts: &[Verdict]) -> Markup {
    html! {
        section #verification .card aria-labelledby="verification-title" {
            h2 #verification-title { "Chain verification" }
            p.muted {
                "Recomputes every seal of the chain in the background and reports the first row that was \
                 edited, removed or reordered."
            }
            (layout::action_button("/console/audit/verify/", &admin.csrf, Some("verify-chain"), "actions", "Verify the chain"))
            @if verdicts.is_empty() {
                p.muted { "No verification has been asked for yet." }
            } @else {
                div.table-wrap {
                    table {
                        thead { tr { th { "Asked" } th { "By" } th { "Verdict" } th { "Finished" } } }
                        tbody {
                            @for verdict in verdicts {
                                tr data-verification-id=(verdict.id) {
                                    td { (layout::time(verdict.requested_at)) }
                                    td { (verdict.requested_by.as_deref().unwrap_or("—")) }
                                    td { (outcome(verdict)) }
                                    td { @if let Some(at) = verdict.finished_at { (layout::time(at)) } @else { "—" } }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

fn outcome(verdict: &Verdict) -> Markup {
    html! {
        @match verdict.intact {
            None if verdict.finished_at.is_some() => span.bad { "Failed" },
            None => span.warn { "Waiting or running" },
            Some(true) => span.good { "Intact" },
            Some(false) => span.bad { "Broken" },
        }
        @if !verdict.summary.is_empty() {
            " " span.muted { (verdict.summary) }
        }
    }
}
