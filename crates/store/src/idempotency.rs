//! Requests under an idempotency key: their effect and their answer commit together, once.
//!
//! The idempotency layer claims the key ([`Store::claim_idempotency_key`]) and runs the
//! request inside the [`Answering`] the claim returns. Inside it, a write transaction's
//! [`Tx::commit`] does not commit: it hands the transaction to the `Answering`, and the layer
//! later commits it together with the answer it rendered ([`Answering::answer`]). After any
//! crash, then, either both are durable and a resend replays the answer, or neither is and a
//! resend runs the request for the first time. An answer that is not kept (a failure of ours,
//! a conflict a retry could clear) rolls the effect back with it.
//!
//! A request that opens another transaction while one waits for its answer commits the
//! waiting one first, marked `applied`: reads must see the request's own writes, and on SQLite
//! the waiting transaction holds the only writer. Should the process die before the answer,
//! a resend hears that the request took effect but its answer was lost
//! ([`IdempotencyClaim::Unanswered`]) rather than running it again.
//!
//! Each attempt holds the key under a random token of its own. A resend finding the key
//! claimed by no request running in this process takes it over with a new token (the holder
//! died, or runs in another process); every commit of the old attempt is fenced by its token,
//! so of two attempts that both ran, one commits and the other rolls back.

use std::collections::HashSet;
use std::future::Future;
use std::sync::{Arc, Mutex as StdMutex};

use jiff::Timestamp;

use engine::audit::Hash;
use engine::ids::TenantId;

use crate::{Result, Store, StoreError, Tx};

tokio::task_local! {
    static ANSWERING: Arc<Answering>;
}

/// What claiming an idempotency key found.
#[derive(Debug)]
pub enum IdempotencyClaim {
    /// The key is new (or expired, or its holder is gone): run the request inside this.
    Claimed(Arc<Answering>),
    /// The same request ran before: its response.
    Replay {
        status: u16,
        content_type: String,
        body: Vec<u8>,
    },
    /// The same request is running right now in this process.
    InProgress,
    /// The same request took effect, but the process stopped before its answer was stored.
    Unanswered,
    /// The key was used for a different request.
    Mismatch,
}

/// A request claiming an idempotency key.
#[derive(Clone, Copy, Debug)]
pub struct KeyClaim<'a> {
    /// The credential that sent the request (`token:<id>`, `session:<id>`).
    pub caller: &'a str,
    pub key: &'a str,
    pub request_sha256: &'a Hash,
    pub at: Timestamp,
    /// Keys older than this are forgotten, all of the tenant's.
    pub forget_before: Timestamp,
}

/// A response to keep for a key: status, content type, body.
pub type KeptResponse<'a> = (u16, &'a str, &'a [u8]);

/// How [`Answering::answer`] ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Answered {
    /// The effect, if any, and the answer are durable.
    Kept,
    /// Nothing was kept: the effect was rolled back and the key released for a retry.
    Released,
    /// A resend took the key over meanwhile: this attempt's effect was rolled back.
    TakenOver,
}

/// The tokens of the keyed requests running in this process.
pub(crate) type LiveAttempts = Arc<StdMutex<HashSet<i64>>>;

/// A keyed request being run: its one attempt at the key, and the write transaction that
/// waits to commit with its answer.
pub struct Answering {
    store: Store,
    tenant: TenantId,
    caller: String,
    key: String,
    token: i64,
    waiting: StdMutex<Option<Tx>>,
    /// Whether a write committed before the answer (see [`Answering::committed_early`]).
    early: std::sync::atomic::AtomicBool,
}

impl std::fmt::Debug for Answering {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Answering")
            .field("caller", &self.caller)
            .field("key", &self.key)
            .finish_non_exhaustive()
    }
}

impl Answering {
    /// Runs `request` so that its write transactions wait for the answer.
    pub async fn run<F: Future>(self: &Arc<Self>, request: F) -> F::Output {
        ANSWERING.scope(self.clone(), request).await
    }

    /// Commits the request's effect together with `response`, or, with no response to keep,
    /// rolls the effect back and releases the key. A storage failure means neither happened.
    pub async fn answer(&self, response: Option<KeptResponse<'_>>) -> Result<Answered> {
        let waiting = self.take_waiting();
        let Some(response) = response else {
            drop(waiting);
            let mut tx = self.store.write().await?;
            tx.release_idempotency_key(self.tenant, &self.caller, &self.key, self.token)
                .await?;
            tx.commit_now().await?;
            return Ok(Answered::Released);
        };
        let mut tx = match waiting {
            Some(tx) => tx,
            None => self.store.write().await?,
        };
        let kept = tx
            .answer_idempotency_key(self.tenant, &self.caller, &self.key, self.token, response)
            .await?;
        if !kept {
            return Ok(Answered::TakenOver);
        }
        tx.commit_now().await?;
        // A purge inside the request left its erasure to finish once it committed.
        if let Err(e) = self.store.finish_pending_erasure().await {
            tracing::warn!(error = %e, "finishing an erasure after a keyed request failed");
        }
        Ok(Answered::Kept)
    }

    /// Whether the request went on after a write, which then committed before the answer: a
    /// resend after a crash in between hears `Unanswered` instead of the answer.
    pub fn committed_early(&self) -> bool {
        self.early.load(std::sync::atomic::Ordering::Relaxed)
    }

    fn take_waiting(&self) -> Option<Tx> {
        self.waiting
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .take()
    }

    /// Commits the transaction waiting for the answer, if any, marked applied: the request
    /// goes on with another transaction.
    async fn commit_waiting(&self) -> Result<()> {
        let Some(mut tx) = self.take_waiting() else {
            return Ok(());
        };
        self.early.store(true, std::sync::atomic::Ordering::Relaxed);
        if !tx
            .mark_idempotency_applied(self.tenant, &self.caller, &self.key, self.token)
            .await?
        {
            return Err(StoreError::TakenOver);
        }
        tx.commit_now().await
    }
}

impl Drop for Answering {
    fn drop(&mut self) {
        self.store
            .live_attempts
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .remove(&self.token);
    }
}

/// The keyed request running on this task, if any: its writes commit when it is answered.
pub(crate) fn current() -> Option<Arc<Answering>> {
    ANSWERING.try_with(Arc::clone).ok()
}

impl Tx {
    /// Makes the transaction's changes durable (a read transaction just ends). Inside a keyed
    /// request, a write transaction instead waits to commit with the request's answer.
    pub async fn commit(self) -> Result<()> {
        match current() {
            Some(answering) if self.writes() => {
                let mut waiting = answering
                    .waiting
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner);
                // `Store::read` and `Store::write` commit a waiting transaction before they
                // open another, so there is none here.
                debug_assert!(waiting.is_none());
                *waiting = Some(self);
                Ok(())
            }
            _ => self.commit_now().await,
        }
    }
}

impl Store {
    /// Before a keyed request opens another transaction: commits the one waiting for the
    /// answer, so that the new one sees its writes (and, on SQLite, can have the writer).
    pub(crate) async fn commit_waiting(&self) -> Result<()> {
        match current() {
            Some(answering) => answering.commit_waiting().await,
            None => Ok(()),
        }
    }

    /// Claims an idempotency key for a request (see [`IdempotencyClaim`]).
    pub async fn claim_idempotency_key(
        &self,
        tenant: TenantId,
        claim: &KeyClaim<'_>,
    ) -> Result<IdempotencyClaim> {
        // A v7 UUID's low half is random: no two attempts anywhere share one.
        let token = uuid::Uuid::now_v7().as_u64_pair().1 as i64;
        let live = |held: i64| {
            self.live_attempts
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .contains(&held)
        };
        let mut tx = self.write().await?;
        if let Found::Other(found) = tx
            .claim_idempotency_key(tenant, claim, token, &live)
            .await?
        {
            tx.commit_now().await?;
            return Ok(found);
        }
        // Live before the claim is visible: a resend in this process must hear "in progress".
        let answering = Arc::new(Answering {
            store: self.clone(),
            tenant,
            caller: claim.caller.to_owned(),
            key: claim.key.to_owned(),
            token,
            waiting: StdMutex::new(None),
            early: std::sync::atomic::AtomicBool::new(false),
        });
        self.live_attempts
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(token);
        tx.commit_now().await?;
        Ok(IdempotencyClaim::Claimed(answering))
    }
}

/// What [`Tx::claim_idempotency_key`] found: the claim is only made an [`Answering`] once
/// it committed.
pub(crate) enum Found {
    Claimed,
    Other(IdempotencyClaim),
}
