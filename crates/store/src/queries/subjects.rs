//! Subjects, their records, and each subject's sealed data key.

use engine::ids::{RecordId, SubjectId, SubjectKey, TenantId, Text};
use engine::subject::{Attributes, Record, RecordFields, Subject, SubjectKind, SubjectState};
use jiff::Timestamp;

use crate::model::SubjectFilter;
use crate::sql::{Row, args};
use crate::{Result, StoreError};

use super::*;

fn subject_row(r: &impl Row) -> Result<Subject> {
    Ok(Subject {
        tenant_id: TenantId(r.uuid("tenant_id")?),
        id: SubjectId(r.uuid("id")?),
        key: SubjectKey::parse(r.text("key")?).map_err(corrupt("subject key"))?,
        kind: r.text("kind")?.parse().map_err(corrupt("subject kind"))?,
        name: Text::line(r.text("name")?, Subject::NAME_MAX).map_err(corrupt("subject name"))?,
        parent_id: r.opt_uuid("parent_id")?.map(SubjectId),
        state: SubjectState::parse(r.text("state")?)
            .ok_or_else(|| StoreError::Corrupt("subject state".into()))?,
        attributes: json::<Attributes>(r.text("attributes")?, "attributes")?,
    })
}

pub(super) fn record_row(r: &impl Row) -> Result<Record> {
    Ok(Record {
        id: RecordId(r.uuid("id")?),
        subject_id: SubjectId(r.uuid("subject_id")?),
        number: r.int("number")?,
        kind: r.text("kind")?.parse().map_err(corrupt("record kind"))?,
        fields: json::<RecordFields>(r.text("fields")?, "record fields")?,
    })
}

/// The subject listing's statement for `f` (with `search` as a `LIKE` pattern), by kind
/// then key.
pub(super) fn subject_listing<'a>(
    tenant: TenantId,
    f: &'a SubjectFilter,
    search: Option<&'a str>,
) -> (String, Conditions<'a>) {
    let mut w = Conditions::new("tenant_id = {}", tenant.0);
    w.and_some("kind = {}", f.kind.map(SubjectKind::as_str))
        .and_some("parent_id = {}", f.parent.map(|p| p.0));
    if !f.include_offboarded {
        w.and_always("state IN ('active', 'offboarding')");
    }
    if let Some(search) = search {
        let pattern = w.bind(search);
        w.and_always(&format!(
            "(lower(name) LIKE {pattern} ESCAPE '\\' OR lower(key) LIKE {pattern} ESCAPE '\\')"
        ));
    }
    if let Some(after) = &f.after {
        let (tenant, key) = (w.bind(tenant.0), w.bind(after.as_str()));
        w.and_always(&format!(
            "(kind, key) > ((SELECT kind FROM subjects WHERE tenant_id = {tenant} \
             AND key = {key}), {key})"
        ));
    }
    let (limit, offset) = (w.bind(f.limit), w.bind(f.offset));
    let sql = format!(
        "SELECT * FROM subjects WHERE {} ORDER BY kind, key LIMIT {limit} OFFSET {offset}",
        w.sql()
    );
    (sql, w)
}

impl Tx {
    pub async fn insert_subject(&mut self, s: &Subject, at: Timestamp) -> Result<()> {
        let attributes = to_json(&s.attributes);
        self.run(
            "INSERT INTO subjects (tenant_id, id, key, kind, name, parent_id, state, attributes, created_at_us, updated_at_us) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9)",
            args![
                s.tenant_id.0,
                s.id.0,
                s.key.as_str(),
                s.kind.as_str(),
                s.name.as_str(),
                s.parent_id.map(|p| p.0),
                s.state.as_str(),
                &attributes,
                us(at),
            ],
        )
        .await?;
        Ok(())
    }

    pub async fn set_subject_state(
        &mut self,
        tenant: TenantId,
        id: SubjectId,
        state: SubjectState,
        at: Timestamp,
    ) -> Result<()> {
        self.run(
            "UPDATE subjects SET state = $3, updated_at_us = $4 WHERE tenant_id = $1 AND id = $2",
            args![tenant.0, id.0, state.as_str(), us(at)],
        )
        .await?;
        Ok(())
    }

    pub async fn subject(&mut self, tenant: TenantId, id: SubjectId) -> Result<Option<Subject>> {
        self.optional(
            "SELECT * FROM subjects WHERE tenant_id = $1 AND id = $2",
            args![tenant.0, id.0],
            |r| subject_row(r),
        )
        .await
    }

    pub async fn subject_by_key(
        &mut self,
        tenant: TenantId,
        key: &SubjectKey,
    ) -> Result<Option<Subject>> {
        self.optional(
            "SELECT * FROM subjects WHERE tenant_id = $1 AND key = $2",
            args![tenant.0, key.as_str()],
            |r| subject_row(r),
        )
        .await
    }

    pub async fn subjects(&mut self, tenant: TenantId, f: &SubjectFilter) -> Result<Vec<Subject>> {
        let search = f.search.as_deref().map(contains_pattern);
        let (sql, w) = subject_listing(tenant, f, search.as_deref());
        self.all(&sql, w.args(), |r| subject_row(r)).await
    }

    /// Draws the subject's next record number; the subject's row stays locked until the
    /// transaction ends, so concurrent writers take turns for it.
    pub async fn next_record_number(
        &mut self,
        tenant: TenantId,
        subject: SubjectId,
    ) -> Result<i64> {
        self.one(
            "UPDATE subjects SET last_record_number = last_record_number + 1 \
             WHERE tenant_id = $1 AND id = $2 RETURNING last_record_number",
            args![tenant.0, subject.0],
            |r| r.int("last_record_number"),
        )
        .await
    }

    pub async fn insert_record(
        &mut self,
        tenant: TenantId,
        r: &Record,
        at: Timestamp,
    ) -> Result<()> {
        let fields = to_json(&r.fields);
        self.run(
            "INSERT INTO records (tenant_id, id, subject_id, number, kind, fields, created_at_us) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
            args![
                tenant.0,
                r.id.0,
                r.subject_id.0,
                r.number,
                r.kind.as_str(),
                &fields,
                us(at),
            ],
        )
        .await?;
        Ok(())
    }

    pub async fn update_record(&mut self, tenant: TenantId, r: &Record) -> Result<()> {
        let fields = to_json(&r.fields);
        self.run(
            "UPDATE records SET fields = $3 WHERE tenant_id = $1 AND id = $2",
            args![tenant.0, r.id.0, &fields],
        )
        .await?;
        Ok(())
    }

    /// Up to `limit` of the subject's records numbered above `after`, in number order: a page
    /// costs the same however many records the subject has.
    pub async fn records_page(
        &mut self,
        tenant: TenantId,
        subject: SubjectId,
        after: i64,
        limit: i64,
    ) -> Result<Vec<Record>> {
        self.all(
            "SELECT id, subject_id, number, kind, fields FROM records \
             WHERE tenant_id = $1 AND subject_id = $2 AND number > $3 ORDER BY number LIMIT $4",
            args![tenant.0, subject.0, after, limit],
            |r| record_row(r),
        )
        .await
    }

    pub async fn records(&mut self, tenant: TenantId, subject: SubjectId) -> Result<Vec<Record>> {
        self.all(
            "SELECT id, subject_id, number, kind, fields FROM records \
             WHERE tenant_id = $1 AND subject_id = $2 ORDER BY number",
            args![tenant.0, subject.0],
            |r| record_row(r),
        )
        .await
    }
}
