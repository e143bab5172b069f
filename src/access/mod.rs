//! Access to a patient's records: one-time codes (OTP) a patient passes on to a doctor, and the
//! access grants a verified code gives. Issuance, verification and grant changes for one patient
//! are serialized by that patient's desk (an actor) inside a process, and by an advisory lock on
//! the patient in Postgres across processes.
