-- Refresh tokens: one family per login. Each refresh spends the presented token and issues the
-- next one in the family; a spent token presented again means it was stolen, and the whole
-- family is revoked. Access JWTs carry the family id (`sid`), so revoking a family ends the
-- login at once, not when its access token expires.
create table refresh_token_families (
    id uuid primary key,
    user_id bigint not null references users (id) on delete cascade,
    created_at timestamptz not null default now(),
    expires_at timestamptz not null,
    revoked_at timestamptz,
    revoked_reason text,
    ip text,
    user_agent text
);

create index refresh_token_families_user_active_idx
    on refresh_token_families (user_id) where revoked_at is null;
create index refresh_token_families_expires_idx on refresh_token_families (expires_at);

-- Only the SHA-256 of a refresh token is stored: a database leak yields no usable token.
create table refresh_tokens (
    token_hash bytea primary key,
    family_id uuid not null references refresh_token_families (id) on delete cascade,
    issued_at timestamptz not null default now(),
    expires_at timestamptz not null,
    used_at timestamptz
);

create index refresh_tokens_family_idx on refresh_tokens (family_id);
