//! The patients a code request names, found by id or by phone.

use sqlx::PgConnection;

use crate::ids::PatientId;

/// A patient as the code flows need them.
#[derive(Debug)]
pub struct PatientContact {
    pub id: PatientId,
    pub phone_number: Option<String>,
}

pub async fn patient_by_id(conn: &mut PgConnection, patient_id: PatientId) -> sqlx::Result<Option<PatientContact>> {
    sqlx::query_as!(
        PatientContact,
        r#"select id as "id: PatientId", phone_number from users where id = $1 and user_type = 'PATIENT' and is_active"#,
        patient_id.get(),
    )
    .fetch_optional(conn)
    .await
}

/// Active patients with this (E.164) phone number: phones are not unique; two rows are enough to
/// know it is ambiguous.
pub async fn patients_by_phone(conn: &mut PgConnection, phone: &str) -> sqlx::Result<Vec<PatientContact>> {
    sqlx::query_as!(
        PatientContact,
        r#"select id as "id: PatientId", phone_number from users where phone_number = $1 and user_type = 'PATIENT' and is_active
         order by id limit 2"#,
        phone,
    )
    .fetch_all(conn)
    .await
}
