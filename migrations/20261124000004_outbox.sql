-- Job outbox: a job is written here in the same transaction as the state change that causes it;
-- a relay (job platform) pushes committed rows to their Redis queue and marks them sent.
-- `dedupe_key` makes an enqueue idempotent (a clock tick, a reminder for one slot).
create table outbox (
    id bigint generated always as identity primary key,
    queue text not null,
    job_type text not null,
    payload jsonb not null,
    dedupe_key text,
    created_at timestamptz not null default now(),
    available_at timestamptz not null default now(),
    sent_at timestamptz,
    attempts integer not null default 0,
    last_error text
);

create unique index outbox_dedupe_key on outbox (dedupe_key) where dedupe_key is not null;
create index outbox_pending_idx on outbox (available_at, id) where sent_at is null;
