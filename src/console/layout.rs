//! The console's page shell and the small pieces every page repeats: navigation, the one-time
//! notice after an action, the CSRF field, pagination, times. Pages are `maud` markup: every
//! value is escaped unless a page says otherwise (only server-made SVG does).

use actix_web::{HttpResponse, http::header};
use chrono::{DateTime, Utc};
use maud::{DOCTYPE, Markup, PreEscaped, html};

use super::{admin::Admin, assets};

/// The sections of the navigation, in its order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Nav {
    Overview,
    Hospitals,
    Users,
    Queues,
    Sms,
    Audit,
    Recommendations,
}

const SECTIONS: [(Nav, &str, &str); 7] = [
    (Nav::Overview, "/console/", "Overview"),
    (Nav::Hospitals, "/console/hospitals/", "Hospitals"),
    (Nav::Users, "/console/users/", "Users"),
    (Nav::Queues, "/console/queues/", "Queues"),
    (Nav::Sms, "/console/sms/", "SMS"),
    (Nav::Audit, "/console/audit/", "Audit"),
    (Nav::Recommendations, "/console/recommendations/", "Recommendations"),
];

/// The notice shown once after an action redirected here (`?flash=<key>`): only these fixed
/// texts, never anything taken from the address.
pub fn flash_message(key: &str) -> Option<&'static str> {
    Some(match key {
        "approved" => "The hospital was approved; it has been told by SMS.",
        "rejected" => "The hospital was rejected; it has been told by SMS.",
        "deactivated" => "The account was deactivated and its logins ended.",
        "reactivated" => "The account was reactivated.",
        "unchanged" => "Nothing changed: the account was already in that state.",
        "retried" => "The job was queued again.",
        "retried_all" => "The queue's dead jobs were queued again.",
        "discarded" => "The dead job was discarded.",
        "verification_queued" => "The chain's verification was queued; its verdict appears below when it has run.",
        "cache_cleared" => "The recommendation cache was cleared.",
        "enrolled" => "Your authenticator is set up. Keep the recovery codes somewhere safe.",
        _ => return None,
    })
}

fn head(title: &str) -> Markup {
    html! {
        head {
            meta charset="utf-8";
            meta name="viewport" content="width=device-width, initial-scale=1";
            meta name="robots" content="noindex";
            title { (title) " · CareHub console" }
            link rel="stylesheet" href=(assets::stylesheet_path());
        }
    }
}

/// A console page of a signed-in admin: navigation, the page's one `h1`, the notice of
/// `flash` (a key of [`flash_message`]) and `body`.
pub fn page(admin: &Admin, nav: Nav, title: &str, flash: Option<&str>, body: Markup) -> HttpResponse {
    let markup = html! {
        (DOCTYPE)
        html lang="en" {
            (head(title))
            body {
                a.skip href="#main" { "Skip to content" }
                header.top {
                    a.brand href="/console/" { "CareHub console" }
                    nav aria-label="Console sections" {
                        ul {
                            @for (section, href, label) in SECTIONS {
                                li {
                                    @if section == nav {
                                        a href=(href) aria-current="page" { (label) }
                                    } @else {
                                        a href=(href) { (label) }
                                    }
                                }
                            }
                        }
                    }
                    form #logout method="post" action="/console/logout/" {
                        (csrf_field(&admin.csrf))
                        span.who { (admin.username) }
                        button type="submit" { "Log out" }
                    }
                }
                main #main {
                    h1 { (title) }
                    @if let Some(message) = flash.and_then(flash_message) {
                        p #flash role="status" { (message) }
                    }
                    (body)
                }
            }
        }
    };
    html_response(markup)
}

/// A page outside a session (login, second factor): no navigation.
pub fn bare_page(title: &str, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            (head(title))
            body.bare {
                main #main {
                    p.brand { "CareHub console" }
                    h1 { (title) }
                    (body)
                }
            }
        }
    }
}

/// The body of an error answer.
pub fn error_page(title: &str, detail: &str, fields: &[String]) -> Markup {
    bare_page(
        title,
        html! {
            p #error role="alert" { (detail) }
            @if !fields.is_empty() {
                ul.errors { @for field in fields { li { (field) } } }
            }
            p { a href="/console/" { "Back to the console" } }
        },
    )
}

pub fn html_response(markup: Markup) -> HttpResponse {
    HttpResponse::Ok().content_type("text/html; charset=utf-8").body(markup.into_string())
}

/// 303 to `path` (a console path) with the notice `flash` (a key of [`flash_message`]).
pub fn redirect_with(path: &str, flash: &str) -> HttpResponse {
    let separator = if path.contains('?') { '&' } else { '?' };
    HttpResponse::SeeOther().insert_header((header::LOCATION, format!("{path}{separator}flash={flash}"))).finish()
}

pub fn redirect(path: &str) -> HttpResponse {
    HttpResponse::SeeOther().insert_header((header::LOCATION, path.to_owned())).finish()
}

/// The hidden field every state-changing form carries.
pub fn csrf_field(token: &str) -> Markup {
    html! { input type="hidden" name="csrf" value=(token); }
}

/// A form of one button that posts to `action` (a console action).
pub fn action_button(action: &str, csrf: &str, id: Option<&str>, class: &str, label: &str) -> Markup {
    html! {
        form method="post" action=(action) id=[id] class=(class) {
            (csrf_field(csrf))
            button type="submit" { (label) }
        }
    }
}

/// A time as operators read it: UTC, to the second.
pub fn time(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%d %H:%M:%S UTC").to_string()
}

/// A duration in seconds, rounded to its largest unit ("42 s", "7 min", "3 h", "2 d").
pub fn age(seconds: f64) -> String {
    let s = seconds.max(0.0);
    match s {
        s if s < 120.0 => format!("{s:.0} s"),
        s if s < 7_200.0 => format!("{:.0} min", s / 60.0),
        s if s < 172_800.0 => format!("{:.0} h", s / 3_600.0),
        s => format!("{:.0} d", s / 86_400.0),
    }
}

/// Rows per page of every console list.
pub const PER_PAGE: i64 = 25;

/// Which page of a list was asked for (`?page=`, from 1); anything else is the first.
pub fn page_number(raw: Option<&str>) -> i64 {
    raw.and_then(|p| p.parse::<i64>().ok()).filter(|p| (1..=100_000).contains(p)).unwrap_or(1)
}

/// Previous and next links of a list of `count` rows shown `PER_PAGE` at a time; `query` is the
/// list's other parameters (already filtered to known ones), kept in the links.
pub fn pager(path: &str, query: &[(&str, String)], page: i64, count: i64) -> Markup {
    let pages = ((count + PER_PAGE - 1) / PER_PAGE).max(1);
    let link = |to: i64| {
        let mut pairs: Vec<(&str, String)> = query.iter().filter(|(_, v)| !v.is_empty()).cloned().collect();
        pairs.push(("page", to.to_string()));
        format!("{path}?{}", serde_urlencoded::to_string(&pairs).unwrap_or_default())
    };
    html! {
        nav.pager aria-label="Pages" {
            @if page > 1 { a rel="prev" href=(link(page - 1)) { "← Previous" } }
            span { "Page " (page.min(pages)) " of " (pages) " · " (count) " in all" }
            @if page < pages { a rel="next" href=(link(page + 1)) { "Next →" } }
        }
    }
}

/// Server-made markup (SVG charts, the QR code) placed as is: never text from a client.
pub fn trusted_svg(svg: String) -> PreEscaped<String> {
    PreEscaped(svg)
}
