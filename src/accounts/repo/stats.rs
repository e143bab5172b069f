//! The admin dashboard's counts.

use sqlx::PgExecutor;

use super::super::model::DashboardStats;

/// The admin dashboard's counts, in one statement.
pub async fn dashboard_stats(db: impl PgExecutor<'_>) -> sqlx::Result<DashboardStats> {
    sqlx::query_as!(
        DashboardStats,
        r#"select count(*) as "total_users!",
                  count(*) filter (where user_type = 'PATIENT') as "total_patients!",
                  count(*) filter (where user_type = 'DOCTOR') as "total_doctors!",
                  (select count(*) from hospitals) as "total_hospitals!",
                  (select count(*) from hospitals where is_approved) as "approved_hospitals!",
                  (select count(*) from hospitals where not is_approved and rejected_at is null) as "pending_hospitals!",
                  (select count(*) from appointments) as "total_appointments!",
                  (select count(*) from appointments where status = 'REQUESTED') as "pending_appointments!"
           from users"#,
    )
    .fetch_one(db)
    .await
}
