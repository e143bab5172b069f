//! `/console/login/` and `/console/logout/`: the password half of a console login. It shares
//! the API's failed-login throttle (per username and per address) and writes its own audit rows
//! (`console_login_failed`); only an active ADMIN account gets past it, to the second factor.

use actix_web::{HttpRequest, HttpResponse, http::StatusCode, web};
use maud::{Markup, html};
use serde::Deserialize;
use serde_json::json;

use super::{
    error::ConsoleError,
    layout,
    repo::sessions,
    session::{self, Admin, LoginForm, Posted},
};
use crate::{
    accounts::{
        model::{Password, UserType},
        repo as accounts_repo,
        throttle::Client,
    },
    audit::{self, AuditEvent, RequestMeta},
    http::error::ApiError,
    state::AppState,
};

/// The one answer to every refused login: it does not say whether the account exists, is an
/// admin, or the password was right.
const REFUSED: &str = "These credentials do not open the console.";

fn login_form(csrf: &str, username: &str, error: Option<&str>) -> Markup {
    layout::bare_page(
        "Sign in",
        html! {
            @if let Some(error) = error { p #error role="alert" { (error) } }
            form #login .stacked method="post" action="/console/login/" {
                (layout::csrf_field(csrf))
                div {
                    label for="username" { "Username" }
                    input #username name="username" type="text" autocomplete="username" required
                        autocapitalize="none" spellcheck="false" maxlength="150" value=(username);
                }
                div {
                    label for="password" { "Password" }
                    input #password name="password" type="password" autocomplete="current-password" required maxlength="1024";
                }
                button type="submit" { "Continue" }
            }
            p.muted { "For CareHub administrators. A code from your authenticator app is asked next." }
        },
    )
}

/// The login page with a new form token (and its cookie), answered with `status`.
fn answer_form(state: &AppState, status: StatusCode, username: &str, error: Option<&str>) -> HttpResponse {
    let csrf = session::random_token();
    let cookie = session::cookie(&state.settings, session::login_cookie_name(&state.settings), csrf.clone());
    HttpResponse::build(status)
        .cookie(cookie)
        .content_type("text/html; charset=utf-8")
        .body(login_form(&csrf, username, error).into_string())
}

/// `GET /console/login/`: the form, or the overview for a signed-in admin.
pub async fn page(state: web::Data<AppState>, req: HttpRequest) -> Result<HttpResponse, ConsoleError> {
    match session::current(&req).await? {
        Some(row) if row.stage == "ACTIVE" => Ok(layout::redirect("/console/")),
        _ => Ok(answer_form(&state, StatusCode::OK, "", None)),
    }
}

/// `POST /console/login/`.
pub async fn submit(
    state: web::Data<AppState>,
    meta: RequestMeta,
    form: LoginForm,
) -> Result<HttpResponse, ConsoleError> {
    let username = form.username.trim().chars().take(150).collect::<String>();
    let ip = meta.ip.clone().unwrap_or_default();
    let client = Client::Address(&ip);
    if let Err(retry_after_secs) = state.login_throttle.check(&username, client) {
        return Err(ApiError::Throttled { retry_after_secs }.into());
    }
    let candidate = accounts_repo::find_login_candidate(&state.db, &username).await?;
    let password_ok = state
        .hasher
        .verify(&Password::unchecked(&form.password), candidate.as_ref().map(|c| c.password_hash.as_str()))
        .await?;
    let refusal = match &candidate {
        None => Some("unknown_user"),
        Some(_) if !password_ok => Some("wrong_password"),
        Some(user) if !user.is_active => Some("inactive_account"),
        Some(user) if user.user_type != UserType::Admin => Some("not_an_admin"),
        Some(user) if user.must_change_password => Some("password_change_required"),
        Some(_) => None,
    };
    let user = match (candidate, refusal) {
        (Some(user), None) => user,
        (candidate, reason) => {
            let reason = reason.unwrap_or("unknown_user");
            let mut event = AuditEvent::new("console_login_failed");
            // The account's own name, never what was typed (people type passwords there).
            let details = match candidate {
                Some(user) => {
                    event = event.target("user", user.id);
                    json!({ "username": user.username, "reason": reason })
                }
                None => json!({ "username_hmac": state.pseudonyms.username(&username), "reason": reason }),
            };
            audit::record_alone(&state.db, &meta, event.details(details)).await?;
            if let Err(retry_after_secs) = state.login_throttle.record_failure(&username, client) {
                return Err(ApiError::Throttled { retry_after_secs }.into());
            }
            return Ok(answer_form(&state, StatusCode::UNAUTHORIZED, &username, Some(REFUSED)));
        }
    };
    let token = session::random_token();
    let mut conn = state.db.acquire().await?;
    sessions::open(
        &mut conn,
        user.id,
        &session::token_hash(&token),
        &session::random_token(),
        session::lifetimes(&state.settings),
    )
    .await?;
    tracing::info!(user.id = user.id.get(), "console password accepted; second factor next");
    Ok(HttpResponse::SeeOther()
        .cookie(session::cookie(&state.settings, session::session_cookie_name(&state.settings), token))
        .cookie(session::removal(&state.settings, session::login_cookie_name(&state.settings)))
        .insert_header((actix_web::http::header::LOCATION, "/console/mfa/"))
        .finish())
}

#[derive(Deserialize)]
pub struct NoFields {}

/// `POST /console/logout/`: ends the session (its row is deleted, the cookie removed).
pub async fn logout(
    state: web::Data<AppState>,
    meta: RequestMeta,
    posted: Posted<NoFields, Admin>,
) -> Result<HttpResponse, ConsoleError> {
    let admin = posted.session;
    let mut tx = state.db.begin().await?;
    sessions::delete(&mut *tx, admin.session_id).await?;
    audit::record(
        &mut tx,
        &meta,
        AuditEvent::new("console_logout").by(&admin.principal).target("user", admin.principal.user_id),
    )
    .await?;
    tx.commit().await?;
    Ok(HttpResponse::SeeOther()
        .cookie(session::removal(&state.settings, session::session_cookie_name(&state.settings)))
        .insert_header((actix_web::http::header::LOCATION, "/console/login/"))
        .finish())
}
