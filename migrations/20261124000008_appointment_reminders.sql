-- One reminder per appointment slot: the sweep inserts here first, and only the insert that
-- wins queues the SMS. A moved slot (cancel + confirm again) gets a reminder of its own.
create table appointment_reminders (
    appointment_id bigint not null references appointments (id) on delete cascade,
    slot_start timestamptz not null,
    sms_message_id bigint references sms_messages (id) on delete set null,
    created_at timestamptz not null default now(),
    primary key (appointment_id, slot_start)
);

create index appointments_confirmed_start_idx on appointments (confirmed_time) where status = 'CONFIRMED';
