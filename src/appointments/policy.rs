//! Who may do what with appointments (the one place these rules live).

use super::model::{Appointment, Status};
use crate::accounts::model::{Principal, UserType};

/// Parties of an appointment see it; everyone else gets a 404.
pub fn may_see(principal: &Principal, appointment: &Appointment) -> bool {
    match principal.user_type {
        UserType::Admin => true,
        UserType::Patient => appointment.patient.get() == principal.user_id.0,
        UserType::Hospital => principal.hospital_id == Some(appointment.hospital),
        UserType::Doctor => appointment.doctor_user == Some(principal.user_id),
    }
}

/// Who may move an appointment to `to` (beyond seeing it): the hospital any allowed move,
/// the patient only cancel, the assigned doctor only complete.
pub fn may_set(principal: &Principal, appointment: &Appointment, to: Status) -> bool {
    if !may_see(principal, appointment) {
        return false;
    }
    match principal.user_type {
        UserType::Hospital => true,
        UserType::Patient => to == Status::Cancelled,
        UserType::Doctor => to == Status::Completed,
        UserType::Admin => false,
    }
}

pub fn may_book(principal: &Principal) -> bool {
    principal.user_type == UserType::Patient
}
