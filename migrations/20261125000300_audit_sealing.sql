-- Audit log sealed off the hot path. Until now every audited transaction took one advisory lock
-- shared by every process (to read the last hash and chain its row to it) and held it until it
-- committed: a cluster-wide ceiling on audited writes, and a lever for anyone who can cause one
-- (an anonymous failed login). The chain was plain SHA-256, which whoever can write the table
-- can recompute.
--
-- Now a row is born unsealed: `audit::record` inserts it without a position or hash, in the
-- transaction of the change it records, with no lock shared between requests. One sealer at a
-- time (the worker process; an advisory lock guards only the sealer) takes the rows it can see,
-- which are exactly the committed ones, in id order, and gives each
--   seq       its position in the chain (1, 2, 3, ...), assigned at sealing time. A transaction
--             that commits late with a low id is simply sealed later, at a later position: ids
--             say when a row was begun, positions say when it was sealed, and the chain follows
--             positions;
--   prev_hash the hash of the row at seq - 1 (32 zero bytes for seq 1);
--   hash      HMAC-SHA-256(AUDIT_KEY, prev_hash || canonical JSON of the row, seq included).
-- Without AUDIT_KEY an edited, removed or reordered row cannot be re-chained; with it (an insider),
-- a rewrite still changes every hash from the edited row on, which the chain heads the sealer
-- publishes (log line, metric) let an outside witness catch (`carehub audit-verify --head`).
--
-- Rows written before this migration were chained under the old scheme. They are RE-SEALED, not
-- grandfathered: their `prev_hash`/`hash` columns are renamed to `legacy_prev_hash`/`legacy_hash`
-- (a rename: no row is rewritten), which leaves them unsealed, and the sealer, finding them
-- committed and with the lowest ids, gives them positions 1..N in id order under HMAC like any
-- other row. Why not keep them verifiable as SHA-256 rows under a `scheme` column: a scheme that
-- needs no key is one an attacker can pick for rows they rewrite, so the verifier would need a
-- tamper-proof record of where the keyed chain begins; re-sealing leaves one rule for every row.
-- Nothing they proved is lost: `audit-verify` still recomputes the old SHA-256 links over the
-- legacy columns (in id order, which is their position order), so an edit made before this
-- migration is still found. Until the sealer first runs, these rows count as unsealed (and
-- `audit-verify` reports them once they are a minute old).
--
-- Deployment: web processes of the previous release fail their audited writes (rolled back with
-- the change, a 500) from this migration until they are replaced: they read the last row's hash,
-- which is now NULL until sealed. Replace them promptly after the release phase.
alter table audit_log rename column prev_hash to legacy_prev_hash;
alter table audit_log rename column hash to legacy_hash;
alter table audit_log alter column legacy_prev_hash drop not null;
alter table audit_log alter column legacy_hash drop not null;
alter index audit_log_hash_key rename to audit_log_legacy_hash_key;

alter table audit_log
    add column seq bigint,
    add column prev_hash bytea,
    add column hash bytea,
    add constraint audit_log_seq_key unique (seq),
    add constraint audit_log_seq_positive check (seq > 0),
    -- Sealed means all three are set; unsealed, none.
    add constraint audit_log_sealed_together check (num_nulls(seq, prev_hash, hash) in (0, 3));

-- What the sealer reads each round: the unsealed rows, oldest id first. Small (rows live in it
-- for about a second), so the sealer's poll costs nothing however long the log grows.
create index audit_log_unsealed_idx on audit_log (id) where seq is null;

-- Append-only, except the one-time sealing of an unsealed row: an UPDATE that sets seq,
-- prev_hash and hash on a row where all three were NULL and changes nothing else. Any other
-- UPDATE (a second sealing included), every DELETE and TRUNCATE are refused; an INSERT must not
-- carry a position or hash (rows are born unsealed, so nobody can insert a row into the chain).
create function audit_log_guard() returns trigger
    language plpgsql as $$
declare
    sealing constant text[] := array['seq', 'prev_hash', 'hash'];
begin
    if tg_op = 'INSERT' then
        if num_nonnulls(new.seq, new.prev_hash, new.hash, new.legacy_prev_hash, new.legacy_hash) > 0 then
            raise exception 'audit_log rows are inserted unsealed: a position or hash was given'
                using errcode = 'insufficient_privilege';
        end if;
        return new;
    end if;
    if tg_op = 'UPDATE'
        and num_nulls(old.seq, old.prev_hash, old.hash) = 3
        and num_nulls(new.seq, new.prev_hash, new.hash) = 0
        and (to_jsonb(new) - sealing) = (to_jsonb(old) - sealing)
    then
        return new;
    end if;
    raise exception 'audit_log is append-only: % refused', tg_op
        using errcode = 'insufficient_privilege';
end;
$$;

drop trigger audit_log_no_update_delete on audit_log;

create trigger audit_log_append_only
    before insert or update or delete on audit_log
    for each row execute function audit_log_guard();

-- `audit_log_no_truncate` (from the first audit migration) stays as it is.
--
-- Who can go around this trigger: a superuser (session_replication_role = replica) and the
-- table's owner (ALTER TABLE ... DISABLE TRIGGER). In development the application connects as
-- the owner. A production deployment runs migrations as the owner role and the processes as
-- roles that own nothing:
--   grant select, insert on audit_log to carehub_web;                 -- appends only
--   grant select, update (seq, prev_hash, hash) on audit_log to carehub_worker;  -- the sealer
-- (plus usage on the identity sequence); only the sealer and `audit-verify` use AUDIT_KEY.
-- Roles are cluster-wide, so they are created by the deployment, not by this migration.
