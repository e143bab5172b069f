-- Why an appointment was cancelled, in the words of whoever cancelled it. Kept apart from
-- `notes`, the hospital's and doctor's clinical notes, which a patient never writes.
alter table appointments add column cancellation_reason text not null default '';
