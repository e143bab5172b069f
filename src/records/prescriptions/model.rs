//! A prescription version as the API shows it, the requests that write one, and a version's
//! content; what a request must hold is checked in [`validate`].

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use sqlx::types::Json;
use utoipa::ToSchema;

use crate::ids::{AppointmentId, DoctorId, HospitalId, PatientId};

mod id;
mod medicines;
pub mod validate;

pub use medicines::{MEDICINE_TEXT_MAX, MEDICINES_MAX, Medicine, NAME_MAX};

/// The longest a free-text field (diagnosis, notes, ...) may be, in characters.
pub const TEXT_MAX: usize = 10_000;

/// One version of a prescription (the reference's `Prescription`). `created_at` is when the
/// chain began (the same on every version), `updated_at` when this version was written.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Prescription {
    pub id: i64,
    /// The patient's user id.
    #[schema(value_type = i64)]
    pub patient: PatientId,
    pub patient_name: String,
    /// The prescribing doctor's profile id.
    #[schema(value_type = i64)]
    pub doctor: DoctorId,
    pub doctor_name: String,
    pub doctor_specialization: String,
    #[schema(value_type = i64)]
    pub hospital: HospitalId,
    pub hospital_name: String,
    /// The appointment it was written at, if any.
    #[schema(value_type = Option<i64>)]
    pub appointment: Option<AppointmentId>,
    /// The same as `appointment` (the reference names both).
    #[schema(value_type = Option<i64>)]
    pub appointment_id: Option<AppointmentId>,
    pub diagnosis: String,
    pub investigations: String,
    pub treatment_plan: String,
    #[schema(value_type = Vec<Medicine>)]
    pub medicines: Json<Vec<Medicine>>,
    pub follow_up_date: Option<NaiveDate>,
    pub referral_notes: String,
    pub doctor_notes: String,
    /// 1 for the first version, then + 1 with each edit.
    pub version: i32,
    /// The version this one replaced (null for version 1).
    pub previous_version: Option<i64>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// The first version's id: what every version of the chain shares.
    #[serde(skip)]
    pub chain_id: i64,
}

/// One version with the files attached to its chain (the reference's
/// `PrescriptionWithAttachments`).
#[derive(Debug, Serialize, ToSchema)]
pub struct PrescriptionWithAttachments {
    #[serde(flatten)]
    pub prescription: Prescription,
    /// The chain's attachments (`PrescriptionAttachment`), oldest first.
    pub attachments: Vec<crate::records::attachments::model::AttachmentView>,
}

/// The answer to a create: `{message, id, prescription}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct PrescriptionCreated {
    pub message: String,
    pub id: i64,
    pub prescription: Prescription,
}

/// A new prescription (doctor). Unknown top-level fields are ignored, as DRF does; unknown
/// fields of a medicine are refused.
#[derive(Debug, Deserialize, ToSchema)]
pub struct CreatePrescriptionRequest {
    /// The patient's user id.
    #[schema(required = true, value_type = i64)]
    #[serde(default, deserialize_with = "id::optional")]
    pub patient: Option<i64>,
    /// An appointment of this patient at the doctor's hospital (CONFIRMED or COMPLETED), which
    /// also lets a doctor without an access grant write the prescription.
    #[serde(default, deserialize_with = "id::optional")]
    pub appointment: Option<i64>,
    #[schema(required = true, value_type = String, max_length = 10000)]
    pub diagnosis: Option<String>,
    #[schema(max_length = 10000)]
    pub investigations: Option<String>,
    #[schema(max_length = 10000)]
    pub treatment_plan: Option<String>,
    #[schema(value_type = Option<Vec<Medicine>>, max_items = 50)]
    pub medicines: Option<serde_json::Value>,
    /// Not a day that has already ended everywhere on Earth.
    pub follow_up_date: Option<NaiveDate>,
    #[schema(max_length = 10000)]
    pub referral_notes: Option<String>,
    #[schema(max_length = 10000)]
    pub doctor_notes: Option<String>,
}

/// A partial edit (the prescribing doctor): the fields given replace the latest version's in a
/// new version. `patient` and `appointment` never change (ignored if sent).
#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct PrescriptionUpdateRequest {
    /// Not blank (the same pattern the document gives every required text).
    #[schema(max_length = 10000, pattern = "^[^\\u0000]*[^\\s\\u0000][^\\u0000]*$")]
    pub diagnosis: Option<String>,
    #[schema(max_length = 10000)]
    pub investigations: Option<String>,
    #[schema(max_length = 10000)]
    pub treatment_plan: Option<String>,
    #[schema(value_type = Option<Vec<Medicine>>, max_items = 50)]
    pub medicines: Option<serde_json::Value>,
    pub follow_up_date: Option<NaiveDate>,
    #[schema(max_length = 10000)]
    pub referral_notes: Option<String>,
    #[schema(max_length = 10000)]
    pub doctor_notes: Option<String>,
}

/// What a version says, validated.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Content {
    pub diagnosis: String,
    pub investigations: String,
    pub treatment_plan: String,
    pub medicines: Vec<Medicine>,
    pub follow_up_date: Option<NaiveDate>,
    pub referral_notes: String,
    pub doctor_notes: String,
}

impl From<&Prescription> for Content {
    fn from(p: &Prescription) -> Self {
        Self {
            diagnosis: p.diagnosis.clone(),
            investigations: p.investigations.clone(),
            treatment_plan: p.treatment_plan.clone(),
            medicines: p.medicines.0.clone(),
            follow_up_date: p.follow_up_date,
            referral_notes: p.referral_notes.clone(),
            doctor_notes: p.doctor_notes.clone(),
        }
    }
}
