//! `/console/hospitals/`: the hospitals, searched by name, email, phone or city and filtered by
//! approval; a hospital's page ([`detail`]) and its approval or rejection ([`approval`], through
//! the hospitals context's own service, as the API).

pub mod approval;
pub mod detail;

use actix_web::{HttpResponse, web};
use maud::{Markup, html};
use serde::Deserialize;

use crate::console::{
    error::ConsoleError,
    layout::{self, Nav, PER_PAGE},
    repo::hospitals::{self as repo, Approval, HospitalRow},
    session::Admin,
};
use crate::ids::HospitalId;
use crate::state::AppState;

/// The longest search kept (longer text is cut).
const MAX_SEARCH: usize = 100;

#[derive(Deserialize)]
pub struct ListQuery {
    q: Option<String>,
    approval: Option<String>,
    page: Option<String>,
}

/// `GET /console/hospitals/`.
pub async fn list(
    state: web::Data<AppState>,
    admin: Admin,
    query: web::Query<ListQuery>,
) -> Result<HttpResponse, ConsoleError> {
    let search: String = query.q.as_deref().unwrap_or_default().trim().chars().take(MAX_SEARCH).collect();
    let approval = Approval::parse(query.approval.as_deref());
    let page = layout::page_number(query.page.as_deref());
    let pattern = search_pattern(&search);
    let rows = repo::list(&state.db, approval, pattern.as_deref(), PER_PAGE, (page - 1) * PER_PAGE).await?;
    let count = repo::count(&state.db, approval, pattern.as_deref()).await?;
    let kept = [("q", search.clone()), ("approval", approval.as_str().to_owned())];
    let body = html! {
        (filters(&search, approval))
        @if rows.is_empty() {
            p.muted { "No hospital matches." }
        } @else {
            div.table-wrap { (table(&rows)) }
        }
        (layout::pager("/console/hospitals/", &kept, page, count))
    };
    Ok(layout::page(&admin, Nav::Hospitals, "Hospitals", None, body))
}

fn filters(search: &str, approval: Approval) -> Markup {
    html! {
        form.filters method="get" action="/console/hospitals/" role="search" {
            div {
                label for="q" { "Name, email, phone or city" }
                input #q type="search" name="q" value=(search) maxlength=(MAX_SEARCH);
            }
            div {
                label for="approval" { "Approval" }
                select #approval name="approval" {
                    @for option in Approval::ALL {
                        option value=(option.as_str()) selected[option == approval] { (label(option)) }
                    }
                }
            }
            button type="submit" { "Filter" }
        }
    }
}

fn table(rows: &[HospitalRow]) -> Markup {
    html! {
        table {
            thead { tr { th { "Name" } th { "City" } th { "Email" } th { "Phone" } th { "Registered" } th { "Approval" } } }
            tbody {
                @for row in rows {
                    @let state = Approval::of(row.is_approved, row.rejected_at);
                    tr.pending[state == Approval::Pending] data-hospital-id=(row.id) {
                        td { a href=(path(row.id)) { (row.name) } }
                        td { (row.location) }
                        td { (row.email) }
                        td.mono { (row.phone) }
                        td { (layout::time(row.created_at)) }
                        td { (badge(state)) }
                    }
                }
            }
        }
    }
}

/// A hospital's page.
pub fn path(id: HospitalId) -> String {
    format!("/console/hospitals/{id}/")
}

/// The hospital of a path's `{id}`: anything but a positive integer is no hospital.
pub fn parse_id(raw: &str) -> Result<HospitalId, ConsoleError> {
    raw.parse::<i64>().ok().filter(|id| *id > 0).map(HospitalId).ok_or(ConsoleError::NotFound)
}

pub fn label(approval: Approval) -> &'static str {
    match approval {
        Approval::All => "All",
        Approval::Pending => "Waiting for approval",
        Approval::Approved => "Approved",
        Approval::Rejected => "Rejected",
    }
}

/// A hospital's approval state, marked so a waiting one stands out.
pub fn badge(state: Approval) -> Markup {
    match state {
        Approval::Pending => html! { span.badge.pending { "Pending" } },
        Approval::Approved => html! { span.badge.good { "Approved" } },
        Approval::Rejected => html! { span.badge.bad { "Rejected" } },
        Approval::All => html! {},
    }
}

/// The `ilike` pattern of a search, or none for an empty one. A phone number is stored as E.164
/// (`+922134567890`) but typed as it is dialled (`021 3456 7890`): text made only of digits and
/// dialling signs is searched as its digits without the trunk's leading zeros, which the stored
/// number contains.
fn search_pattern(search: &str) -> Option<String> {
    let search = search.trim();
    if search.is_empty() {
        return None;
    }
    let digits: String = search.chars().filter(char::is_ascii_digit).collect();
    let dialled = search.chars().all(|c| c.is_ascii_digit() || " +-().".contains(c));
    let term = if dialled && digits.len() >= 3 {
        let national = digits.trim_start_matches('0');
        if national.is_empty() { digits.clone() } else { national.to_owned() }
    } else {
        search.to_owned()
    };
    let escaped = term.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_");
    Some(format!("%{escaped}%"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_search_is_a_substring_with_the_like_signs_escaped() {
        assert_eq!(search_pattern("  "), None);
        assert_eq!(search_pattern("Shifa").as_deref(), Some("%Shifa%"));
        assert_eq!(search_pattern("100%_a\\").as_deref(), Some("%100\\%\\_a\\\\%"));
    }

    #[test]
    fn a_dialled_number_is_searched_as_its_national_digits() {
        assert_eq!(search_pattern("021 3456-7890").as_deref(), Some("%2134567890%"));
        assert_eq!(search_pattern("+92 21 3456").as_deref(), Some("%92213456%"));
        assert_eq!(search_pattern("000").as_deref(), Some("%000%"));
        assert_eq!(search_pattern("desk1@example.com").as_deref(), Some("%desk1@example.com%"));
    }

    #[test]
    fn ids_are_positive_integers() {
        assert_eq!(parse_id("7").ok(), Some(HospitalId(7)));
        assert!(parse_id("0").is_err());
        assert!(parse_id("-1").is_err());
        assert!(parse_id("x").is_err());
    }

    #[test]
    fn unknown_filters_show_every_hospital() {
        assert_eq!(Approval::parse(Some("pending")), Approval::Pending);
        assert_eq!(Approval::parse(Some("nonsense")), Approval::All);
        assert_eq!(Approval::parse(None), Approval::All);
    }
}
