//! Reading request fields into checked values: required and bounded text, and the account fields
//! both registrations share (patients here, hospitals in `hospitals::registration`).

use super::{Password, PhoneNumber, Username};
use crate::errors::FieldErrors;

/// Takes a required text field: "required" when absent, "blank" when empty.
pub fn required(errors: &mut FieldErrors, field: &str, value: Option<String>) -> String {
    match value {
        None => {
            errors.add(field, "This field is required.");
            String::new()
        }
        Some(text) if text.trim().is_empty() => {
            errors.add(field, "This field may not be blank.");
            String::new()
        }
        Some(text) => text,
    }
}

/// Checks an optional free-text field's length.
pub fn bounded(errors: &mut FieldErrors, field: &str, value: Option<String>, max: usize) -> Option<String> {
    let text = value?.trim().to_owned();
    if text.chars().count() > max {
        errors.add(field, format!("Ensure this field has no more than {max} characters."));
    }
    Some(text)
}

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

/// The [`AccountFields`] of a registration body: any body with the seven fields under these names
/// (the patients' and the hospitals' registration requests), moved out of it.
macro_rules! account_fields {
    ($body:ident) => {
        $crate::accounts::model::AccountFields {
            username: $body.username,
            email: $body.email,
            password: $body.password,
            password_confirm: $body.password_confirm,
            first_name: $body.first_name,
            last_name: $body.last_name,
            phone_number: $body.phone_number,
        }
    };
}
pub(crate) use account_fields;

/// The account fields, checked. `None` where a field was refused (the reason is in `errors`).
pub struct CheckedAccount {
    pub username: Option<Username>,
    pub email: String,
    pub first_name: String,
    pub last_name: String,
    pub phone: Option<PhoneNumber>,
    pub password: Option<Password>,
}
