-- A send cut off by its process dying (SIGKILL, a crash) between claiming a message and recording
-- the provider's answer. `sending_since` is when the current claim began: a claim older than
-- the provider call's deadline belongs to a run that is gone. Such a send is resolved by asking
-- the provider where its API allows (SENT, or claimed again and sent), and otherwise marked
-- UNKNOWN: it may or may not have gone out, and operators see it as such, not as a failure.
alter table sms_messages add column sending_since timestamptz;
alter table sms_messages drop constraint sms_messages_status_check,
    add constraint sms_messages_status_check
        check (status in ('QUEUED', 'SENDING', 'RETRY', 'SENT', 'FAILED', 'UNKNOWN'));

alter table otp_requests add column sending_since timestamptz;
alter table otp_requests drop constraint otp_requests_delivery_check,
    add constraint otp_requests_delivery_check
        check (delivery in ('QUEUED', 'SENDING', 'RETRY', 'SENT', 'FAILED', 'EXPIRED', 'NONE', 'UNKNOWN'));

alter table password_resets add column sending_since timestamptz;
alter table password_resets drop constraint password_resets_delivery_check,
    add constraint password_resets_delivery_check
        check (delivery in ('QUEUED', 'SENDING', 'RETRY', 'SENT', 'FAILED', 'SUPERSEDED', 'UNKNOWN'));
