//! `GET /console/sms/`: the outgoing SMS, newest first, with status, provider, attempts and the
//! last error; numbers masked as the API masks them. The text of a message is shown only for the
//! purposes listed in [`SHOWN`], none of which carries a one-time code or a password.

use actix_web::{HttpResponse, web};
use carehub_workers::sms::Purpose;
use maud::{Markup, html};
use serde::Deserialize;

use crate::access::model::mask_phone;
use crate::console::{
    error::ConsoleError,
    layout::{self, Nav, PER_PAGE},
    repo::sms::{self as repo, LastDay, SmsRow},
    session::Admin,
};
use crate::state::AppState;

/// The purposes whose text an operator may read: what hospitals and patients are told of an
/// approval or an appointment. One-time codes (`otp` messages, and the access context's code SMS)
/// and generated passwords (the accounts context's SMS) are not among them; a purpose added
/// later stays hidden until it is listed here.
const SHOWN: [Purpose; 4] = [
    Purpose::HospitalApproval,
    Purpose::AppointmentConfirmation,
    Purpose::AppointmentCancellation,
    Purpose::AppointmentReminder,
];

/// The purposes offered by the filter.
const PURPOSES: [Purpose; 6] = [
    Purpose::Otp,
    Purpose::AppointmentConfirmation,
    Purpose::AppointmentCancellation,
    Purpose::AppointmentReminder,
    Purpose::HospitalApproval,
    Purpose::Test,
];

/// A message's statuses (`sms_messages.status`), as the filter offers them. `UNKNOWN`: its
/// sending process died mid-send and the provider could not say whether it went out.
const STATUSES: [&str; 6] = ["QUEUED", "SENDING", "RETRY", "SENT", "FAILED", "UNKNOWN"];

/// The most matches counted for the pager: the table keeps every message ever sent.
const COUNT_CAP: i64 = 10_000;

/// How much of a provider's error is shown.
const ERROR_CHARS: usize = 200;

const HIDDEN: &str = "hidden (carries a code or password)";

#[derive(Deserialize)]
pub struct ListQuery {
    status: Option<String>,
    purpose: Option<String>,
    page: Option<String>,
}

/// `GET /console/sms/`.
pub async fn list(
    state: web::Data<AppState>,
    admin: Admin,
    query: web::Query<ListQuery>,
) -> Result<HttpResponse, ConsoleError> {
    let status = query.status.as_deref().map(str::to_ascii_uppercase).filter(|s| STATUSES.contains(&s.as_str()));
    let purpose = query.purpose.as_deref().and_then(|p| PURPOSES.into_iter().find(|known| known.as_str() == p));
    let purpose = purpose.map(Purpose::as_str);
    let page = layout::page_number(query.page.as_deref());
    let shown: Vec<String> = SHOWN.iter().map(|p| p.as_str().to_owned()).collect();
    let offset = (page - 1) * PER_PAGE;
    let rows = repo::list(&state.db, status.as_deref(), purpose, &shown, PER_PAGE, offset).await?;
    let count = repo::count(&state.db, status.as_deref(), purpose, COUNT_CAP).await?;
    let last_day = repo::last_day(&state.db).await?;
    let kept = [
        ("status", status.as_deref().unwrap_or_default().to_ascii_lowercase()),
        ("purpose", purpose.unwrap_or_default().to_owned()),
    ];
    let body = html! {
        (summary(last_day))
        (filters(status.as_deref(), purpose))
        @if count >= COUNT_CAP {
            p.muted { "More than " (COUNT_CAP) " messages match: the newest are listed. Filter to narrow them." }
        }
        @if rows.is_empty() {
            p.muted { "No message matches." }
        } @else {
            div.table-wrap { (table(&rows)) }
        }
        (layout::pager("/console/sms/", &kept, page, count))
    };
    Ok(layout::page(&admin, Nav::Sms, "SMS", None, body))
}

fn summary(day: LastDay) -> Markup {
    html! {
        section #last-day aria-labelledby="last-day-title" {
            h2 #last-day-title { "Last 24 hours" }
            div.grid {
                div.card { div.stat.good { (day.sent) } div { "sent" } }
                div.card { div.stat.bad { (day.failed) } div { "failed" } }
                div.card { div.stat.warn { (day.waiting) } div { "waiting (queued, sending or to retry)" } }
            }
        }
    }
}

fn filters(status: Option<&str>, purpose: Option<&str>) -> Markup {
    html! {
        form.filters method="get" action="/console/sms/" {
            div {
                label for="status" { "Status" }
                select #status name="status" {
                    option value="" { "Any" }
                    @for s in STATUSES {
                        option value=(s.to_ascii_lowercase()) selected[status == Some(s)] { (s.to_ascii_lowercase()) }
                    }
                }
            }
            div {
                label for="purpose" { "Purpose" }
                select #purpose name="purpose" {
                    option value="" { "Any" }
                    @for p in PURPOSES {
                        option value=(p.as_str()) selected[purpose == Some(p.as_str())] { (p.as_str().replace('_', " ")) }
                    }
                }
            }
            button type="submit" { "Filter" }
        }
    }
}

fn table(rows: &[SmsRow]) -> Markup {
    html! {
        table {
            thead { tr {
                th.num { "ID" } th { "Created" } th { "Sent" } th { "To" } th { "Purpose" } th { "Status" }
                th { "Provider" } th { "Provider ID" } th.num { "Attempts" } th { "Last error" } th { "Text" }
            } }
            tbody {
                @for row in rows {
                    @let masked = mask_phone(&row.to_number);
                    tr data-sms-id=(row.id) {
                        td.num { (row.id) }
                        td { (layout::time(row.created_at)) }
                        td { @if let Some(at) = row.sent_at { (layout::time(at)) } @else { "—" } }
                        td.mono { (masked) }
                        td { (row.purpose.replace('_', " ")) }
                        td { (status_badge(&row.status)) }
                        td { (row.provider.as_deref().unwrap_or("—")) }
                        td.mono { (row.provider_message_id.as_deref().unwrap_or("—")) }
                        td.num { (row.attempts) }
                        td { (row.last_error.as_deref().map(|e| shown_error(e, &row.to_number, &masked)).unwrap_or_default()) }
                        td {
                            @match &row.body {
                                Some(body) => (body),
                                None => span.muted { (HIDDEN) },
                            }
                        }
                    }
                }
            }
        }
    }
}

fn status_badge(status: &str) -> Markup {
    let class = match status {
        "SENT" => "badge good",
        "FAILED" => "badge bad",
        _ => "badge warn",
    };
    html! { span class=(class) { (status.to_ascii_lowercase()) } }
}

/// A provider's error as shown: the number it may quote masked, cut to [`ERROR_CHARS`].
fn shown_error(error: &str, number: &str, masked: &str) -> String {
    let error = if number.is_empty() { error.to_owned() } else { error.replace(number, masked) };
    if error.chars().count() <= ERROR_CHARS {
        error
    } else {
        format!("{}…", error.chars().take(ERROR_CHARS - 1).collect::<String>())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_and_passwords_are_never_shown() {
        assert!(!SHOWN.contains(&Purpose::Otp));
        assert!(!SHOWN.contains(&Purpose::Test));
    }

    #[test]
    fn errors_are_cut_and_never_quote_the_number() {
        let shown = shown_error("invalid To +923001234567", "+923001234567", "+92*******4567");
        assert_eq!(shown, "invalid To +92*******4567");
        let long = shown_error(&"e".repeat(500), "+923001234567", "+92*******4567");
        assert_eq!(long.chars().count(), ERROR_CHARS);
        assert!(long.ends_with('…'));
    }
}
