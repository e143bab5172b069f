//! A recommendation: the model's answer (or the mock's), how it is cached (by a hash of the
//! normalized input, never the input), and the stored row. The bodies the API reads and answers
//! with are in `bodies`.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest as _, Sha256};
use utoipa::ToSchema;

use crate::{ids::UserId, medicines::model::PatientFacts};

mod bodies;

pub use self::bodies::{
    ClearCacheResponse, PendingResponse, Recommendation, RecommendationRequest, RecommendationResponse,
};

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
#[derive(Debug, Clone)]
pub struct Stored {
    pub id: i64,
    pub requested_by: UserId,
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
