//! Every SQL statement of the appointments context, one file per concern: booking, the lists
//! and reads, assignment and status changes, reminders. What they share is here: the one SELECT
//! every read and change statement returns its rows through.

mod assignment;
mod booking;
mod lists;
mod reminders;

pub use self::{
    assignment::{ChangeAudit, Text, assign, set_status},
    booking::{Booked, NewAppointment, book, bookable},
    lists::{Current, ListFilter, Owner, current, get, hospital_of, list},
    reminders::{DueReminder, claim_reminder, due_reminders, set_reminder_message},
};

/// One statement for every read: the names the reference shows come from joins, never from a
/// query per row. (A constant, so the `format!`ed statements carry no outside input.)
pub(super) const SELECT: &str = "select a.id, a.patient_id as patient, trim(p.first_name || ' ' || p.last_name) as patient_name, \
     coalesce(p.phone_number, '') as patient_phone, p.email as patient_email, \
     a.hospital_id as hospital, h.name as hospital_name, a.department_id as department, d.name as department_name, \
     a.doctor_id as assigned_doctor, coalesce(trim(du.first_name || ' ' || du.last_name), '') as doctor_name, \
     a.requested_time, a.confirmed_time, a.duration_minutes, a.status, a.reason, a.notes, a.cancellation_reason, \
     a.assigned_by, coalesce(trim(ab.first_name || ' ' || ab.last_name), ab.username, '') as assigned_by_name, \
     a.assigned_at, a.created_at, a.updated_at, h.time_zone as hospital_time_zone, dp.user_id as doctor_user \
     from appointments a \
     join users p on p.id = a.patient_id \
     join hospitals h on h.id = a.hospital_id \
     join departments d on d.id = a.department_id \
     left join doctor_profiles dp on dp.id = a.doctor_id \
     left join users du on du.id = dp.user_id \
     left join users ab on ab.id = a.assigned_by";

/// [`SELECT`] over another relation than the `appointments` table (a CTE's rows), as `a`.
pub(super) fn from_source(source: &str) -> String {
    SELECT.replacen("from appointments a", &format!("from {source}"), 1)
}
