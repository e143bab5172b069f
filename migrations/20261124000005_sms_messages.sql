-- Outbound SMS. The row is the message; a `SendSms { message_id }` job (payload: the id only)
-- sends it. The job claims the row (QUEUED/RETRY -> SENDING) before calling the provider, so a
-- job that runs twice sends once. OTP bodies are redacted once sent.
create table sms_messages (
    id bigint generated always as identity primary key,
    to_number text not null check (to_number ~ '^\+[1-9][0-9]{6,14}$'),
    body text not null,
    purpose text not null,
    status text not null default 'QUEUED'
        check (status in ('QUEUED', 'SENDING', 'RETRY', 'SENT', 'FAILED')),
    attempts integer not null default 0,
    provider text,
    provider_message_id text,
    last_error text,
    created_at timestamptz not null default now(),
    -- when a handler first claimed the message (enqueue -> start latency is measured from this)
    started_at timestamptz,
    sent_at timestamptz
);

create index sms_messages_status_idx on sms_messages (status, id) where status <> 'SENT';

-- Lets the relay wake the moment a job is committed instead of waiting for its next poll.
create function outbox_notify() returns trigger
    language plpgsql as $$
begin
    perform pg_notify('carehub_outbox', '');
    return null;
end;
$$;

create trigger outbox_notify_insert
    after insert on outbox
    for each statement execute function outbox_notify();
