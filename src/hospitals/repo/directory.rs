//! The directory's reads: a page of hospitals (public, admin's, searched) and nearby search.

use sqlx::{AssertSqlSafe, FromRow as _, PgConnection, PgExecutor, Row as _, postgres::PgRow};

use super::select::hospital_page;
use crate::{
    hospitals::model::{Hospital, NearbyHospital},
    ids::HospitalId,
};

/// A page of hospitals, newest first: approved only unless `all`; `approved` filters (admins);
/// `search` matches name, location or address.
///
/// Each case has its own statement (`where h.is_approved` for the public, no condition for an
/// admin's whole list), so each prepared statement's plan walks `hospitals_approved_created_idx`
/// in order and stops after the page; a catch-all `($1 or h.is_approved)` would get a generic
/// plan that sorts every hospital. Without a search the count is read from `hospital_counts`
/// (kept by triggers), not counted over every approved hospital on every request.
pub async fn list_hospitals(
    conn: &mut PgConnection,
    all: bool,
    approved: Option<bool>,
    search: Option<&str>,
    limit: i64,
    offset: i64,
) -> sqlx::Result<(Vec<Hospital>, i64)> {
    // `$1`: the approval state to keep, or none for every hospital (an admin without a filter).
    let state = if all { approved } else { Some(true) };
    let mut filter = String::from(if state.is_some() { "where h.is_approved = $1" } else { "where $1::bool is null" });
    let pattern = search.map(|s| s.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_"));
    if pattern.is_some() {
        filter.push_str(" and (h.name || ' ' || h.location || ' ' || h.address) ilike '%' || $2 || '%'");
    } else {
        filter.push_str(" and $2::text is null");
    }
    // The count rides on the page's statement: a subquery over `hospital_counts` without a
    // search, a count of the matches with one. An empty page (past the end) has no row to carry
    // it, so that case alone asks again.
    let total = if pattern.is_some() {
        format!("(select count(*) from hospitals h {filter})")
    } else {
        String::from(
            "(select coalesce(sum(n), 0)::bigint from hospital_counts c where $1::bool is null or c.is_approved = $1)",
        )
    };
    let order = "order by h.created_at desc, h.id desc";
    let page = format!("select * from hospitals h {filter} {order} limit $3 offset $4");
    let statement = format!("{} {order}", hospital_page(&page, &format!(", {total} as total")));
    // Built at run time: one statement per case (public, admin's, searched), each with its own plan.
    let rows: Vec<PgRow> = sqlx::query(AssertSqlSafe(statement))
        .bind(state)
        .bind(&pattern)
        .bind(limit)
        .bind(offset)
        .fetch_all(&mut *conn)
        .await?;
    let count: i64 = match rows.first() {
        Some(row) => row.try_get("total")?,
        None => {
            // Built at run time: the count of the same case, for a page past the end.
            sqlx::query_scalar(AssertSqlSafe(format!("select {total}")))
                .bind(state)
                .bind(&pattern)
                .fetch_one(&mut *conn)
                .await?
        }
    };
    let rows = rows.iter().map(Hospital::from_row).collect::<sqlx::Result<_>>()?;
    Ok((rows, count))
}

/// Approved hospitals within `radius_km` of a point, nearest first (at most `limit`). The
/// bounding cube (`earth_box`, GiST-indexed) prefilters; the exact distance decides.
pub async fn nearby(
    db: impl PgExecutor<'_>,
    lat: f64,
    lng: f64,
    radius_km: f64,
    limit: i64,
) -> sqlx::Result<Vec<NearbyHospital>> {
    sqlx::query_as!(
        NearbyHospital,
        r#"select id as "id: HospitalId", name, email, phone, address, location, latitude, longitude,
                  round((earth_distance(ll_to_earth($1, $2), ll_to_earth(latitude::float8, longitude::float8)) / 1000)::numeric, 2)
                      as "distance_km!"
           from hospitals
           where is_approved and latitude is not null
             and earth_box(ll_to_earth($1, $2), $3::float8 * 1000) @> ll_to_earth(latitude::float8, longitude::float8)
             and earth_distance(ll_to_earth($1, $2), ll_to_earth(latitude::float8, longitude::float8)) <= $3::float8 * 1000
           order by "distance_km!", id limit $4"#,
        lat,
        lng,
        radius_km,
        limit,
    )
    .fetch_all(db)
    .await
}
