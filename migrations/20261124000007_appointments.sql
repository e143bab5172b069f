-- Appointments. The schema is the guarantee against double booking, whatever the concurrency
-- and however many web processes run: a doctor, and likewise a patient, cannot hold two
-- CONFIRMED appointments whose [start, end) slots overlap (exclusion constraints, btree_gist).
-- The per-hospital actors only order work inside one process.
create extension if not exists btree_gist;

create table appointments (
    id bigint generated always as identity primary key,
    patient_id bigint not null references users (id) on delete restrict,
    hospital_id bigint not null references hospitals (id) on delete restrict,
    department_id bigint not null references departments (id) on delete restrict,
    doctor_id bigint references doctor_profiles (id) on delete restrict,
    requested_time timestamptz not null,
    confirmed_time timestamptz,
    duration_minutes integer check (duration_minutes between 5 and 480),
    -- [confirmed_time, confirmed_time + duration): set with the confirmation
    slot tstzrange,
    status text not null default 'REQUESTED'
        check (status in ('REQUESTED', 'CONFIRMED', 'COMPLETED', 'CANCELLED')),
    reason text not null default '',
    notes text not null default '',
    assigned_by bigint references users (id) on delete set null,
    assigned_at timestamptz,
    idempotency_key text,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    check (status not in ('CONFIRMED', 'COMPLETED') or (doctor_id is not null and slot is not null)),
    constraint appointments_doctor_no_overlap
        exclude using gist (doctor_id with =, slot with &&) where (status = 'CONFIRMED'),
    constraint appointments_patient_no_overlap
        exclude using gist (patient_id with =, slot with &&) where (status = 'CONFIRMED')
);

create unique index appointments_idempotency_key on appointments (patient_id, idempotency_key)
    where idempotency_key is not null;
create index appointments_patient_idx on appointments (patient_id, created_at desc, id desc);
create index appointments_hospital_idx on appointments (hospital_id, created_at desc, id desc);
create index appointments_doctor_idx on appointments (doctor_id, created_at desc, id desc) where doctor_id is not null;
create index appointments_department_idx on appointments (department_id);
