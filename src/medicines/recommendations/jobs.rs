//! `AnswerRecommendation`: the worker's side of a recommendation. It reads the PENDING row (the
//! payload is its id only), asks the configured provider, keeps only alternatives the formulary
//! knows, and writes DONE (and the cache) or FAILED with a reason the doctor sees; never a
//! made-up answer. `mock` answers deterministically from the formulary (same-class entries).

use std::{sync::Arc, time::Instant};

use carehub_workers::{
    Handler, JobContext, JobResult,
    jobs::{Job, Queue},
    llm::{ChatClient, LlmError},
};
use serde::{Deserialize, Serialize};
use sqlx::PgConnection;

use super::{
    model::{Alternative, Answer},
    repo,
};
use crate::medicines::{
    model::{Medicine, PatientFacts},
    repo as formulary,
};

/// Answer one recommendation.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct AnswerRecommendation {
    pub recommendation_id: i64,
}

impl Job for AnswerRecommendation {
    const QUEUE: Queue = Queue::new("carehub:recommendation");
    const NAME: &'static str = "AnswerRecommendation";
}

/// Who answers.
#[derive(Debug, Clone)]
pub enum Provider {
    Mock,
    Llm(Box<ChatClient>),
}

/// The handler of [`AnswerRecommendation`].
pub fn answer_recommendation(provider: Arc<Provider>) -> impl Handler<AnswerRecommendation> {
    move |job: AnswerRecommendation, ctx: JobContext| {
        let provider = provider.clone();
        async move { answer(&provider, job.recommendation_id, &ctx).await }
    }
}

async fn answer(provider: &Provider, id: i64, ctx: &JobContext) -> JobResult {
    let mut conn = ctx.db.acquire().await?;
    let Some((medicine_id, facts, key, server_notes)) = repo::pending(&mut conn, id).await? else {
        return Ok(()); // answered already (a job run twice answers once)
    };
    let Some(medicine) = formulary::by_id(&mut conn, medicine_id).await? else {
        repo::fail(&mut conn, id, "The medicine left the formulary.", 0).await?;
        return Ok(());
    };
    let facts: PatientFacts = serde_json::from_value(facts).unwrap_or_default();
    let started = Instant::now();
    let result = match provider {
        Provider::Mock => Ok(mock(&mut conn, &medicine).await?),
        Provider::Llm(client) => ask(client, &mut conn, &medicine, &facts).await?,
    };
    let elapsed = i32::try_from(started.elapsed().as_millis()).unwrap_or(i32::MAX);
    match result {
        Ok(answer) => {
            let mut tx = ctx.db.begin().await?;
            repo::complete(&mut tx, id, &key, medicine_id, &answer, &server_notes, elapsed).await?;
            tx.commit().await?;
            tracing::info!(recommendation.id = id, source = %answer.source, dropped = answer.dropped, elapsed_ms = elapsed, "recommendation answered");
        }
        Err(reason) => {
            repo::fail(&mut conn, id, &reason, elapsed).await?;
            tracing::warn!(recommendation.id = id, %reason, "recommendation failed");
        }
    }
    Ok(())
}

/// The deterministic answer: up to three same-class formulary entries.
async fn mock(conn: &mut PgConnection, medicine: &Medicine) -> sqlx::Result<Answer> {
    let alternatives = formulary::same_class(conn, medicine, 3)
        .await?
        .into_iter()
        .map(|m| Alternative {
            reason: format!("Same class as {} ({}).", medicine.generic_name, medicine.drug_class),
            name: m.generic_name,
            drug_class: m.drug_class,
        })
        .collect();
    let dose = if medicine.adult_dose.is_empty() {
        String::new()
    } else {
        format!(" Usual adult dose: {}.", medicine.adult_dose)
    };
    Ok(Answer {
        alternatives,
        suggestion: format!(
            "{} is a {} medicine.{dose} Review the server's warnings before prescribing.",
            medicine.generic_name, medicine.drug_class
        ),
        notes: "Deterministic answer from the CareHub formulary (mock provider), not a language model's.".into(),
        source: "mock".into(),
        dropped: 0,
    })
}

#[derive(Deserialize)]
struct ModelAnswer {
    alternatives: Vec<ModelAlternative>,
    suggestion: String,
    #[serde(default)]
    notes: String,
}

#[derive(Deserialize)]
struct ModelAlternative {
    name: String,
    #[serde(default)]
    reason: String,
}

fn system_prompt(medicine: &Medicine, candidates: &[Medicine]) -> String {
    let names: Vec<&str> = candidates.iter().map(|m| m.generic_name.as_str()).collect();
    format!(
        "You assist doctors with medicine choices. Answer ONLY with a JSON object of the form \
         {{\"alternatives\": [{{\"name\": \"<generic name>\", \"reason\": \"<one sentence>\"}}], \
         \"suggestion\": \"<two or three sentences>\", \"notes\": \"<caveats>\"}}. \
         Propose at most 3 alternatives, each a generic name from this formulary list: [{}]. \
         The requested medicine (formulary entry): generic name {}; class {}; ATC {}; forms {}; \
         usual adult dose {}; contraindicated in: {}; pregnancy: {}. \
         Do not invent medicines; say so in notes when none fits.",
        names.join(", "),
        medicine.generic_name,
        medicine.drug_class,
        if medicine.atc_code.is_empty() { "unknown" } else { &medicine.atc_code },
        medicine.forms.join(", "),
        if medicine.adult_dose.is_empty() { "not given" } else { &medicine.adult_dose },
        if medicine.contraindicated_conditions.is_empty() {
            "nothing listed".to_owned()
        } else {
            medicine.contraindicated_conditions.join(", ")
        },
        if medicine.pregnancy.is_empty() { "no listed concern" } else { &medicine.pregnancy },
    )
}

fn user_prompt(medicine: &Medicine, facts: &PatientFacts) -> String {
    format!(
        "Medicine: {}. Patient: age {}, gender {}, allergies [{}], conditions [{}], current medications [{}], pregnant: {}.",
        medicine.generic_name,
        facts.age.map_or_else(|| "unknown".to_owned(), |a| a.to_string()),
        facts.gender.as_deref().unwrap_or("unknown"),
        facts.allergies.join(", "),
        facts.conditions.join(", "),
        facts.current_medications.join(", "),
        facts.pregnant,
    )
}

/// Asks the model; `Err(reason)` when it gave no usable answer.
async fn ask(
    client: &ChatClient,
    conn: &mut PgConnection,
    medicine: &Medicine,
    facts: &PatientFacts,
) -> sqlx::Result<Result<Answer, String>> {
    let candidates = formulary::same_class(conn, medicine, 15).await?;
    let text = match client.complete_json(&system_prompt(medicine, &candidates), &user_prompt(medicine, facts)).await {
        Ok(text) => text,
        Err(LlmError::Transient(reason) | LlmError::Permanent(reason)) => return Ok(Err(reason)),
    };
    let Ok(parsed) = serde_json::from_str::<ModelAnswer>(&text) else {
        return Ok(Err("The model's answer was not the JSON asked for.".into()));
    };
    let named: Vec<String> = parsed.alternatives.iter().map(|a| crate::medicines::model::normalize(&a.name)).collect();
    let known = formulary::by_names(conn, &named).await?;
    let mut alternatives = Vec::new();
    let mut dropped = 0;
    for (alternative, name) in parsed.alternatives.iter().zip(&named) {
        let found =
            known.iter().find(|m| &m.generic_name == name || m.brand_names.iter().any(|b| &b.to_lowercase() == name));
        match found {
            Some(m) if m.id != medicine.id && !alternatives.iter().any(|a: &Alternative| a.name == m.generic_name) => {
                alternatives.push(Alternative {
                    name: m.generic_name.clone(),
                    drug_class: m.drug_class.clone(),
                    reason: alternative.reason.chars().take(500).collect(),
                });
            }
            Some(_) => {}
            None => dropped += 1,
        }
    }
    if dropped > 0 {
        tracing::warn!(dropped, "the model named medicines the formulary does not know; dropped");
    }
    Ok(Ok(Answer {
        alternatives,
        suggestion: parsed.suggestion.chars().take(2000).collect(),
        notes: parsed.notes.chars().take(2000).collect(),
        source: "llm".into(),
        dropped,
    }))
}
