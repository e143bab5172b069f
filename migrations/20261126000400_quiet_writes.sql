-- Per-write costs on the busiest paths (issue 12), with the same guarantees.

-- Wake the relay only for a statement that wrote outbox rows. An `INSERT ... ON CONFLICT DO
-- NOTHING` that wrote nothing, or an appointment change whose SMS CTE had no message to queue (a
-- patient without a phone number), notifies no one: a NOTIFY serializes the commits of every
-- notifying transaction in the cluster on one lock, and wakes every relay for nothing.
create or replace function outbox_notify() returns trigger
    language plpgsql as $$
begin
    if exists (select 1 from inserted) then
        perform pg_notify('carehub_outbox', '');
    end if;
    return null;
end;
$$;

drop trigger outbox_notify_insert on outbox;
create trigger outbox_notify_insert
    after insert on outbox
    referencing new table as inserted
    for each statement execute function outbox_notify();

-- The audit log's guard, unchanged in what it allows, without calling PL/pgSQL for every row
-- inserted: an INSERT reaches `audit_log_guard` (which refuses it) only when it carries a
-- position or hash, decided by the trigger's WHEN condition. UPDATE and DELETE go through the
-- guard as before.
drop trigger audit_log_append_only on audit_log;
create trigger audit_log_append_only
    before update or delete on audit_log
    for each row execute function audit_log_guard();
create trigger audit_log_born_unsealed
    before insert on audit_log
    for each row
    when (num_nonnulls(new.seq, new.prev_hash, new.hash, new.legacy_prev_hash, new.legacy_hash) > 0)
    execute function audit_log_guard();

-- Only rows written before sealing moved off the request path carry a legacy hash; new rows
-- need no entry in its unique index.
drop index audit_log_legacy_hash_key;
create unique index audit_log_legacy_hash_key on audit_log (legacy_hash) where legacy_hash is not null;
