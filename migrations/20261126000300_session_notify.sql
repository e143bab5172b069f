-- Web processes cache the state of logins (accounts::sessions). Every change a request's login
-- check depends on tells them, when its transaction commits: a revoked, rotated-away or deleted
-- login, and an account's activation, password or must-change flag. One statement-level trigger
-- per table and an empty payload: a transaction's notifications collapse into one.
create function sessions_changed() returns trigger language plpgsql as $$
begin
    perform pg_notify('carehub_sessions', '');
    return null;
end $$;

create trigger refresh_token_families_changed
    after update or delete on refresh_token_families
    for each statement execute function sessions_changed();

create trigger users_login_state_changed
    after update of is_active, must_change_password, password_changed_at, password_hash, user_type or delete on users
    for each statement execute function sessions_changed();

create trigger refresh_token_families_truncated after truncate on refresh_token_families
    for each statement execute function sessions_changed();
create trigger users_truncated after truncate on users
    for each statement execute function sessions_changed();
