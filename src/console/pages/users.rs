//! `/console/users/`: find an account by username, name or phone, see it, deactivate or
//! reactivate it (`accounts::service::activation`: deactivation ends its logins, the console's
//! included). Nothing here shows a password, a code or a medical record.

use actix_web::{HttpResponse, web};
use maud::{Markup, html};
use serde::Deserialize;

use crate::{
    accounts::{
        model::UserType,
        repo::{UserSummary, search_users, user_summary},
        service::activation,
    },
    audit::RequestMeta,
    console::{
        admin::Admin,
        error::ConsoleError,
        layout::{self, Nav, PER_PAGE},
        session::Posted,
    },
    ids::UserId,
    state::AppState,
};

#[derive(Deserialize)]
pub struct ListQuery {
    q: Option<String>,
    role: Option<String>,
    active: Option<String>,
    page: Option<String>,
    flash: Option<String>,
}

const ROLES: [UserType; 4] = [UserType::Admin, UserType::Hospital, UserType::Doctor, UserType::Patient];

fn filters(q: &str, role: Option<UserType>, active: &str) -> Markup {
    html! {
        form.filters method="get" action="/console/users/" role="search" {
            div { label for="q" { "Username, name or phone" } input #q name="q" type="search" value=(q) maxlength="100"; }
            div {
                label for="role" { "Role" }
                select #role name="role" {
                    option value="" { "Any" }
                    @for r in ROLES { option value=(r.as_str()) selected[role == Some(r)] { (r.as_str()) } }
                }
            }
            div {
                label for="active" { "State" }
                select #active name="active" {
                    option value="" { "Any" }
                    option value="true" selected[active == "true"] { "Active" }
                    option value="false" selected[active == "false"] { "Inactive" }
                }
            }
            button type="submit" { "Search" }
        }
    }
}

fn state_badge(user: &UserSummary) -> Markup {
    html! { @if user.is_active { span.badge.good { "active" } } @else { span.badge.bad { "inactive" } } }
}

/// `GET /console/users/`.
pub async fn list(
    state: web::Data<AppState>,
    admin: Admin,
    query: web::Query<ListQuery>,
) -> Result<HttpResponse, ConsoleError> {
    let q = query.q.as_deref().unwrap_or_default().trim().chars().take(100).collect::<String>();
    let role = query.role.as_deref().and_then(UserType::parse);
    let active = match query.active.as_deref() {
        Some("true") => Some(true),
        Some("false") => Some(false),
        _ => None,
    };
    let page = layout::page_number(query.page.as_deref());
    let mut conn = state.db.acquire().await?;
    let (count, users) =
        search_users(&mut conn, Some(q.as_str()), role, active, PER_PAGE, (page - 1) * PER_PAGE).await?;
    let active_text = active.map(|a| a.to_string()).unwrap_or_default();
    let kept = [
        ("q", q.clone()),
        ("role", role.map(|r| r.as_str().to_owned()).unwrap_or_default()),
        ("active", active_text.clone()),
    ];
    let body = html! {
        (filters(&q, role, &active_text))
        @if users.is_empty() {
            p.muted { "No account matches." }
        } @else {
            div.table-wrap { table {
                thead { tr { th { "Username" } th { "Name" } th { "Role" } th { "Phone" } th { "State" } th { "Last login" } } }
                tbody { @for user in &users {
                    tr data-user-id=(user.id.get()) {
                        td { a href=(format!("/console/users/{}/", user.id.get())) { (user.username) } }
                        td { (user.first_name) " " (user.last_name) }
                        td { (user.user_type.as_str()) }
                        td { (user.phone_number.as_deref().unwrap_or("")) }
                        td { (state_badge(user)) }
                        td { @if let Some(at) = user.last_login { (layout::time(at)) } @else { span.muted { "never" } } }
                    }
                } }
            } }
        }
        (layout::pager("/console/users/", &kept, page, count))
    };
    Ok(layout::page(&admin, Nav::Users, "Users", query.flash.as_deref(), body))
}

#[derive(Deserialize)]
pub struct FlashQuery {
    flash: Option<String>,
}

/// `GET /console/users/{id}/`.
pub async fn user(
    state: web::Data<AppState>,
    admin: Admin,
    id: web::Path<i64>,
    query: web::Query<FlashQuery>,
) -> Result<HttpResponse, ConsoleError> {
    let user = user_summary(&state.db, UserId::from(*id)).await?.ok_or(ConsoleError::NotFound)?;
    let action = format!("/console/users/{}/active/", user.id.get());
    let body = html! {
        section.card {
            dl.facts {
                dt { "Username" } dd { (user.username) }
                dt { "Name" } dd { (user.first_name) " " (user.last_name) }
                dt { "Role" } dd { (user.user_type.as_str()) }
                dt { "Email" } dd { (user.email) }
                dt { "Phone" } dd { (user.phone_number.as_deref().unwrap_or("")) }
                dt { "State" } dd { (state_badge(&user)) @if user.must_change_password { " " span.badge { "must change password" } } }
                dt { "Joined" } dd { (layout::time(user.date_joined)) }
                dt { "Last login" } dd { @if let Some(at) = user.last_login { (layout::time(at)) } @else { "never" } }
            }
        }
        @if user.is_active {
            @if user.id != admin.principal.user_id {
                form #deactivate .stacked method="post" action=(action) {
                    (layout::csrf_field(&admin.csrf))
                    input type="hidden" name="active" value="false";
                    div { label for="reason" { "Reason (kept in the audit trail)" } textarea #reason name="reason" rows="2" maxlength="500" {} }
                    button type="submit" { "Deactivate and end its logins" }
                }
            } @else {
                p.muted { "This is your own account: another admin can deactivate it." }
            }
        } @else {
            form #reactivate .stacked method="post" action=(action) {
                (layout::csrf_field(&admin.csrf))
                input type="hidden" name="active" value="true";
                div { label for="reason" { "Reason (kept in the audit trail)" } textarea #reason name="reason" rows="2" maxlength="500" {} }
                button type="submit" { "Reactivate" }
            }
        }
    };
    Ok(layout::page(&admin, Nav::Users, &format!("Account {}", user.username), query.flash.as_deref(), body))
}

#[derive(Deserialize)]
pub struct ActiveForm {
    active: String,
    #[serde(default)]
    reason: String,
}

/// `POST /console/users/{id}/active/`.
pub async fn set_active(
    state: web::Data<AppState>,
    meta: RequestMeta,
    id: web::Path<i64>,
    posted: Posted<ActiveForm>,
) -> Result<HttpResponse, ConsoleError> {
    let active = match posted.form.active.as_str() {
        "true" => true,
        "false" => false,
        _ => return Err(crate::http::error::ApiError::Malformed("active must be true or false".into()).into()),
    };
    let user = UserId::from(*id);
    let before = user_summary(&state.db, user).await?.ok_or(ConsoleError::NotFound)?;
    let reason = Some(posted.form.reason.as_str()).filter(|r| !r.trim().is_empty());
    activation::set_active(&state, &posted.session.principal, &meta, user, active, reason).await?;
    let flash = match (before.is_active == active, active) {
        (true, _) => "unchanged",
        (false, true) => "reactivated",
        (false, false) => "deactivated",
    };
    Ok(layout::redirect_with(&format!("/console/users/{}/", user.get()), flash))
}
