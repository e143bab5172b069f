-- The directory's count without a scan: how many hospitals are approved and how many are not,
-- kept by statement-level triggers (one counter update per statement, however many rows it
-- touched; the net change of each state, so an edit that leaves approval alone writes nothing).
create table hospital_counts (
    is_approved boolean primary key,
    n bigint not null check (n >= 0)
);
insert into hospital_counts (is_approved, n)
    select s, (select count(*) from hospitals h where h.is_approved = s) from (values (true), (false)) v (s);

create function hospital_counts_apply() returns trigger language plpgsql as $$
begin
    if tg_op = 'INSERT' then
        update hospital_counts c set n = c.n + d.n
            from (select is_approved, count(*) as n from new_rows group by 1) d where c.is_approved = d.is_approved;
    elsif tg_op = 'DELETE' then
        update hospital_counts c set n = c.n - d.n
            from (select is_approved, count(*) as n from old_rows group by 1) d where c.is_approved = d.is_approved;
    else
        update hospital_counts c set n = c.n + d.n
            from (select is_approved, sum(change) as n
                  from (select is_approved, 1 as change from new_rows
                        union all select is_approved, -1 from old_rows) rows
                  group by 1 having sum(change) <> 0) d
            where c.is_approved = d.is_approved;
    end if;
    return null;
end $$;

create trigger hospital_counts_insert after insert on hospitals
    referencing new table as new_rows for each statement execute function hospital_counts_apply();
create trigger hospital_counts_update after update on hospitals
    referencing old table as old_rows new table as new_rows for each statement execute function hospital_counts_apply();
create trigger hospital_counts_delete after delete on hospitals
    referencing old table as old_rows for each statement execute function hospital_counts_apply();

create function hospital_counts_reset() returns trigger language plpgsql as $$
begin
    update hospital_counts set n = 0;
    return null;
end $$;
create trigger hospital_counts_truncate after truncate on hospitals
    for each statement execute function hospital_counts_reset();

-- An admin's whole list (approved or not), newest first, in index order too.
create index hospitals_created_idx on hospitals (created_at desc, id desc);
