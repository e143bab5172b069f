//! One-time codes (OTP): a code a patient passes on to a doctor so the doctor may read their
//! records. [`code`]: the code itself (made, sealed under a keyed hash, compared, refused);
//! [`issue`]: asking for one (by a doctor, sent by SMS; by the patient, to share; for nobody);
//! [`verify`]: trying one (single use, killed by the 5th wrong try, one grant per code);
//! [`budgets`]: the limits on requests and on failed tries. Sending the SMS is
//! [`super::jobs`]'s; the statements are [`super::repo`]'s.

pub mod budgets;
pub mod code;
pub mod issue;
pub mod verify;
