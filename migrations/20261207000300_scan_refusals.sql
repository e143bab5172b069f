-- Scans of a file that clamd answered without a verdict: a refusal ("INSTREAM size limit
-- exceeded"), an error, or no answer within the scan timeout. At `scan.max_attempts` of them the
-- file is FAILED for good (never CLEAN, never rescanned). A clamd that cannot be reached at all
-- is not counted here: that is clamd's outage, not the file's fault, and the file waits for it.
alter table stored_files add column scan_refusals integer not null default 0;
