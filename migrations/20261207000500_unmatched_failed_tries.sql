-- A doctor's wrong tries at a code for nobody (an unknown patient, one without a phone, a phone
-- several share) are counted against the request that named nobody as they are against a real
-- SMS code, so the 5th answers `otp_locked` there too: otherwise `otp_locked` after five wrong
-- tries would tell that somebody is a patient, and `otp_invalid` for ever that nobody is.
alter table otp_unmatched_requests add column failed_attempts integer not null default 0;
