//! `/console/queues/`: every queue of the job registry (pending, scheduled, running, done,
//! dead, live workers), one queue's dead jobs (attempts and last error; payloads are never
//! shown, only ids), and the operator's actions on them: the same service as the API
//! (`ops::dead_jobs`), audited with the admin as actor.

use actix_web::{HttpResponse, web};
use carehub_workers::stats::{self, DeadJob, QueueStats};
use maud::{Markup, html};
use serde::Deserialize;

use crate::{
    audit::RequestMeta,
    console::{
        admin::Admin,
        charts::{self, Column},
        error::ConsoleError,
        layout::{self, Nav, PER_PAGE},
        login::NoFields,
        session::Posted,
    },
    ops::dead_jobs::{self, JobAction},
    state::AppState,
};

/// One queue with its last minutes' outcomes.
pub struct QueueView {
    pub stats: QueueStats,
    pub minutes: Vec<Column>,
}

/// Every queue's statistics and its last `minutes` minutes; `None` when Redis does not answer.
pub async fn queue_views(state: &AppState, minutes: u32) -> Option<Vec<QueueView>> {
    let mut conn = dead_jobs::redis(state).await.ok()?;
    let namespace = &state.settings.jobs.namespace;
    let read = async {
        let mut views = Vec::new();
        for queue in state.job_kinds.queues() {
            let stats = stats::queue_stats(&mut conn, namespace, queue).await?;
            let series = stats::minute_series(&mut conn, namespace, queue, minutes).await?;
            let minutes = series.iter().map(|m| Column { done: m.done, failed: m.failed }).collect();
            views.push(QueueView { stats, minutes });
        }
        Ok::<_, redis::RedisError>(views)
    };
    match tokio::time::timeout(std::time::Duration::from_secs(3), read).await {
        Ok(Ok(views)) => Some(views),
        Ok(Err(err)) => {
            tracing::warn!(error = %err, "reading the queues failed");
            None
        }
        Err(_) => None,
    }
}

#[derive(Deserialize)]
pub struct ListQuery {
    flash: Option<String>,
    page: Option<String>,
}

fn stats_row(stats: &QueueStats) -> Markup {
    html! {
        tr data-queue=(stats.queue) {
            td { a href=(format!("/console/queues/{}/", stats.queue)) { (stats.queue) } }
            td.num.pending { (stats.pending) } td.num.scheduled { (stats.scheduled) } td.num.running { (stats.active) }
            td.num.done { (stats.done) }
            td.num.dead { @if stats.dead > 0 { span.bad { (stats.dead) } } @else { "0" } }
            td.num.workers { (stats.workers.len()) }
            td.num { (layout::age(stats.oldest_pending_age_seconds)) }
        }
    }
}

fn stats_table(rows: Markup) -> Markup {
    html! {
        div.table-wrap { table {
            thead { tr {
                th { "Queue" } th.num { "Pending" } th.num { "Scheduled" } th.num { "Running" } th.num { "Done" }
                th.num { "Dead" } th.num { "Workers" } th.num { "Oldest pending" }
            } }
            tbody { (rows) }
        } }
    }
}

/// `GET /console/queues/`.
pub async fn list(
    state: web::Data<AppState>,
    admin: Admin,
    query: web::Query<ListQuery>,
) -> Result<HttpResponse, ConsoleError> {
    let views = queue_views(&state, 60).await;
    let (outbox_pending, outbox_age) = carehub_workers::outbox::backlog(&state.db).await?;
    let body = html! {
        @match &views {
            None => p #error { "Redis does not answer: the queues cannot be read." },
            Some(views) => {
                (stats_table(html! { @for view in views { (stats_row(&view.stats)) } }))
                p.muted { "Outbox (committed, not yet pushed to Redis): " (outbox_pending) " jobs, the oldest " (layout::age(outbox_age)) " old." }
                h2 { "The last hour" }
                div.grid { @for view in views {
                    div.card {
                        h3 { (view.stats.queue) }
                        (charts::stacked_columns(&format!("{}: jobs done and failed per minute", view.stats.queue), &view.minutes))
                        p.legend { span.done { "done" } " " span.failed { "failed" } }
                    }
                } }
            },
        }
    };
    Ok(layout::page(&admin, Nav::Queues, "Queues", query.flash.as_deref(), body))
}

/// `GET /console/queues/{queue}/`: the queue and its dead jobs, newest first.
pub async fn queue(
    state: web::Data<AppState>,
    admin: Admin,
    name: web::Path<String>,
    query: web::Query<ListQuery>,
) -> Result<HttpResponse, ConsoleError> {
    let queue = dead_jobs::queue(&state, &name).map_err(|_| ConsoleError::NotFound)?;
    let page = layout::page_number(query.page.as_deref());
    let mut conn = dead_jobs::redis(&state).await?;
    let namespace = &state.settings.jobs.namespace;
    let redis_failed = |err: redis::RedisError| ConsoleError::from(anyhow::Error::from(err));
    let stats = stats::queue_stats(&mut conn, namespace, queue).await.map_err(redis_failed)?;
    let series = stats::minute_series(&mut conn, namespace, queue, 60).await.map_err(redis_failed)?;
    let offset = u64::try_from((page - 1) * PER_PAGE).unwrap_or(0);
    let (total, dead) =
        stats::dead_jobs(&mut conn, namespace, queue, offset, PER_PAGE as u64).await.map_err(redis_failed)?;
    let columns: Vec<Column> = series.iter().map(|m| Column { done: m.done, failed: m.failed }).collect();
    let base = format!("/console/queues/{}/", queue.name());
    let body = html! {
        (stats_table(stats_row(&stats)))
        (charts::stacked_columns(&format!("{}: jobs done and failed per minute, last hour", queue.name()), &columns))
        p.legend { span.done { "done" } " " span.failed { "failed" } }
        h2 { "Dead jobs (" (total) ")" }
        @if dead.is_empty() {
            p.muted { "No dead jobs." }
        } @else {
            (layout::action_button(&format!("{base}retry-dead/"), &admin.csrf, Some("retry-all"), "inline", "Retry every dead job"))
            (dead_table(&base, &admin.csrf, &dead))
            (layout::pager(&base, &[], page, i64::try_from(total).unwrap_or(i64::MAX)))
        }
    };
    Ok(layout::page(&admin, Nav::Queues, &format!("Queue {}", queue.name()), query.flash.as_deref(), body))
}

fn dead_table(base: &str, csrf: &str, dead: &[DeadJob]) -> Markup {
    html! {
        div.table-wrap { table {
            thead { tr { th { "Job" } th.num { "Attempts" } th { "Failed at" } th { "Last error" } th { "Actions" } } }
            tbody { @for job in dead {
                tr data-job-id=(job.id) {
                    td { code { (job.id) } }
                    td.num { (job.attempts) }
                    td { @if let Some(at) = job.failed_at { (layout::time(at)) } }
                    td { @if let Some(error) = &job.last_error { code { (error) } } }
                    td.actions {
                        (layout::action_button(&format!("{base}jobs/{}/retry/", job.id), csrf, None, "retry", "Retry"))
                        (layout::action_button(&format!("{base}jobs/{}/discard/", job.id), csrf, None, "discard", "Discard"))
                    }
                }
            } }
        } }
    }
}

/// `POST /console/queues/{queue}/jobs/{job_id}/retry/` and `…/discard/`.
pub async fn job_action(
    state: web::Data<AppState>,
    meta: RequestMeta,
    path: web::Path<(String, String, String)>,
    posted: Posted<NoFields>,
) -> Result<HttpResponse, ConsoleError> {
    let (name, job, action) = path.into_inner();
    let action = JobAction::parse(&action).ok_or(ConsoleError::NotFound)?;
    let queue = dead_jobs::queue(&state, &name)?;
    dead_jobs::act(&state, &posted.session.principal, &meta, queue, &job, action).await?;
    let flash = match action {
        JobAction::Retry => "retried",
        JobAction::Discard => "discarded",
    };
    Ok(layout::redirect_with(&format!("/console/queues/{}/", queue.name()), flash))
}

/// `POST /console/queues/{queue}/retry-dead/`.
pub async fn retry_all(
    state: web::Data<AppState>,
    meta: RequestMeta,
    name: web::Path<String>,
    posted: Posted<NoFields>,
) -> Result<HttpResponse, ConsoleError> {
    let queue = dead_jobs::queue(&state, &name)?;
    dead_jobs::retry_all(&state, &posted.session.principal, &meta, queue).await?;
    Ok(layout::redirect_with(&format!("/console/queues/{}/", queue.name()), "retried_all"))
}
