//! `GET /console/audit/{id}/`: one audit row, every field, its details as indented JSON
//! (escaped like every other value: details hold what users typed), and its seal.

use actix_web::{HttpResponse, web};
use maud::html;

use super::hash_prefix;
use crate::{
    console::{
        error::ConsoleError,
        layout::{self, Nav},
        repo::audit as repo,
        session::Admin,
    },
    state::AppState,
};

pub async fn page(
    state: web::Data<AppState>,
    admin: Admin,
    id: web::Path<String>,
) -> Result<HttpResponse, ConsoleError> {
    let id: i64 = id.parse().map_err(|_| ConsoleError::NotFound)?;
    let row = repo::row(&state.db, id).await?.ok_or(ConsoleError::NotFound)?;
    let details = serde_json::to_string_pretty(&row.details).unwrap_or_else(|_| row.details.to_string());
    let or_dash = |value: Option<&str>| value.filter(|v| !v.is_empty()).unwrap_or("—").to_owned();
    let actor = match (&row.actor, &row.actor_username) {
        (Some(id), Some(name)) => format!("{name} (user {id})"),
        (Some(id), None) => format!("user {id} (account gone)"),
        (None, _) => "nobody signed in".to_owned(),
    };
    let body = html! {
        p { a href="/console/audit/" { "← The audit trail" } }
        section #row .card aria-label="The row" {
            dl.facts {
                dt { "Id" } dd { (row.id) }
                dt { "Time" } dd { (layout::time(row.occurred_at)) }
                dt { "Action" } dd { code { (row.action) } }
                dt { "Actor" } dd { (actor) }
                dt { "Actor type" } dd { (or_dash(row.actor_type.as_deref())) }
                dt { "Hospital" } dd { (or_dash(row.hospital.map(|h| h.to_string()).as_deref())) }
                dt { "Target type" } dd { (or_dash(row.target_type.as_deref())) }
                dt { "Target id" } dd { (or_dash(row.target_id.as_deref())) }
                dt { "IP address" } dd { (or_dash(row.ip.as_deref())) }
                dt { "User agent" } dd { (or_dash(row.user_agent.as_deref())) }
                dt { "Request id" } dd.mono { (or_dash(row.request_id.as_deref())) }
            }
        }
        section #details .card aria-labelledby="details-title" {
            h2 #details-title { "Details" }
            pre.json { code { (details) } }
        }
        section #seal .card aria-labelledby="seal-title" {
            h2 #seal-title { "Seal" }
            @match (row.seal_position, &row.seal_hash) {
                (Some(position), Some(hash)) => {
                    dl.facts {
                        dt { "Position" } dd { (position) }
                        dt { "Hash" } dd.mono { (hash_prefix(hash)) "…" }
                    }
                }
                _ => {
                    p.warn { "Not sealed yet: the sealer gives a row its position about a second after it commits." }
                }
            }
        }
    };
    Ok(layout::page(&admin, Nav::Audit, &format!("Audit row {}", row.id), None, body))
}
