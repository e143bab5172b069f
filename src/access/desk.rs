//! `PatientDesk`: one actor per patient serializes, inside this process, the issuing and
//! verification of that patient's codes and changes to their grants. The guarantee across
//! processes is the database: each message is one transaction under the patient's advisory lock
//! that counts from rows ([`super::otp`], [`super::grants`]).

use actix::{Actor, ActorFutureExt as _, AtomicResponse, Context, Handler, Message, WrapFuture as _};
use sqlx::PgPool;

use super::{
    grants,
    otp::{
        code::OtpCode,
        issue::{self, Issued, Requester},
        verify::{self, Verified, Verifier},
    },
    service::{AccessError, AccessRules, Rules},
};
use crate::{
    accounts::model::Principal,
    actors::{Desk, Desks, IdleWatch},
    audit::RequestMeta,
    ids::PatientId,
};

pub struct PatientDesk {
    db: PgPool,
    idle: IdleWatch,
}

impl Actor for PatientDesk {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        IdleWatch::watch(ctx);
    }
}

impl Desk for PatientDesk {
    fn open(db: PgPool) -> Self {
        Self { db, idle: IdleWatch::default() }
    }

    fn idle(&mut self) -> &mut IdleWatch {
        &mut self.idle
    }
}

/// What a patient's desk does.
#[derive(Clone)]
pub enum Command {
    Issue(Requester),
    Verify(Verifier, std::sync::Arc<OtpCode>),
    Revoke { grant_id: i64 },
}

/// The outcome of a [`Command`].
#[derive(Debug)]
pub enum Outcome {
    Issued(Issued),
    Verified(Verified),
    Revoked,
}

/// A command for the desk's patient.
pub struct Apply {
    pub rules: Rules,
    pub caller: Principal,
    pub meta: RequestMeta,
    pub patient_id: PatientId,
    pub command: Command,
}

impl Message for Apply {
    type Result = Result<Outcome, AccessError>;
}

impl Handler<Apply> for PatientDesk {
    type Result = AtomicResponse<Self, Result<Outcome, AccessError>>;

    fn handle(&mut self, msg: Apply, _: &mut Self::Context) -> Self::Result {
        self.idle.touch();
        let db = self.db.clone();
        AtomicResponse::new(Box::pin(
            async move {
                let Apply { rules, caller, meta, patient_id, command } = msg;
                match command {
                    Command::Issue(requester) => {
                        issue::issue(&db, &rules, &caller, &meta, patient_id, requester).await.map(Outcome::Issued)
                    }
                    Command::Verify(verifier, code) => {
                        verify::verify(&db, &rules, &caller, &meta, patient_id, verifier, &code)
                            .await
                            .map(Outcome::Verified)
                    }
                    Command::Revoke { grant_id } => {
                        grants::revoke(&db, &caller, &meta, patient_id, grant_id).await.map(|()| Outcome::Revoked)
                    }
                }
            }
            .into_actor(self)
            .map(|result, desk, _| {
                desk.idle.touch();
                result
            }),
        ))
    }
}

/// This process's patient desks, with the rules they apply.
pub struct PatientDesks {
    desks: Desks<PatientDesk>,
    rules: Rules,
}

impl PatientDesks {
    pub fn new(db: PgPool, rules: Rules) -> Self {
        Self { desks: Desks::new(db), rules }
    }

    /// The rules the desks apply (for a request that names no patient, so no desk).
    pub fn rules(&self) -> &AccessRules {
        &self.rules
    }

    /// Runs `command` on `patient_id`'s desk.
    pub async fn apply(
        &self,
        caller: &Principal,
        meta: &RequestMeta,
        patient_id: PatientId,
        command: Command,
    ) -> Result<Outcome, AccessError> {
        self.desks
            .send(patient_id.get(), || Apply {
                rules: self.rules.clone(),
                caller: *caller,
                meta: meta.clone(),
                patient_id,
                command: command.clone(),
            })
            .await
            .map_err(|_| AccessError::Internal(anyhow::anyhow!("patient desk unavailable")))?
    }
}
