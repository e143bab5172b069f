-- A grant belongs to the login that redeemed the code, not to the doctor's account: whoever else
-- logs in with the doctor's password (a hospital that reset it, or knew the generated one) holds
-- nothing until a patient gives that login a code of its own. `session_id` is the login's
-- refresh-token family; the records policy reads a grant only for the caller's own login.
-- Grants made before this migration name no login and so give nothing (they lived 30 minutes).
alter table access_grants
    add column session_id uuid references refresh_token_families (id) on delete set null;

drop index access_grants_live_idx;
create index access_grants_live_idx
    on access_grants (doctor_id, patient_id, session_id, expires_at desc) where revoked_at is null;
create index access_grants_session_idx on access_grants (session_id) where revoked_at is null;

-- Ending a login ends its grants, whichever path ended it (logout, a password change or reset,
-- a replayed refresh token, an admin's revocation): the patient's list shows them ended then.
create function login_ended_ends_grants() returns trigger language plpgsql as $$
begin
    update access_grants set revoked_at = new.revoked_at
    where session_id = new.id and revoked_at is null and expires_at > new.revoked_at;
    return null;
end $$;

create trigger refresh_token_families_end_grants
    after update of revoked_at on refresh_token_families
    for each row when (old.revoked_at is null and new.revoked_at is not null)
    execute function login_ended_ends_grants();

-- The role and hospital of a request are the account's, read with the login state
-- (accounts::sessions): a doctor moved to another hospital, or a hospital account re-linked,
-- must reach every process's cache as a change of the login state does.
create trigger doctor_profiles_membership_changed
    after update of hospital_id, user_id or delete on doctor_profiles
    for each statement execute function sessions_changed();
create trigger hospitals_membership_changed
    after update of user_id or delete on hospitals
    for each statement execute function sessions_changed();

-- A doctor's password reset (`POST /api/hospitals/doctors/{id}/reset-password/`): the hospital
-- asks, the doctor gets the temporary password by SMS. The password is made by the worker when
-- it sends the SMS (accounts::password_reset), hashed into `users` in the statement that claims
-- this row, and handed to the SMS provider: it is never in clear in a row, the outbox, Redis or
-- a log, and the hospital never sees it. Only the latest reset of an account is sent.
create table password_resets (
    id bigint generated always as identity primary key,
    user_id bigint not null references users (id) on delete cascade,
    requested_by bigint references users (id) on delete set null,
    created_at timestamptz not null default now(),
    delivery text not null default 'QUEUED'
        check (delivery in ('QUEUED', 'SENDING', 'RETRY', 'SENT', 'FAILED', 'SUPERSEDED')),
    delivery_attempts integer not null default 0,
    provider_message_id text,
    last_error text,
    sent_at timestamptz
);

create index password_resets_user_idx on password_resets (user_id, id desc);
