//! The patient's SMS of a change: a confirmation or a cancellation, in the hospital's time zone.

use carehub_workers::sms::Purpose;
use chrono::{DateTime, Utc};

use crate::appointments::{
    model::{Appointment, Status},
    repo::Text,
};

/// A time as the patient reads it: in the hospital's zone.
fn local_time(at: DateTime<Utc>, zone: &str) -> String {
    match zone.parse::<chrono_tz::Tz>() {
        Ok(zone) => at.with_timezone(&zone).format("%a %d %b %Y, %H:%M %Z").to_string(),
        Err(_) => at.format("%a %d %b %Y, %H:%M UTC").to_string(),
    }
}

/// The doctor as an SMS names them: `Dr.` and only what may reach an SMS of the name they edit
/// themselves (letters, spaces, `.'-`, 40 characters: no number to call, no link).
fn doctor_in_sms(name: &str) -> String {
    let name = carehub_workers::sms::sms_name(name);
    if name.is_empty() { "your doctor".to_owned() } else { format!("Dr. {name}") }
}

/// The SMS that tells the patient of a move of `before` to `to`, with `doctor` at `at`: a
/// confirmation or a cancellation, to a patient with a phone number.
pub(super) fn text(before: &Appointment, to: Status, doctor: &str, at: DateTime<Utc>) -> Option<Text> {
    if to == before.status || before.patient_phone.is_empty() {
        return None;
    }
    let when = local_time(at, &before.hospital_time_zone);
    let (body, purpose) = match to {
        Status::Confirmed => (
            format!(
                "CareHub: your appointment at {} ({}) with {} is confirmed for {when}.",
                before.hospital_name,
                before.department_name,
                doctor_in_sms(doctor)
            ),
            Purpose::AppointmentConfirmation,
        ),
        Status::Cancelled => (
            format!("CareHub: your appointment at {} on {when} has been cancelled.", before.hospital_name),
            Purpose::AppointmentCancellation,
        ),
        Status::Requested | Status::Completed => return None,
    };
    Some(Text { to: before.patient_phone.clone(), body, purpose })
}
