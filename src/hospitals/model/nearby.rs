//! Nearby search: the query (a point and a radius, checked), one nearby hospital, the answer.

use serde::{Deserialize, Serialize};
use sqlx::types::Decimal;
use utoipa::{IntoParams, ToSchema};

use crate::{errors::FieldErrors, ids::HospitalId};

/// One nearby hospital (the reference's `NearbyHospital`).
#[derive(Debug, Clone, Serialize, ToSchema, sqlx::FromRow)]
pub struct NearbyHospital {
    #[schema(value_type = i64)]
    pub id: HospitalId,
    pub name: String,
    pub email: String,
    pub phone: String,
    pub address: String,
    pub location: String,
    #[schema(value_type = Option<String>)]
    pub latitude: Option<Decimal>,
    #[schema(value_type = Option<String>)]
    pub longitude: Option<Decimal>,
    /// Kilometres, 2 decimals, as a string.
    #[schema(value_type = String)]
    pub distance_km: Decimal,
}

/// Nearby answers at most this many hospitals, and radii above this are refused.
pub const NEARBY_LIMIT: i64 = 200;
const NEARBY_MAX_RADIUS_KM: f64 = 500.0;
/// Smaller radii (10 m) are refused: they find nothing, and a subnormal one underflows
/// Postgres' float arithmetic.
const NEARBY_MIN_RADIUS_KM: f64 = 0.01;

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

impl NearbyQuery {
    /// The point and radius asked for: `(lat, lng, radius_km)`.
    pub fn parse(&self) -> Result<(f64, f64, f64), FieldErrors> {
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
        let lat = number("lat", self.lat.as_deref(), None, -90.0, 90.0);
        let lng = number("lng", self.lng.as_deref(), None, -180.0, 180.0);
        let radius_km =
            number("radius_km", self.radius_km.as_deref(), Some(10.0), NEARBY_MIN_RADIUS_KM, NEARBY_MAX_RADIUS_KM);
        errors.into_result()?;
        Ok((lat, lng, radius_km))
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct NearbyResponse {
    pub count: usize,
    pub radius_km: f64,
    pub hospitals: Vec<NearbyHospital>,
}
