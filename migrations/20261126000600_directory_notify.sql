-- Web processes cache the public directory's pages (hospitals::directory). Every change to a
-- hospital tells them when its transaction commits: one statement-level trigger per kind of
-- write and an empty payload, so a transaction's notifications collapse into one. (Hospital
-- writes are rare: registration, approval, an owner's edit.)
create function directory_changed() returns trigger language plpgsql as $$
begin
    perform pg_notify('carehub_directory', '');
    return null;
end $$;

create trigger hospitals_directory_changed
    after insert or update or delete on hospitals
    for each statement execute function directory_changed();

create trigger hospitals_directory_truncated after truncate on hospitals
    for each statement execute function directory_changed();
