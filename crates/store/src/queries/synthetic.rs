//! A large tenant made in bulk, for `exeunt bench scale`: copies of one real case, each for a
//! subject of its own, written set by set in a few statements rather than through the use
//! cases one case at a time (a million cases would take hours that way).
//!
//! The copies are what a page needs to show them, not a history: each gets its template's
//! `case.started` event, digests and all, so the tenant's audit chain no longer
//! verifies. Only a scratch tenant is ever copied into.

use engine::ids::TenantId;

use super::Tx;
use crate::Result;
use crate::sql::{Row, args};

/// Why a copied case and its tasks are closed.
const COPIED: &str = "Copied as a cancelled case for a benchmark";

impl Tx {
    /// Adds `copies` cases to `tenant`, copies of case `template` with its tasks, numbered
    /// after the tenant's last case; copy `i` (from 1) is the case of a new subject keyed
    /// `{template's subject key}-{first + i}`. Two thirds of the copies are done (cancelled),
    /// their tasks closed; the rest are as the template is.
    pub async fn copy_case_in_bulk(
        &mut self,
        tenant: TenantId,
        template_number: i64,
        first: i64,
        copies: i64,
    ) -> Result<()> {
        let top = self
            .one(
                "SELECT COALESCE(MAX(number), 0) AS top FROM cases WHERE tenant_id = $1",
                args![tenant.0],
                |r| r.int("top"),
            )
            .await?;
        let head = self
            .one(
                "SELECT COALESCE(MAX(seq), 0) AS head FROM audit_events WHERE tenant_id = $1",
                args![tenant.0],
                |r| r.int("head"),
            )
            .await?;
        let uuid = self.conn.random_uuid();
        let (t, first_copy) = (tenant.0, first);
        let counted =
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $4)";
        self.run(
            &format!(
                "INSERT INTO subjects (tenant_id, id, key, kind, name, parent_id, state, \
                 attributes, created_at_us, updated_at_us) {counted} \
                 SELECT t.tenant_id, {uuid}, t.key || '-' || CAST($3 + n.i AS TEXT), t.kind, \
                 t.name || ' ' || CAST($3 + n.i AS TEXT), NULL, t.state, t.attributes, \
                 t.created_at_us, t.updated_at_us \
                 FROM n CROSS JOIN cases c JOIN subjects t \
                 ON t.tenant_id = c.tenant_id AND t.id = c.subject_id \
                 WHERE c.tenant_id = $1 AND c.number = $2"
            ),
            args![t, template_number, first_copy, copies],
        )
        .await?;
        // The cases find their subjects by key: planned with the statistics of a table that
        // has not got them yet, PostgreSQL reads every subject for each new case.
        self.run("ANALYZE subjects", args![]).await?;
        let done = "(n.i % 3 <> 0)";
        self.run(
            &format!(
                "INSERT INTO cases (tenant_id, id, number, subject_id, blueprint_id, \
                 blueprint_version, parent_id, owner_id, exit_date, status, resolution, \
                 confirmation_word, stages, opened_at_us, closed_at_us, closed_by, \
                 close_reason, frozen_at_us) {counted} \
                 SELECT c.tenant_id, {uuid}, $5 + n.i, s.id, c.blueprint_id, \
                 c.blueprint_version, NULL, c.owner_id, c.exit_date, \
                 CASE WHEN {done} THEN 'done' ELSE c.status END, \
                 CASE WHEN {done} THEN 'cancelled' ELSE c.resolution END, \
                 c.confirmation_word, c.stages, c.opened_at_us + n.i, \
                 CASE WHEN {done} THEN c.opened_at_us + n.i ELSE c.closed_at_us END, \
                 CASE WHEN {done} THEN c.owner_id ELSE c.closed_by END, \
                 CASE WHEN {done} THEN '{COPIED}' ELSE c.close_reason END, c.frozen_at_us \
                 FROM n CROSS JOIN cases c JOIN subjects t \
                 ON t.tenant_id = c.tenant_id AND t.id = c.subject_id \
                 JOIN subjects s ON s.tenant_id = c.tenant_id \
                 AND s.key = t.key || '-' || CAST($3 + n.i AS TEXT) \
                 WHERE c.tenant_id = $1 AND c.number = $2"
            ),
            args![t, template_number, first_copy, copies, top],
        )
        .await?;
        self.run(
            &format!(
                "INSERT INTO tasks (tenant_id, case_id, id, stage, position, title, \
                 description, kind, action, checklist, owner, owner_label, assignee, \
                 depends_on, due_at_us, evidence_required, status, closed_at_us, closed_by, \
                 note, waive_reason) \
                 SELECT k.tenant_id, k.id, t.id, t.stage, t.position, t.title, t.description, \
                 t.kind, t.action, t.checklist, t.owner, t.owner_label, t.assignee, \
                 t.depends_on, t.due_at_us, t.evidence_required, \
                 CASE WHEN k.status = 'done' THEN 'waived' ELSE t.status END, \
                 CASE WHEN k.status = 'done' THEN k.closed_at_us ELSE t.closed_at_us END, \
                 CASE WHEN k.status = 'done' THEN k.closed_by ELSE t.closed_by END, t.note, \
                 CASE WHEN k.status = 'done' THEN '{COPIED}' ELSE t.waive_reason END \
                 FROM cases c JOIN tasks t ON t.tenant_id = c.tenant_id AND t.case_id = c.id \
                 JOIN cases k ON k.tenant_id = c.tenant_id AND k.number > $3 \
                 WHERE c.tenant_id = $1 AND c.number = $2"
            ),
            args![t, template_number, top],
        )
        .await?;
        self.run(
            "INSERT INTO audit_events (tenant_id, seq, at_us, actor, action, target_kind, \
             target_id, payload, payload_digest, hash, subject_id, format, case_number) \
             SELECT k.tenant_id, $4 + k.number - $3, e.at_us, e.actor, e.action, \
             e.target_kind, CAST(k.number AS TEXT), e.payload, e.payload_digest, e.hash, \
             k.subject_id, e.format, k.number \
             FROM audit_events e JOIN cases k ON k.tenant_id = e.tenant_id AND k.number > $3 \
             WHERE e.tenant_id = $1 AND e.action = 'case.started' AND e.target_kind = 'case' \
             AND e.target_id = $2",
            args![t, template_number.to_string().as_str(), top, head],
        )
        .await?;
        // The next event follows the copies (its link, the template's hash, is as broken as
        // theirs).
        self.run(
            "UPDATE audit_heads SET seq = $2 WHERE tenant_id = $1",
            args![t, head + copies],
        )
        .await?;
        self.run(
            "UPDATE case_numbers SET last = $2 WHERE tenant_id = $1",
            args![t, top + copies],
        )
        .await?;
        self.run("ANALYZE", args![]).await?;
        Ok(())
    }
}
