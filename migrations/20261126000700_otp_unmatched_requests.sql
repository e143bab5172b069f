-- A doctor's code requests that named nobody (no patient has the id, or the phone, typed). They
-- get the same answer as a request for a patient who exists, and now the same limits: before,
-- they made no row, so asking again and again for nobody was never throttled while asking for a
-- patient was (the 4th time within 15 minutes answered 429, which told the two apart), and once a
-- doctor's hourly budget was spent, every further request answered whether anyone had the id or
-- phone (429: somebody; 200: nobody). Counted here, under the same limits and locks as
-- `otp_requests`: 3 per subject per 15 minutes, and together with the doctor's real requests
-- towards the doctor's budget. `subject` is a keyed hash (HMAC-SHA-256 under OTP_SECRET) of what
-- was typed, never the typed phone number itself; rows older than a day (past every window)
-- are deleted by the access sweep.
create table otp_unmatched_requests (
    id bigint generated always as identity primary key,
    doctor_id bigint not null references doctor_profiles (id) on delete cascade,
    subject bytea not null check (octet_length(subject) = 32),
    created_at timestamptz not null default now()
);

create index otp_unmatched_requests_doctor_idx on otp_unmatched_requests (doctor_id, created_at desc);
create index otp_unmatched_requests_subject_idx on otp_unmatched_requests (subject, created_at desc);
