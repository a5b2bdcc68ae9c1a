//! The audit use cases: a page of the log, what a timeline shows, verifying the chain (in
//! ranges, one per core), and walking it (whole, or a subject's events) for an export.

use std::collections::HashMap;

use engine::audit::{AuditEvent, ChainBreak, ChainVerifier, DigestKey, GENESIS};
use engine::ids::{SubjectId, SubjectKey, TenantId};
use store::{AuditFilter, Concern, Tx};

use crate::directory::find_subject;
use crate::{Actor, App, AppError, Result};

impl App {
    /// A page of the tenant's audit log; the auditor's view.
    pub async fn audit_log(&self, actor: &Actor, filter: &AuditFilter) -> Result<Vec<AuditEvent>> {
        Ok(self
            .store
            .read()
            .await?
            .audit_events(actor.tenant.id, filter)
            .await?)
    }

    /// Which events a timeline of `case`, or of `subject` (itself, its records, its cases),
    /// shows. `None` when neither is given: every event.
    pub async fn audit_concern(
        &self,
        actor: &Actor,
        subject: Option<&SubjectKey>,
        case: Option<i64>,
    ) -> Result<Option<Concern>> {
        let mut tx = self.store.read().await?;
        match (subject, case) {
            (Some(_), Some(_)) => Err(AppError::invalid(
                "case",
                "give a subject or a case, not both: a case's events are its subject's too",
            )),
            (Some(key), None) => {
                let subject = find_subject(&mut tx, actor, key).await?;
                Ok(Some(Concern::Subject(subject.id)))
            }
            (None, Some(number)) => {
                self.locked_case(&mut tx, actor, number).await?;
                Ok(Some(Concern::Case(number)))
            }
            (None, None) => Ok(None),
        }
    }

    /// Walks the tenant's whole audit chain; returns the number of events. A long chain is
    /// checked in ranges at once, one per core, each read and hashed by a task of its own; the
    /// first broken link in chain order is the answer, as if one walk had found it.
    pub async fn verify_audit(&self, actor: &Actor) -> Result<i64> {
        /// Below this many events per range, another reader costs more than it saves.
        const RANGE_MIN: i64 = 10_000;
        let tenant = actor.tenant.id;
        let head = self.store.read().await?.audit_head(tenant).await?;
        let last = head.map_or(0, |(seq, _)| seq);
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get() as i64);
        let ranges = (last / RANGE_MIN).clamp(1, cores);
        let size = ((last + ranges - 1) / ranges).max(1);
        let _watched = self.watch("events", u64::try_from(last).unwrap_or(0));
        let checks: Vec<_> = (0..ranges)
            .map(|r| {
                let (from, to) = (r * size + 1, ((r + 1) * size).min(last));
                let app = self.clone();
                tokio::spawn(async move { app.verify_range(tenant, from, to, last).await })
            })
            .collect();
        let mut verifier = ChainVerifier::new();
        for check in checks {
            verifier = check
                .await
                .map_err(|e| AppError::Conflict(format!("the verification stopped: {e}")))??;
        }
        let last = verifier.finish(head)?;
        self.check_newest_checkpoint(tenant, last).await?;
        Ok(last)
    }

    /// Checks events `from..=to` of a chain whose head is `last`, starting from the stored hash
    /// of event `from - 1`.
    async fn verify_range(
        &self,
        tenant: TenantId,
        from: i64,
        to: i64,
        last: i64,
    ) -> Result<ChainVerifier> {
        let mut tx = self.store.read().await?;
        let mut reader = AuditReader::new(tenant, (from - 2).max(0), to);
        let mut verifier = (from == 1).then(ChainVerifier::new);
        let mut keys = HashMap::new();
        while let Some(batch) = reader.next(&mut tx).await? {
            self.progress.advance(batch.len() as u64);
            for event in &batch {
                match &mut verifier {
                    Some(verifier) => {
                        let key = self.payload_key(event, &mut keys).await?;
                        verifier.push(event, key.as_ref())?;
                    }
                    None if event.seq == from - 1 => {
                        verifier = Some(ChainVerifier::resume(event.seq, event.hash));
                    }
                    // The event before this range is gone; the range ending with it says so first.
                    None => {
                        return Err(ChainBreak::Missing {
                            expected: from - 1,
                            found: event.seq,
                        }
                        .into());
                    }
                }
            }
        }
        let verifier = verifier.unwrap_or_else(|| ChainVerifier::resume(from - 2, GENESIS));
        if verifier.last_seq() < to {
            // Events at the end of the range are gone: name the next one that is stored.
            let next = tx
                .audit_events(
                    tenant,
                    &AuditFilter {
                        after_seq: verifier.last_seq(),
                        limit: 1,
                        ..AuditFilter::default()
                    },
                )
                .await?;
            return Err(match next.first() {
                Some(found) => ChainBreak::Missing {
                    expected: verifier.last_seq() + 1,
                    found: found.seq,
                },
                None => ChainBreak::Truncated {
                    last: verifier.last_seq(),
                    head: last,
                },
            }
            .into());
        }
        Ok(verifier)
    }

    /// The digest key that checks `event`'s payload: `None` when it needs none. Keys are
    /// looked up once per subject, in `keys`. A payload that outlived its subject's key (which
    /// a purge shreds with the payloads) was put back: it counts as altered.
    async fn payload_key(
        &self,
        event: &AuditEvent,
        keys: &mut HashMap<SubjectId, Option<DigestKey>>,
    ) -> Result<Option<DigestKey>> {
        let (Some(subject), true, Some(_)) = (event.subject_id, event.keyed(), &event.payload)
        else {
            return Ok(None);
        };
        let key = match keys.get(&subject) {
            Some(key) => *key,
            None => {
                let key = self.existing_digest_key(event.tenant_id, subject).await?;
                *keys.entry(subject).or_insert(key)
            }
        };
        key.map(Some).ok_or_else(|| {
            ChainBreak::PayloadAltered {
                seq: event.seq,
                action: event.action.clone(),
            }
            .into()
        })
    }

    /// Calls `each` with every event of the tenant (or, given a concern, every event about
    /// it), in order, reading in batches.
    pub async fn walk_audit(
        &self,
        tx: &mut Tx,
        actor: &Actor,
        concerning: Option<Concern>,
        mut each: impl FnMut(&AuditEvent) -> Result<()>,
    ) -> Result<()> {
        let mut reader = AuditReader::new(actor.tenant.id, 0, i64::MAX);
        reader.concerning = concerning;
        while let Some(batch) = reader.next(tx).await? {
            batch.iter().try_for_each(&mut each)?;
        }
        Ok(())
    }
}

/// Reads events `after+1..=until` of a tenant's audit chain in order, a batch at a time.
struct AuditReader {
    tenant: TenantId,
    after: i64,
    until: i64,
    /// Only the events about this, when given.
    concerning: Option<Concern>,
    done: bool,
}

impl AuditReader {
    const BATCH: i64 = 10_000;

    fn new(tenant: TenantId, after: i64, until: i64) -> Self {
        Self {
            tenant,
            after,
            until,
            concerning: None,
            done: false,
        }
    }

    async fn next(&mut self, tx: &mut Tx) -> Result<Option<Vec<AuditEvent>>> {
        let limit = Self::BATCH.min(self.until.saturating_sub(self.after));
        if self.done || limit <= 0 {
            return Ok(None);
        }
        let filter = AuditFilter {
            after_seq: self.after,
            limit,
            concerning: self.concerning,
            ..AuditFilter::default()
        };
        let mut events = tx.audit_events(self.tenant, &filter).await?;
        let fetched = events.len();
        // With events missing, a batch can reach past `until`.
        events.retain(|e| e.seq <= self.until);
        match events.last() {
            Some(last) if fetched == limit as usize && events.len() == fetched => {
                self.after = last.seq;
            }
            Some(_) => self.done = true,
            None => return Ok(None),
        }
        Ok(Some(events))
    }
}
