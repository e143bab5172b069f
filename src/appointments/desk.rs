//! `HospitalDesk`: one actor per hospital serializes that hospital's appointment changes inside
//! a web process, so they queue instead of contending for row locks. It is an optimisation: the
//! guarantee is the database (row locks and the exclusion constraints), which also covers other
//! web processes. Each message is a read and one change statement that applies only to the row
//! as read ([`service::apply`]); the handler stays exclusive across its awaits
//! (`AtomicResponse`), so the next message starts only when this one has committed.

use actix::{Actor, ActorFutureExt as _, AtomicResponse, Context, Handler, Message, WrapFuture as _};
use sqlx::PgPool;

use super::{
    model::Appointment,
    service::{self, AppointmentError, Command},
};
use crate::{
    accounts::model::Principal,
    actors::{Desk, Desks, IdleWatch},
    audit::RequestMeta,
    ids::{AppointmentId, HospitalId},
};

pub struct HospitalDesk {
    db: PgPool,
    idle: IdleWatch,
}

impl Actor for HospitalDesk {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        IdleWatch::watch(ctx);
    }
}

impl Desk for HospitalDesk {
    fn open(db: PgPool) -> Self {
        Self { db, idle: IdleWatch::default() }
    }

    fn idle(&mut self) -> &mut IdleWatch {
        &mut self.idle
    }
}

/// Apply a command to one of the desk's hospital's appointments.
pub struct Apply {
    pub caller: Principal,
    pub meta: RequestMeta,
    pub appointment_id: AppointmentId,
    pub command: Command,
}

impl Message for Apply {
    type Result = Result<Appointment, AppointmentError>;
}

impl Handler<Apply> for HospitalDesk {
    type Result = AtomicResponse<Self, Result<Appointment, AppointmentError>>;

    fn handle(&mut self, msg: Apply, _: &mut Self::Context) -> Self::Result {
        self.idle.touch();
        let db = self.db.clone();
        AtomicResponse::new(Box::pin(
            async move { service::apply(&db, &msg.caller, &msg.meta, msg.appointment_id, msg.command).await }
                .into_actor(self)
                .map(|result, desk, _| {
                    desk.idle.touch();
                    result
                }),
        ))
    }
}

/// This process's hospital desks.
pub struct DeskRegistry(Desks<HospitalDesk>);

impl DeskRegistry {
    pub fn new(db: PgPool) -> Self {
        Self(Desks::new(db))
    }

    /// Sends `apply` to the hospital's desk.
    pub async fn apply(&self, hospital_id: HospitalId, apply: Apply) -> Result<Appointment, AppointmentError> {
        let Apply { caller, meta, appointment_id, command } = apply;
        self.0
            .send(hospital_id.get(), || Apply { caller, meta: meta.clone(), appointment_id, command: command.clone() })
            .await
            .map_err(|_| AppointmentError::Internal(anyhow::anyhow!("hospital desk unavailable")))?
    }
}
