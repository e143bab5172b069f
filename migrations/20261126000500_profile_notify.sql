-- `GET /api/accounts/me/` is answered from each web process's cache (accounts::sessions), so a
-- change to any field it shows notifies like a change to the login state does. Profile edits are
-- rare; `last_login`, written by every login, is not among them (the profile does not show it).
drop trigger users_login_state_changed on users;
create trigger users_login_state_changed
    after update of is_active, must_change_password, password_changed_at, password_hash, user_type,
                    username, email, first_name, last_name, phone_number, date_joined
    or delete on users
    for each statement execute function sessions_changed();
