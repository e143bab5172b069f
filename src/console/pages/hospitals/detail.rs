//! `GET /console/hospitals/{id}/`: a hospital's facts, its account, counts, departments and
//! doctors (names, specializations, whether active: nothing of its patients), and the forms
//! that approve or reject it.

use actix_web::{HttpResponse, web};
use maud::{Markup, html};
use serde::Deserialize;

use super::{badge, parse_id, path};
use crate::console::{
    error::ConsoleError,
    layout::{self, Nav},
    repo::hospitals::{self as repo, Approval, DepartmentRow, DoctorRow, HospitalCounts, HospitalFacts},
    session::Admin,
};
use crate::state::AppState;

/// The most departments and doctors listed (the counts say how many there are).
const LISTED: i64 = 200;

/// The longest rejection reason taken.
pub const MAX_REASON: usize = 1000;

#[derive(Deserialize)]
pub struct PageQuery {
    flash: Option<String>,
}

pub async fn page(
    state: web::Data<AppState>,
    admin: Admin,
    id: web::Path<String>,
    query: web::Query<PageQuery>,
) -> Result<HttpResponse, ConsoleError> {
    let id = parse_id(&id)?;
    let hospital = repo::facts(&state.db, id).await?.ok_or(ConsoleError::NotFound)?;
    let counts = repo::counts(&state.db, id).await?;
    let departments = repo::departments(&state.db, id, LISTED).await?;
    let doctors = repo::doctors(&state.db, id, LISTED).await?;
    let body = html! {
        p { a href="/console/hospitals/" { "← All hospitals" } }
        (decision(&admin, &hospital))
        div.grid {
            section.card #facts { h2 { "Hospital" } (facts(&hospital)) }
            section.card #counts { h2 { "Counts" } (count_list(&counts)) }
        }
        section #departments {
            h2 { "Departments" }
            (listed_note(departments.len(), counts.departments))
            (department_table(&departments))
        }
        section #doctors {
            h2 { "Doctors" }
            (listed_note(doctors.len(), counts.doctors_active + counts.doctors_inactive))
            (doctor_table(&doctors))
        }
    };
    Ok(layout::page(&admin, Nav::Hospitals, &hospital.name, query.flash.as_deref(), body))
}

/// The approval state and the forms that change it: approve unless approved, reject unless
/// rejected already.
fn decision(admin: &Admin, hospital: &HospitalFacts) -> Markup {
    let state = Approval::of(hospital.is_approved, hospital.rejected_at);
    let action = format!("{}approval/", path(hospital.id));
    html! {
        section.card #approval {
            h2 { "Approval" }
            p { (badge(state)) }
            div.actions {
                @if state != Approval::Approved {
                    form #approve method="post" action=(action) {
                        (layout::csrf_field(&admin.csrf))
                        input type="hidden" name="decision" value="approve";
                        button type="submit" { "Approve" }
                    }
                }
                @if state != Approval::Rejected {
                    form #reject .stacked method="post" action=(action) {
                        (layout::csrf_field(&admin.csrf))
                        input type="hidden" name="decision" value="reject";
                        div {
                            label for="reason" { "Reason for rejecting (kept in the audit trail)" }
                            textarea #reason name="reason" rows="3" maxlength=(MAX_REASON) {}
                        }
                        button type="submit" { "Reject" }
                    }
                }
            }
            p.muted {
                "Approving activates the hospital's account; rejecting deactivates it and ends its logins. "
                "Either way the hospital is told by SMS."
            }
        }
    }
}

fn facts(h: &HospitalFacts) -> Markup {
    html! {
        dl.facts {
            dt { "Name" } dd { (h.name) }
            dt { "Licence" } dd { (h.license_number) }
            dt { "Email" } dd { (h.email) }
            dt { "Phone" } dd.mono { (h.phone) }
            dt { "Address" } dd { (h.address) }
            dt { "City" } dd { (h.location) }
            dt { "Coordinates" } dd { (h.coordinates.as_deref().unwrap_or("—")) }
            dt { "Time zone" } dd { (h.time_zone) }
            dt { "Registered" } dd { (layout::time(h.created_at)) }
            @if let Some(at) = h.approved_at {
                dt { "Approved" } dd { (layout::time(at)) @if let Some(by) = &h.approved_by { " by " (by) } }
            }
            @if let Some(at) = h.rejected_at { dt { "Rejected" } dd { (layout::time(at)) } }
            dt { "Account" } dd { span.mono { (h.username) } }
            dt { "Account active" } dd { (yes_no(h.account_active)) }
        }
    }
}

fn count_list(c: &HospitalCounts) -> Markup {
    html! {
        dl.facts {
            dt { "Departments" } dd { (c.departments) }
            dt { "Doctors, active" } dd { (c.doctors_active) }
            dt { "Doctors, inactive" } dd { (c.doctors_inactive) }
            dt { "Appointments requested" } dd { (c.requested) }
            dt { "Appointments confirmed" } dd { (c.confirmed) }
            dt { "Appointments completed" } dd { (c.completed) }
            dt { "Appointments cancelled" } dd { (c.cancelled) }
        }
    }
}

fn listed_note(shown: usize, total: i64) -> Markup {
    html! {
        @if total == 0 {
            p.muted { "None." }
        } @else if i64::try_from(shown).unwrap_or(i64::MAX) < total {
            p.muted { "The first " (shown) " of " (total) ", by name." }
        }
    }
}

fn department_table(rows: &[DepartmentRow]) -> Markup {
    html! {
        @if !rows.is_empty() {
            div.table-wrap { table {
                thead { tr { th { "Name" } th.num { "Doctors" } th { "Active" } } }
                tbody {
                    @for d in rows {
                        tr data-department-id=(d.id) { td { (d.name) } td.num { (d.doctors) } td { (yes_no(d.is_active)) } }
                    }
                }
            } }
        }
    }
}

fn doctor_table(rows: &[DoctorRow]) -> Markup {
    html! {
        @if !rows.is_empty() {
            div.table-wrap { table {
                thead { tr { th { "Name" } th { "Specialization" } th { "Department" } th { "Active" } } }
                tbody {
                    @for d in rows {
                        tr data-doctor-id=(d.id) {
                            td { (d.name) }
                            td { (d.specialization) }
                            td { (d.department.as_deref().unwrap_or("—")) }
                            td { (yes_no(d.is_active)) }
                        }
                    }
                }
            } }
        }
    }
}

fn yes_no(value: bool) -> Markup {
    html! { @if value { span.good { "Yes" } } @else { span.bad { "No" } } }
}
