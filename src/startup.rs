//! Building and running the web application, and the database connection it needs.

use std::{net::TcpListener, sync::Arc, time::Duration};

use actix_web::{App, HttpServer, dev::Server, middleware::from_fn, web};
use anyhow::Context;
use secrecy::ExposeSecret as _;
use sqlx::{
    PgPool, Postgres,
    migrate::MigrateDatabase as _,
    postgres::{PgConnectOptions, PgPoolOptions},
};
use tracing_actix_web::TracingLogger;

use crate::{
    config::Settings,
    http::{self, error::ApiError, middleware},
    ops,
    state::AppState,
};

/// A bound, not yet running, web server.
pub struct Application {
    server: Server,
    port: u16,
    /// A duplicate of the listening socket's descriptor: stopping, the process stops listening
    /// at once through it (`http::drain`).
    listener: TcpListener,
    draining: web::Data<http::drain::Draining>,
}

impl Application {
    /// Binds `host:$PORT` (see [`Settings::listen_host`]) and builds the app.
    pub fn build(settings: Arc<Settings>, db: PgPool, host: &str) -> anyhow::Result<Self> {
        let listener = TcpListener::bind((host, settings.port))
            .with_context(|| format!("binding {host} port {}", settings.port))?;
        Self::with_listener(settings, db, listener)
    }

    /// Builds the app on a listener the caller bound (tests bind port 0).
    pub fn with_listener(settings: Arc<Settings>, db: PgPool, listener: TcpListener) -> anyhow::Result<Self> {
        let port = listener.local_addr()?.port();
        let own_listener = listener.try_clone()?;
        let draining = web::Data::new(http::drain::Draining::default());
        let app_draining = draining.clone();
        let state = web::Data::new(AppState::new(settings.clone(), db, ops::metrics::handle())?);
        let origins = settings.http.cors_origins.clone();
        let mut server = HttpServer::new(move || {
            App::new()
                .app_data(state.clone())
                .app_data(app_draining.clone())
                .app_data(
                    web::QueryConfig::default()
                        .error_handler(|err, _| ApiError::Malformed(format!("query string - {err}")).into()),
                )
                .app_data(web::PathConfig::default().error_handler(|_, _| ApiError::NotFound.into()))
                .configure(http::configure)
                .default_service(web::to(http::routing::not_found))
                .wrap(from_fn(http::nul::refuse_nul))
                .wrap(from_fn(crate::accounts::password_change::flag))
                .wrap(from_fn(middleware::security_headers))
                .wrap(from_fn(middleware::observe))
                .wrap(TracingLogger::<middleware::CareHubRootSpan>::new())
                .wrap(http::cors::cors(&origins))
                .wrap(from_fn(middleware::request_id))
                .wrap(from_fn(middleware::normalize_trailing_slash))
                .wrap(from_fn(http::drain::close_when_draining))
        })
        .shutdown_timeout(settings.http.shutdown_timeout_seconds)
        // Signals are the caller's ([`Self::run_until`]): the stop drains first.
        .disable_signals()
        .listen(listener)?;
        if settings.http.workers > 0 {
            server = server.workers(settings.http.workers);
        }
        Ok(Self { server: server.run(), port, listener: own_listener, draining })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn handle(&self) -> actix_web::dev::ServerHandle {
        self.server.handle()
    }

    /// Serves until the server is stopped through its [`handle`](Self::handle).
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        self.server.await
    }

    /// Serves until `stop` resolves (the processes: SIGTERM or SIGINT), then stops without
    /// cutting a client off ([`http::drain`]): new connections refused at once, every request
    /// accepted answered, within `http.shutdown_timeout_seconds`.
    pub async fn run_until(self, stop: impl Future<Output = ()> + 'static) -> std::io::Result<()> {
        let (listener, draining, server) = (self.listener, self.draining, self.server.handle());
        actix_web::rt::spawn(async move {
            stop.await;
            http::drain::stop(listener, draining, server).await;
        });
        self.server.await
    }
}

/// The worker process's own small HTTP server on `WORKER_PORT`: `/healthz`, `/readyz` and
/// `/metrics` (job counters and durations, queue depths). It runs on its own thread under an
/// actix System, beside the tokio runtime of the workers.
pub struct OpsServer {
    handle: actix_web::dev::ServerHandle,
    port: u16,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl OpsServer {
    pub fn start(settings: Arc<Settings>, port: u16) -> anyhow::Result<Self> {
        let listener =
            TcpListener::bind(("0.0.0.0", port)).with_context(|| format!("binding the worker port {port}"))?;
        let port = listener.local_addr()?.port();
        let options: PgConnectOptions = settings.database_url.expose_secret().parse().context("DATABASE_URL")?;
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        let thread = std::thread::spawn(move || {
            let served = actix_web::rt::System::new().block_on(async move {
                let db = pool_options(&settings).max_connections(2).min_connections(0).connect_lazy_with(options);
                let checks = web::Data::new(ops::routes::WorkerChecks { clamd: settings.clamd() });
                let state = web::Data::new(AppState::new(settings, db, ops::metrics::handle())?);
                let server = HttpServer::new(move || {
                    App::new()
                        .app_data(state.clone())
                        .app_data(checks.clone())
                        .configure(ops::routes::configure)
                        .default_service(web::to(http::routing::not_found))
                        .wrap(from_fn(middleware::observe))
                })
                .workers(1)
                .disable_signals()
                .listen(listener)?
                .run();
                let _ = ready_tx.send(server.handle());
                server.await?;
                Ok::<_, anyhow::Error>(())
            });
            if let Err(err) = served {
                tracing::error!(error = %err, "worker ops server failed");
            }
        });
        let handle = ready_rx.recv().context("worker ops server did not start")?;
        Ok(Self { handle, port, thread: Some(thread) })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn stop(mut self) {
        drop(self.handle.stop(true));
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Connects to `DATABASE_URL`, creating the database if it does not exist yet.
pub async fn connect_db(settings: &Settings) -> anyhow::Result<PgPool> {
    let url = settings.database_url.expose_secret();
    if !Postgres::database_exists(url).await.context("checking that the database exists")? {
        Postgres::create_database(url).await.context("creating the database")?;
        tracing::info!("created the database");
    }
    let options: PgConnectOptions = url.parse().context("DATABASE_URL")?;
    pool_options(settings).connect_with(options).await.context("connecting to Postgres")
}

/// The pool settings every process uses.
///
/// A connection idle for a while is pinged before it is handed out (a restarted server or a
/// dropped link shows there, not in a request); one in steady use is not, which would cost every
/// request a round trip (sqlx's `test_before_acquire` pings on every acquire).
pub fn pool_options(settings: &Settings) -> PgPoolOptions {
    PgPoolOptions::new()
        .max_connections(settings.database.max_connections)
        .min_connections(settings.database.min_connections.min(settings.database.max_connections))
        .acquire_timeout(Duration::from_secs(settings.database.acquire_timeout_seconds))
        .test_before_acquire(false)
        .before_acquire(|conn, meta| {
            Box::pin(async move {
                if meta.idle_for > PING_IF_IDLE_FOR {
                    sqlx::Connection::ping(conn).await?;
                }
                Ok(true)
            })
        })
}

/// How long a pooled connection may sit idle before it is pinged when next acquired.
const PING_IF_IDLE_FOR: Duration = Duration::from_secs(30);

/// Applies the migrations compiled into the binary.
/// Applies the migrations, then loads the formulary (idempotent: the data file is part of the
/// release, like the schema).
pub async fn migrate(db: &PgPool) -> anyhow::Result<()> {
    sqlx::migrate!("./migrations").run(db).await.context("applying migrations")?;
    let loaded = crate::medicines::formulary::load(db).await.context("loading the formulary")?;
    tracing::info!(medicines = loaded.medicines, interactions = loaded.interactions, "formulary loaded");
    Ok(())
}
