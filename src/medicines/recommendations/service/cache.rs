//! Clearing the recommendation cache (admin): the shared table emptied and the clearing audited
//! in one transaction, then every process's in-memory answers dropped (this one's here, the
//! others' through the NOTIFY the repository sends). The API and the console both call this.

use serde_json::json;

use crate::{
    accounts::model::Principal,
    audit::{self, AuditEvent, RequestMeta},
    http::error::ApiError,
    medicines::recommendations::repo,
    state::AppState,
};

/// Empties the cache as `caller` (an admin); how many answers it held. The recommendations
/// themselves (the history, the statistics) and the formulary stay.
pub async fn clear_cache(state: &AppState, caller: &Principal, meta: &RequestMeta) -> Result<u64, ApiError> {
    if !caller.is_admin() {
        return Err(ApiError::Forbidden("Only admins clear the recommendation cache."));
    }
    let mut tx = state.db.begin().await?;
    let removed = repo::clear_cache(&mut tx).await?;
    audit::record(
        &mut tx,
        meta,
        AuditEvent::new("recommendation_cache_cleared").by(caller).details(json!({ "removed": removed })),
    )
    .await?;
    tx.commit().await?;
    state.recommender.forget_answers();
    Ok(removed)
}
