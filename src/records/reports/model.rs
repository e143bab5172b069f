//! A patient report as the API shows it, and the rules of its upload's text fields.

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;
use utoipa::ToSchema;

use crate::{
    errors::FieldErrors,
    ids::{HospitalId, PatientId},
    records::files::model::ScanStatus,
};

/// What a report is (the reference's `FileTypeEnum`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "UPPERCASE")]
pub enum FileType {
    Lab,
    Prescription,
    Xray,
    Mri,
    Ct,
    Ultrasound,
    Other,
}

impl FileType {
    pub const ALL: [Self; 7] =
        [Self::Lab, Self::Prescription, Self::Xray, Self::Mri, Self::Ct, Self::Ultrasound, Self::Other];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Lab => "LAB",
            Self::Prescription => "PRESCRIPTION",
            Self::Xray => "XRAY",
            Self::Mri => "MRI",
            Self::Ct => "CT",
            Self::Ultrasound => "ULTRASOUND",
            Self::Other => "OTHER",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|kind| kind.as_str() == value)
    }
}

/// A patient report (the reference's `PatientReport`, with `scan_status`). `file` is the
/// absolute URL of its download route (with a bearer token), `file_url` the same URL signed for
/// the user who asked (opens without a token for `records.download_link_seconds`); never a
/// storage path.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PatientReport {
    pub id: i64,
    #[schema(value_type = i64)]
    pub patient: PatientId,
    pub patient_name: String,
    /// Hospital where the report was made, if any.
    #[schema(value_type = Option<i64>)]
    pub hospital: Option<HospitalId>,
    /// Empty when there is no hospital.
    pub hospital_name: String,
    pub uploaded_by: Option<i64>,
    pub uploaded_by_name: String,
    #[schema(format = "uri")]
    pub file: String,
    /// `file`, signed for the caller: `?expires=…&user=…&login=…&sig=…`.
    #[schema(format = "uri")]
    pub file_url: String,
    pub file_type: FileType,
    /// Size in bytes.
    pub file_size: i64,
    pub file_extension: String,
    #[schema(max_length = 255)]
    pub title: String,
    pub description: String,
    pub report_date: Option<NaiveDate>,
    pub uploaded_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub scan_status: ScanStatus,
}

/// The multipart body of an upload (for the OpenAPI document).
#[derive(Debug, ToSchema)]
#[allow(dead_code)]
pub struct UploadPatientReportRequest {
    /// pdf, jpg, jpeg, png, doc or docx, at most 10 MiB; its bytes must be of its extension's type.
    /// One file per request; the whole body at most 10 MiB + 64 KiB.
    #[schema(value_type = String, format = Binary)]
    pub file: Vec<u8>,
    pub file_type: FileType,
    #[schema(min_length = 1, max_length = 255)]
    pub title: String,
    #[schema(max_length = 10000)]
    pub description: Option<String>,
    pub report_date: Option<NaiveDate>,
    /// A hospital where the patient has an appointment (or the uploading doctor's own).
    pub hospital: Option<i64>,
}

/// The answer to an upload.
#[derive(Debug, Serialize, ToSchema)]
pub struct UploadedReport {
    pub message: &'static str,
    pub id: i64,
    pub report: PatientReport,
}

/// An upload's text fields, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportFields {
    pub title: String,
    pub description: String,
    pub file_type: FileType,
    pub report_date: Option<NaiveDate>,
    pub hospital: Option<HospitalId>,
}

const REQUIRED: &str = "This field is required.";

/// Checks the text fields (`get(name)`: the part's value, `None` when not sent); every broken
/// rule is added to `errors`. The hospital's existence is the caller's to check.
pub fn check_fields<'a>(get: impl Fn(&str) -> Option<&'a str>, errors: &mut FieldErrors) -> Option<ReportFields> {
    let title = get("title").map(str::trim).unwrap_or_default().to_owned();
    if title.is_empty() {
        errors.add("title", if get("title").is_some() { "This field may not be blank." } else { REQUIRED });
    } else if title.chars().count() > 255 {
        errors.add("title", "Ensure this field has no more than 255 characters.");
    }
    let description = get("description").map(str::trim).unwrap_or_default().to_owned();
    if description.chars().count() > 10_000 {
        errors.add("description", "Ensure this field has no more than 10000 characters.");
    }
    let file_type = match get("file_type").map(str::trim) {
        None | Some("") => {
            errors.add("file_type", REQUIRED);
            None
        }
        Some(value) => {
            let parsed = FileType::parse(value);
            if parsed.is_none() {
                errors.add(
                    "file_type",
                    format!("\"{}\" is not a valid choice.", value.chars().take(50).collect::<String>()),
                );
            }
            parsed
        }
    };
    let report_date = match get("report_date").map(str::trim) {
        None | Some("") => None,
        Some(value) => {
            let parsed = NaiveDate::parse_from_str(value, "%Y-%m-%d").ok();
            if parsed.is_none() {
                errors.add("report_date", "Date has wrong format. Use one of these formats instead: YYYY-MM-DD.");
            }
            parsed
        }
    };
    let hospital = match get("hospital").map(str::trim) {
        None | Some("") => None,
        Some(value) => {
            let parsed = value.parse::<i64>().ok().filter(|id| *id > 0).map(HospitalId);
            if parsed.is_none() {
                errors.add("hospital", "A valid integer is required.");
            }
            parsed
        }
    };
    Some(ReportFields { title, description, file_type: file_type?, report_date, hospital })
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    fn check(pairs: &[(&str, &str)]) -> (Option<ReportFields>, FieldErrors) {
        let fields: BTreeMap<&str, &str> = pairs.iter().copied().collect();
        let mut errors = FieldErrors::new();
        let checked = check_fields(|name| fields.get(name).copied(), &mut errors);
        (checked, errors)
    }

    #[test]
    fn good_fields_are_taken() {
        let (fields, errors) =
            check(&[("title", " CBC "), ("file_type", "LAB"), ("report_date", "2026-11-20"), ("hospital", "3")]);
        assert!(errors.is_empty(), "{errors:?}");
        let fields = fields.expect("fields");
        assert_eq!(fields.title, "CBC");
        assert_eq!(fields.file_type, FileType::Lab);
        assert_eq!(fields.report_date, NaiveDate::from_ymd_opt(2026, 11, 20));
        assert_eq!(fields.hospital, Some(HospitalId(3)));
    }

    #[test]
    fn each_broken_rule_names_its_field() {
        let long = "t".repeat(256);
        let (fields, errors) =
            check(&[("title", &long), ("file_type", "SELFIE"), ("report_date", "20/11/2026"), ("hospital", "x")]);
        assert!(fields.is_none());
        for field in ["title", "file_type", "report_date", "hospital"] {
            assert!(errors.contains(field), "{field}: {errors:?}");
        }
        let (_, errors) = check(&[]);
        assert_eq!(errors.fields()["title"], [REQUIRED]);
        assert_eq!(errors.fields()["file_type"], [REQUIRED]);
    }
}
