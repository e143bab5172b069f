//! `GET /console/`: the state of the whole service at a glance: hospitals waiting for approval,
//! accounts by role, today's appointments, the last day's SMS, every queue (with a chart of the
//! last hour), the audit chain's sealing, and whether clamd and the model's API answer.

use actix_web::{HttpResponse, web};
use maud::{Markup, html};
use serde::Deserialize;

use super::queues::{QueueView, queue_views};
use crate::{
    audit,
    console::{
        admin::Admin,
        cache::{COUNTS_FOR, ReadCounts},
        charts,
        error::ConsoleError,
        layout::{self, Nav},
        probes::{self, Probe},
        repo::overview::{self, Counts, PendingHospital},
    },
    state::AppState,
};

#[derive(Deserialize)]
pub struct Query {
    flash: Option<String>,
}

pub async fn page(
    state: web::Data<AppState>,
    admin: Admin,
    query: web::Query<Query>,
) -> Result<HttpResponse, ConsoleError> {
    let (counts, pending, queues, head, backlog, ready) = tokio::join!(
        counts(&state),
        overview::pending_hospitals(&state.db, 10),
        queue_views(&state, 60),
        audit::seal::head(&state.db),
        audit::verify::unsealed_backlog(&state.db),
        probes::readiness(&state.settings),
    );
    let (read, pending) = (counts?, pending?);
    let counts = &*read.counts;
    let body = html! {
        div.grid {
            (figures(counts, read.read_at))
            section.card #services {
                h2 { "Services" }
                dl.facts {
                    dt { "clamd (file scanning)" } dd { (probe(ready.clamd)) }
                    dt { "Language model" } dd { (probe(ready.llm)) }
                    dt { "Redis (queues)" } dd { @if queues.is_some() { span.good { "answering" } } @else { span.bad { "not answering" } } }
                }
            }
            section.card #audit-chain {
                h2 { "Audit chain" }
                dl.facts {
                    dt { "Last sealed" }
                    dd { @match head.as_ref().ok().and_then(Option::as_ref) {
                        Some(head) => { "position " (head.position) " · " code { (head.hash_hex().get(..16).unwrap_or_default()) "…" } },
                        None => span.muted { "nothing sealed yet" },
                    } }
                    dt { "Waiting to be sealed" }
                    dd { @match backlog.as_ref() {
                        Ok((0, _)) => span.good { "none" },
                        Ok((rows, age)) => { (rows) " rows, the oldest " (layout::age(*age)) " old" },
                        Err(_) => span.bad { "unknown" },
                    } }
                }
                p { a href="/console/audit/" { "The audit trail" } }
            }
        }
        (pending_section(&pending, counts.pending_hospitals))
        (queues_section(queues.as_deref()))
    };
    Ok(layout::page(&admin, Nav::Overview, "Overview", query.flash.as_deref(), body))
}

fn probe(probe: Probe) -> Markup {
    html! { @match probe {
        Probe::Ready => span.good { "answering" },
        Probe::Down => span.bad { "not answering" },
        Probe::Builtin => span.muted { "built in (the deterministic mock)" },
    } }
}

/// The counts, as read at most [`COUNTS_FOR`] ago by this process.
async fn counts(state: &AppState) -> Result<ReadCounts, ConsoleError> {
    if let Some(read) = state.console.counts() {
        return Ok(read);
    }
    Ok(state.console.keep_counts(overview::counts(&state.db).await?))
}

fn figures(counts: &Counts, read_at: chrono::DateTime<chrono::Utc>) -> Markup {
    html! {
        section.card #figures {
            h2 { "Today" }
            p.muted { "As of " (layout::time(read_at)) " (counted at most every " (COUNTS_FOR.as_secs()) " s)." }
            dl.facts {
                dt { "Hospitals waiting" } dd.stat { (counts.pending_hospitals) }
                dt { "Approved hospitals" } dd { (counts.approved_hospitals) }
                dt { "Confirmed appointments today (UTC)" } dd { (counts.confirmed_today) }
                dt { "SMS sent, last 24 h" } dd { (counts.sms_sent_24h) }
                dt { "SMS failed, last 24 h" } dd { @if counts.sms_failed_24h > 0 { span.bad { (counts.sms_failed_24h) } } @else { "0" } }
                dt { "SMS waiting" } dd { (counts.sms_waiting) }
            }
        }
        section.card #users-by-role {
            h2 { "Accounts by role" }
            div.table-wrap { table {
                thead { tr { th { "Role" } th.num { "Active" } th.num { "Inactive" } } }
                tbody { @for (role, active, inactive) in &counts.users {
                    tr { td { (role) } td.num { (active) } td.num { (inactive) } }
                } }
            } }
            p { a href="/console/users/" { "Find an account" } }
        }
    }
}

fn pending_section(pending: &[PendingHospital], total: i64) -> Markup {
    html! {
        section.card #pending-hospitals {
            h2 { "Hospitals waiting for approval (" (total) ")" }
            @if pending.is_empty() {
                p.muted { "None: every registration has been decided." }
            } @else {
                div.table-wrap { table {
                    thead { tr { th { "Hospital" } th { "Location" } th { "Registered" } } }
                    tbody { @for hospital in pending {
                        tr data-hospital-id=(hospital.id) {
                            td { a href=(format!("/console/hospitals/{}/", hospital.id)) { (hospital.name) } }
                            td { (hospital.location) }
                            td { (layout::time(hospital.created_at)) }
                        }
                    } }
                } }
                p { a href="/console/hospitals/?approval=pending" { "Every hospital waiting" } }
            }
        }
    }
}

fn queues_section(queues: Option<&[QueueView]>) -> Markup {
    html! {
        section #queues {
            h2 { "Queues" }
            @match queues {
                None => p.bad { "Redis does not answer: the queues cannot be read." },
                Some(queues) => div.grid { @for queue in queues {
                    div.card {
                        h3 { a href=(format!("/console/queues/{}/", queue.stats.queue)) { (queue.stats.queue) } }
                        p {
                            (queue.stats.pending) " pending · " (queue.stats.active) " running · "
                            @if queue.stats.dead > 0 { span.bad { (queue.stats.dead) " dead" } } @else { "0 dead" }
                        }
                        (charts::stacked_columns(&format!("{}: jobs done and failed per minute, last hour", queue.stats.queue), &queue.minutes))
                        p.legend { span.done { "done" } " " span.failed { "failed" } }
                    }
                } },
            }
        }
    }
}
