//! The `carehub` command: one binary for every process type (see the Procfile).

use std::{io::BufRead as _, process::ExitCode, sync::Arc};

use anyhow::Context as _;
use carehub::{
    audit, cli,
    config::{AuditKeyUse, Settings},
    jobs, startup, telemetry,
};
use clap::{Parser, Subcommand};

/// mimalloc rather than the system allocator: per-thread free lists without glibc's arena locks
/// and consolidation passes, which took a tenth of the web process's CPU under load.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(name = "carehub", version, about = "CareHub: healthcare booking and records")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Apply the database migrations (creates the database if missing).
    Migrate,
    /// The formulary (data/formulary.toml, compiled in).
    Formulary {
        #[command(subcommand)]
        action: FormularyAction,
    },
    /// Run the HTTP server on $HOST:$PORT (HOST default 0.0.0.0).
    Serve,
    /// Run the job workers.
    Work,
    /// Run the clock (cron schedules); run exactly one.
    Clock,
    /// Migrate, then run web, workers and clock in one process (local development), on
    /// 127.0.0.1:$PORT unless HOST says otherwise.
    Dev {
        /// Load the demo accounts first and print their credentials.
        #[arg(long)]
        demo_data: bool,
    },
    /// Create the demo accounts and print their credentials.
    DemoData {
        /// Remove earlier demo rows first.
        #[arg(long)]
        clear: bool,
    },
    /// Create or update an admin; the password comes from CAREHUB_ADMIN_PASSWORD or stdin.
    CreateAdmin {
        #[arg(long)]
        username: String,
        #[arg(long, default_value = "")]
        email: String,
        /// Make an existing non-admin account (patient, doctor, hospital) an admin; refused without it.
        #[arg(long)]
        promote: bool,
    },
    /// Forget an admin's console second factor (TOTP and recovery codes) and end their console
    /// sessions: their next console login enrols a new authenticator.
    ConsoleResetFactor {
        #[arg(long)]
        username: String,
    },
    /// Measure this machine's password hashing ceiling: hashes per second with every hashing
    /// thread busy (the server's parameters and `auth.hashing_threads`), nothing else running.
    HashRate {
        #[arg(long, default_value_t = 10)]
        seconds: u64,
    },
    /// Recompute the audit log's chain; exits 1 naming the first edited, removed or reordered row,
    /// on rows left unsealed for over a minute, or when a witnessed head is no longer in the chain.
    AuditVerify {
        /// A chain head witnessed earlier (from the sealer's log line or metrics) to confirm.
        #[arg(long, value_name = "POSITION:HASH")]
        head: Option<carehub::audit::WitnessedHead>,
    },
}

#[derive(Subcommand)]
enum FormularyAction {
    /// Load it into the database (idempotent; `migrate` and `dev` do it too).
    Load,
}

impl Command {
    /// Only the processes that seal (the sealer runs in `work` and `dev`) or verify the audit
    /// chain load `AUDIT_KEY`; `serve` and the rest never read it.
    fn audit_key_use(&self) -> AuditKeyUse {
        match self {
            Self::Work | Self::Dev { .. } | Self::AuditVerify { .. } => AuditKeyUse::Seals,
            _ => AuditKeyUse::Unused,
        }
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let settings = match Settings::load(cli.command.audit_key_use()) {
        Ok(settings) => Arc::new(settings),
        Err(err) => {
            eprintln!("carehub: {err}");
            return ExitCode::from(2);
        }
    };
    telemetry::init(&settings.log, settings.is_production());
    match run(cli.command, settings) {
        Ok(code) => code,
        Err(err) => {
            let err = carehub_workers::redact::Redacted(&err);
            tracing::error!(error = %err, "carehub failed");
            eprintln!("carehub: {err}");
            ExitCode::FAILURE
        }
    }
}

fn tokio_runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread().enable_all().build()?)
}

fn run(command: Command, settings: Arc<Settings>) -> anyhow::Result<ExitCode> {
    match command {
        Command::Migrate => tokio_runtime()?.block_on(async {
            let db = startup::connect_db(&settings).await?;
            startup::migrate(&db).await?;
            tracing::info!("migrations applied");
            Ok(ExitCode::SUCCESS)
        }),
        Command::Formulary { action: FormularyAction::Load } => tokio_runtime()?.block_on(async {
            let db = startup::connect_db(&settings).await?;
            let loaded = carehub::medicines::formulary::load(&db).await?;
            println!("formulary loaded: {} medicines, {} interactions", loaded.medicines, loaded.interactions);
            Ok(ExitCode::SUCCESS)
        }),
        // Web processes run under an actix System: the domain actors need one.
        Command::Serve => actix_web::rt::System::new().block_on(async {
            let db = startup::connect_db(&settings).await?;
            let app = startup::Application::build(settings.clone(), db, settings.listen_host(false))?;
            tracing::info!(port = app.port(), "serving");
            app.run_until(cli::shutdown_signal()).await?;
            Ok(ExitCode::SUCCESS)
        }),
        Command::Work => tokio_runtime()?.block_on(async {
            // Listening for SIGTERM first: a stop during start-up is a clean stop too.
            let shutdown = cli::cancel_on_signal();
            let sealer_settings = settings.sealer_settings()?;
            let db = startup::connect_db(&settings).await?;
            let worker_settings = settings.worker_settings()?;
            let sms = settings.sms_provider()?;
            carehub::records::files::scan::check_clamd_takes(&settings.clamd(), settings.records.upload_limit_bytes)
                .await?;
            let probe = startup::OpsServer::start(settings.clone(), settings.worker_port)?;
            tracing::info!(port = probe.port(), sms_provider = sms.name(), "worker health and metrics");
            // The audit sealer runs beside the workers (it lives in the audit context: see
            // `audit::seal`) and stops with them.
            let sealer = tokio::spawn(audit::seal::run(db.clone(), sealer_settings, shutdown.clone()));
            let registry = jobs::registry(&settings, &sms);
            let result = carehub_workers::run_workers(db, worker_settings, registry, shutdown.clone()).await;
            shutdown.cancel();
            sealer.await.context("audit sealer task")?;
            probe.stop();
            result?;
            Ok(ExitCode::SUCCESS)
        }),
        Command::Clock => tokio_runtime()?.block_on(async {
            let shutdown = cli::cancel_on_signal();
            let db = startup::connect_db(&settings).await?;
            carehub_workers::run_clock(db, settings.clock_settings(), jobs::kinds(&settings), shutdown).await?;
            Ok(ExitCode::SUCCESS)
        }),
        Command::Dev { demo_data } => actix_web::rt::System::new().block_on(async {
            if demo_data {
                cli::demo_data::ensure_allowed(&settings)?;
            }
            let sealer_settings = settings.sealer_settings()?;
            let db = startup::connect_db(&settings).await?;
            startup::migrate(&db).await?;
            if demo_data {
                let storage = carehub::records::files::storage::Storage::from_url(&settings.storage_url)?;
                println!("{}", cli::demo_data::run(&db, &storage, false).await?);
            }
            carehub::records::files::scan::check_clamd_takes(&settings.clamd(), settings.records.upload_limit_bytes)
                .await?;
            let shutdown = tokio_util::sync::CancellationToken::new();
            // One registry of job kinds for the workers and the clock alike.
            let registry = jobs::registry(&settings, &settings.sms_provider()?);
            let workers = tokio::spawn(carehub_workers::run_workers(
                db.clone(),
                settings.worker_settings()?,
                registry.clone(),
                shutdown.clone(),
            ));
            let clock = tokio::spawn(carehub_workers::run_clock(
                db.clone(),
                settings.clock_settings(),
                registry,
                shutdown.clone(),
            ));
            let sealer = tokio::spawn(audit::seal::run(db.clone(), sealer_settings, shutdown.clone()));
            // Development secrets and printed demo passwords: this machine only, unless HOST says so.
            let host = settings.listen_host(true);
            let app = startup::Application::build(settings.clone(), db, host)?;
            tracing::info!(host, port = app.port(), "serving (dev: web, workers, sealer and clock in one process)");
            let served = app.run_until(cli::shutdown_signal()).await;
            shutdown.cancel();
            workers.await.context("workers task")??;
            sealer.await.context("audit sealer task")?;
            clock.await.context("clock task")??;
            served?;
            Ok(ExitCode::SUCCESS)
        }),
        Command::DemoData { clear } => tokio_runtime()?.block_on(async {
            cli::demo_data::ensure_allowed(&settings)?;
            let db = startup::connect_db(&settings).await?;
            startup::migrate(&db).await?;
            let storage = carehub::records::files::storage::Storage::from_url(&settings.storage_url)?;
            println!("{}", cli::demo_data::run(&db, &storage, clear).await?);
            Ok(ExitCode::SUCCESS)
        }),
        Command::HashRate { seconds } => tokio_runtime()?.block_on(async {
            let hasher = carehub::accounts::password::PasswordHasher::with_threads(settings.auth.hashing_threads)?;
            let rate = hasher.rate(std::time::Duration::from_secs(seconds)).await?;
            println!("{}: {rate:.1} hashes/s", hasher.describe());
            Ok(ExitCode::SUCCESS)
        }),
        Command::CreateAdmin { username, email, promote } => tokio_runtime()?.block_on(async {
            let password = match std::env::var("CAREHUB_ADMIN_PASSWORD") {
                Ok(password) if !password.is_empty() => password,
                _ => {
                    eprintln!("Password (CAREHUB_ADMIN_PASSWORD is not set; reading one line from stdin):");
                    let mut line = String::new();
                    std::io::stdin().lock().read_line(&mut line)?;
                    line
                }
            };
            let db = startup::connect_db(&settings).await?;
            startup::migrate(&db).await?;
            println!("{}", cli::admin::create_admin(&db, &username, &email, &password, promote).await?);
            Ok(ExitCode::SUCCESS)
        }),
        Command::ConsoleResetFactor { username } => tokio_runtime()?.block_on(async {
            let db = startup::connect_db(&settings).await?;
            println!("{}", cli::admin::reset_console_factor(&db, &username).await?);
            Ok(ExitCode::SUCCESS)
        }),
        Command::AuditVerify { head } => tokio_runtime()?.block_on(async {
            let db = startup::connect_db(&settings).await?;
            let key = settings.sealing_key()?;
            let intact = cli::admin::audit_verify(&db, &key, head.as_ref()).await?;
            Ok(if intact { ExitCode::SUCCESS } else { ExitCode::FAILURE })
        }),
    }
}
