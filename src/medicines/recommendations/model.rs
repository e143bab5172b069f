//! A recommendation: the model's answer (or the mock's), how it is cached (by a hash of the
//! normalized input, never the input), and the shapes the API answers with.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest as _, Sha256};
use utoipa::ToSchema;

use crate::medicines::model::{PatientFacts, Warning};

/// An alternative the answer proposes: always a formulary entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Alternative {
    /// The formulary's generic name.
    pub name: String,
    pub drug_class: String,
    pub reason: String,
}

/// The model's part of an answer (what the cache keeps).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Answer {
    pub alternatives: Vec<Alternative>,
    pub suggestion: String,
    pub notes: String,
    /// `llm` or `mock`.
    pub source: String,
    /// Alternatives the model named that the formulary does not know (dropped).
    pub dropped: i32,
}

/// The cache key of a request: SHA-256 over the canonical form of the normalized input and of
/// what answers it (provider and model), so a mock answer never serves a model request.
pub fn cache_key(medicine_id: i64, facts: &PatientFacts, provider: &str, model: &str) -> [u8; 32] {
    #[derive(Serialize)]
    struct Canonical<'a> {
        v: u8,
        medicine_id: i64,
        facts: &'a PatientFacts,
        provider: &'a str,
        model: &'a str,
    }
    let canonical = serde_json::to_vec(&Canonical { v: 1, medicine_id, facts, provider, model }).unwrap_or_default();
    Sha256::digest(&canonical).into()
}

/// A stored recommendation row.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Stored {
    pub id: i64,
    pub requested_by: i64,
    pub requested_by_username: String,
    pub medicine_id: i64,
    pub medicine_name: String,
    pub patient_info: Value,
    pub status: String,
    pub source: Option<String>,
    pub cached: bool,
    pub alternatives: Value,
    pub warnings: Value,
    pub suggestion: String,
    pub notes: String,
    pub error: Option<String>,
    pub response_time_ms: Option<i32>,
    pub created_at: DateTime<Utc>,
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
    pub requested_by: i64,
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cache_key_depends_on_the_facts_and_the_provider_and_holds_none_of_them() {
        let facts = PatientFacts { allergies: vec!["penicillin".into()], age: Some(40), ..PatientFacts::default() };
        let key = cache_key(1, &facts, "mock", "m");
        assert_eq!(key, cache_key(1, &facts.clone(), "mock", "m"));
        assert_ne!(key, cache_key(2, &facts, "mock", "m"));
        assert_ne!(key, cache_key(1, &PatientFacts::default(), "mock", "m"));
        assert_ne!(key, cache_key(1, &facts, "openai", "m"));
        assert!(!hex::encode(key).contains("penicillin"));
    }
}
