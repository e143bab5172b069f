-- The operations console (/console/): admins' second factor and their cookie sessions.

-- An admin's TOTP secret (RFC 6238), sealed: AES-256-GCM under a key derived from OTP_SECRET,
-- stored as nonce || ciphertext. `last_step` is the last 30-second step whose code was accepted:
-- a code is accepted once (RFC 6238 section 5.2), never again, not even within its window.
create table console_totp (
    user_id bigint primary key references users (id) on delete cascade,
    secret_sealed bytea not null,
    enrolled_at timestamptz not null default now(),
    last_step bigint not null default 0
);

-- Ten one-time recovery codes per enrolment, kept only as keyed hashes.
create table console_recovery_codes (
    id bigint generated always as identity primary key,
    user_id bigint not null references users (id) on delete cascade,
    code_hash bytea not null,
    used_at timestamptz
);
create index console_recovery_codes_user_idx on console_recovery_codes (user_id) where used_at is null;

-- One row per console login. The cookie carries a random token; the row keeps its SHA-256 only.
-- PASSWORD: the password was right, the second factor is awaited; ACTIVE: signed in.
-- `pending_secret` is the sealed TOTP secret shown during enrolment, until its first code confirms it.
create table console_sessions (
    id uuid primary key default gen_random_uuid(),
    token_hash bytea not null unique,
    user_id bigint not null references users (id) on delete cascade,
    stage text not null check (stage in ('PASSWORD', 'ACTIVE')),
    csrf text not null,
    pending_secret bytea,
    failed_codes integer not null default 0,
    created_at timestamptz not null default now(),
    last_seen_at timestamptz not null default now()
);
create index console_sessions_user_idx on console_sessions (user_id);

-- Whatever deactivates an account (an admin in the console or the API, a hospital's rejection, a
-- hospital deactivating its doctor) ends its console sessions in the same transaction.
create function console_sessions_end_on_deactivation() returns trigger
    language plpgsql as $$
begin
    delete from console_sessions where user_id = new.id;
    return null;
end;
$$;
create trigger users_deactivated_end_console_sessions
    after update of is_active on users
    for each row when (old.is_active and not new.is_active)
    execute function console_sessions_end_on_deactivation();
