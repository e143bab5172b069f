//! Every job kind of CareHub, declared once: [`registry`] names each kind's payload type (whose
//! `Job` impl gives its queue), its handler, its concurrency and, for the clock's kinds, its
//! schedule. The worker runtime, the outbox relay, the clock and the operations API
//! (`/api/ops/queues/`, the queue-depth gauges) all read this one list, so adding a kind is its
//! payload and handler in its context (`<context>/jobs.rs`) plus one `.register(...)` here.
//!
//! The registry is built here, in the `carehub` package, because the handlers of domain jobs
//! live in their contexts (`appointments::jobs`) and reach their data through those contexts'
//! repositories; `carehub-workers`, a dependency of this package, provides the platform (the
//! runtime, the outbox and relay, the clock, the outbound clients) and cannot name them.

use carehub_workers::{
    JobKind, Registry,
    sms::{self, SendSms, SmsProvider},
};

use crate::{
    access::{
        jobs::{AccessSweep, SendOtp},
        otp::code::OtpKey,
    },
    accounts::{self, jobs::PurgeExpiredSessions},
    appointments::jobs::ReminderSweep,
    audit::jobs::{VerifyAuditChain, verify_audit_chain},
    config::Settings,
    medicines::recommendations::jobs::AnswerRecommendation,
    records::files::jobs::{self as scan, RescanPending, ScanFile},
};

/// The job kinds, with the schedules, concurrency and handler settings of `settings`; the
/// handlers that send SMS send through `sms` (`Settings::sms_provider`). The chain verification
/// checks with `AUDIT_KEY` when this process loaded it (`work`, `dev`), and fails otherwise.
pub fn registry(settings: &Settings, sms: &SmsProvider) -> Registry {
    let jobs = &settings.jobs;
    Registry::new()
        .register(JobKind::<SendSms>::new(sms::send_sms(sms.clone())).concurrency(jobs.sms_concurrency))
        .register(
            JobKind::<SendOtp>::new(crate::access::jobs::send_otp(OtpKey::new(&settings.otp_secret), sms.clone()))
                .concurrency(jobs.sms_concurrency),
        )
        .register(
            JobKind::<crate::accounts::jobs::SendTemporaryPassword>::new(
                crate::accounts::jobs::send_temporary_password(settings.auth.generated_password_hours, sms.clone()),
            )
            .concurrency(jobs.sms_concurrency),
        )
        .register(
            JobKind::<ReminderSweep>::new(crate::appointments::jobs::reminder_sweep(jobs.reminder_lead_minutes.max(1)))
                .every("reminder-sweep", &jobs.reminder_sweep_schedule),
        )
        .register(
            JobKind::<AnswerRecommendation>::new(crate::medicines::recommendations::jobs::answer_recommendation(
                std::sync::Arc::new(settings.recommendation_provider()),
            ))
            .concurrency(settings.recommendations.concurrency),
        )
        .register(
            JobKind::<AccessSweep>::new(crate::access::jobs::access_sweep)
                .every("access-sweep", &jobs.access_sweep_schedule),
        )
        .register(
            JobKind::<PurgeExpiredSessions>::new(accounts::jobs::purge_expired_sessions)
                .every("purge-expired-sessions", &jobs.purge_sessions_schedule),
        )
        .register(
            JobKind::<ScanFile>::new(scan::scan_file(
                settings.storage_url.clone(),
                settings.clamd(),
                settings.scan.max_attempts,
            ))
            .concurrency(settings.records.scan_concurrency),
        )
        .register(
            JobKind::<RescanPending>::new(scan::rescan_pending)
                .every("rescan-pending-files", &jobs.rescan_pending_schedule),
        )
        .register(JobKind::<VerifyAuditChain>::new(verify_audit_chain(settings.sealing_key().ok())))
}

/// The kinds as the registry's readers see them (queues, schedules, concurrency), for a process
/// that runs no handler (the operations API): whichever provider sends SMS, they are the same.
pub fn kinds(settings: &Settings) -> Registry {
    registry(settings, &SmsProvider::Console)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use carehub_workers::jobs::Job as _;

    use super::*;

    fn registry() -> Registry {
        super::kinds(&Settings::for_tests().expect("settings"))
    }

    #[test]
    fn every_kind_is_declared_once_with_a_queue_of_its_own() {
        let registry = registry();
        let kinds: Vec<(&str, &str)> = registry.kinds().map(|k| (k.name, k.queue.name())).collect();
        assert_eq!(
            kinds,
            [
                ("SendSms", "carehub:sms"),
                ("SendOtp", "carehub:otp"),
                ("SendTemporaryPassword", "carehub:password-reset"),
                ("ReminderSweep", "carehub:reminder"),
                ("AnswerRecommendation", "carehub:recommendation"),
                ("AccessSweep", "carehub:access-sweep"),
                ("PurgeExpiredSessions", "carehub:maintenance"),
                ("ScanFile", "carehub:file-scan"),
                ("RescanPending", "carehub:file-rescan"),
                ("VerifyAuditChain", "carehub:audit"),
            ]
        );
        for queue in registry.queues() {
            assert!(queue.name().starts_with("carehub:") && !queue.name().contains(['{', '}']), "{queue:?}");
            assert_eq!(registry.queue(queue.name()), Some(queue), "the operations API finds {queue:?} by name");
        }
        assert_eq!(registry.queue("carehub:nope"), None);
    }

    #[test]
    fn the_clock_schedules_are_the_scheduled_kinds_from_the_configuration() {
        let settings = Settings::for_tests().expect("settings");
        let schedules: BTreeSet<(&str, String)> =
            super::kinds(&settings).schedules().map(|s| (s.name, s.cron.clone())).collect();
        assert_eq!(
            schedules,
            BTreeSet::from([
                ("purge-expired-sessions", settings.jobs.purge_sessions_schedule.clone()),
                ("reminder-sweep", settings.jobs.reminder_sweep_schedule.clone()),
                ("access-sweep", settings.jobs.access_sweep_schedule.clone()),
                ("rescan-pending-files", settings.jobs.rescan_pending_schedule.clone()),
            ])
        );
    }

    #[test]
    fn sms_concurrency_comes_from_the_configuration() {
        let mut settings = Settings::for_tests().expect("settings");
        settings.jobs.sms_concurrency = 3;
        let concurrency = super::kinds(&settings).kinds().find(|k| k.name == SendSms::NAME).map(|k| k.concurrency);
        assert_eq!(concurrency, Some(3));
    }
}
