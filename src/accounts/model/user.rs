//! An account as the API shows it, the admin dashboard's counts, and a login's stored state.

use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

use super::UserType;
use crate::ids::{HospitalId, UserId};

/// A user as the API shows it (the reference's `User`).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct User {
    pub id: UserId,
    pub username: String,
    pub email: String,
    pub first_name: String,
    pub last_name: String,
    pub full_name: String,
    /// E.164, or empty.
    pub phone_number: PhoneText,
    pub user_type: UserType,
    pub is_active: bool,
    pub must_change_password: bool,
    pub date_joined: DateTime<Utc>,
}

impl User {
    /// Fills the derived fields after a database read.
    pub fn finish(mut self) -> Self {
        self.full_name = format!("{} {}", self.first_name, self.last_name).trim().to_owned();
        self
    }
}

/// A stored phone number shown as a string, empty when there is none (as Django shows a blank
/// `CharField`).
#[derive(Debug, Clone, Default, Serialize, ToSchema)]
#[serde(transparent)]
pub struct PhoneText(pub String);

impl From<Option<String>> for PhoneText {
    fn from(value: Option<String>) -> Self {
        Self(value.unwrap_or_default())
    }
}

/// Admin dashboard counts (the reference's `DashboardStats`).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DashboardStats {
    pub total_users: i64,
    pub total_patients: i64,
    pub total_doctors: i64,
    pub total_hospitals: i64,
    pub approved_hospitals: i64,
    pub pending_hospitals: i64,
    pub total_appointments: i64,
    pub pending_appointments: i64,
}

/// A login's state as stored; whether it is live is decided at each use, against the clock. The
/// account's role and hospital are read here too: they, not the token's claims, are what a
/// request acts as (a token whose claims disagree is refused).
#[derive(Debug, Clone, Copy)]
pub struct SessionState {
    pub user_type: UserType,
    pub hospital_id: Option<HospitalId>,
    pub is_active: bool,
    pub must_change_password: bool,
    pub password_changed_at: DateTime<Utc>,
    pub revoked: bool,
    pub expires_at: DateTime<Utc>,
}

impl SessionState {
    /// Not revoked, not expired, its account active.
    pub fn live(&self, now: DateTime<Utc>) -> bool {
        !self.revoked && self.expires_at > now && self.is_active
    }
}
