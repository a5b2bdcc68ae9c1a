//! What is being offboarded: subjects, their attributes and their records.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use jiff::civil::Date;
use jiff::tz::TimeZone;
use serde::{Deserialize, Serialize};

use crate::ids::{RecordId, SubjectId, SubjectKey, TenantId, Text, ZoneName};

/// The four kinds of thing Exeunt offboards.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
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

impl SubjectKind {
    pub const ALL: [SubjectKind; 4] = [
        SubjectKind::Client,
        SubjectKind::Product,
        SubjectKind::Employee,
        SubjectKind::Organization,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            SubjectKind::Client => "client",
            SubjectKind::Product => "product",
            SubjectKind::Employee => "employee",
            SubjectKind::Organization => "organization",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not a subject kind; expected one of client, product, employee, organization")]
pub struct UnknownSubjectKind(pub String);

impl FromStr for SubjectKind {
    type Err = UnknownSubjectKind;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        SubjectKind::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| UnknownSubjectKind(s.to_owned()))
    }
}

impl fmt::Display for SubjectKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.as_str())
    }
}

/// Where a subject is in its life: active → offboarding → offboarded (→ purged).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SubjectState {
    Active,
    Offboarding,
    Offboarded,
    Purged,
}

impl SubjectState {
    pub fn as_str(self) -> &'static str {
        match self {
            SubjectState::Active => "active",
            SubjectState::Offboarding => "offboarding",
            SubjectState::Offboarded => "offboarded",
            SubjectState::Purged => "purged",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [
            SubjectState::Active,
            SubjectState::Offboarding,
            SubjectState::Offboarded,
            SubjectState::Purged,
        ]
        .into_iter()
        .find(|k| k.as_str() == s)
    }
}

impl fmt::Display for SubjectState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.as_str())
    }
}

/// The type of a known attribute; decides how it is checked and how conditions see it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AttributeType {
    Text,
    /// An ISO 3166-1 alpha-2 country code such as `DE`.
    Country,
    /// An IANA time zone such as `Europe/Berlin`.
    TimeZone,
    /// A calendar date, `YYYY-MM-DD`.
    Date,
    /// A decimal number; conditions see it as a double, `0.0` when unset.
    Number,
    /// An email address.
    Email,
}

/// The attributes every subject may carry. Blueprints may declare more (as text).
pub const STANDARD_ATTRIBUTES: &[(&str, AttributeType)] = &[
    ("role", AttributeType::Text),
    ("department", AttributeType::Text),
    ("country", AttributeType::Country),
    ("service_type", AttributeType::Text),
    ("timezone", AttributeType::TimeZone),
    ("contract_end", AttributeType::Date),
    ("manager", AttributeType::Email),
    ("account_manager", AttributeType::Email),
    ("email", AttributeType::Email),
    ("balance_outstanding", AttributeType::Number),
    ("exit_reason", AttributeType::Text),
    ("legal_entity", AttributeType::Text),
];

pub fn standard_attribute(name: &str) -> Option<AttributeType> {
    STANDARD_ATTRIBUTES
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, t)| *t)
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AttributeError {
    #[error("attribute name `{0}` is not valid; expected lowercase letters, digits and '_'")]
    BadName(String),
    #[error("attribute `{name}` = `{value}` is not valid; expected {expected}")]
    BadValue {
        name: String,
        value: String,
        expected: &'static str,
    },
}

/// A subject's attributes: known names are checked against their type; other names are text.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Attributes(BTreeMap<String, String>);

impl Attributes {
    pub const MAX_VALUE_LEN: usize = 500;

    /// Checks every pair; empty values are dropped (they mean "unset").
    pub fn parse<'a>(
        pairs: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Result<Self, AttributeError> {
        let mut map = BTreeMap::new();
        for (name, value) in pairs {
            let name = name.trim();
            let value = value.trim();
            let name_ok = !name.is_empty()
                && name.len() <= 64
                && name.starts_with(|c: char| c.is_ascii_lowercase())
                && name
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
            if !name_ok {
                return Err(AttributeError::BadName(name.to_owned()));
            }
            if value.is_empty() {
                continue;
            }
            let ty = standard_attribute(name).unwrap_or(AttributeType::Text);
            let value = check_attribute(name, value, ty)?;
            map.insert(name.to_owned(), value);
        }
        Ok(Self(map))
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(String::as_str)
    }

    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// The subject's time zone; UTC when none is set.
    pub fn time_zone(&self) -> TimeZone {
        self.get("timezone")
            .and_then(|tz| TimeZone::get(tz).ok())
            .unwrap_or(TimeZone::UTC)
    }
}

fn check_attribute(name: &str, value: &str, ty: AttributeType) -> Result<String, AttributeError> {
    let bad = |expected| AttributeError::BadValue {
        name: name.to_owned(),
        value: value.to_owned(),
        expected,
    };
    if value.chars().count() > Attributes::MAX_VALUE_LEN || value.chars().any(char::is_control) {
        return Err(bad("plain text of at most 500 characters"));
    }
    match ty {
        AttributeType::Text => Ok(value.to_owned()),
        AttributeType::Country => {
            let up = value.to_ascii_uppercase();
            if up.len() == 2 && up.chars().all(|c| c.is_ascii_uppercase()) {
                Ok(up)
            } else {
                Err(bad("a two-letter ISO 3166 country code such as DE"))
            }
        }
        AttributeType::TimeZone => ZoneName::parse(value)
            .map(|zone| zone.as_str().to_owned())
            .map_err(|_| bad("an IANA time zone such as Europe/Berlin")),
        AttributeType::Date => value
            .parse::<Date>()
            .map(|d| d.to_string())
            .map_err(|_| bad("a date YYYY-MM-DD")),
        AttributeType::Number => value
            .parse::<f64>()
            .ok()
            .filter(|n| n.is_finite())
            .map(|_| value.to_owned())
            .ok_or_else(|| bad("a number such as 1250.50")),
        AttributeType::Email => crate::ids::Email::parse(value)
            .map(|e| e.as_str().to_owned())
            .map_err(|_| bad("an email address")),
    }
}

/// What is being offboarded.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Subject {
    pub tenant_id: TenantId,
    pub id: SubjectId,
    pub key: SubjectKey,
    pub kind: SubjectKind,
    pub name: Text,
    /// The client a product belongs to.
    pub parent_id: Option<SubjectId>,
    pub state: SubjectState,
    pub attributes: Attributes,
}

impl Subject {
    pub const NAME_MAX: usize = 200;
}

/// The kinds of record a subject has.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
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

/// One field a record of some kind may carry.
pub struct FieldSpec {
    pub name: &'static str,
    pub required: bool,
    /// When set, the only values allowed; the first is the default.
    pub one_of: &'static [&'static str],
}

const fn req(name: &'static str) -> FieldSpec {
    FieldSpec {
        name,
        required: true,
        one_of: &[],
    }
}
const fn opt(name: &'static str) -> FieldSpec {
    FieldSpec {
        name,
        required: false,
        one_of: &[],
    }
}
const fn choice(name: &'static str, one_of: &'static [&'static str]) -> FieldSpec {
    FieldSpec {
        name,
        required: false,
        one_of,
    }
}

impl RecordKind {
    pub const ALL: [RecordKind; 7] = [
        RecordKind::Document,
        RecordKind::Note,
        RecordKind::Contact,
        RecordKind::Account,
        RecordKind::Integration,
        RecordKind::Asset,
        RecordKind::WorkItem,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            RecordKind::Document => "document",
            RecordKind::Note => "note",
            RecordKind::Contact => "contact",
            RecordKind::Account => "account",
            RecordKind::Integration => "integration",
            RecordKind::Asset => "asset",
            RecordKind::WorkItem => "work_item",
        }
    }

    /// The name conditions use for the list of these records (`records.accounts`).
    pub fn plural(self) -> &'static str {
        match self {
            RecordKind::Document => "documents",
            RecordKind::Note => "notes",
            RecordKind::Contact => "contacts",
            RecordKind::Account => "accounts",
            RecordKind::Integration => "integrations",
            RecordKind::Asset => "assets",
            RecordKind::WorkItem => "work_items",
        }
    }

    pub fn fields(self) -> &'static [FieldSpec] {
        const DOCUMENT: &[FieldSpec] = &[req("name"), opt("media_type"), opt("description")];
        const NOTE: &[FieldSpec] = &[req("text")];
        const CONTACT: &[FieldSpec] = &[req("name"), opt("email"), opt("phone"), opt("role")];
        const ACCOUNT: &[FieldSpec] = &[
            req("system"),
            req("identifier"),
            choice("status", &["active", "disabled"]),
        ];
        const INTEGRATION: &[FieldSpec] = &[
            req("name"),
            opt("system"),
            choice("status", &["active", "revoked"]),
        ];
        const ASSET: &[FieldSpec] = &[
            req("tag"),
            req("description"),
            choice("status", &["issued", "returned", "written_off"]),
        ];
        const WORK_ITEM: &[FieldSpec] = &[req("title"), opt("owner"), opt("new_owner")];
        match self {
            RecordKind::Document => DOCUMENT,
            RecordKind::Note => NOTE,
            RecordKind::Contact => CONTACT,
            RecordKind::Account => ACCOUNT,
            RecordKind::Integration => INTEGRATION,
            RecordKind::Asset => ASSET,
            RecordKind::WorkItem => WORK_ITEM,
        }
    }
}

impl RecordKind {
    /// The fields an offboarding itself maintains, which may still change while the subject
    /// is frozen: revoking an account or integration, returning an asset, handing a work item
    /// to its new owner.
    pub fn offboarding_fields(self) -> &'static [&'static str] {
        match self {
            RecordKind::Account | RecordKind::Integration | RecordKind::Asset => &["status"],
            RecordKind::WorkItem => &["new_owner"],
            RecordKind::Document | RecordKind::Note | RecordKind::Contact => &[],
        }
    }
}

impl fmt::Display for RecordKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "`{0}` is not a record kind; expected one of document, note, contact, account, integration, asset, work_item"
)]
pub struct UnknownRecordKind(pub String);

impl FromStr for RecordKind {
    type Err = UnknownRecordKind;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        RecordKind::ALL
            .into_iter()
            .find(|k| k.as_str() == s || k.plural() == s)
            .ok_or_else(|| UnknownRecordKind(s.to_owned()))
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RecordFieldError {
    #[error("{kind} has no field `{field}`; expected {expected}")]
    Unknown {
        kind: RecordKind,
        field: String,
        expected: String,
    },
    #[error("{kind} needs the field `{field}`")]
    Missing {
        kind: RecordKind,
        field: &'static str,
    },
    #[error("{kind} field `{field}` = `{value}`; expected one of {expected}")]
    NotAllowed {
        kind: RecordKind,
        field: &'static str,
        value: String,
        expected: String,
    },
    #[error("{kind} field `{field}` {reason}")]
    BadText {
        kind: RecordKind,
        field: String,
        reason: crate::ids::TextError,
    },
}

/// The checked fields of one record; the kind decides which fields exist.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct RecordFields(BTreeMap<String, String>);

impl RecordFields {
    pub const MAX_VALUE_LEN: usize = 2000;

    pub fn parse<'a>(
        kind: RecordKind,
        pairs: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Result<Self, RecordFieldError> {
        let specs = kind.fields();
        let mut map = BTreeMap::new();
        for (name, value) in pairs {
            let Some(spec) = specs.iter().find(|s| s.name == name) else {
                return Err(RecordFieldError::Unknown {
                    kind,
                    field: name.to_owned(),
                    expected: specs.iter().map(|s| s.name).collect::<Vec<_>>().join(", "),
                });
            };
            if value.trim().is_empty() {
                continue;
            }
            let text = Text::paragraph(value, Self::MAX_VALUE_LEN).map_err(|reason| {
                RecordFieldError::BadText {
                    kind,
                    field: name.to_owned(),
                    reason,
                }
            })?;
            if !spec.one_of.is_empty() && !spec.one_of.contains(&text.as_str()) {
                return Err(RecordFieldError::NotAllowed {
                    kind,
                    field: spec.name,
                    value: text.as_str().to_owned(),
                    expected: spec.one_of.join(", "),
                });
            }
            map.insert(spec.name.to_owned(), text.as_str().to_owned());
        }
        for spec in specs {
            if map.contains_key(spec.name) {
                continue;
            }
            if spec.required {
                return Err(RecordFieldError::Missing {
                    kind,
                    field: spec.name,
                });
            }
            if let Some(default) = spec.one_of.first() {
                map.insert(spec.name.to_owned(), (*default).to_owned());
            }
        }
        Ok(Self(map))
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(String::as_str)
    }

    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// These fields with `changes` applied (an empty value removes a field), checked again as
    /// a whole.
    pub fn with<'a>(
        &self,
        kind: RecordKind,
        changes: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Result<Self, RecordFieldError> {
        let mut merged: BTreeMap<String, String> = self.0.clone();
        for (name, value) in changes {
            merged.insert(name.to_owned(), value.to_owned());
        }
        Self::parse(kind, merged.iter().map(|(k, v)| (k.as_str(), v.as_str())))
    }
}

/// One record of a subject.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Record {
    pub id: RecordId,
    pub subject_id: SubjectId,
    /// 1, 2, 3, … per subject: how people name a record.
    pub number: i64,
    pub kind: RecordKind,
    pub fields: RecordFields,
}

impl Record {
    /// A short human label: the record's name, title, tag or identifier.
    pub fn label(&self) -> &str {
        ["name", "title", "tag", "identifier", "text"]
            .into_iter()
            .find_map(|f| self.fields.get(f))
            .unwrap_or("")
    }
}

/// A record for the engine's own tests, numbered `number` and with an id made from it.
#[cfg(test)]
pub(crate) fn test_record(number: i64, kind: RecordKind, fields: &[(&str, &str)]) -> Record {
    Record {
        id: RecordId(uuid::Uuid::from_u128(number.unsigned_abs().into())),
        subject_id: SubjectId(uuid::Uuid::nil()),
        number,
        kind,
        fields: RecordFields::parse(kind, fields.iter().copied()).unwrap(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_attributes_are_checked_by_type() {
        let attrs = Attributes::parse([("country", "de"), ("timezone", "Europe/Berlin")]).unwrap();
        assert_eq!(attrs.get("country"), Some("DE"));
        let err = Attributes::parse([("timezone", "Mars/Olympus")]).unwrap_err();
        assert!(err.to_string().contains("IANA time zone"), "{err}");
        assert!(Attributes::parse([("contract_end", "2026-13-01")]).is_err());
        assert!(Attributes::parse([("balance_outstanding", "NaN")]).is_err());
        assert!(Attributes::parse([("Bad Name", "x")]).is_err());
        assert_eq!(
            Attributes::parse([("custom_flag", "yes")])
                .unwrap()
                .get("custom_flag"),
            Some("yes")
        );
    }

    #[test]
    fn record_fields_follow_their_kind() {
        let f = RecordFields::parse(
            RecordKind::Account,
            [("system", "ldap"), ("identifier", "jdoe")],
        )
        .unwrap();
        assert_eq!(
            f.get("status"),
            Some("active"),
            "status defaults to the first choice"
        );
        assert!(matches!(
            RecordFields::parse(RecordKind::Account, [("system", "ldap")]),
            Err(RecordFieldError::Missing {
                field: "identifier",
                ..
            })
        ));
        assert!(matches!(
            RecordFields::parse(
                RecordKind::Asset,
                [("tag", "L1"), ("description", "x"), ("status", "lost")]
            ),
            Err(RecordFieldError::NotAllowed { .. })
        ));
        assert!(matches!(
            RecordFields::parse(RecordKind::Note, [("text", "x"), ("colour", "red")]),
            Err(RecordFieldError::Unknown { .. })
        ));
    }
}
