//! Exeunt's use cases.
//!
//! Each use case opens one store transaction, loads what it needs, asks the engine what
//! changes, writes the change and its audit event together, and commits. The CLI, the server
//! and the worker call these and nothing below them.

mod accounts;
mod audit_log;
mod blueprints;
mod cases;
mod certificates;
mod checkpoints;
mod connectors;
mod delivery;
mod demo;
mod directory;
mod emails;
mod env;
mod error;
mod exports;
mod files;
mod governance;
mod jobs;
mod notifications;
mod pipeline;
mod progress;
mod purge;
mod reminders;
mod reports;
mod templates;
mod tokens;
mod webhooks;

use std::sync::Arc;

pub use crypto::seal::MasterKey;
use engine::audit::AuditDraft;
use engine::tenant::{Permission, Role, Tenant, User};
use jiff::Timestamp;
use serde_json::Value;
use store::{Store, Tx};

pub use accounts::{
    FAILURES_PER_ACCOUNT, FAILURES_PER_ADDRESS, IssuedSession, SESSION_LIFETIME, SIGN_IN_WINDOW,
    SignInAttempt,
};
pub use blueprints::{BlueprintChoice, BlueprintInfo};
pub use cases::{CaseView, StartCase, StartedCase};
pub use checkpoints::{
    CheckedCheckpoint, CheckpointLine, DigestKeyLine, ExportedLogCheck, checkpoint_claims,
    verify_exported_log,
};
pub use connectors::{OpenExposures, RevocationWork};
pub use delivery::{Delivery, LINK_MAX_DAYS};
pub use demo::DemoLogin;
pub use directory::{NewSubject, RECORDS_ON_A_PAGE, SubjectPage};
pub use emails::OutgoingEmail;
pub use env::{Clock, FixedClock, Ids, SystemClock};
pub use error::{AppError, Result};
pub use files::{Download, EvidenceContent, FILE_MAX_BYTES, Upload};
pub use jobs::{Attempt, this_process};
pub use notifications::{EmailPreference, NOTIFICATION_KINDS};
pub use progress::Progress;
pub use purge::{PendingPurge, PurgeRun};
pub use reports::CasesReport;
pub use templates::EmailTemplate;
pub use tokens::{IDEMPOTENCY_WINDOW, IssuedToken, TOKEN_PREFIX};
pub use webhooks::{OutgoingEvent, PendingDeliveries, Subscription};

/// The application: a store, a clock, an id source and the master key that seals each
/// tenant's secrets.
#[derive(Clone)]
pub struct App {
    store: Store,
    clock: Arc<dyn Clock>,
    ids: Arc<Ids>,
    master: Arc<MasterKey>,
    /// Notifications also go out by email: a worker with a mail server runs.
    email: bool,
    parsed_blueprints: Arc<blueprints::ParsedBlueprints>,
    /// Told how long use cases get on (see `progress.rs`).
    progress: Arc<dyn Progress>,
}

/// Who is acting, in which tenant. Every use case takes one; every query is scoped by it.
#[derive(Clone, Debug)]
pub struct Actor {
    pub tenant: Tenant,
    pub user: User,
}

impl App {
    pub fn new(store: Store, clock: Arc<dyn Clock>, ids: Arc<Ids>, master: MasterKey) -> Self {
        Self {
            store,
            clock,
            ids,
            master: Arc::new(master),
            email: false,
            parsed_blueprints: Arc::default(),
            progress: Arc::new(progress::Unwatched),
        }
    }

    /// Sends every notification by email too, through the job queue. Only for an installation
    /// whose worker has a mail server to send with: otherwise the jobs would wait forever.
    pub fn with_email(mut self) -> Self {
        self.email = true;
        self
    }

    /// The machine's clock and fresh randomness.
    pub fn system(store: Store, master: MasterKey) -> Self {
        Self::new(
            store,
            Arc::new(SystemClock),
            Arc::new(Ids::from_entropy()),
            master,
        )
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    pub fn now(&self) -> Timestamp {
        self.clock.now()
    }

    fn new_id(&self) -> uuid::Uuid {
        self.ids.next(self.clock.now())
    }
}

impl Actor {
    /// Refuses, naming the role needed, unless the actor's role allows `permission`.
    pub fn require(&self, permission: Permission) -> Result<()> {
        if self.user.role.allows(permission) {
            return Ok(());
        }
        Err(AppError::Forbidden {
            action: permission.describe(),
            needed: permission.least_role().as_str(),
            who: self.user.email.to_string(),
            role: self.user.role.as_str(),
        })
    }
}

impl Actor {
    /// Refuses unless the actor's role reaches `other`'s: nobody creates, impersonates or resets
    /// someone stronger than themselves.
    pub fn outranks(&self, other: Role, action: &'static str) -> Result<()> {
        if self.user.role.may_manage(other) {
            return Ok(());
        }
        Err(AppError::Outranked {
            who: self.user.email.to_string(),
            role: self.user.role.as_str(),
            action,
            other: other.as_str(),
        })
    }
}

/// What an audit event is about: a kind and an id, and the subject whose personal data its
/// payload may hold (see [`engine::audit::AuditEvent::subject_id`]).
pub(crate) struct Target {
    kind: &'static str,
    id: String,
    subject: Option<engine::ids::SubjectId>,
}

impl Target {
    /// A target within `subject`'s data: the subject itself, a record, a case of it, or
    /// anything of such a case (or, given `None`, of no subject's data).
    pub(crate) fn of(
        subject: impl Into<Option<engine::ids::SubjectId>>,
        kind: &'static str,
        id: String,
    ) -> Self {
        Target {
            kind,
            id,
            subject: subject.into(),
        }
    }
}

/// A target that holds no subject's data (a user, a token, a blueprint, the tenant).
impl From<(&'static str, String)> for Target {
    fn from((kind, id): (&'static str, String)) -> Self {
        Target {
            kind,
            id,
            subject: None,
        }
    }
}

impl App {
    /// Appends an audit event for `actor` in the transaction that makes the change.
    async fn audit(
        &self,
        tx: &mut Tx,
        actor: &Actor,
        at: Timestamp,
        action: &'static str,
        target: impl Into<Target>,
        payload: Value,
    ) -> Result<()> {
        self.audit_as(
            tx,
            actor.tenant.id,
            actor.user.actor(),
            at,
            action,
            target,
            payload,
        )
        .await
    }

    /// Appends an audit event for whoever `who` names: a user, or Exeunt's own workers
    /// (`system:exports`). An event about a subject has its payload digest keyed by the
    /// subject's digest key (see `engine::audit`).
    #[allow(clippy::too_many_arguments)]
    async fn audit_as(
        &self,
        tx: &mut Tx,
        tenant: engine::ids::TenantId,
        who: String,
        at: Timestamp,
        action: &'static str,
        target: impl Into<Target>,
        payload: Value,
    ) -> Result<()> {
        let target = target.into();
        let digest_key = match target.subject {
            Some(subject) => Some(self.digest_key(tenant, subject).await?),
            None => None,
        };
        tx.append_audit(
            tenant,
            at,
            AuditDraft {
                actor: who,
                action,
                target_kind: target.kind,
                target_id: target.id,
                subject: target.subject,
                digest_key,
                payload,
            },
        )
        .await?;
        Ok(())
    }
}
