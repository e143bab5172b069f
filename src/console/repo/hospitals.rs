//! The hospitals page's reads: the searched, filtered list and one hospital's facts, counts,
//! departments and doctors (never a patient's data). Approval itself is the hospitals context's.
//!
//! The list has one statement with a search and one without (each prepared statement keeps its
//! own plan: a search walks `hospitals_console_search_trgm_idx`, the plain list the creation
//! order index); a catch-all `$2 is null or …` could settle on a generic plan that reads every
//! hospital for a rare match.

use chrono::{DateTime, Utc};
use sqlx::PgExecutor;

use crate::ids::HospitalId;

/// Which hospitals the list keeps: `?approval=`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Approval {
    #[default]
    All,
    /// Neither approved nor rejected: waiting for an admin.
    Pending,
    Approved,
    Rejected,
}

impl Approval {
    pub const ALL: [Self; 4] = [Self::All, Self::Pending, Self::Approved, Self::Rejected];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::All => "all",
            Self::Pending => "pending",
            Self::Approved => "approved",
            Self::Rejected => "rejected",
        }
    }

    /// The filter of `?approval=`; anything unknown is every hospital.
    pub fn parse(raw: Option<&str>) -> Self {
        Self::ALL.into_iter().find(|a| Some(a.as_str()) == raw).unwrap_or_default()
    }

    /// A hospital's state.
    pub fn of(is_approved: bool, rejected_at: Option<DateTime<Utc>>) -> Self {
        match (is_approved, rejected_at) {
            (true, _) => Self::Approved,
            (false, Some(_)) => Self::Rejected,
            (false, None) => Self::Pending,
        }
    }
}

/// A row of the list.
#[derive(Debug, Clone)]
pub struct HospitalRow {
    pub id: HospitalId,
    pub name: String,
    pub email: String,
    pub phone: String,
    pub location: String,
    pub is_approved: bool,
    pub rejected_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

/// Newest first: a page of hospitals in `approval` whose name, email, phone or city contains
/// `pattern` (an `ilike` pattern, `%` and `_` escaped by the caller), or all of them.
pub async fn list(
    db: impl PgExecutor<'_>,
    approval: Approval,
    pattern: Option<&str>,
    limit: i64,
    offset: i64,
) -> sqlx::Result<Vec<HospitalRow>> {
    match pattern {
        Some(pattern) => {
            sqlx::query_as!(
                HospitalRow,
                r#"select h.id as "id: HospitalId", h.name, h.email, h.phone, h.location, h.is_approved,
                          h.rejected_at, h.created_at
                   from hospitals h
                   where (h.name || ' ' || h.email || ' ' || h.phone || ' ' || h.location) ilike $2
                     and ($1 = 'all' or ($1 = 'approved' and h.is_approved)
                          or ($1 = 'pending' and not h.is_approved and h.rejected_at is null)
                          or ($1 = 'rejected' and not h.is_approved and h.rejected_at is not null))
                   order by h.created_at desc, h.id desc limit $3 offset $4"#,
                approval.as_str(),
                pattern,
                limit,
                offset,
            )
            .fetch_all(db)
            .await
        }
        None => {
            sqlx::query_as!(
                HospitalRow,
                r#"select h.id as "id: HospitalId", h.name, h.email, h.phone, h.location, h.is_approved,
                          h.rejected_at, h.created_at
                   from hospitals h
                   where ($1 = 'all' or ($1 = 'approved' and h.is_approved)
                          or ($1 = 'pending' and not h.is_approved and h.rejected_at is null)
                          or ($1 = 'rejected' and not h.is_approved and h.rejected_at is not null))
                   order by h.created_at desc, h.id desc limit $2 offset $3"#,
                approval.as_str(),
                limit,
                offset,
            )
            .fetch_all(db)
            .await
        }
    }
}

/// How many hospitals [`list`] pages through.
pub async fn count(db: impl PgExecutor<'_>, approval: Approval, pattern: Option<&str>) -> sqlx::Result<i64> {
    match pattern {
        Some(pattern) => {
            sqlx::query_scalar!(
                r#"select count(*) as "n!" from hospitals h
                   where (h.name || ' ' || h.email || ' ' || h.phone || ' ' || h.location) ilike $2
                     and ($1 = 'all' or ($1 = 'approved' and h.is_approved)
                          or ($1 = 'pending' and not h.is_approved and h.rejected_at is null)
                          or ($1 = 'rejected' and not h.is_approved and h.rejected_at is not null))"#,
                approval.as_str(),
                pattern,
            )
            .fetch_one(db)
            .await
        }
        None => {
            sqlx::query_scalar!(
                r#"select count(*) as "n!" from hospitals h
                   where ($1 = 'all' or ($1 = 'approved' and h.is_approved)
                          or ($1 = 'pending' and not h.is_approved and h.rejected_at is null)
                          or ($1 = 'rejected' and not h.is_approved and h.rejected_at is not null))"#,
                approval.as_str(),
            )
            .fetch_one(db)
            .await
        }
    }
}

/// What the hospital page says of a hospital and its account.
#[derive(Debug, Clone)]
pub struct HospitalFacts {
    pub id: HospitalId,
    pub name: String,
    pub license_number: String,
    pub email: String,
    pub phone: String,
    pub address: String,
    pub location: String,
    pub coordinates: Option<String>,
    pub time_zone: String,
    pub is_approved: bool,
    pub approved_at: Option<DateTime<Utc>>,
    pub approved_by: Option<String>,
    pub rejected_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub username: String,
    pub account_active: bool,
}

pub async fn facts(db: impl PgExecutor<'_>, id: HospitalId) -> sqlx::Result<Option<HospitalFacts>> {
    sqlx::query_as!(
        HospitalFacts,
        r#"select h.id as "id: HospitalId", h.name, h.license_number, h.email, h.phone, h.address, h.location,
                  case when h.latitude is not null then h.latitude::text || ', ' || h.longitude::text end
                      as coordinates,
                  h.time_zone, h.is_approved, h.approved_at, a.username as "approved_by?", h.rejected_at,
                  h.created_at, u.username, u.is_active as account_active
           from hospitals h
           join users u on u.id = h.user_id
           left join users a on a.id = h.approved_by
           where h.id = $1"#,
        id.get(),
    )
    .fetch_optional(db)
    .await
}

/// A hospital's departments, doctors and appointments, counted.
#[derive(Debug, Clone, Default)]
pub struct HospitalCounts {
    pub departments: i64,
    pub doctors_active: i64,
    pub doctors_inactive: i64,
    pub requested: i64,
    pub confirmed: i64,
    pub completed: i64,
    pub cancelled: i64,
}

pub async fn counts(db: impl PgExecutor<'_>, id: HospitalId) -> sqlx::Result<HospitalCounts> {
    sqlx::query_as!(
        HospitalCounts,
        r#"select
             (select count(*) from departments where hospital_id = $1) as "departments!",
             d.active as "doctors_active!", d.inactive as "doctors_inactive!",
             a.requested as "requested!", a.confirmed as "confirmed!", a.completed as "completed!",
             a.cancelled as "cancelled!"
           from (select count(*) filter (where is_active) as active, count(*) filter (where not is_active) as inactive
                 from doctor_profiles where hospital_id = $1) d,
                (select count(*) filter (where status = 'REQUESTED') as requested,
                        count(*) filter (where status = 'CONFIRMED') as confirmed,
                        count(*) filter (where status = 'COMPLETED') as completed,
                        count(*) filter (where status = 'CANCELLED') as cancelled
                 from appointments where hospital_id = $1) a"#,
        id.get(),
    )
    .fetch_one(db)
    .await
}

/// A department as the hospital page lists it.
#[derive(Debug, Clone)]
pub struct DepartmentRow {
    pub id: i64,
    pub name: String,
    pub is_active: bool,
    pub doctors: i64,
}

/// The hospital's departments by name (at most `limit`).
pub async fn departments(db: impl PgExecutor<'_>, id: HospitalId, limit: i64) -> sqlx::Result<Vec<DepartmentRow>> {
    sqlx::query_as!(
        DepartmentRow,
        r#"select d.id, d.name, d.is_active,
                  (select count(*) from doctor_profiles p where p.hospital_id = d.hospital_id and p.department_id = d.id)
                      as "doctors!"
           from departments d where d.hospital_id = $1
           order by lower(d.name), d.id limit $2"#,
        id.get(),
        limit,
    )
    .fetch_all(db)
    .await
}

/// A doctor as the hospital page lists them: no contact details, no identity numbers.
#[derive(Debug, Clone)]
pub struct DoctorRow {
    pub id: i64,
    pub name: String,
    pub specialization: String,
    pub department: Option<String>,
    pub is_active: bool,
}

/// The hospital's doctors by name (at most `limit`).
pub async fn doctors(db: impl PgExecutor<'_>, id: HospitalId, limit: i64) -> sqlx::Result<Vec<DoctorRow>> {
    sqlx::query_as!(
        DoctorRow,
        r#"select p.id, trim(u.first_name || ' ' || u.last_name) as "name!", p.specialization,
                  d.name as "department?", p.is_active
           from doctor_profiles p
           join users u on u.id = p.user_id
           left join departments d on d.id = p.department_id
           where p.hospital_id = $1
           order by lower(u.last_name), lower(u.first_name), p.id limit $2"#,
        id.get(),
        limit,
    )
    .fetch_all(db)
    .await
}
