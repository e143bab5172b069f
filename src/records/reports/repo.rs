//! Every SQL statement of patient reports. A report is read with its file, patient, hospital and
//! uploader in one joined query (lists too: no query per row).

use chrono::{DateTime, NaiveDate, Utc};
use sqlx::PgConnection;

use super::model::{FileType, PatientReport, ReportFields};
use crate::{
    ids::{HospitalId, PatientId},
    records::files::{links::FileLinks, model::ScanStatus},
};

/// The path of report `id`'s download.
pub fn download_path(id: i64) -> String {
    format!("/api/records/reports/{id}/download/")
}

/// A report's row by the one joined statement every read uses, ending in `$tail` (a string
/// literal: the statement stays checked at compile time).
macro_rules! select_reports {
    ($tail:tt, $($arg:expr),+ $(,)?) => {
        sqlx::query_as!(
            ReportRow,
            r#"select r.id, r.patient_id as "patient_id: PatientId",
                 trim(p.first_name || ' ' || p.last_name) as "patient_name!",
                 r.hospital_id as "hospital_id: HospitalId", coalesce(h.name, '') as "hospital_name!", r.uploaded_by,
                 coalesce(nullif(trim(u.first_name || ' ' || u.last_name), ''), u.username, '') as "uploaded_by_name!",
                 r.file_id, r.file_type, f.size_bytes, f.extension, r.title, r.description, r.report_date, r.uploaded_at,
                 r.updated_at, f.scan_status as "scan_status: ScanStatus"
               from patient_reports r
               join stored_files f on f.id = r.file_id
               join users p on p.id = r.patient_id
               left join hospitals h on h.id = r.hospital_id
               left join users u on u.id = r.uploaded_by "# + $tail,
            $($arg),+
        )
    };
}

/// A report's row.
#[derive(Debug, Clone)]
pub struct ReportRow {
    pub id: i64,
    pub patient_id: PatientId,
    pub patient_name: String,
    pub hospital_id: Option<HospitalId>,
    pub hospital_name: String,
    pub uploaded_by: Option<i64>,
    pub uploaded_by_name: String,
    pub file_id: i64,
    pub file_type: String,
    pub size_bytes: i64,
    pub extension: String,
    pub title: String,
    pub description: String,
    pub report_date: Option<NaiveDate>,
    pub uploaded_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub scan_status: ScanStatus,
}

impl ReportRow {
    /// The API's shape: `file` is the absolute URL of `/api/records/reports/{id}/download/`,
    /// `file_url` the same URL signed for the caller (see `records::files::links`).
    pub fn into_report(self, links: &FileLinks) -> PatientReport {
        let path = download_path(self.id);
        PatientReport {
            id: self.id,
            patient: self.patient_id,
            patient_name: self.patient_name,
            hospital: self.hospital_id,
            hospital_name: self.hospital_name,
            uploaded_by: self.uploaded_by,
            uploaded_by_name: self.uploaded_by_name,
            file: links.url(&path),
            file_url: links.signed_url(&path, self.file_id),
            file_type: FileType::parse(&self.file_type).unwrap_or(FileType::Other),
            file_size: self.size_bytes,
            file_extension: self.extension,
            title: self.title,
            description: self.description,
            report_date: self.report_date,
            uploaded_at: self.uploaded_at,
            updated_at: self.updated_at,
            scan_status: self.scan_status,
        }
    }
}

/// Whether hospital `id` exists.
pub async fn hospital_exists(conn: &mut PgConnection, id: HospitalId) -> sqlx::Result<bool> {
    sqlx::query_scalar!(r#"select exists (select 1 from hospitals where id = $1) as "exists!""#, id as HospitalId)
        .fetch_one(conn)
        .await
}

/// Whether patient `patient_id` has (or had) an appointment at hospital `hospital_id`.
pub async fn has_appointment_at(
    conn: &mut PgConnection,
    patient_id: PatientId,
    hospital_id: HospitalId,
) -> sqlx::Result<bool> {
    sqlx::query_scalar!(
        r#"select exists (select 1 from appointments where patient_id = $1 and hospital_id = $2) as "exists!""#,
        patient_id as PatientId,
        hospital_id as HospitalId,
    )
    .fetch_one(conn)
    .await
}

/// Inserts a report of the stored file `file_id`; its id.
pub async fn insert(
    conn: &mut PgConnection,
    patient_id: PatientId,
    file_id: i64,
    uploaded_by: i64,
    fields: &ReportFields,
) -> sqlx::Result<i64> {
    sqlx::query_scalar!(
        "insert into patient_reports (patient_id, file_id, hospital_id, uploaded_by, title, description, file_type, \
         report_date) values ($1, $2, $3, $4, $5, $6, $7, $8) returning id",
        patient_id as PatientId,
        file_id,
        fields.hospital as Option<HospitalId>,
        uploaded_by,
        fields.title,
        fields.description,
        fields.file_type.as_str(),
        fields.report_date,
    )
    .fetch_one(conn)
    .await
}

pub async fn get(conn: &mut PgConnection, id: i64) -> sqlx::Result<Option<ReportRow>> {
    select_reports!("where r.id = $1", id).fetch_optional(conn).await
}

/// One page of a patient's reports, newest first, and how many there are.
pub async fn list(
    conn: &mut PgConnection,
    patient_id: PatientId,
    limit: i64,
    offset: i64,
) -> sqlx::Result<(i64, Vec<ReportRow>)> {
    let count = sqlx::query_scalar!(
        r#"select count(*) as "count!" from patient_reports where patient_id = $1"#,
        patient_id as PatientId,
    )
    .fetch_one(&mut *conn)
    .await?;
    let rows = select_reports!(
        "where r.patient_id = $1 order by r.id desc limit $2 offset $3",
        patient_id as PatientId,
        limit,
        offset
    )
    .fetch_all(conn)
    .await?;
    Ok((count, rows))
}

/// The patient and stored file of a report.
pub async fn owner_and_file(conn: &mut PgConnection, id: i64) -> sqlx::Result<Option<(PatientId, i64)>> {
    let row = sqlx::query!(
        r#"select patient_id as "patient_id: PatientId", file_id from patient_reports where id = $1"#,
        id,
    )
    .fetch_optional(conn)
    .await?;
    Ok(row.map(|row| (row.patient_id, row.file_id)))
}

/// Removes the reports titled `title` of demo patients and their files' rows (the demo report
/// is made again on each `carehub demo-data`); the storage keys.
pub async fn delete_demo_reports(conn: &mut PgConnection, title: &str) -> sqlx::Result<Vec<String>> {
    sqlx::query_scalar!(
        "with gone as (delete from patient_reports r using users u              where u.id = r.patient_id and u.is_demo and r.title = $1 returning r.file_id)          delete from stored_files f using gone where f.id = gone.file_id returning f.storage_key",
        title,
    )
    .fetch_all(conn)
    .await
}

/// Removes a report's row (its file's row is the caller's to remove next); its file's id.
pub async fn delete(conn: &mut PgConnection, id: i64) -> sqlx::Result<Option<i64>> {
    sqlx::query_scalar!("delete from patient_reports where id = $1 returning file_id", id).fetch_optional(conn).await
}
