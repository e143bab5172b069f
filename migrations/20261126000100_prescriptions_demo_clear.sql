-- Prescriptions: names for the two constraints that keep a chain of versions linear (the
-- application maps their violation, a lost race between two edits, to a 409
-- `prescription_superseded`), and the one DELETE the immutability trigger lets through.
alter table prescriptions rename constraint prescriptions_chain_id_version_key to prescriptions_chain_version_key;
alter table prescriptions rename constraint prescriptions_previous_version_key to prescriptions_one_successor_key;

-- `carehub demo-data` rebuilds (and `--clear` removes) the demo patient's prescriptions, which the
-- trigger would refuse to delete. A DELETE is let through only when BOTH hold:
--   * the row's patient is a demo account (`users.is_demo`): such accounts are made only by
--     `carehub demo-data`, which refuses to run in production, so a production database has
--     none, and a real patient's versions can never be deleted this way;
--   * the deleting transaction declared it (`set_config('carehub.clearing_demo_data', 'on',
--     true)`, local to the transaction), so no ordinary code path (a cascade, a stray DELETE in
--     the application) deletes even demo versions by accident.
-- UPDATE and TRUNCATE stay refused for every row. (This guards against mistakes of the
-- application, not against a database owner, who could drop the trigger anyway.)
create or replace function prescriptions_refuse_change() returns trigger
    language plpgsql as $$
begin
    if tg_op = 'DELETE' then
        if current_setting('carehub.clearing_demo_data', true) = 'on'
           and exists (select 1 from users u where u.id = old.patient_id and u.is_demo) then
            return old;
        end if;
    end if;
    raise exception 'a prescription version never changes: % refused (write a new version)', tg_op
        using errcode = 'insufficient_privilege';
end;
$$;
