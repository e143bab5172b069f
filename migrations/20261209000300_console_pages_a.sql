-- The console's hospital search and SMS page.

-- The hospitals page searches name, email, phone and city (`location`) by substring, ignoring
-- case (`ilike '%…%'`). The directory's trigram index covers name, location and address only;
-- without this one a search reads every hospital (about 50 ms at 10 000 of them, 0.5 ms with it).
-- Same expression as the console's statements, so the planner matches it.
create index hospitals_console_search_trgm_idx on hospitals
    using gin ((name || ' ' || email || ' ' || phone || ' ' || location) gin_trgm_ops);

-- The SMS page's (and the overview's) counts of the last 24 hours by status: an index-only range
-- scan of the day's rows instead of a scan of every message ever sent.
create index sms_messages_created_status_idx on sms_messages (created_at, status);
