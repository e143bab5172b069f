-- Hospitals, their departments and doctors. Every tenant table carries hospital_id and its
-- indexes lead with it. Nearby search uses earthdistance (a sphere of radius 6378.168 km):
-- within a few hundred metres of the WGS-84 geodesic at the radius edge, as the docs say.
create extension if not exists cube;
create extension if not exists earthdistance;
create extension if not exists pg_trgm;

create table hospitals (
    id bigint generated always as identity primary key,
    user_id bigint not null unique references users (id) on delete cascade,
    name text not null check (char_length(name) between 1 and 255),
    license_number text not null check (char_length(license_number) between 1 and 100),
    email text not null default '' check (char_length(email) <= 254),
    phone text not null default '',
    address text not null default '',
    location text not null default '',
    latitude numeric(9, 6) check (latitude between -90 and 90),
    longitude numeric(9, 6) check (longitude between -180 and 180),
    -- IANA zone for times shown to patients (appointment SMS)
    time_zone text not null default 'Asia/Karachi',
    is_approved boolean not null default false,
    approved_by bigint references users (id) on delete set null,
    approved_at timestamptz,
    rejected_at timestamptz,
    is_demo boolean not null default false,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    check ((latitude is null) = (longitude is null))
);

create unique index hospitals_license_number_key on hospitals (lower(license_number));
create index hospitals_approved_created_idx on hospitals (is_approved, created_at desc, id desc);
create index hospitals_search_trgm_idx on hospitals using gin ((name || ' ' || location || ' ' || address) gin_trgm_ops);
-- Nearby: a GiST index on the point, approved hospitals only; earth_box() uses it.
create index hospitals_earth_idx on hospitals
    using gist (ll_to_earth(latitude::float8, longitude::float8))
    where is_approved and latitude is not null;

create table departments (
    id bigint generated always as identity primary key,
    hospital_id bigint not null references hospitals (id) on delete cascade,
    name text not null check (char_length(name) between 1 and 255),
    description text not null default '',
    is_active boolean not null default true,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now()
);

create unique index departments_hospital_name_key on departments (hospital_id, lower(name));

create table doctor_profiles (
    id bigint generated always as identity primary key,
    user_id bigint not null unique references users (id) on delete cascade,
    hospital_id bigint not null references hospitals (id) on delete cascade,
    department_id bigint references departments (id) on delete set null,
    cnic text not null default '' check (char_length(cnic) <= 20),
    address text not null default '',
    license_number text not null check (char_length(license_number) between 1 and 100),
    specialization text not null check (char_length(specialization) between 1 and 255),
    phone_number text not null default '',
    -- weekday -> ["HH:MM-HH:MM", ...], validated by the application
    available_timings jsonb not null default '{}',
    is_active boolean not null default true,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now()
);

create index doctor_profiles_hospital_idx on doctor_profiles (hospital_id, id);
create index doctor_profiles_department_idx on doctor_profiles (hospital_id, department_id);
