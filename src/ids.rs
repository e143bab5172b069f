//! The ids of the things every context names, each its own type so that a hospital's id cannot
//! be passed where a patient's belongs. On the wire and in the database each is the bare integer
//! it wraps (`serde(transparent)`, `sqlx(transparent)`): the contract does not change.
//!
//! - [`UserId`] is `users.id`, any account.
//! - [`PatientId`] is `users.id` of a patient (patients have no profile row of their own to point at).
//! - [`DoctorId`] is `doctor_profiles.id` (not the doctor's user id).
//! - [`HospitalId`] is `hospitals.id` (not the hospital account's user id).
//! - [`AppointmentId`] is `appointments.id`.
//!
//! In a compile-time-checked statement (the sqlx macros) a bind takes `id as PatientId` and a
//! column reads `patient_id as "patient_id: PatientId"`.

use std::fmt;

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(
            Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord,
            serde::Serialize, serde::Deserialize, sqlx::Type, utoipa::ToSchema,
        )]
        #[serde(transparent)]
        #[sqlx(transparent)]
        #[schema(value_type = i64)]
        pub struct $name(pub i64);

        impl $name {
            /// The integer as stored and sent.
            pub const fn get(self) -> i64 {
                self.0
            }
        }

        impl From<i64> for $name {
            fn from(id: i64) -> Self {
                Self(id)
            }
        }

        impl From<$name> for i64 {
            fn from(id: $name) -> Self {
                id.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Display::fmt(&self.0, f)
            }
        }

        impl std::str::FromStr for $name {
            type Err = std::num::ParseIntError;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                s.parse().map(Self)
            }
        }
    };
}

id_type!(
    /// Any account: `users.id`.
    UserId
);
id_type!(
    /// A patient: the `users.id` of a PATIENT account.
    PatientId
);
id_type!(
    /// A doctor: `doctor_profiles.id`.
    DoctorId
);
id_type!(
    /// A hospital: `hospitals.id`.
    HospitalId
);
id_type!(
    /// An appointment: `appointments.id`.
    AppointmentId
);

impl From<PatientId> for UserId {
    fn from(id: PatientId) -> Self {
        Self(id.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_id_is_the_bare_integer_on_the_wire() {
        let id = PatientId(42);
        assert_eq!(serde_json::to_string(&id).ok().as_deref(), Some("42"));
        let back: Result<HospitalId, _> = serde_json::from_str("7");
        assert_eq!(back.ok(), Some(HospitalId(7)));
        assert_eq!("9".parse::<AppointmentId>().ok(), Some(AppointmentId(9)));
    }
}
