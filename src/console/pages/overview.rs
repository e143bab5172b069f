//! `GET /console/`: the state of the whole service at a glance.

use actix_web::{HttpResponse, web};
use maud::html;
use serde::Deserialize;

use crate::console::{
    error::ConsoleError,
    layout::{self, Nav},
    session::Admin,
};
use crate::state::AppState;

#[derive(Deserialize)]
pub struct Query {
    flash: Option<String>,
}

pub async fn page(
    _state: web::Data<AppState>,
    admin: Admin,
    query: web::Query<Query>,
) -> Result<HttpResponse, ConsoleError> {
    let body = html! {
        section #pending-hospitals .card { h2 { "Hospitals waiting for approval" } p.muted { "Coming up." } }
        section #queues .card { h2 { "Queues" } }
    };
    Ok(layout::page(&admin, Nav::Overview, "Overview", query.flash.as_deref(), body))
}
