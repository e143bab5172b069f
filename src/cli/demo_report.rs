//! The demo patient's report: a small PDF made here, stored and recorded through the upload's
//! own path (`records::reports::service::create`: the file's row, the report's and its scan job), so a
//! `carehub dev --demo-data` shows it PENDING, then CLEAN once the worker has asked clamd.

use bytes::Bytes;
use serde_json::json;
use sha2::{Digest as _, Sha256};
use sqlx::PgConnection;

use super::admin::cli_meta;
use crate::{
    audit::{self, AuditEvent},
    ids::PatientId,
    records::{
        files::{
            kind::sniff,
            model::StoredObject,
            storage::{Folder, Storage, new_key},
        },
        reports::{
            model::{FileType, ReportFields},
            service::create,
        },
    },
};

/// The demo report's title (a re-run replaces the report of this title).
pub const TITLE: &str = "Demo lab report";

/// A one-page PDF saying what it is.
pub fn pdf() -> Vec<u8> {
    let text = "BT /F1 18 Tf 72 720 Td (CareHub demo lab report: haemoglobin 13.5 g/dL) Tj ET";
    let objects = [
        "<< /Type /Catalog /Pages 2 0 R >>".to_owned(),
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>".to_owned(),
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>"
            .to_owned(),
        format!("<< /Length {} >>\nstream\n{text}\nendstream", text.len()),
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>".to_owned(),
    ];
    let mut out = String::from("%PDF-1.4\n");
    let mut offsets = Vec::new();
    for (index, body) in objects.iter().enumerate() {
        offsets.push(out.len());
        out.push_str(&format!("{} 0 obj\n{body}\nendobj\n", index + 1));
    }
    let xref = out.len();
    out.push_str(&format!("xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1));
    for offset in offsets {
        out.push_str(&format!("{offset:010} 00000 n \n"));
    }
    out.push_str(&format!("trailer << /Size {} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n", objects.len() + 1));
    out.into_bytes()
}

/// Stores the demo report of `patient_id` and records it (with its scan job) in `conn`'s
/// transaction; the object's key (the caller removes it if the transaction does not commit).
pub async fn seed(conn: &mut PgConnection, storage: &Storage, patient_id: PatientId) -> anyhow::Result<String> {
    let bytes = pdf();
    let key = new_key(Folder::PatientReports, patient_id, "pdf");
    let file = StoredObject {
        key: key.clone(),
        original_name: "demo-lab-report.pdf".into(),
        extension: "pdf".into(),
        content_type: sniff("pdf", &bytes).ok_or_else(|| anyhow::anyhow!("the demo PDF is not a PDF"))?,
        size: i64::try_from(bytes.len())?,
        sha256: Sha256::digest(&bytes).to_vec(),
    };
    storage.put(&key, Bytes::from(bytes)).await?;
    let fields = ReportFields {
        title: TITLE.into(),
        description: "Complete blood count (demo data)".into(),
        file_type: FileType::Lab,
        report_date: Some(chrono::Utc::now().date_naive()),
        hospital: None,
    };
    let recorded = async {
        let (id, file_id) = create(&mut *conn, patient_id, patient_id.get(), &file, &fields).await?;
        let event = AuditEvent::new("report_uploaded")
            .target("report", id)
            .details(json!({ "patient_id": patient_id, "file_id": file_id, "demo": true }));
        audit::record(&mut *conn, &cli_meta("demo-data"), event).await
    }
    .await;
    if let Err(err) = recorded {
        storage.delete_quietly(&key).await;
        return Err(err);
    }
    Ok(key)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_demo_pdf_is_a_pdf_by_its_magic_number() {
        let bytes = pdf();
        assert_eq!(sniff("pdf", &bytes), Some("application/pdf"));
        assert!(String::from_utf8_lossy(&bytes).ends_with("%%EOF\n"));
    }
}
