-- Web processes cache the public directory's pages (hospitals::directory). Every change to a
-- hospital tells them when its transaction commits: one statement-level trigger per kind of
-- write and an empty payload, so a transaction's notifications collapse into one. (Hospital
-- writes are rare: registration, approval, an owner's edit.)
-- `notify_changed(channel)` serves any such cache: a new one names its channel in its triggers.
create function notify_changed() returns trigger language plpgsql as $$
begin
    perform pg_notify(tg_argv[0], '');
    return null;
end $$;

create trigger hospitals_directory_changed
    after insert or update or delete on hospitals
    for each statement execute function notify_changed('carehub_directory');

create trigger hospitals_directory_truncated after truncate on hospitals
    for each statement execute function notify_changed('carehub_directory');
