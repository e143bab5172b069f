//! Hospital lookups that several handlers share, with the context's visibility rule
//! (`model::policy::may_see_hospital`) applied. Free of HTTP: "not visible" is `None`.

use sqlx::PgExecutor;

use super::{
    model::{Hospital, policy},
    repo,
};
use crate::accounts::model::Principal;

/// A hospital the caller may see (approved ones for everyone, any for admins and its owner);
/// `None` when there is none or the caller may not see it.
pub async fn visible_hospital(
    db: impl PgExecutor<'_>,
    caller: Option<&Principal>,
    id: i64,
) -> sqlx::Result<Option<Hospital>> {
    let hospital = repo::get_hospital(db, id).await?;
    Ok(hospital.filter(|h| policy::may_see_hospital(caller, h.id, h.is_approved)))
}
