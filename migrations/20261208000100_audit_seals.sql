-- Seals beside the trail. Until now the sealer UPDATEd every audit row once after its insert
-- (seq, prev_hash, hash): a second version of the row through every index on the table (seq is
-- indexed, so no HOT update), a dead tuple for vacuum, and a trigger that had to exempt that one
-- UPDATE from the append-only rule. That doubled the write cost of every audited change.
--
-- Now an audit row is written once, by the transaction of the change it records, and never
-- touched again: every UPDATE, DELETE and TRUNCATE of audit_log is refused, without exception.
-- The sealer writes each row's position and keyed hash into `audit_seals` instead:
--   audit_id  the sealed audit row (no foreign key: checking one would lock the audit row
--             FOR KEY SHARE, which writes to it; `audit-verify` finds a seal without its row
--             as a gap in the positions);
--   seq       its position in the chain (1, 2, 3, ...), assigned at sealing time, as before;
--   prev_hash the hash at seq - 1 (32 zero bytes for seq 1);
--   hash      HMAC-SHA-256(AUDIT_KEY, prev_hash || canonical JSON of the row, seq included),
--             unchanged, so rows sealed before this migration keep verifying.
-- One row per sealed audit row rather than one per batch with arrays: verification is then a
-- join in position order, a witnessed head one index lookup by seq, and "is this row sealed" one
-- lookup by audit_id; the insert is one narrow row through two indexes (audit_id, seq), written
-- by the sealer off the request path, in one statement per batch.
--
-- Finding the unsealed rows: there is no column to index any more. The sealer keeps a floor in
-- memory (every row with an id at or below it is sealed or can no longer commit) and reads only
-- the rows above it that have no seal, an anti-join over a short id range (see audit/seal.rs).
create table audit_seals (
    audit_id bigint primary key,
    seq bigint not null unique check (seq > 0),
    prev_hash bytea not null,
    hash bytea not null
);

-- Rows sealed under the old columns move over as they are.
insert into audit_seals (audit_id, seq, prev_hash, hash)
select id, seq, prev_hash, hash from audit_log where seq is not null;

-- The old columns are dropped, not left unused: a column nobody writes would still invite a
-- reader to trust it, and dropping is a catalog change (no row is rewritten). Their index, their
-- constraints and the index of unsealed rows served only the sealing UPDATE and its poll.
-- legacy_prev_hash/legacy_hash (the SHA-256 chain from before sealing) stay and keep verifying.
drop trigger audit_log_append_only on audit_log;
drop trigger audit_log_born_unsealed on audit_log;
drop function audit_log_guard();
drop index audit_log_unsealed_idx;
alter table audit_log
    drop constraint audit_log_sealed_together,
    drop constraint audit_log_seq_positive,
    drop constraint audit_log_seq_key,
    drop column seq,
    drop column prev_hash,
    drop column hash;

-- Append-only without exception (`audit_log_no_truncate` from the first audit migration stays).
create trigger audit_log_no_update_delete
    before update or delete on audit_log
    for each row execute function audit_log_refuse_change();

-- Nobody inserts a row into the old SHA-256 chain. A WHEN condition, so that an ordinary INSERT
-- calls no PL/pgSQL at all.
create function audit_log_refuse_legacy_hash() returns trigger
    language plpgsql as $$
begin
    raise exception 'audit_log rows are inserted unsealed: a legacy hash was given'
        using errcode = 'insufficient_privilege';
end;
$$;

create trigger audit_log_born_unsealed
    before insert on audit_log
    for each row
    when (num_nonnulls(new.legacy_prev_hash, new.legacy_hash) > 0)
    execute function audit_log_refuse_legacy_hash();

-- The seals are append-only too: a seal is written once per row, never changed or removed.
create function audit_seals_refuse_change() returns trigger
    language plpgsql as $$
begin
    raise exception 'audit_seals is append-only: % refused', tg_op
        using errcode = 'insufficient_privilege';
end;
$$;

create trigger audit_seals_no_update_delete
    before update or delete on audit_seals
    for each row execute function audit_seals_refuse_change();

create trigger audit_seals_no_truncate
    before truncate on audit_seals
    for each statement execute function audit_seals_refuse_change();

-- Roles in production (created by the deployment, as before), now without any UPDATE:
--   grant select, insert on audit_log to carehub_web;      -- appends only
--   grant select on audit_log to carehub_worker;           -- the sealer reads rows ...
--   grant select, insert on audit_seals to carehub_worker; -- ... and appends their seals
--   grant select on sequence audit_log_id_seq to carehub_worker; -- the floor (ids issued)
-- Deployment: the previous release's sealer fails its rounds (the columns it updates are gone)
-- until it is replaced; web processes of both releases insert the same rows.
