-- Medical records: prescriptions (versioned, immutable), uploaded files (virus-scanned) and the
-- reports and prescription attachments they belong to.

-- A prescription is a chain of versions. An edit inserts a new row (`version` + 1,
-- `previous_version` = the row it replaces); no row is ever updated or deleted (a trigger
-- refuses it). The latest version of a chain is the row nothing points back to.
create table prescriptions (
    id bigint generated always as identity primary key,
    -- the id of the chain's first version (set by the trigger below when not given)
    chain_id bigint not null,
    version integer not null default 1 check (version >= 1),
    previous_version bigint unique references prescriptions (id) on delete restrict,
    patient_id bigint not null references users (id) on delete restrict,
    doctor_id bigint not null references doctor_profiles (id) on delete restrict,
    hospital_id bigint not null references hospitals (id) on delete restrict,
    appointment_id bigint references appointments (id) on delete restrict,
    diagnosis text not null check (char_length(diagnosis) between 1 and 10000),
    investigations text not null default '' check (char_length(investigations) <= 10000),
    treatment_plan text not null default '' check (char_length(treatment_plan) <= 10000),
    medicines jsonb not null default '[]' check (jsonb_typeof(medicines) = 'array'),
    follow_up_date date,
    referral_notes text not null default '' check (char_length(referral_notes) <= 10000),
    doctor_notes text not null default '' check (char_length(doctor_notes) <= 10000),
    -- when the chain began (kept on every version) and when this version was written
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    unique (chain_id, version),
    check ((version = 1) = (previous_version is null))
);

create index prescriptions_patient_idx on prescriptions (patient_id, id desc);
create index prescriptions_doctor_idx on prescriptions (doctor_id, id desc);
create index prescriptions_chain_idx on prescriptions (chain_id, version);

create function prescriptions_before_insert() returns trigger
    language plpgsql as $$
begin
    if new.chain_id is null then
        new.chain_id := new.id;
    end if;
    return new;
end;
$$;

create trigger prescriptions_chain
    before insert on prescriptions
    for each row execute function prescriptions_before_insert();

create function prescriptions_refuse_change() returns trigger
    language plpgsql as $$
begin
    raise exception 'a prescription version never changes: % refused (write a new version)', tg_op
        using errcode = 'insufficient_privilege';
end;
$$;

create trigger prescriptions_immutable
    before update or delete on prescriptions
    for each row execute function prescriptions_refuse_change();

create trigger prescriptions_no_truncate
    before truncate on prescriptions
    for each statement execute function prescriptions_refuse_change();

-- One uploaded file, whatever it belongs to: where it is stored, what it is, and its scan.
-- `scan_status` moves PENDING -> CLEAN | INFECTED | FAILED once, by a compare-and-set of the
-- file-scan job. The client's file name is metadata only (cleaned), never a path.
create table stored_files (
    id bigint generated always as identity primary key,
    patient_id bigint not null references users (id) on delete restrict,
    storage_key text not null unique,
    original_name text not null default '' check (char_length(original_name) <= 255),
    content_type text not null,
    extension text not null check (extension in ('pdf', 'jpg', 'jpeg', 'png', 'doc', 'docx')),
    size_bytes bigint not null check (size_bytes >= 0),
    sha256 bytea not null check (octet_length(sha256) = 32),
    scan_status text not null default 'PENDING' check (scan_status in ('PENDING', 'CLEAN', 'INFECTED', 'FAILED')),
    -- the signature clamd named (INFECTED) or why scanning gave up (FAILED)
    scan_detail text,
    scan_attempts integer not null default 0,
    scanned_at timestamptz,
    uploaded_by bigint references users (id) on delete set null,
    created_at timestamptz not null default now()
);

create index stored_files_patient_idx on stored_files (patient_id, id desc);
create index stored_files_pending_idx on stored_files (id) where scan_status = 'PENDING';

create table patient_reports (
    id bigint generated always as identity primary key,
    patient_id bigint not null references users (id) on delete restrict,
    file_id bigint not null unique references stored_files (id) on delete restrict,
    -- where the report was made (optional), and who uploaded it (the patient or a doctor)
    hospital_id bigint references hospitals (id) on delete set null,
    uploaded_by bigint references users (id) on delete set null,
    title text not null check (char_length(title) between 1 and 255),
    description text not null default '' check (char_length(description) <= 10000),
    file_type text not null check (file_type in ('LAB', 'PRESCRIPTION', 'XRAY', 'MRI', 'CT', 'ULTRASOUND', 'OTHER')),
    report_date date,
    uploaded_at timestamptz not null default now(),
    updated_at timestamptz not null default now()
);

create index patient_reports_patient_idx on patient_reports (patient_id, id desc);

-- A file attached to a prescription version (shown with every version of its chain).
create table prescription_attachments (
    id bigint generated always as identity primary key,
    prescription_id bigint not null references prescriptions (id) on delete restrict,
    chain_id bigint not null,
    file_id bigint not null unique references stored_files (id) on delete restrict,
    description text not null default '' check (char_length(description) <= 10000),
    uploaded_by bigint references users (id) on delete set null,
    uploaded_at timestamptz not null default now()
);

create index prescription_attachments_chain_idx on prescription_attachments (chain_id, id);
