//! Stopping a web process without cutting a client off (SIGTERM: a deploy, the host's daily
//! restart). The process stops listening at once, so new connections are refused and clients
//! (or the router) go to another process; for [`DRAIN`] every answer on a connection still open
//! carries `Connection: close`, so each client gets its answer and then opens its next
//! connection elsewhere; then actix-web's graceful stop finishes what is in flight (up to
//! `http.shutdown_timeout_seconds`) and closes the connections still idle.
//!
//! Without this, actix-web's stop closed every connection idle at that instant at once, and a
//! request a client was sending on one of them was reset unanswered (11 of 2 474 requests in
//! the drill, `tests/api/drills/web.rs`). A connection idle for the whole of [`DRAIN`] can still
//! meet its close with a request: the race every HTTP/1.1 keep-alive timeout has.

use std::{
    net::TcpListener,
    sync::atomic::{AtomicBool, Ordering},
    time::Duration,
};

use actix_web::{
    Error,
    body::MessageBody,
    dev::{ServerHandle, ServiceRequest, ServiceResponse},
    http::ConnectionType,
    middleware::Next,
    web,
};

/// How long open connections are answered with `Connection: close` before the graceful stop.
pub const DRAIN: Duration = Duration::from_secs(1);

/// Whether this process is stopping (shared by its workers' apps).
#[derive(Debug, Default)]
pub struct Draining(AtomicBool);

impl Draining {
    pub fn is_on(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }
}

/// Marks every answer given while the process is stopping `Connection: close`.
pub async fn close_when_draining(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    let draining = req.app_data::<web::Data<Draining>>().cloned();
    let mut res = next.call(req).await?;
    if draining.is_some_and(|draining| draining.is_on()) {
        res.response_mut().head_mut().set_connection_type(ConnectionType::Close);
    }
    Ok(res)
}

/// Stops the server of `listener` (a duplicate of its listening socket's descriptor): refuses
/// new connections at once, answers open ones with `Connection: close` for [`DRAIN`], then stops
/// gracefully.
pub async fn stop(listener: TcpListener, draining: web::Data<Draining>, server: ServerHandle) {
    draining.0.store(true, Ordering::Relaxed);
    // On Linux, shutting a listening socket down takes it out of LISTEN: connection attempts are
    // refused from now on (the server's accept loop logs the closed socket until it stops).
    if let Err(err) = rustix::net::shutdown(&listener, rustix::net::Shutdown::Read) {
        tracing::warn!(error = %err, "could not stop listening; new connections are taken until the stop");
    }
    tracing::info!(
        drain_ms = DRAIN.as_millis() as u64,
        "stopping: new connections refused, open ones closed after their answer"
    );
    actix_web::rt::time::sleep(DRAIN).await;
    server.stop(true).await;
}
