-- Medicines: the formulary (loaded from data/formulary.toml by `carehub formulary load`, which
-- `migrate` and `dev` run too), the interactions between its entries, and medicine
-- recommendations with their cache.
create extension if not exists pg_trgm;

create table medicines (
    id bigint generated always as identity primary key,
    generic_name text not null unique check (generic_name = lower(generic_name)),
    brand_names text[] not null default '{}',
    -- other generic names it is written as (co-trimoxazole, acetaminophen), lower case
    aliases text[] not null default '{}',
    atc_code text not null default '',
    drug_class text not null,
    forms text[] not null default '{}',
    adult_dose text not null default '',
    -- the allergy class a patient's allergy is matched against (penicillins, nsaids, ...)
    allergy_class text not null default '',
    contraindicated_conditions text[] not null default '{}',
    min_age_years integer check (min_age_years between 0 and 18),
    pregnancy text not null default '' check (pregnancy in ('', 'caution', 'avoid')),
    source text not null,
    -- every name the medicine goes by and its class, lower case: the typo-tolerant search's text
    search_text text not null
);

create index medicines_search_trgm on medicines using gin (search_text gin_trgm_ops);
create index medicines_generic_trgm on medicines using gist (generic_name gist_trgm_ops);
create index medicines_class_idx on medicines (drug_class, generic_name);

-- One row per pair, the smaller id first.
create table medicine_interactions (
    medicine_a bigint not null references medicines (id) on delete cascade,
    medicine_b bigint not null references medicines (id) on delete cascade,
    severity text not null check (severity in ('major', 'moderate')),
    mechanism text not null,
    source text not null,
    primary key (medicine_a, medicine_b),
    check (medicine_a < medicine_b)
);

create index medicine_interactions_b_idx on medicine_interactions (medicine_b);

-- A doctor's request and its answer. `patient_info` is the normalized input (no names: age,
-- gender, allergies, conditions, medications, pregnancy). The server's own warnings are stored
-- with it; the model's part (alternatives, suggestion, notes) arrives with status DONE, or an
-- `error` with FAILED. A cached answer is a row of its own (`cached`), DONE at once.
create table recommendations (
    id bigint generated always as identity primary key,
    requested_by bigint not null references users (id) on delete restrict,
    medicine_id bigint not null references medicines (id) on delete restrict,
    medicine_name text not null check (char_length(medicine_name) between 1 and 255),
    patient_info jsonb not null default '{}',
    cache_key bytea not null check (octet_length(cache_key) = 32),
    status text not null default 'PENDING' check (status in ('PENDING', 'DONE', 'FAILED')),
    source text check (source in ('llm', 'mock')),
    cached boolean not null default false,
    alternatives jsonb not null default '[]',
    warnings jsonb not null default '[]',
    suggestion text not null default '',
    notes text not null default '',
    -- alternatives the model named that the formulary does not know (dropped from the answer)
    dropped_alternatives integer not null default 0,
    error text,
    response_time_ms integer,
    created_at timestamptz not null default now(),
    completed_at timestamptz
);

create index recommendations_user_idx on recommendations (requested_by, id desc);
-- the hourly limit counts a doctor's uncached requests
create index recommendations_limit_idx on recommendations (requested_by, created_at) where not cached;
create index recommendations_created_idx on recommendations (created_at);

-- The model's answer for one normalized input (key: SHA-256 of it, never the input itself).
create table recommendation_cache (
    cache_key bytea primary key check (octet_length(cache_key) = 32),
    medicine_id bigint not null references medicines (id) on delete cascade,
    answer jsonb not null,
    created_at timestamptz not null default now()
);

-- Wakes the web request waiting for this recommendation (LISTEN carehub_recommendations).
create function recommendations_notify() returns trigger
    language plpgsql as $$
begin
    perform pg_notify('carehub_recommendations', new.id::text);
    return null;
end;
$$;

create trigger recommendations_done
    after update of status on recommendations
    for each row when (new.status <> 'PENDING' and old.status = 'PENDING')
    execute function recommendations_notify();
