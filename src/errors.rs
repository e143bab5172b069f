//! The error vocabulary every context shares, below them all and below `http`: field errors
//! (a 400 naming its fields), the kinds of conflict (a 409 whose `code` clients switch on), and
//! the one table from the database's constraint names to those kinds. Contexts return their
//! own error types built from these; `http::error` alone turns them into statuses and bodies.

use std::collections::BTreeMap;

/// Validation messages by field name (`non_field_errors` for the rest), in a stable order.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct FieldErrors(BTreeMap<String, Vec<String>>);

impl FieldErrors {
    pub fn new() -> Self {
        Self::default()
    }

    /// A single message for a single field.
    pub fn single(field: &str, message: impl Into<String>) -> Self {
        let mut errors = Self::new();
        errors.add(field, message);
        errors
    }

    pub fn add(&mut self, field: &str, message: impl Into<String>) {
        self.0.entry(field.to_owned()).or_default().push(message.into());
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn contains(&self, field: &str) -> bool {
        self.0.contains_key(field)
    }

    /// The messages by field, for the JSON body.
    pub fn fields(&self) -> &BTreeMap<String, Vec<String>> {
        &self.0
    }

    /// `Ok(())` when nothing was added, the errors otherwise (`?` turns them into the caller's
    /// error type: a 400 at the edge).
    pub fn into_result(self) -> Result<(), Self> {
        if self.is_empty() { Ok(()) } else { Err(self) }
    }
}

impl From<Duplicate> for FieldErrors {
    fn from(duplicate: Duplicate) -> Self {
        Self::single(duplicate.field(), duplicate.message())
    }
}

/// A request that is valid but that the current state forbids: a 409 with its own `code`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Conflict {
    /// `doctor_slot_taken`: the doctor has a confirmed appointment overlapping this slot.
    DoctorSlotTaken,
    /// `patient_slot_taken`: the patient has a confirmed appointment overlapping this slot.
    PatientSlotTaken,
    /// `invalid_transition`: the status machine has no such move from the current status.
    InvalidTransition,
    /// `invalid_transition`: a doctor is assigned to a requested appointment only.
    AssignNotRequested,
    /// `doctor_not_assigned`: confirming needs an assigned doctor.
    DoctorNotAssigned,
    /// `doctor_inactive`: the assigned doctor was deactivated since the assignment.
    DoctorInactive,
    /// `requested_time_passed`: confirming at a time that has passed.
    RequestedTimePassed,
    /// `department_in_use`: appointments refer to the department.
    DepartmentInUse,
    /// `username_unavailable`: no free generated username was found for a new doctor.
    UsernameUnavailable,
    /// `prescription_superseded`: a prescription is edited through its chain's latest version
    /// only (another edit got there first).
    PrescriptionSuperseded,
    /// `file_not_clean`: an uploaded file is served only once its virus scan found it clean.
    FileNotClean,
}

impl Conflict {
    /// Every kind, for documentation and tests.
    pub const ALL: [Self; 11] = [
        Self::DoctorSlotTaken,
        Self::PatientSlotTaken,
        Self::InvalidTransition,
        Self::AssignNotRequested,
        Self::DoctorNotAssigned,
        Self::DoctorInactive,
        Self::RequestedTimePassed,
        Self::DepartmentInUse,
        Self::UsernameUnavailable,
        Self::PrescriptionSuperseded,
        Self::FileNotClean,
    ];

    /// The stable `code` of the JSON body.
    pub fn code(self) -> &'static str {
        match self {
            Self::DoctorSlotTaken => "doctor_slot_taken",
            Self::PatientSlotTaken => "patient_slot_taken",
            Self::InvalidTransition | Self::AssignNotRequested => "invalid_transition",
            Self::DoctorNotAssigned => "doctor_not_assigned",
            Self::DoctorInactive => "doctor_inactive",
            Self::RequestedTimePassed => "requested_time_passed",
            Self::DepartmentInUse => "department_in_use",
            Self::UsernameUnavailable => "username_unavailable",
            Self::PrescriptionSuperseded => "prescription_superseded",
            Self::FileNotClean => "file_not_clean",
        }
    }

    /// The human `detail` of the JSON body.
    pub fn detail(self) -> &'static str {
        match self {
            Self::DoctorSlotTaken => "The doctor already has a confirmed appointment overlapping this time.",
            Self::PatientSlotTaken => "The patient already has a confirmed appointment overlapping this time.",
            Self::InvalidTransition => "This status change is not allowed from the appointment's current status.",
            Self::AssignNotRequested => "Only a requested appointment can be assigned a doctor.",
            Self::DoctorNotAssigned => "Assign a doctor before confirming the appointment.",
            Self::DoctorInactive => "The assigned doctor is no longer active at this hospital; assign another doctor.",
            Self::RequestedTimePassed => {
                "The requested time has passed; assign the doctor with a new confirmed_time instead."
            }
            Self::DepartmentInUse => {
                "This department has appointments and cannot be deleted; set is_active to false instead."
            }
            Self::UsernameUnavailable => "Could not find a free username for this doctor; try again.",
            Self::PrescriptionSuperseded => {
                "This prescription has a newer version; edit the latest version (see its versions list)."
            }
            Self::FileNotClean => {
                "This file is served only once its virus scan has found it clean (the scan is pending, failed or found a virus)."
            }
        }
    }
}

/// A value that must be unique and is taken: a 400 on its field, as DRF reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Duplicate {
    Username,
    LicenseNumber,
    DepartmentName,
}

impl Duplicate {
    pub fn field(self) -> &'static str {
        match self {
            Self::Username => "username",
            Self::LicenseNumber => "license_number",
            Self::DepartmentName => "name",
        }
    }

    pub fn message(self) -> &'static str {
        match self {
            // DRF's own words.
            Self::Username => "A user with that username already exists.",
            Self::LicenseNumber => "A hospital with this license number already exists.",
            Self::DepartmentName => "This hospital already has a department with this name.",
        }
    }
}

/// What a violated constraint means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Violation {
    Conflict(Conflict),
    Duplicate(Duplicate),
}

/// Every constraint (named in `migrations/`, or Postgres' name for an unnamed foreign key) whose
/// violation is the client's doing, and what it means. The one place these names are known.
pub const CONSTRAINTS: [(&str, Violation); 8] = [
    ("users_username_lower_key", Violation::Duplicate(Duplicate::Username)),
    ("hospitals_license_number_key", Violation::Duplicate(Duplicate::LicenseNumber)),
    ("departments_hospital_name_key", Violation::Duplicate(Duplicate::DepartmentName)),
    ("appointments_doctor_no_overlap", Violation::Conflict(Conflict::DoctorSlotTaken)),
    ("appointments_patient_no_overlap", Violation::Conflict(Conflict::PatientSlotTaken)),
    // `appointments.department_id ... on delete restrict`
    ("appointments_department_id_fkey", Violation::Conflict(Conflict::DepartmentInUse)),
    // two edits of one prescription version raced: one wins, the other is told to reload
    ("prescriptions_chain_version_key", Violation::Conflict(Conflict::PrescriptionSuperseded)),
    ("prescriptions_one_successor_key", Violation::Conflict(Conflict::PrescriptionSuperseded)),
];

/// What the constraint a database error violated means, if it is one of `CONSTRAINTS`.
pub fn violation(err: &sqlx::Error) -> Option<Violation> {
    let name = err.as_database_error()?.constraint()?;
    CONSTRAINTS.iter().find(|(constraint, _)| *constraint == name).map(|(_, violation)| *violation)
}

/// Whole seconds from now until a window's oldest entry leaves it (at least 1; 60 when unknown):
/// the `Retry-After` of every count-in-a-window limit (codes, resets, recommendations).
pub fn retry_after_secs(until: Option<chrono::DateTime<chrono::Utc>>) -> u64 {
    until.map_or(60, |until| u64::try_from((until - chrono::Utc::now()).num_seconds()).unwrap_or(0).max(1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_named_constraint_exists_in_the_migrations() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations");
        let mut sql = String::new();
        for entry in std::fs::read_dir(dir).expect("migrations") {
            sql.push_str(&std::fs::read_to_string(entry.expect("entry").path()).expect("migration"));
        }
        for (name, _) in CONSTRAINTS {
            // Postgres names an unnamed foreign key `<table>_<column>_fkey`.
            let declared = match name.strip_suffix("_fkey") {
                Some(_) => sql.contains("department_id bigint not null references departments (id) on delete restrict"),
                None => sql.contains(name),
            };
            assert!(declared, "{name} is not in migrations/");
        }
    }

    #[test]
    fn conflict_codes_are_snake_case_and_every_kind_has_a_detail() {
        for kind in Conflict::ALL {
            assert!(kind.code().chars().all(|c| c.is_ascii_lowercase() || c == '_'), "{kind:?}");
            assert!(!kind.detail().is_empty());
        }
    }
}
