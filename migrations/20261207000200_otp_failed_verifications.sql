-- Failed one-time-code verifications, counted for the budgets of `otp/verify`: each doctor's (10
-- per hour, whatever the patients), each hospital's (all its doctors together, 30 per hour: with
-- 10-digit shared codes this bounds the guessing of any shared code over its life, see README),
-- and each client address's. Before, verification had no limit of its own: wrong tries only
-- counted against the patient's codes, so any doctor could kill a patient's shared code with 5
-- of them, for every patient in turn, each try writing an audit row forever. A try refused by a
-- budget (429) is not compared and writes nothing, here or in the audit trail. No patient and
-- no typed code is kept; rows older than a day (past every window) are deleted by the access
-- sweep.
create table otp_failed_verifications (
    id bigint generated always as identity primary key,
    doctor_id bigint not null references doctor_profiles (id) on delete cascade,
    hospital_id bigint not null references hospitals (id) on delete cascade,
    -- the client address, as the audit trail records it
    address text not null,
    created_at timestamptz not null default now()
);

create index otp_failed_verifications_doctor_idx on otp_failed_verifications (doctor_id, created_at desc);
create index otp_failed_verifications_hospital_idx on otp_failed_verifications (hospital_id, created_at desc);
create index otp_failed_verifications_address_idx on otp_failed_verifications (address, created_at desc);
