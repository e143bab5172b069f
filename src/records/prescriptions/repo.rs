//! Every SQL statement of prescriptions. Rows are only ever inserted: an edit is a new row that
//! points back at the one it replaces (the table's trigger refuses UPDATE and DELETE).

use sqlx::{AssertSqlSafe, PgConnection, types::Json};

use super::model::{Content, Prescription};

/// One statement for every read: the names come from joins, never from a query per row. (A
/// constant, so the `format!`ed statements carry no outside input.)
const SELECT: &str = "select p.id, p.chain_id, p.patient_id as patient, \
     coalesce(nullif(trim(pu.first_name || ' ' || pu.last_name), ''), pu.username) as patient_name, \
     p.doctor_id as doctor, coalesce(nullif(trim(du.first_name || ' ' || du.last_name), ''), du.username) as doctor_name, \
     dp.specialization as doctor_specialization, p.hospital_id as hospital, h.name as hospital_name, \
     p.appointment_id as appointment, p.appointment_id, p.diagnosis, p.investigations, p.treatment_plan, \
     p.medicines, p.follow_up_date, p.referral_notes, p.doctor_notes, p.version, p.previous_version, \
     p.created_at, p.updated_at \
     from prescriptions p \
     join users pu on pu.id = p.patient_id \
     join doctor_profiles dp on dp.id = p.doctor_id \
     join users du on du.id = dp.user_id \
     join hospitals h on h.id = p.hospital_id";

/// A chain's latest version: the row no other row points back to.
const LATEST: &str = "not exists (select 1 from prescriptions n where n.previous_version = p.id)";

/// Who wrote a new chain, for whom, where.
#[derive(Debug, Clone, Copy)]
pub struct Authorship {
    pub patient_id: i64,
    pub doctor_id: i64,
    pub hospital_id: i64,
    pub appointment_id: Option<i64>,
}

/// Inserts version 1 of a new chain; its id (the chain's id too, set by the table's trigger).
pub async fn insert_first(conn: &mut PgConnection, who: Authorship, content: &Content) -> sqlx::Result<i64> {
    sqlx::query_scalar(
        "insert into prescriptions (patient_id, doctor_id, hospital_id, appointment_id, diagnosis, investigations, \
         treatment_plan, medicines, follow_up_date, referral_notes, doctor_notes) \
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) returning id",
    )
    .bind(who.patient_id)
    .bind(who.doctor_id)
    .bind(who.hospital_id)
    .bind(who.appointment_id)
    .bind(&content.diagnosis)
    .bind(&content.investigations)
    .bind(&content.treatment_plan)
    .bind(Json(&content.medicines))
    .bind(content.follow_up_date)
    .bind(&content.referral_notes)
    .bind(&content.doctor_notes)
    .fetch_one(conn)
    .await
}

/// Inserts the version after `previous` (the chain's latest, locked by the caller): the same
/// chain, patient, doctor, hospital and appointment, `version` + 1, and `created_at` kept from
/// the chain's start (`updated_at` says when this version was written). A racing edit that got
/// there first violates `prescriptions_one_successor_key` or `prescriptions_chain_version_key`.
pub async fn insert_next(conn: &mut PgConnection, previous: &Prescription, content: &Content) -> sqlx::Result<i64> {
    sqlx::query_scalar(
        "insert into prescriptions (chain_id, version, previous_version, patient_id, doctor_id, hospital_id, \
         appointment_id, diagnosis, investigations, treatment_plan, medicines, follow_up_date, referral_notes, \
         doctor_notes, created_at) \
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15) returning id",
    )
    .bind(previous.chain_id)
    .bind(previous.version + 1)
    .bind(previous.id)
    .bind(previous.patient)
    .bind(previous.doctor)
    .bind(previous.hospital)
    .bind(previous.appointment_id)
    .bind(&content.diagnosis)
    .bind(&content.investigations)
    .bind(&content.treatment_plan)
    .bind(Json(&content.medicines))
    .bind(content.follow_up_date)
    .bind(&content.referral_notes)
    .bind(&content.doctor_notes)
    .bind(previous.created_at)
    .fetch_one(conn)
    .await
}

/// Any version, by id.
pub async fn get(conn: &mut PgConnection, id: i64) -> sqlx::Result<Option<Prescription>> {
    sqlx::query_as(AssertSqlSafe(format!("{SELECT} where p.id = $1"))).bind(id).fetch_optional(conn).await
}

/// Locks version `id` against a concurrent edit for the rest of the transaction (a row lock:
/// the immutability trigger fires on UPDATE, not on `for update`), and says whether it is still
/// its chain's latest version, checked after the lock, so a racing edit that committed first is
/// seen.
pub async fn lock_latest(conn: &mut PgConnection, id: i64) -> sqlx::Result<Option<bool>> {
    let locked: Option<i64> = sqlx::query_scalar("select id from prescriptions where id = $1 for update")
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?;
    if locked.is_none() {
        return Ok(None);
    }
    sqlx::query_scalar(AssertSqlSafe(format!("select {LATEST} from prescriptions p where p.id = $1")))
        .bind(id)
        .fetch_one(conn)
        .await
        .map(Some)
}

/// Whose prescriptions a list shows.
#[derive(Debug, Clone, Copy)]
pub enum Scope {
    /// A patient's (by user id).
    Patient(i64),
    /// Those a doctor wrote (by doctor profile id).
    Doctor(i64),
    /// Everyone's (an admin).
    All,
}

#[derive(sqlx::FromRow)]
struct Counted {
    #[sqlx(flatten)]
    prescription: Prescription,
    total: i64,
}

/// A page of the latest versions in scope, newest first, and how many there are in all (one
/// statement: the count rides on each row).
pub async fn list_latest(
    conn: &mut PgConnection,
    scope: Scope,
    limit: i64,
    offset: i64,
) -> sqlx::Result<(Vec<Prescription>, i64)> {
    let (patient, doctor) = match scope {
        Scope::Patient(id) => (Some(id), None),
        Scope::Doctor(id) => (None, Some(id)),
        Scope::All => (None, None),
    };
    let rows: Vec<Counted> = sqlx::query_as(AssertSqlSafe(format!(
        "select q.*, count(*) over () as total from ({SELECT} \
         where {LATEST} and ($1::bigint is null or p.patient_id = $1) and ($2::bigint is null or p.doctor_id = $2)) q \
         order by q.id desc limit $3 offset $4"
    )))
    .bind(patient)
    .bind(doctor)
    .bind(limit)
    .bind(offset)
    .fetch_all(conn)
    .await?;
    let total = rows.first().map_or(0, |row| row.total);
    Ok((rows.into_iter().map(|row| row.prescription).collect(), total))
}

/// Every version of a chain, oldest first (at most `cap`).
pub async fn versions(conn: &mut PgConnection, chain_id: i64, cap: i64) -> sqlx::Result<Vec<Prescription>> {
    sqlx::query_as(AssertSqlSafe(format!("{SELECT} where p.chain_id = $1 order by p.version limit $2")))
        .bind(chain_id)
        .bind(cap)
        .fetch_all(conn)
        .await
}

/// Whether `appointment_id` is a CONFIRMED or COMPLETED appointment of `patient_id` at
/// `hospital_id`: what lets a doctor of that hospital write the patient a prescription.
pub async fn appointment_qualifies(
    conn: &mut PgConnection,
    appointment_id: i64,
    patient_id: i64,
    hospital_id: i64,
) -> sqlx::Result<bool> {
    sqlx::query_scalar(
        "select exists (select 1 from appointments where id = $1 and patient_id = $2 and hospital_id = $3 \
         and status in ('CONFIRMED', 'COMPLETED'))",
    )
    .bind(appointment_id)
    .bind(patient_id)
    .bind(hospital_id)
    .fetch_one(conn)
    .await
}

/// Removes the prescriptions of demo patients (and the attachment rows pointing at them), for
/// `carehub demo-data`, which rebuilds them. The immutability trigger lets these DELETEs through
/// only for demo patients' rows and only in a transaction that declares it (see
/// `migrations/20261126000100_prescriptions_demo_clear.sql`); call it inside a transaction.
pub async fn delete_demo(conn: &mut PgConnection) -> sqlx::Result<u64> {
    sqlx::query("select set_config('carehub.clearing_demo_data', 'on', true)").execute(&mut *conn).await?;
    let demo = "select p.id from prescriptions p join users u on u.id = p.patient_id where u.is_demo";
    sqlx::query(AssertSqlSafe(format!("delete from prescription_attachments where prescription_id in ({demo})")))
        .execute(&mut *conn)
        .await?;
    let done = sqlx::query(AssertSqlSafe(format!("delete from prescriptions where id in ({demo})")))
        .execute(&mut *conn)
        .await?;
    sqlx::query("select set_config('carehub.clearing_demo_data', 'off', true)").execute(conn).await?;
    Ok(done.rows_affected())
}
