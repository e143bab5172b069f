//! What a doctor's request must hold: texts trimmed and bounded, a diagnosis, at most 50
//! medicines of known fields (`super::medicines`), a follow-up date not in the past; and which
//! fields an edit changes.

use chrono::{DateTime, Duration, NaiveDate, Utc};

use super::{Content, CreatePrescriptionRequest, PrescriptionUpdateRequest, TEXT_MAX, medicines};
use crate::{
    errors::FieldErrors,
    ids::{AppointmentId, PatientId},
};

/// The earliest follow-up date accepted at `now`: the day it still is somewhere (UTC-12 is the
/// last to leave a day), so that no doctor's "today" is refused, whatever their time zone.
pub fn earliest_follow_up(now: DateTime<Utc>) -> NaiveDate {
    (now - Duration::hours(12)).date_naive()
}

/// A free-text field, trimmed (as DRF trims) and bounded; `None` when not given.
fn text(errors: &mut FieldErrors, field: &str, value: Option<String>, required: bool) -> Option<String> {
    let value = value.map(|v| v.trim().to_owned());
    match value {
        None if required => errors.add(field, "This field is required."),
        Some(ref v) if required && v.is_empty() => errors.add(field, "This field may not be blank."),
        Some(ref v) if v.chars().count() > TEXT_MAX => {
            errors.add(field, format!("Ensure this field has no more than {TEXT_MAX} characters."));
        }
        _ => return value,
    }
    None
}

fn follow_up(errors: &mut FieldErrors, date: Option<NaiveDate>, now: DateTime<Utc>) -> Option<NaiveDate> {
    if date.is_some_and(|d| d < earliest_follow_up(now)) {
        errors.add("follow_up_date", "The follow-up date may not be in the past.");
    }
    date
}

/// A valid new prescription: `(patient, appointment, content)`, or every field's errors.
pub fn validate_new(
    request: CreatePrescriptionRequest,
    now: DateTime<Utc>,
) -> Result<(PatientId, Option<AppointmentId>, Content), FieldErrors> {
    let mut errors = FieldErrors::new();
    if request.patient.is_none() {
        errors.add("patient", "This field is required.");
    }
    let content = Content {
        diagnosis: text(&mut errors, "diagnosis", request.diagnosis, true).unwrap_or_default(),
        investigations: text(&mut errors, "investigations", request.investigations, false).unwrap_or_default(),
        treatment_plan: text(&mut errors, "treatment_plan", request.treatment_plan, false).unwrap_or_default(),
        medicines: medicines::parse(&mut errors, request.medicines).unwrap_or_default(),
        follow_up_date: follow_up(&mut errors, request.follow_up_date, now),
        referral_notes: text(&mut errors, "referral_notes", request.referral_notes, false).unwrap_or_default(),
        doctor_notes: text(&mut errors, "doctor_notes", request.doctor_notes, false).unwrap_or_default(),
    };
    errors.into_result()?;
    Ok((PatientId(request.patient.unwrap_or_default()), request.appointment.map(AppointmentId), content))
}

/// The content of the next version: `current` with the fields the edit gives, and the names of
/// the fields that changed (empty: the edit changes nothing). A follow-up date is checked
/// against the clock only when it changes (an old one may stay as it was).
pub fn apply_update(
    current: &Content,
    request: PrescriptionUpdateRequest,
    now: DateTime<Utc>,
) -> Result<(Content, Vec<&'static str>), FieldErrors> {
    let mut errors = FieldErrors::new();
    let mut next = current.clone();
    if let Some(v) = text(&mut errors, "diagnosis", request.diagnosis.clone(), request.diagnosis.is_some()) {
        next.diagnosis = v;
    }
    for (field, value, slot) in [
        ("investigations", request.investigations, &mut next.investigations),
        ("treatment_plan", request.treatment_plan, &mut next.treatment_plan),
        ("referral_notes", request.referral_notes, &mut next.referral_notes),
        ("doctor_notes", request.doctor_notes, &mut next.doctor_notes),
    ] {
        if let Some(v) = text(&mut errors, field, value, false) {
            *slot = v;
        }
    }
    if let Some(list) = medicines::parse(&mut errors, request.medicines) {
        next.medicines = list;
    }
    if let Some(date) = request.follow_up_date
        && Some(date) != current.follow_up_date
    {
        next.follow_up_date = follow_up(&mut errors, Some(date), now);
    }
    errors.into_result()?;
    let changed = [
        ("diagnosis", next.diagnosis != current.diagnosis),
        ("investigations", next.investigations != current.investigations),
        ("treatment_plan", next.treatment_plan != current.treatment_plan),
        ("medicines", next.medicines != current.medicines),
        ("follow_up_date", next.follow_up_date != current.follow_up_date),
        ("referral_notes", next.referral_notes != current.referral_notes),
        ("doctor_notes", next.doctor_notes != current.doctor_notes),
    ]
    .into_iter()
    .filter_map(|(name, differs)| differs.then_some(name))
    .collect();
    Ok((next, changed))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn now() -> DateTime<Utc> {
        "2026-03-10T06:00:00Z".parse().expect("time")
    }

    fn request(body: serde_json::Value) -> CreatePrescriptionRequest {
        serde_json::from_value(body).expect("request")
    }

    #[test]
    fn a_new_prescription_is_trimmed_and_keeps_its_medicines() {
        let body = json!({ "patient": 7, "diagnosis": "  Flu ", "medicines": [{ "name": " Paracetamol ", "dosage": "500mg" }] });
        let (patient, appointment, content) = validate_new(request(body), now()).expect("valid");
        assert_eq!((patient, appointment), (PatientId(7), None));
        assert_eq!(content.diagnosis, "Flu");
        assert_eq!(content.medicines[0].name, "Paracetamol");
        assert_eq!(content.medicines[0].frequency, "");
    }

    #[test]
    fn missing_blank_and_long_fields_are_named() {
        let body = json!({ "diagnosis": "   ", "doctor_notes": "x".repeat(TEXT_MAX + 1) });
        let errors = validate_new(request(body), now()).expect_err("invalid");
        assert_eq!(errors.fields()["patient"], ["This field is required."]);
        assert_eq!(errors.fields()["diagnosis"], ["This field may not be blank."]);
        assert!(errors.contains("doctor_notes"));
    }

    #[test]
    fn a_follow_up_date_is_refused_only_once_its_day_has_ended_everywhere() {
        let body = |date: &str| json!({ "patient": 1, "diagnosis": "Flu", "follow_up_date": date });
        assert!(validate_new(request(body("2026-03-09")), now()).is_ok(), "still the 9th at UTC-12");
        let errors = validate_new(request(body("2026-03-08")), now()).expect_err("past");
        assert!(errors.contains("follow_up_date"));
    }

    #[test]
    fn an_update_names_the_fields_it_changes_and_nothing_else() {
        let current = Content { diagnosis: "Flu".into(), doctor_notes: "rest".into(), ..Content::default() };
        let update = PrescriptionUpdateRequest {
            diagnosis: Some("Flu".into()),
            doctor_notes: Some("rest and fluids".into()),
            ..PrescriptionUpdateRequest::default()
        };
        let (next, changed) = apply_update(&current, update, now()).expect("valid");
        assert_eq!(changed, ["doctor_notes"]);
        assert_eq!(next.doctor_notes, "rest and fluids");
        let (_, changed) = apply_update(&current, PrescriptionUpdateRequest::default(), now()).expect("valid");
        assert!(changed.is_empty());
    }

    #[test]
    fn an_update_may_keep_a_past_follow_up_date_but_not_set_one() {
        let past = NaiveDate::from_ymd_opt(2025, 1, 1);
        let current = Content { diagnosis: "Flu".into(), follow_up_date: past, ..Content::default() };
        let keep = PrescriptionUpdateRequest { follow_up_date: past, ..PrescriptionUpdateRequest::default() };
        assert!(apply_update(&current, keep, now()).is_ok());
        let set = PrescriptionUpdateRequest {
            follow_up_date: NaiveDate::from_ymd_opt(2025, 2, 1),
            ..PrescriptionUpdateRequest::default()
        };
        assert!(apply_update(&current, set, now()).expect_err("past").contains("follow_up_date"));
        let blank = PrescriptionUpdateRequest { diagnosis: Some(" ".into()), ..PrescriptionUpdateRequest::default() };
        assert!(apply_update(&current, blank, now()).expect_err("blank").contains("diagnosis"));
    }
}
