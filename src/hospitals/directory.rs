//! `/api/hospitals/`, `/api/hospitals/{id}/` and `/api/hospitals/nearby/`: the directory (list,
//! detail, nearby search) and the owner's (or an admin's) changes to a hospital's record.

use std::sync::Arc;

use actix_web::web;
use serde::{Deserialize, Serialize};
use sqlx::PgPool;
use utoipa::{IntoParams, ToSchema};

use super::{
    dto::{HospitalRequest, hospital_fields},
    model::{Hospital, NearbyHospital, policy},
    repo, service,
};
use crate::{
    accounts::model::{MaybePrincipal, Principal},
    audit::{self, AuditEvent, RequestMeta},
    http::{
        error::{ApiError, ErrorBody, FieldErrors, from_database},
        extract::Body,
        pagination::{Page, PageParams, PageRequest},
    },
    notified::Watch,
    state::AppState,
};

/// Nearby answers at most this many hospitals, and radii above this are refused.
const NEARBY_LIMIT: i64 = 200;
const NEARBY_MAX_RADIUS_KM: f64 = 500.0;
/// Smaller radii (10 m) are refused: they find nothing, and a subnormal one underflows
/// Postgres' float arithmetic.
const NEARBY_MIN_RADIUS_KM: f64 = 0.01;

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct HospitalListQuery {
    /// Admins only: `true` or `false` (`1`/`0`, any case; empty: both).
    #[param(pattern = "^([Tt][Rr][Uu][Ee]|[Ff][Aa][Ll][Ss][Ee]|1|0)?$")]
    pub is_approved: Option<String>,
    /// Part of the name, location or address.
    pub search: Option<String>,
}

/// The hospital directory, newest first: approved hospitals for everyone; admins see all and
/// may filter by `is_approved`.
#[utoipa::path(get, path = "/api/hospitals/", tag = "hospitals", params(PageParams, HospitalListQuery),
    responses((status = 200, body = Page<Hospital>), (status = 400), (status = 404, body = ErrorBody)))]
pub async fn list(
    state: web::Data<AppState>,
    MaybePrincipal(caller): MaybePrincipal,
    page: PageRequest,
    query: web::Query<HospitalListQuery>,
) -> Result<web::Json<Page<Hospital>>, ApiError> {
    let all = policy::sees_all_hospitals(caller.as_ref());
    let approved = match query.is_approved.as_deref().map(str::to_ascii_lowercase).as_deref() {
        None | Some("") => None,
        Some("true" | "1") => Some(true),
        Some("false" | "0") => Some(false),
        Some(_) => return Err(ApiError::Validation(FieldErrors::single("is_approved", "Must be true or false."))),
    };
    let search = query
        .search
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| s.chars().take(100).collect::<String>());
    if search.is_none() && policy::sees_public_directory(caller.as_ref()) {
        let listed = state.directory.page(&state.db, page.limit(), page.offset()).await?;
        return Ok(web::Json(page.respond(listed.count, listed.rows.clone())?));
    }
    let mut conn = state.db.acquire().await?;
    let (rows, count) =
        repo::list_hospitals(&mut conn, all, approved.filter(|_| all), search.as_deref(), page.limit(), page.offset())
            .await?;
    let rows = rows.into_iter().map(|h| hide_account(caller.as_ref(), h)).collect();
    Ok(web::Json(page.respond(count, rows)?))
}

/// The channel the `hospitals` triggers notify on every change.
pub const CHANNEL: &str = "carehub_directory";

/// A page of the public directory and the number of approved hospitals.
#[derive(Debug)]
pub struct Listed {
    pub rows: Vec<Hospital>,
    pub count: i64,
}

/// The public directory's pages (approved hospitals, account fields hidden, no search), kept per
/// process for `hospitals.directory_cache_seconds`: the directory is what anonymous traffic
/// reads, and a page from here costs no round trip. Every change to `hospitals` notifies
/// [`CHANNEL`], which empties it in every process (see [`crate::notified`]); this process's own
/// changes empty it before they answer. Bounded by the rows it holds.
pub struct DirectoryCache {
    pages: moka::sync::Cache<(i64, i64), Arc<Listed>>,
    watch: Arc<Watch>,
}

impl DirectoryCache {
    /// Rows held at most, over every page (a few hundred bytes each).
    const ROWS: u64 = 5_000;

    /// A cache keeping pages for `ttl` (zero: no cache).
    pub fn new(ttl: std::time::Duration) -> Arc<Self> {
        let pages = moka::sync::Cache::builder()
            .max_capacity(Self::ROWS)
            .weigher(|_, listed: &Arc<Listed>| u32::try_from(listed.rows.len()).unwrap_or(u32::MAX).saturating_add(1))
            .time_to_live(ttl)
            .build();
        let watch = Watch::new(CHANNEL, !ttl.is_zero()).keeping(&pages);
        Arc::new(Self { pages, watch: Arc::new(watch) })
    }

    /// The public page at `offset` of `limit` rows, from the cache when it can be trusted. A page
    /// past the end (a 404) is read but not kept: any number of them could be asked for, and they
    /// would push the real pages out.
    pub async fn page(&self, db: &PgPool, limit: i64, offset: i64) -> Result<Arc<Listed>, ApiError> {
        let mut past_the_end = None;
        let load = async {
            let mut conn = db.acquire().await?;
            let (rows, count) = repo::list_hospitals(&mut conn, false, None, None, limit, offset).await?;
            let rows: Vec<_> = rows.into_iter().map(|h| hide_account(None, h)).collect();
            if rows.is_empty() && offset > 0 {
                past_the_end = Some(Arc::new(Listed { rows, count }));
                return Ok::<_, sqlx::Error>(None);
            }
            Ok(Some(Arc::new(Listed { rows, count })))
        };
        let listed = self.watch.cached(db, &self.pages, (limit, offset), load).await?;
        listed.or(past_the_end).ok_or_else(|| ApiError::Internal(anyhow::anyhow!("a directory page read nothing")))
    }

    /// Hospitals changed: forget every page.
    pub fn changed(&self) {
        self.watch.changed();
    }
}

/// The hospital's login name and e-mail are for its owner and admins only.
fn hide_account(caller: Option<&Principal>, mut hospital: Hospital) -> Hospital {
    if !caller.is_some_and(|p| policy::may_edit_hospital(p, hospital.id)) {
        hospital.user_username.clear();
        hospital.user_email.clear();
    }
    hospital
}

/// One hospital.
#[utoipa::path(get, path = "/api/hospitals/{id}/", tag = "hospitals", params(("id" = i64, Path)),
    responses((status = 200, body = Hospital), (status = 404, body = ErrorBody)))]
pub async fn detail(
    state: web::Data<AppState>,
    MaybePrincipal(caller): MaybePrincipal,
    id: web::Path<i64>,
) -> Result<web::Json<Hospital>, ApiError> {
    let hospital =
        service::visible_hospital(&state.db, caller.as_ref(), id.into_inner()).await?.ok_or(ApiError::NotFound)?;
    Ok(web::Json(hide_account(caller.as_ref(), hospital)))
}

/// Replace the hospital's record (owner or admin).
#[utoipa::path(put, path = "/api/hospitals/{id}/", tag = "hospitals", security(("jwtAuth" = [])),
    params(("id" = i64, Path)), request_body = HospitalRequest,
    responses((status = 200, body = Hospital), (status = 400), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn replace(
    state: web::Data<AppState>,
    caller: Principal,
    meta: RequestMeta,
    id: web::Path<i64>,
    Body(body): Body<HospitalRequest>,
) -> Result<web::Json<Hospital>, ApiError> {
    update(&state, &caller, &meta, id.into_inner(), body, true).await.map(web::Json)
}

/// Change some of the hospital's fields (owner or admin).
#[utoipa::path(patch, path = "/api/hospitals/{id}/", tag = "hospitals", security(("jwtAuth" = [])),
    params(("id" = i64, Path)), request_body = HospitalRequest,
    responses((status = 200, body = Hospital), (status = 400), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn patch(
    state: web::Data<AppState>,
    caller: Principal,
    meta: RequestMeta,
    id: web::Path<i64>,
    Body(body): Body<HospitalRequest>,
) -> Result<web::Json<Hospital>, ApiError> {
    update(&state, &caller, &meta, id.into_inner(), body, false).await.map(web::Json)
}

async fn update(
    state: &AppState,
    caller: &Principal,
    meta: &RequestMeta,
    id: i64,
    body: HospitalRequest,
    replace: bool,
) -> Result<Hospital, ApiError> {
    // Someone else's hospital is not found, whatever the caller's role.
    if !policy::may_edit_hospital(caller, id) {
        return Err(ApiError::NotFound);
    }
    let mut tx = state.db.begin().await?;
    let current = repo::lock_hospital(&mut tx, id).await?.ok_or(ApiError::NotFound)?;
    let mut errors = FieldErrors::new();
    let base = (!replace).then_some(&current);
    let fields = hospital_fields(
        &mut errors,
        body,
        base,
        &state.settings.accounts.default_phone_region,
        &state.settings.hospitals.default_time_zone,
        ["name", "email", "phone"],
    );
    errors.into_result()?;
    repo::update_hospital(&mut *tx, id, &fields).await.map_err(from_database)?;
    let event = AuditEvent {
        hospital_id: Some(id.into()),
        ..AuditEvent::new("hospital_updated").by(caller).target("hospital", id)
    };
    audit::record(&mut tx, meta, event).await?;
    let hospital = repo::get_hospital(&mut *tx, id).await?.ok_or(ApiError::NotFound)?;
    tx.commit().await?;
    // The directory shows the record: this process forgets its pages now.
    state.directory.changed();
    Ok(hospital)
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct NearbyQuery {
    /// Latitude, -90 to 90.
    #[param(required = true, value_type = f64, minimum = -90, maximum = 90)]
    pub lat: Option<String>,
    /// Longitude, -180 to 180.
    #[param(required = true, value_type = f64, minimum = -180, maximum = 180)]
    pub lng: Option<String>,
    /// Radius in kilometres (default 10; 0.01 to 500).
    #[param(value_type = Option<f64>, minimum = 0.01, maximum = 500)]
    pub radius_km: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct NearbyResponse {
    pub count: usize,
    pub radius_km: f64,
    pub hospitals: Vec<NearbyHospital>,
}

/// Approved hospitals within `radius_km` of a point, nearest first (at most 200). Distances are
/// great-circle on a sphere: within a few hundred metres of the WGS-84 geodesic at the edge.
#[utoipa::path(get, path = "/api/hospitals/nearby/", tag = "hospitals", params(NearbyQuery),
    responses((status = 200, body = NearbyResponse), (status = 400, description = "Missing or out-of-range coordinates")))]
pub async fn nearby(
    state: web::Data<AppState>,
    query: web::Query<NearbyQuery>,
) -> Result<web::Json<NearbyResponse>, ApiError> {
    let mut errors = FieldErrors::new();
    let mut number = |field: &str, raw: Option<&str>, default: Option<f64>, min: f64, max: f64| -> f64 {
        let Some(raw) = raw.map(str::trim).filter(|r| !r.is_empty()) else {
            return default.unwrap_or_else(|| {
                errors.add(field, "This query parameter is required.");
                0.0
            });
        };
        match raw.parse::<f64>() {
            // To 1e-7 (about a centimetre of latitude): a subnormal value would underflow
            // Postgres' float arithmetic (a 500), and no finer precision means anything here.
            Ok(v) if v.is_finite() && (min..=max).contains(&v) => (v * 1e7).round() / 1e7,
            Ok(_) => {
                errors.add(field, format!("Must be between {min} and {max}."));
                0.0
            }
            Err(_) => {
                errors.add(field, "A valid number is required.");
                0.0
            }
        }
    };
    let lat = number("lat", query.lat.as_deref(), None, -90.0, 90.0);
    let lng = number("lng", query.lng.as_deref(), None, -180.0, 180.0);
    let radius_km =
        number("radius_km", query.radius_km.as_deref(), Some(10.0), NEARBY_MIN_RADIUS_KM, NEARBY_MAX_RADIUS_KM);
    errors.into_result()?;
    let hospitals = repo::nearby(&state.db, lat, lng, radius_km, NEARBY_LIMIT).await?;
    Ok(web::Json(NearbyResponse { count: hospitals.len(), radius_km, hospitals }))
}
