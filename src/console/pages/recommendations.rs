//! `GET /console/recommendations/`: the formulary and the recommendations' statistics (the
//! API's own, `recommendations::repo::stats`) as tables and charts; `POST
//! /console/recommendations/cache/clear/` empties the answer cache through the same service as
//! `POST /api/recommendations/clear-cache/`.

use actix_web::{HttpResponse, web};
use chrono::{DateTime, Utc};
use maud::{Markup, html};
use serde::Deserialize;

use crate::{
    audit::RequestMeta,
    console::{
        admin::Admin,
        charts,
        error::ConsoleError,
        layout::{self, Nav},
        login::NoFields,
        repo::recommendations::{self as repo, Sizes},
        session::Posted,
    },
    medicines::recommendations::{
        repo::{self as recommendations, Stats},
        service::cache,
    },
    state::AppState,
};

const PATH: &str = "/console/recommendations/";
/// Hours of the requests chart.
const HOURS: i32 = 24;

#[derive(Deserialize)]
pub struct Query {
    flash: Option<String>,
}

pub async fn page(
    state: web::Data<AppState>,
    admin: Admin,
    query: web::Query<Query>,
) -> Result<HttpResponse, ConsoleError> {
    let mut conn = state.db.acquire().await?;
    let stats = recommendations::stats(&mut conn).await?;
    let sizes = repo::sizes(&mut *conn).await?;
    let hours = repo::per_hour(&mut *conn, HOURS).await?;
    drop(conn);
    let top = top_medicines(&stats);
    let body = html! {
        div.grid {
            (stats_section(&stats))
            (formulary_section(&sizes, &admin))
        }
        section #top-medicines .card aria-labelledby="top-title" {
            h2 #top-title { "Most asked-about medicines" }
            @if top.is_empty() {
                p.muted { "No recommendation has been asked for yet." }
            } @else {
                (charts::bars("Requests per medicine, the ten most asked about", &top))
                div.table-wrap {
                    table {
                        thead { tr { th { "Medicine" } th.num { "Requests" } } }
                        tbody { @for (name, count) in &top { tr { td { (name) } td.num { (count) } } } }
                    }
                }
            }
        }
        section #per-hour .card aria-labelledby="per-hour-title" {
            h2 #per-hour-title { "Requests per hour, last " (HOURS) " hours (UTC)" }
            (charts::bars("Recommendation requests per hour", &hour_bars(&hours)))
        }
    };
    Ok(layout::page(&admin, Nav::Recommendations, "Formulary and recommendations", query.flash.as_deref(), body))
}

/// `POST /console/recommendations/cache/clear/`: the cache emptied (audited with the admin as
/// actor), then back to the page.
pub async fn clear_cache(
    state: web::Data<AppState>,
    meta: RequestMeta,
    posted: Posted<NoFields>,
) -> Result<HttpResponse, ConsoleError> {
    cache::clear_cache(&state, &posted.session.principal, &meta).await?;
    Ok(layout::redirect_with(PATH, "cache_cleared"))
}

fn stats_section(stats: &Stats) -> Markup {
    let ms = |value: f64| format!("{value:.0} ms");
    html! {
        section #stats .card aria-labelledby="stats-title" {
            h2 #stats-title { "Recommendations" }
            table {
                tbody {
                    tr { th scope="row" { "Requests" } td.num { (stats.total_recommendations) } }
                    tr { th scope="row" { "Answered from the cache" } td.num { (format!("{:.1} %", stats.cache_hit_rate * 100.0)) } }
                    tr { th scope="row" { "Average answer time (uncached)" } td.num { (ms(stats.avg_response_time_ms)) } }
                    tr { th scope="row" { "95th percentile (uncached)" } td.num { (ms(stats.p95_response_time_ms)) } }
                    tr {
                        th scope="row" { "Failures" }
                        td.num.bad[stats.failures > 0] { (stats.failures) }
                    }
                    tr { th scope="row" { "Waiting for an answer" } td.num { (stats.pending) } }
                    tr { th scope="row" { "Different medicines" } td.num { (stats.unique_medicines) } }
                    tr { th scope="row" { "Different doctors" } td.num { (stats.unique_users) } }
                }
            }
        }
    }
}

fn formulary_section(sizes: &Sizes, admin: &Admin) -> Markup {
    html! {
        section #formulary .card aria-labelledby="formulary-title" {
            h2 #formulary-title { "Formulary and cache" }
            table {
                tbody {
                    tr { th scope="row" { "Medicines" } td.num { (sizes.medicines) } }
                    tr { th scope="row" { "Interactions" } td.num { (sizes.interactions) } }
                    tr { th scope="row" { "Answers in the cache" } td.num { (sizes.cached_answers) } }
                }
            }
            p.muted {
                "Clearing the cache makes the next request for each medicine and patient ask the model again. \
                 The history, the statistics and the formulary stay."
            }
            (layout::action_button("/console/recommendations/cache/clear/", &admin.csrf, Some("clear-cache"), "actions", "Clear the cache"))
        }
    }
}

/// The statistics' top medicines as the chart takes them.
fn top_medicines(stats: &Stats) -> Vec<(String, u64)> {
    stats
        .top_medicines
        .iter()
        .filter_map(|top| Some((top["medicine"].as_str()?.to_owned(), top["count"].as_u64()?)))
        .collect()
}

fn hour_bars(hours: &[(DateTime<Utc>, i64)]) -> Vec<(String, u64)> {
    hours
        .iter()
        .map(|(hour, count)| (hour.format("%d %b %H:00").to_string(), u64::try_from(*count).unwrap_or(0)))
        .collect()
}
