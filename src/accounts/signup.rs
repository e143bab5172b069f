//! The account check both registrations share: patients (`accounts::registration`) and
//! hospitals (`hospitals::registration`). Accounts owns it and hospitals call it, never the other
//! way; it knows nothing of HTTP (field errors, or a database error).

use sqlx::PgPool;

use super::{
    dto::{bounded, required},
    model::{Password, PhoneNumber, Username, validate_email},
    repo,
};
use crate::errors::{Duplicate, FieldErrors};

/// The account fields of a registration, as sent.
pub struct AccountFields {
    pub username: Option<String>,
    pub email: Option<String>,
    pub password: Option<String>,
    pub password_confirm: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub phone_number: Option<String>,
}

/// The account fields, checked. `None` where a field was refused (the reason is in `errors`).
pub struct CheckedAccount {
    pub username: Option<Username>,
    pub email: String,
    pub first_name: String,
    pub last_name: String,
    pub phone: Option<PhoneNumber>,
    pub password: Option<Password>,
}

/// Checks a new account's fields into `errors`, every problem at once: username rules and
/// uniqueness (ignoring case), e-mail, names, phone (normalized to E.164), password rules and
/// confirmation. With `complete`, e-mail, names and phone are required (hospital registration).
pub async fn check_account(
    db: &PgPool,
    phone_region: &str,
    errors: &mut FieldErrors,
    fields: AccountFields,
    complete: bool,
) -> sqlx::Result<CheckedAccount> {
    let username_text = required(errors, "username", fields.username);
    let username = if username_text.is_empty() {
        None
    } else {
        Username::parse(&username_text).map_err(|m| errors.add("username", m)).ok()
    };
    if let Some(name) = &username
        && repo::username_taken(db, name.as_str(), None).await?
    {
        errors.add("username", Duplicate::Username.message());
    }
    let optional = |errors: &mut FieldErrors, field: &str, value: Option<String>| {
        if complete { Some(required(errors, field, value)) } else { value }
    };
    let email = optional(errors, "email", fields.email).unwrap_or_default();
    let email = if email.is_empty() {
        email
    } else {
        validate_email(&email).map_err(|m| errors.add("email", m)).unwrap_or_default()
    };
    let first_name = optional(errors, "first_name", fields.first_name);
    let first_name = bounded(errors, "first_name", first_name, 150).unwrap_or_default();
    let last_name = optional(errors, "last_name", fields.last_name);
    let last_name = bounded(errors, "last_name", last_name, 150).unwrap_or_default();
    let phone = match optional(errors, "phone_number", fields.phone_number).as_deref().map(str::trim) {
        None | Some("") => None,
        Some(raw) => PhoneNumber::parse(raw, phone_region).map_err(|m| errors.add("phone_number", m)).ok(),
    };
    let password_text = required(errors, "password", fields.password);
    let confirm = required(errors, "password_confirm", fields.password_confirm);
    let password = if password_text.is_empty() {
        None
    } else {
        Password::parse(&password_text, &[&username_text, &email, &first_name, &last_name])
            .map_err(|problems| problems.into_iter().for_each(|p| errors.add("password", p)))
            .ok()
    };
    if !confirm.is_empty() && !password_text.is_empty() && confirm != password_text {
        errors.add("password_confirm", "Passwords do not match.");
    }
    Ok(CheckedAccount { username, email, first_name, last_name, phone, password })
}
