//! `GET /console/audit/?actor=&action=&target=&since=&until=&page=`: the audit trail with the
//! API's filters (the list is the audit context's own `repo::list`), newest first; above it the
//! chain's state (its last sealed head, the rows waiting for the sealer) and its verification.
//! Files: `filter.rs` (the query read strictly), `row.rs` (one row), `verification.rs`.

pub mod filter;
pub mod row;
pub mod verification;

use actix_web::{HttpRequest, HttpResponse, web};
use chrono::{DateTime, Utc};
use maud::{Markup, html};

use self::filter::{Actor, Filter, Params, input_value};
use crate::{
    audit::{head::ChainHead, model::AuditLogEntry, model::LogFilter, repo as audit_repo, seal, verify},
    console::{
        admin::Admin,
        error::ConsoleError,
        layout::{self, Nav, PER_PAGE},
        repo::audit as repo,
    },
    http::error::ApiError,
    ids::UserId,
    state::AppState,
};

const PATH: &str = "/console/audit/";

/// A hash as the page shows it: its first 48 bits in hex (what the `/metrics` gauge carries and
/// `audit-verify --head` accepts).
pub fn hash_prefix(hash: &[u8]) -> String {
    hex::encode(&hash[..hash.len().min(6)])
}

/// The chain's state at the top of the page.
struct ChainState {
    head: Option<ChainHead>,
    head_written: Option<DateTime<Utc>>,
    waiting: i64,
    oldest_age_secs: f64,
}

async fn chain_state(state: &AppState) -> Result<ChainState, ConsoleError> {
    let head = seal::head(&state.db).await?;
    let head_written = match &head {
        Some(head) => repo::sealed_row_time(&state.db, head.position).await?,
        None => None,
    };
    let (waiting, oldest_age_secs) = verify::unsealed_backlog(&state.db).await?;
    Ok(ChainState { head, head_written, waiting, oldest_age_secs })
}

pub async fn page(state: web::Data<AppState>, admin: Admin, req: HttpRequest) -> Result<HttpResponse, ConsoleError> {
    let params: Params = serde_urlencoded::from_str(req.query_string())
        .map_err(|_| ApiError::Malformed("The address's filters could not be read.".into()))?;
    let filter = params.filter().map_err(ApiError::Validation)?;
    let page = layout::page_number(params.page.as_deref());
    let actor = match &filter.actor {
        Actor::Anyone => Some(None),
        Actor::Id(id) => Some(Some(UserId(*id))),
        Actor::Named(name) => repo::user_named(&state.db, name).await?.map(Some),
    };
    let (count, rows) = match actor {
        Some(actor) => {
            let log_filter = LogFilter {
                hospital: None,
                actor,
                action: filter.action.as_deref(),
                since: filter.since,
                until: filter.until,
                target_type: filter.target_type.as_deref(),
                target_id: filter.target_id.as_deref(),
            };
            let mut conn = state.db.acquire().await?;
            audit_repo::list(&mut conn, &log_filter, PER_PAGE, (page - 1) * PER_PAGE).await?
        }
        // A username no account has: nothing matches.
        None => (0, Vec::new()),
    };
    let chain = chain_state(&state).await?;
    let verdicts = verification::latest(&state).await?;
    let body = html! {
        div.grid {
            (chain_section(&chain))
            (verification::section(&admin, &verdicts))
        }
        section #trail aria-labelledby="trail-title" {
            h2 #trail-title { "Rows" }
            (filter_form(&params, &filter))
            @if actor.is_none() {
                p.warn { "No account has that username, so no row matches." }
            }
            (table(&rows))
            (layout::pager(PATH, &params.kept(), page, count))
        }
    };
    Ok(layout::page(&admin, Nav::Audit, "Audit trail", params.flash.as_deref(), body))
}

fn chain_section(chain: &ChainState) -> Markup {
    html! {
        section #chain .card aria-labelledby="chain-title" {
            h2 #chain-title { "The chain" }
            dl.facts {
                dt { "Last sealed head" }
                dd {
                    @if let Some(head) = &chain.head {
                        "position " (head.position) ", hash " span.mono { (hash_prefix(&head.hash)) "…" }
                    } @else {
                        "Nothing sealed yet"
                    }
                }
                dt { "Head row written" }
                dd { @if let Some(at) = chain.head_written { (layout::time(at)) } @else { "—" } }
                dt { "Waiting for the sealer" }
                dd {
                    @if chain.waiting == 0 {
                        span.good { "No row" }
                    } @else {
                        span class=(if chain.oldest_age_secs > 60.0 { "bad" } else { "warn" }) {
                            (chain.waiting) " rows, the oldest " (layout::age(chain.oldest_age_secs)) " old"
                        }
                    }
                }
            }
        }
    }
}

fn filter_form(params: &Params, filter: &Filter) -> Markup {
    let text = |value: &Option<String>| value.as_deref().unwrap_or("").trim().to_owned();
    html! {
        form.filters method="get" action=(PATH) role="search" aria-label="Filter the rows" {
            div {
                label for="actor" { "Actor (username or id)" }
                input #actor name="actor" type="text" value=(text(&params.actor)) maxlength="150" autocapitalize="none" spellcheck="false";
            }
            div {
                label for="action" { "Action" }
                input #action name="action" type="text" value=(text(&params.action)) maxlength="100"
                    placeholder="hospital_approved" autocapitalize="none" spellcheck="false";
            }
            div {
                label for="target" { "Target (type or type:id)" }
                input #target name="target" type="text" value=(text(&params.target)) maxlength="160"
                    placeholder="hospital:12" autocapitalize="none" spellcheck="false";
            }
            div {
                label for="since" { "Since (UTC)" }
                input #since name="since" type="datetime-local" step="1" value=(input_value(filter.since));
            }
            div {
                label for="until" { "Until (UTC, not included)" }
                input #until name="until" type="datetime-local" step="1" value=(input_value(filter.until));
            }
            div.actions {
                button type="submit" { "Filter" }
                a href=(PATH) { "Clear" }
            }
        }
    }
}

fn table(rows: &[AuditLogEntry]) -> Markup {
    html! {
        @if rows.is_empty() {
            p.muted { "No row matches." }
        } @else {
            div.table-wrap {
                table {
                    thead { tr { th { "Time" } th { "Action" } th { "Actor" } th { "Target" } th { "IP address" } } }
                    tbody {
                        @for row in rows {
                            tr data-audit-id=(row.id) {
                                td { a href=(format!("{PATH}{}/", row.id)) { (layout::time(row.occurred_at)) } }
                                td { code { (row.action) } }
                                td { (actor(row)) }
                                td { (target(row)) }
                                td { (row.ip.as_deref().unwrap_or("—")) }
                            }
                        }
                    }
                }
            }
        }
    }
}

fn actor(row: &AuditLogEntry) -> String {
    match (&row.actor_username, row.actor) {
        (Some(name), _) => name.clone(),
        (None, Some(id)) => format!("user {id}"),
        (None, None) => "—".to_owned(),
    }
}

fn target(row: &AuditLogEntry) -> String {
    match (&row.target_type, &row.target_id) {
        (Some(kind), Some(id)) => format!("{kind}:{id}"),
        (Some(kind), None) => kind.clone(),
        (None, _) => "—".to_owned(),
    }
}
