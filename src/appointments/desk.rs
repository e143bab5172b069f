//! `HospitalDesk`: one actor per hospital serializes that hospital's appointment changes inside
//! a web process, so they queue instead of contending for row locks. It is an optimisation: the
//! guarantee is the database (row locks and the exclusion constraints), which also covers other
//! web processes. Each message is one transaction; the handler stays exclusive across its awaits
//! (`AtomicResponse`), so the next message starts only when this one has committed.

use std::{
    collections::HashMap,
    sync::Mutex,
    time::{Duration, Instant},
};

use actix::{
    Actor, ActorFutureExt as _, Addr, AsyncContext as _, AtomicResponse, Context, Handler, Message, WrapFuture as _,
};
use sqlx::PgPool;

use super::{
    model::Appointment,
    service::{self, AppointmentError, Command},
};
use crate::{accounts::model::Principal, audit::RequestMeta};

/// A desk with no message for this long stops; the next message starts a fresh one.
const IDLE: Duration = Duration::from_secs(300);

pub struct HospitalDesk {
    db: PgPool,
    last_used: Instant,
}

impl Actor for HospitalDesk {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        ctx.run_interval(Duration::from_secs(30), |desk, ctx| {
            if desk.last_used.elapsed() > IDLE {
                actix::ActorContext::stop(ctx);
            }
        });
    }
}

/// Apply a command to one of the desk's hospital's appointments.
pub struct Apply {
    pub caller: Principal,
    pub meta: RequestMeta,
    pub appointment_id: i64,
    pub command: Command,
}

impl Message for Apply {
    type Result = Result<Appointment, AppointmentError>;
}

impl Handler<Apply> for HospitalDesk {
    type Result = AtomicResponse<Self, Result<Appointment, AppointmentError>>;

    fn handle(&mut self, msg: Apply, _: &mut Self::Context) -> Self::Result {
        self.last_used = Instant::now();
        let db = self.db.clone();
        AtomicResponse::new(Box::pin(
            async move { service::apply(&db, &msg.caller, &msg.meta, msg.appointment_id, msg.command).await }
                .into_actor(self)
                .map(|result, desk, _| {
                    desk.last_used = Instant::now();
                    result
                }),
        ))
    }
}

/// The desks of this process: created on first use, replaced when stopped or dead.
pub struct DeskRegistry {
    db: PgPool,
    desks: Mutex<HashMap<i64, Addr<HospitalDesk>>>,
}

impl DeskRegistry {
    pub fn new(db: PgPool) -> Self {
        Self { db, desks: Mutex::new(HashMap::new()) }
    }

    fn desk(&self, hospital_id: i64) -> Addr<HospitalDesk> {
        let mut desks = self.desks.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        desks.retain(|_, addr| addr.connected());
        desks
            .entry(hospital_id)
            .or_insert_with(|| HospitalDesk { db: self.db.clone(), last_used: Instant::now() }.start())
            .clone()
    }

    /// Sends `apply` to the hospital's desk (a desk that died meanwhile is replaced once).
    pub async fn apply(&self, hospital_id: i64, apply: Apply) -> Result<Appointment, AppointmentError> {
        let Apply { caller, meta, appointment_id, command } = apply;
        for _ in 0..2 {
            let message = Apply { caller, meta: meta.clone(), appointment_id, command: command.clone() };
            match self.desk(hospital_id).send(message).await {
                Ok(result) => return result,
                Err(err) => {
                    tracing::warn!(hospital.id = hospital_id, error = %err, "hospital desk unavailable; replacing it")
                }
            }
        }
        Err(AppointmentError::Internal(anyhow::anyhow!("hospital desk unavailable")))
    }
}
