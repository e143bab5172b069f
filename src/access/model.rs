//! What the access context reads and answers: the request and response bodies of the code
//! endpoints, a grant as its patient sees it ([`Grant`]), and the phone numbers shown in answers
//! (masked, or a stand-in's for a request that reaches nobody). The codes themselves are
//! [`super::otp::code`]'s.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::ids::{DoctorId, HospitalId, PatientId};

#[derive(Debug, Deserialize, ToSchema)]
pub struct OtpGenerateRequest {
    /// The patient's phone number (a doctor sends this or `patient_id`; a patient may send their own).
    #[schema(max_length = 32)]
    pub patient_phone: Option<String>,
    pub patient_id: Option<i64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct OtpGenerateResponse {
    pub message: String,
    /// RFC 3339 in microseconds, always: the answer's length never depends on whom it names.
    #[serde(serialize_with = "micros")]
    pub expires_at: DateTime<Utc>,
    /// The number the code went to, all but its last four digits hidden.
    pub phone_number: String,
    /// Only when a patient makes a code to share: the code itself (10 digits), shown to them alone.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub otp: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct OtpVerifyRequest {
    #[schema(max_length = 32)]
    pub patient_phone: Option<String>,
    pub patient_id: Option<i64>,
    #[schema(required = true, value_type = String, max_length = 10)]
    pub otp: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct OtpVerifyResponse {
    pub message: String,
    #[schema(value_type = i64)]
    pub patient_id: PatientId,
    pub verified: bool,
    pub access_granted_until: DateTime<Utc>,
}

fn micros<S: serde::Serializer>(at: &DateTime<Utc>, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(&at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true))
}

/// One access grant, as its patient sees it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Grant {
    pub id: i64,
    /// The doctor's profile id.
    #[schema(value_type = i64)]
    pub doctor: DoctorId,
    pub doctor_name: String,
    #[schema(value_type = i64)]
    pub hospital: HospitalId,
    pub hospital_name: String,
    pub granted_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
    /// Not revoked and not expired: the doctor can read the records now.
    pub is_active: bool,
}

/// The stand-in number masked in the answer to a request that reaches nobody by id (no patient
/// has it, or the patient has no phone): a mobile number of the default `region` whose last four
/// digits come from `subject` ([`OtpKey::subject`](super::otp::code::OtpKey::subject) of what was typed, so asking again shows the
/// same mask), so its mask has the shape of a real patient's. E.164, like a stored number.
pub fn decoy_phone(subject: &[u8; 32], region: &str) -> String {
    let (country, example) = phonenumber::metadata::DATABASE
        .by_id(region)
        .and_then(|meta| Some((meta.country_code(), meta.descriptors().mobile()?.example()?.to_owned())))
        .unwrap_or((92, "3012345678".to_owned()));
    let keep = example.len().saturating_sub(4);
    let tail = u16::from_be_bytes([subject[0], subject[1]]) % 10_000;
    format!("+{country}{}{tail:04}", example.get(..keep).unwrap_or_default())
}

/// A phone number with all but its country code and last four digits hidden, behind a fixed
/// run of stars that does not tell the number's length: `+92*******4567`.
pub fn mask_phone(phone: &str) -> String {
    let chars: Vec<char> = phone.chars().collect();
    if chars.len() < 8 {
        return "*".repeat(7);
    }
    let head: String = chars[..3].iter().collect();
    let tail: String = chars[chars.len() - 4..].iter().collect();
    format!("{head}*******{tail}")
}

#[cfg(test)]
mod tests {
    use secrecy::SecretString;

    use super::*;
    use crate::access::otp::code::OtpKey;

    #[test]
    fn phones_are_masked_but_for_the_country_code_and_last_four_digits() {
        assert_eq!(mask_phone("+923001234567"), "+92*******4567");
        assert_eq!(mask_phone("+15005550006"), "+15*******0006");
        assert_eq!(mask_phone("123"), "*******");
        assert_eq!(mask_phone(""), "*******");
    }

    #[test]
    fn a_decoy_phone_is_masked_in_the_shape_of_a_real_one() {
        let key = OtpKey::new(&SecretString::from("k".repeat(40)));
        let subject = key.subject("id:999999");
        let decoy = decoy_phone(&subject, "PK");
        assert_eq!(decoy, decoy_phone(&subject, "PK"), "the same subject, the same number");
        let real = mask_phone("+923001234567");
        let masked = mask_phone(&decoy);
        assert_eq!(masked.len(), real.len(), "{masked} / {real}");
        assert_eq!(&masked[..10], "+92*******");
        assert!(masked[10..].bytes().all(|b| b.is_ascii_digit()));
        assert!(crate::accounts::model::PhoneNumber::parse(&decoy, "PK").is_ok(), "{decoy} is a valid number");
        assert!(decoy_phone(&subject, "US").starts_with("+1"));
        assert!(decoy_phone(&subject, "nowhere").starts_with("+92"));
    }
}
