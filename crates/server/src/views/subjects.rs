//! Subjects, their records and their files.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use utoipa::ToSchema;
use uuid::Uuid;

use super::*;

/// The four kinds of thing Exeunt offboards.
#[derive(Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SubjectKind {
    /// A party: a client of the firm.
    Client,
    /// A product (service, contract) that belongs to a client.
    Product,
    Employee,
    /// The tenant itself, leaving the platform.
    Organization,
}

impl From<engine::subject::SubjectKind> for SubjectKind {
    fn from(kind: engine::subject::SubjectKind) -> Self {
        use engine::subject::SubjectKind as K;
        match kind {
            K::Client => Self::Client,
            K::Product => Self::Product,
            K::Employee => Self::Employee,
            K::Organization => Self::Organization,
        }
    }
}

impl From<SubjectKind> for engine::subject::SubjectKind {
    fn from(kind: SubjectKind) -> Self {
        match kind {
            SubjectKind::Client => Self::Client,
            SubjectKind::Product => Self::Product,
            SubjectKind::Employee => Self::Employee,
            SubjectKind::Organization => Self::Organization,
        }
    }
}

/// Where a subject is in its life: active → offboarding → offboarded (→ purged).
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SubjectState {
    Active,
    Offboarding,
    Offboarded,
    Purged,
}

impl From<engine::subject::SubjectState> for SubjectState {
    fn from(state: engine::subject::SubjectState) -> Self {
        use engine::subject::SubjectState as S;
        match state {
            S::Active => Self::Active,
            S::Offboarding => Self::Offboarding,
            S::Offboarded => Self::Offboarded,
            S::Purged => Self::Purged,
        }
    }
}

/// The kinds of record a subject has; the kind decides which fields a record carries.
#[derive(Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RecordKind {
    Document,
    Note,
    Contact,
    /// An identity in a connected system.
    Account,
    /// A connected app or token.
    Integration,
    /// Issued equipment.
    Asset,
    /// Live work the subject owns, which needs a new owner.
    WorkItem,
}

impl From<engine::subject::RecordKind> for RecordKind {
    fn from(kind: engine::subject::RecordKind) -> Self {
        use engine::subject::RecordKind as K;
        match kind {
            K::Document => Self::Document,
            K::Note => Self::Note,
            K::Contact => Self::Contact,
            K::Account => Self::Account,
            K::Integration => Self::Integration,
            K::Asset => Self::Asset,
            K::WorkItem => Self::WorkItem,
        }
    }
}

impl From<RecordKind> for engine::subject::RecordKind {
    fn from(kind: RecordKind) -> Self {
        match kind {
            RecordKind::Document => Self::Document,
            RecordKind::Note => Self::Note,
            RecordKind::Contact => Self::Contact,
            RecordKind::Account => Self::Account,
            RecordKind::Integration => Self::Integration,
            RecordKind::Asset => Self::Asset,
            RecordKind::WorkItem => Self::WorkItem,
        }
    }
}

/// What is being offboarded.
#[derive(Serialize, ToSchema)]
pub struct Subject {
    pub tenant_id: Uuid,
    pub id: Uuid,
    pub key: String,
    pub kind: SubjectKind,
    pub name: String,
    /// The client a product belongs to.
    pub parent_id: Option<Uuid>,
    pub state: SubjectState,
    pub attributes: BTreeMap<String, String>,
}

impl From<engine::subject::Subject> for Subject {
    fn from(subject: engine::subject::Subject) -> Self {
        let engine::subject::Subject {
            tenant_id,
            id,
            key,
            kind,
            name,
            parent_id,
            state,
            attributes,
        } = subject;
        Self {
            tenant_id: tenant_id.0,
            id: id.0,
            key: key.to_string(),
            kind: kind.into(),
            name: name.to_string(),
            parent_id: parent_id.map(|id| id.0),
            state: state.into(),
            attributes: attributes
                .iter()
                .map(|(name, value)| (name.to_owned(), value.to_owned()))
                .collect(),
        }
    }
}

/// One record of a subject.
#[derive(Serialize, ToSchema)]
pub struct Record {
    pub id: Uuid,
    pub subject_id: Uuid,
    /// 1, 2, 3, … per subject: how people name a record.
    pub number: i64,
    pub kind: RecordKind,
    pub fields: BTreeMap<String, String>,
}

impl From<engine::subject::Record> for Record {
    fn from(record: engine::subject::Record) -> Self {
        let engine::subject::Record {
            id,
            subject_id,
            number,
            kind,
            fields,
        } = record;
        Self {
            id: id.0,
            subject_id: subject_id.0,
            number,
            kind: kind.into(),
            fields: fields
                .iter()
                .map(|(name, value)| (name.to_owned(), value.to_owned()))
                .collect(),
        }
    }
}

/// A subject with its first records and its parent.
#[derive(Serialize, ToSchema)]
pub struct SubjectDetail {
    pub subject: Subject,
    pub parent: Option<Subject>,
    /// The first 100 records, in number order; `GET …/records?after=100` lists the rest.
    pub records: Vec<Record>,
    /// Whether the subject has more records than these.
    pub more_records: bool,
    /// The number of the subject's case that is not done, if any.
    pub open_case: Option<i64>,
}

impl From<app::SubjectPage> for SubjectDetail {
    fn from(page: app::SubjectPage) -> Self {
        Self {
            subject: page.subject.into(),
            parent: page.parent.map(Subject::from),
            records: list(page.records),
            more_records: page.more_records,
            open_case: page.open_case,
        }
    }
}

/// The file of a document record, stored encrypted with the subject's data key.
#[derive(Serialize, ToSchema)]
pub struct RecordFile {
    pub record_id: Uuid,
    pub file_name: String,
    pub media_type: String,
    /// In bytes.
    pub size: i64,
    /// The SHA-256 of the content, in hex.
    pub sha256: String,
    pub added_by: Uuid,
    #[schema(value_type = String, format = DateTime)]
    pub added_at: Timestamp,
}

impl From<store::RecordFile> for RecordFile {
    fn from(file: store::RecordFile) -> Self {
        let store::RecordFile {
            record_id,
            blob,
            file_name,
            media_type,
            added_by,
            added_at,
        } = file;
        Self {
            record_id: record_id.0,
            file_name,
            media_type,
            size: blob.size,
            sha256: engine::audit::to_hex(&blob.sha256),
            added_by: added_by.0,
            added_at,
        }
    }
}
