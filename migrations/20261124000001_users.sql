-- Accounts: one table for the four roles, as the original's custom user model.
-- Usernames are unique ignoring case (a lower() unique index: the error carries its name,
-- which the application maps to a 400 on `username`). Emails are not unique: a doctor who
-- works at two hospitals holds two accounts.
create table users (
    id bigint generated always as identity primary key,
    username text not null check (char_length(username) between 1 and 150),
    email text not null default '' check (char_length(email) <= 255),
    first_name text not null default '' check (char_length(first_name) <= 150),
    last_name text not null default '' check (char_length(last_name) <= 150),
    -- E.164 only; the application normalizes before it stores.
    phone_number text check (phone_number ~ '^\+[1-9][0-9]{6,14}$'),
    user_type text not null check (user_type in ('ADMIN', 'HOSPITAL', 'DOCTOR', 'PATIENT')),
    password_hash text not null,
    is_active boolean not null default true,
    must_change_password boolean not null default false,
    -- rows made by `carehub demo-data`, so that `--clear` removes exactly those
    is_demo boolean not null default false,
    date_joined timestamptz not null default now(),
    password_changed_at timestamptz not null default now(),
    last_login timestamptz
);

create unique index users_username_lower_key on users (lower(username));
create index users_user_type_id_idx on users (user_type, id);

-- Patient profile: what the clinical features (warnings, records) need, and the consent the
-- patient gave at registration.
create table patient_profiles (
    user_id bigint primary key references users (id) on delete cascade,
    date_of_birth date,
    gender text check (gender in ('MALE', 'FEMALE', 'OTHER')),
    allergies text[] not null default '{}',
    chronic_conditions text[] not null default '{}',
    consent_given_at timestamptz not null
);
