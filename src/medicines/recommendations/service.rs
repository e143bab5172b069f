//! The request side of a recommendation: the medicine resolved against the formulary, the
//! server's warnings computed, the answer taken from the cache (memory, then the shared table)
//! or a PENDING row and its job committed together (within the doctor's hourly limit, counted in
//! Postgres under the doctor's lock), then a wait for the worker's answer, woken by NOTIFY.

use std::{sync::Arc, time::Instant};

use serde_json::json;
use sqlx::PgPool;

use self::grounding::{Grounded, ground};
pub use self::outcome::{Outcome, RecommendError};
use super::{
    jobs::AnswerRecommendation,
    model::{Answer, cache_key},
    repo::{self, NewRecommendation},
    waiters::Waiters,
};
use crate::{
    accounts::model::Principal,
    audit::{self, AuditEvent, RequestMeta},
    config::{RecommendationSettings, Settings},
};

pub mod cache;
mod grounding;
mod outcome;

/// This process's recommendation service: settings, the in-memory answers in front of the
/// shared cache table, and the requests waiting for their answers.
pub struct Recommender {
    settings: RecommendationSettings,
    provider: String,
    model: String,
    memory: moka::sync::Cache<[u8; 32], Answer>,
    waiters: Waiters,
}

impl Recommender {
    pub fn new(settings: &Settings, db: PgPool) -> Arc<Self> {
        let model = if settings.llm_provider == "openai" { settings.llm_model.clone() } else { String::new() };
        Arc::new(Self {
            settings: settings.recommendations.clone(),
            provider: settings.llm_provider.clone(),
            model,
            memory: moka::sync::Cache::new(settings.recommendations.memory_cache_entries.max(1)),
            waiters: Waiters::new(db),
        })
    }

    /// Empties this process's in-memory answers (others hear it through NOTIFY).
    pub fn forget_answers(&self) {
        self.memory.invalidate_all();
    }

    async fn listen(self: &Arc<Self>) {
        let this = Arc::downgrade(self);
        self.waiters
            .listen(move || {
                if let Some(this) = this.upgrade() {
                    this.forget_answers();
                }
            })
            .await;
    }

    /// Answers `medicine_name` for a patient with `patient_info`, as `caller` (a doctor).
    pub async fn recommend(
        self: &Arc<Self>,
        db: &PgPool,
        caller: &Principal,
        meta: &RequestMeta,
        medicine_name: &str,
        patient_info: Option<&serde_json::Value>,
    ) -> Result<Outcome, RecommendError> {
        let started = Instant::now();
        let Grounded { typed, facts, medicine, warnings, notes } = ground(db, medicine_name, patient_info).await?;
        let key = cache_key(medicine.id, &facts, &self.provider, &self.model);
        let patient_info = serde_json::to_value(&facts).unwrap_or_default();
        let warnings = serde_json::to_value(&warnings).unwrap_or_default();
        let new = NewRecommendation {
            user_id: caller.user_id,
            medicine_id: medicine.id,
            medicine_name: &typed,
            patient_info: &patient_info,
            cache_key: &key,
            warnings: &warnings,
            notes: &notes,
        };
        let mut tx = db.begin().await?;
        let cached = match self.memory.get(&key) {
            Some(answer) => Some(answer),
            None => repo::cached_answer(&mut tx, &key).await?,
        };
        if let Some(answer) = cached {
            self.memory.insert(key, answer.clone());
            let elapsed = i32::try_from(started.elapsed().as_millis()).unwrap_or(i32::MAX);
            let id = repo::insert_cached(&mut tx, &new, &answer, elapsed).await?;
            let event = AuditEvent::new("recommendation_requested")
                .by(caller)
                .target("recommendation", id)
                .details(json!({ "medicine_id": medicine.id, "cached": true }));
            audit::record(&mut tx, meta, event).await?;
            let row = repo::get(&mut tx, id).await?.ok_or_else(|| anyhow::anyhow!("recommendation vanished"))?;
            tx.commit().await?;
            return Ok(Outcome::Done(Box::new(row)));
        }
        repo::lock_doctor(&mut tx, caller.user_id).await?;
        let (recent, until) = repo::recent(&mut tx, caller.user_id).await?;
        if recent >= self.settings.per_hour {
            let retry = crate::errors::retry_after_secs(until);
            return Err(RecommendError::Throttled { retry_after_secs: retry });
        }
        let id = repo::insert_pending(&mut tx, &new).await?;
        carehub_workers::outbox::enqueue(
            &mut tx,
            &AnswerRecommendation { recommendation_id: id },
            Some(&format!("recommendation:{id}")),
        )
        .await?;
        let event = AuditEvent::new("recommendation_requested")
            .by(caller)
            .target("recommendation", id)
            .details(json!({ "medicine_id": medicine.id, "cached": false }));
        audit::record(&mut tx, meta, event).await?;
        // Listening (and registered) before the job can finish: its notification is not missed.
        self.listen().await;
        let answered = self.waiters.register(id);
        tx.commit().await?;
        let wait = std::time::Duration::from_secs(self.settings.wait_seconds);
        if tokio::time::timeout(wait, answered).await.is_err() {
            self.waiters.forget(id);
        }
        let mut conn = db.acquire().await?;
        let row = repo::get(&mut conn, id).await?.ok_or_else(|| anyhow::anyhow!("recommendation vanished"))?;
        match row.status.as_str() {
            "DONE" => {
                if let Some(answer) = repo::cached_answer(&mut conn, &key).await? {
                    self.memory.insert(key, answer);
                }
                Ok(Outcome::Done(Box::new(row)))
            }
            "FAILED" => Err(RecommendError::Failed { id, reason: row.error.unwrap_or_default() }),
            _ => Ok(Outcome::Pending(id)),
        }
    }
}
