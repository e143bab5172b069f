//! An SMS code's delivery (`otp_requests.delivery`): the send job's claim of a request with its
//! freshly sealed code, what became of a request it could not claim, the outcome of a send; and
//! the access sweep's statements over old and undelivered codes.

use sqlx::PgPool;

/// A request claimed for sending, with its freshly made code sealed in.
pub struct Claimed {
    pub phone_number: Option<String>,
    pub doctor_name: String,
    pub ttl_minutes: i64,
}

/// Claims the request (QUEUED or RETRY, still pending and unexpired) and seals `code` into it.
pub async fn claim(db: &PgPool, request_id: i64, sealed: &[u8]) -> sqlx::Result<Option<Claimed>> {
    sqlx::query_as!(
        Claimed,
        r#"with claimed as (
             update otp_requests set delivery = 'SENDING', delivery_attempts = delivery_attempts + 1, code_hmac = $2, sending_since = now()
             where id = $1 and channel = 'SMS' and status = 'PENDING' and delivery in ('QUEUED', 'RETRY')
                   and expires_at > now()
             returning patient_id, doctor_id, expires_at)
         select u.phone_number as "phone_number?", trim(du.first_name || ' ' || du.last_name) as "doctor_name!",
                greatest(1, ceil(extract(epoch from c.expires_at - now()) / 60))::bigint as "ttl_minutes!"
         from claimed c join users u on u.id = c.patient_id
              join doctor_profiles d on d.id = c.doctor_id join users du on du.id = d.user_id"#,
        request_id,
        sealed,
    )
    .fetch_optional(db)
    .await
}

/// After a claim found nothing: an unsent request that expired meanwhile is marked so.
pub async fn delivery_of(db: &PgPool, request_id: i64) -> sqlx::Result<Option<String>> {
    sqlx::query_scalar!(
        "update otp_requests set delivery = case when delivery in ('QUEUED', 'RETRY') and expires_at <= now()
                                               then 'EXPIRED' else delivery end
         where id = $1 returning delivery",
        request_id,
    )
    .fetch_optional(db)
    .await
}

/// Records the outcome of a send: `delivery`, the provider's message id, the error.
pub async fn mark(
    db: &PgPool,
    request_id: i64,
    delivery: &str,
    provider_id: Option<&str>,
    error: Option<&str>,
) -> sqlx::Result<()> {
    // A code that did not reach the provider is dropped: the hash goes with it.
    sqlx::query!(
        "update otp_requests set delivery = $2, provider_message_id = coalesce($3, provider_message_id),
                last_error = $4, sent_at = case when $2 = 'SENT' then now() else sent_at end,
                code_hmac = case when $2 = 'SENT' then code_hmac else null end
         where id = $1",
        request_id,
        delivery,
        provider_id,
        error,
    )
    .execute(db)
    .await?;
    Ok(())
}

/// Codes that can no longer be redeemed lose their hash a day after they were made
/// (verification no longer looks at them). How many.
pub async fn forget_old_codes(db: &PgPool) -> sqlx::Result<u64> {
    let done = sqlx::query!(
        "update otp_requests set code_hmac = null
         where code_hmac is not null and created_at < now() - interval '1 day'",
    )
    .execute(db)
    .await?;
    Ok(done.rows_affected())
}

/// SMS codes whose delivery never happened before they expired are marked so. How many.
pub async fn expire_undelivered(db: &PgPool) -> sqlx::Result<u64> {
    let done = sqlx::query!(
        "update otp_requests set delivery = 'EXPIRED'
         where delivery in ('QUEUED', 'RETRY') and expires_at <= now()",
    )
    .execute(db)
    .await?;
    Ok(done.rows_affected())
}

/// How long ago the request's send was claimed, if it is being sent (by the database's clock).
pub async fn sending_ms(db: &PgPool, request_id: i64) -> sqlx::Result<Option<i64>> {
    sqlx::query_scalar!(
        r#"select (extract(epoch from now() - coalesce(sending_since, created_at)) * 1000)::bigint as "ms!"
           from otp_requests where id = $1 and delivery = 'SENDING'"#,
        request_id,
    )
    .fetch_optional(db)
    .await
}

/// A send claimed more than `deadline_seconds` ago whose outcome was never recorded (its process
/// died) is marked `UNKNOWN`: it may or may not have reached the phone. Whether it was.
pub async fn mark_cut_off(db: &PgPool, request_id: i64, deadline_seconds: f64) -> sqlx::Result<bool> {
    let done = sqlx::query!(
        "update otp_requests set delivery = 'UNKNOWN', last_error = 'the sending process stopped before the provider answered'
         where id = $1 and delivery = 'SENDING' and coalesce(sending_since, created_at) <= now() - make_interval(secs => $2)",
        request_id,
        deadline_seconds,
    )
    .execute(db)
    .await?;
    Ok(done.rows_affected() == 1)
}
