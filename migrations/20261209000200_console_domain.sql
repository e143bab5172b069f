-- What the operations console asks of the contexts (issue 21).

-- Admins search accounts by username, name or phone (a case-insensitive substring anywhere in
-- them): one trigram index over the text the search matches (`accounts::repo::search_users`
-- spells the same expression), as the hospitals' search does.
create index users_search_trgm_idx on users
    using gin ((username || ' ' || first_name || ' ' || last_name || ' ' || coalesce(phone_number, '')) gin_trgm_ops);

-- Chain verifications asked for from the console. A web process has no AUDIT_KEY, so it writes a
-- PENDING row and its job (`VerifyAuditChain`) in one transaction; a worker, which holds the key,
-- marks it RUNNING and writes the verdict once (INTACT with the rows checked and the head, BROKEN
-- with the first broken row and why, FAILED with a short error). `requested_by` goes null with
-- its account: the verdict outlives it, as the trail does.
create table audit_verifications (
    id bigint generated always as identity primary key,
    requested_by bigint references users (id) on delete set null,
    requested_at timestamptz not null default now(),
    started_at timestamptz,
    finished_at timestamptz,
    outcome text not null default 'PENDING'
        check (outcome in ('PENDING', 'RUNNING', 'INTACT', 'BROKEN', 'FAILED')),
    rows_checked bigint,
    head_position bigint,
    head_hash text,
    broken_row_id bigint,
    broken_position bigint,
    reason text check (char_length(reason) <= 500)
);

-- At most one verification waits or runs at a time: a second request while one is open gets the
-- open one's id (an insert `on conflict do nothing`, then a read), so repeated clicks queue one job.
create unique index audit_verifications_one_open_key on audit_verifications ((true))
    where outcome in ('PENDING', 'RUNNING');
