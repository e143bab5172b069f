//! The column lists the statements of this context share, and the read-and-lock they all use
//! for read-modify-write.

use sqlx::{AssertSqlSafe, PgConnection, postgres::PgRow};

/// (Constants, so the `format!`ed statements below carry no outside input.)
pub(super) const HOSPITAL_SELECT: &str = "select h.id, h.user_id as user, u.username as user_username, u.email as user_email, \
     h.name, h.license_number, h.email, h.phone, h.address, h.location, h.latitude, h.longitude, h.time_zone, \
     h.is_approved, h.approved_by, h.approved_at, h.created_at, h.updated_at \
     from hospitals h join users u on u.id = h.user_id";

/// [`HOSPITAL_SELECT`] with `extra` columns, over a page chosen first: `page` is a subquery over
/// `hospitals h` (filtered, ordered, limited), so only the page's rows are joined to their
/// accounts, not every row an offset skips.
pub(super) fn hospital_page(page: &str, extra: &str) -> String {
    HOSPITAL_SELECT.replacen("from hospitals h", &format!("{extra} from ({page}) h"), 1)
}

pub(super) const DEPARTMENT_SELECT: &str = "select d.id, d.hospital_id as hospital, h.name as hospital_name, d.name, d.description, \
     d.is_active, d.created_at, d.updated_at from departments d join hospitals h on h.id = d.hospital_id";

pub(super) const DOCTOR_SELECT: &str = "select p.id, p.hospital_id as hospital, h.name as hospital_name, p.user_id as user, \
     trim(u.first_name || ' ' || u.last_name) as doctor_name, u.username as doctor_username, u.email as doctor_email, \
     p.department_id as department, d.name as department_name, p.cnic, p.address, p.license_number, \
     p.specialization, p.phone_number, p.available_timings, p.is_active, p.created_at, p.updated_at \
     from doctor_profiles p join users u on u.id = p.user_id join hospitals h on h.id = p.hospital_id \
     left join departments d on d.id = p.department_id";

/// Reads one row and locks it (`FOR UPDATE`) for the rest of the caller's transaction: the
/// shape of every read-modify-write here (PUT and PATCH merge the request into the current row
/// and write every field back). A concurrent change of the same row waits for this one to
/// commit and then reads the result, instead of overwriting it with what it read before.
pub(super) async fn lock_one<T>(conn: &mut PgConnection, statement: String, ids: &[i64]) -> sqlx::Result<Option<T>>
where
    T: for<'r> sqlx::FromRow<'r, PgRow> + Send + Unpin,
{
    let mut query = sqlx::query_as(AssertSqlSafe(statement));
    for id in ids {
        query = query.bind(*id);
    }
    query.fetch_optional(conn).await
}
