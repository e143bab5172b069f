//! The bodies the recommendation routes read and answer with.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

use super::{Alternative, Stored};
use crate::{ids::UserId, medicines::model::Warning};

#[derive(Debug, Deserialize, ToSchema)]
pub struct RecommendationRequest {
    #[schema(required = true, value_type = String, min_length = 1, max_length = 255)]
    pub medicine_name: Option<String>,
    /// `{age, gender, allergies[], chronic_conditions[] | conditions[], current_medications[], pregnant}`.
    #[schema(value_type = Object)]
    pub patient_info: Option<Value>,
}

/// 202: the answer is not ready yet.
#[derive(Debug, Serialize, ToSchema)]
pub struct PendingResponse {
    pub id: i64,
    /// `PENDING`.
    pub status: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ClearCacheResponse {
    pub message: String,
}

/// The answer to `POST /api/recommendations/` (the reference's shape, plus `status` and `source`).
#[derive(Debug, Serialize, ToSchema)]
pub struct RecommendationResponse {
    pub id: i64,
    pub medicine_name: String,
    pub alternatives: Vec<Alternative>,
    /// The server's own warnings, whatever the model said.
    pub warnings: Vec<Warning>,
    pub suggestion: String,
    pub response_time_ms: i64,
    pub cached: bool,
    pub note: String,
    /// `DONE`.
    pub status: String,
    /// `llm` or `mock`.
    pub source: String,
}

/// A recommendation as history and `GET /api/recommendations/{id}/` show it.
#[derive(Debug, Serialize, ToSchema)]
pub struct Recommendation {
    pub id: i64,
    pub requested_by: UserId,
    pub requested_by_username: String,
    pub medicine_name: String,
    /// The normalized facts the answer was for.
    #[schema(value_type = Object)]
    pub patient_info: Value,
    #[schema(value_type = Vec<Alternative>)]
    pub alternatives: Value,
    #[schema(value_type = Vec<Warning>)]
    pub warnings: Value,
    pub suggestion: String,
    pub note: String,
    pub created_at: DateTime<Utc>,
    pub response_time_ms: Option<i32>,
    /// `PENDING`, `DONE` or `FAILED`.
    pub status: String,
    /// Why it FAILED.
    pub error: Option<String>,
    pub source: Option<String>,
    pub cached: bool,
}

impl From<Stored> for Recommendation {
    fn from(row: Stored) -> Self {
        Self {
            id: row.id,
            requested_by: row.requested_by,
            requested_by_username: row.requested_by_username,
            medicine_name: row.medicine_name,
            patient_info: row.patient_info,
            alternatives: row.alternatives,
            warnings: row.warnings,
            suggestion: row.suggestion,
            note: row.notes,
            created_at: row.created_at,
            response_time_ms: row.response_time_ms,
            status: row.status,
            error: row.error,
            source: row.source,
            cached: row.cached,
        }
    }
}

impl Stored {
    /// The POST answer of a DONE row.
    pub fn response(self) -> RecommendationResponse {
        RecommendationResponse {
            id: self.id,
            medicine_name: self.medicine_name,
            alternatives: serde_json::from_value(self.alternatives).unwrap_or_default(),
            warnings: serde_json::from_value(self.warnings).unwrap_or_default(),
            suggestion: self.suggestion,
            response_time_ms: i64::from(self.response_time_ms.unwrap_or(0)),
            cached: self.cached,
            note: self.notes,
            status: self.status,
            source: self.source.unwrap_or_default(),
        }
    }
}
