//! Identifiers and names that the rest of the domain trusts because they were checked once, here.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

macro_rules! uuid_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub Uuid);

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }
    };
}

uuid_id!(
    /// The organization that uses Exeunt; every row belongs to exactly one.
    TenantId
);
uuid_id!(
    /// A person who signs in (or acts through the CLI).
    UserId
);
uuid_id!(
    /// What is being offboarded.
    SubjectId
);
uuid_id!(
    /// One record (document, note, contact, account, …) of a subject.
    RecordId
);
uuid_id!(
    /// One offboarding run.
    CaseId
);
uuid_id!(
    /// One piece of evidence attached to a task.
    EvidenceId
);
uuid_id!(
    /// A file at rest, sealed in chunks by its subject's data key.
    BlobId
);
uuid_id!(
    /// One build of a subject's export package.
    ExportId
);
uuid_id!(
    /// An API token (its secret is never stored, only a digest of it).
    TokenId
);
uuid_id!(
    /// A legal hold: while it stands, nothing it covers is purged.
    HoldId
);
uuid_id!(
    /// Something a person was told: a task or a case was given to them.
    NotificationId
);
uuid_id!(
    /// A job: work done in the background after the change that asked for it.
    JobId
);
uuid_id!(
    /// A signed-in browser session (its cookie is never stored, only a digest of it).
    SessionId
);

/// Why a name was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NameError {
    #[error("is empty; expected {expected}")]
    Empty { expected: &'static str },
    #[error("is {len} characters long; expected at most {max}")]
    TooLong { len: usize, max: usize },
    #[error("`{value}` has the character {ch:?}; expected {expected}")]
    BadCharacter {
        value: String,
        ch: char,
        expected: &'static str,
    },
}

/// Checks a short name: not empty, at most `max` bytes, an allowed first character and allowed
/// characters after it.
fn parse_name(
    value: &str,
    max: usize,
    first_ok: impl Fn(char) -> bool,
    rest_ok: impl Fn(char) -> bool,
    expected: &'static str,
) -> Result<String, NameError> {
    let mut chars = value.chars();
    let Some(first) = chars.next() else {
        return Err(NameError::Empty { expected });
    };
    if value.len() > max {
        return Err(NameError::TooLong {
            len: value.len(),
            max,
        });
    }
    let bad = if first_ok(first) {
        chars.find(|c| !rest_ok(*c))
    } else {
        Some(first)
    };
    match bad {
        Some(ch) => Err(NameError::BadCharacter {
            value: value.to_owned(),
            ch,
            expected,
        }),
        None => Ok(value.to_owned()),
    }
}

const SLUG_EXPECTED: &str = "lowercase letters, digits and '-', starting with a letter or digit";

/// A short machine name: team, tenant, blueprint, stage, task and check ids.
/// Lowercase ASCII letters, digits and `-`; starts with a letter or digit; at most 64 characters.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct Slug(String);

impl Slug {
    pub const MAX_LEN: usize = 64;

    /// What [`Slug::parse`] accepts, with at most [`Slug::MAX_LEN`] bytes, as a regular
    /// expression that ECMA-262 (OpenAPI's dialect) and Rust's `regex` read alike.
    pub const PATTERN: &'static str = "^[a-z0-9][a-z0-9-]*$";

    pub fn parse(value: &str) -> Result<Self, NameError> {
        let rest = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-';
        let first = |c: char| c != '-' && rest(c);
        parse_name(value, Self::MAX_LEN, first, rest, SLUG_EXPECTED).map(Self)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Slug {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(&self.0)
    }
}

impl FromStr for Slug {
    type Err = NameError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl<'de> Deserialize<'de> for Slug {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(d)?;
        Self::parse(&raw).map_err(serde::de::Error::custom)
    }
}

const KEY_EXPECTED: &str = "letters, digits, '-', '_' or '.', starting with a letter or digit";

/// The handle people use for a subject (`acme`, `jdoe`, `ACME-001`): unique per tenant.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct SubjectKey(String);

impl SubjectKey {
    pub const MAX_LEN: usize = 64;

    /// What [`SubjectKey::parse`] accepts, with at most [`SubjectKey::MAX_LEN`] bytes (see
    /// [`Slug::PATTERN`]).
    pub const PATTERN: &'static str = "^[A-Za-z0-9][A-Za-z0-9._-]*$";

    pub fn parse(value: &str) -> Result<Self, NameError> {
        let rest = |c: char| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.');
        parse_name(
            value,
            Self::MAX_LEN,
            |c| c.is_ascii_alphanumeric(),
            rest,
            KEY_EXPECTED,
        )
        .map(Self)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for SubjectKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(&self.0)
    }
}

impl FromStr for SubjectKey {
    type Err = NameError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl<'de> Deserialize<'de> for SubjectKey {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(d)?;
        Self::parse(&raw).map_err(serde::de::Error::custom)
    }
}

/// An email address, kept as typed but compared in lowercase.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct Email(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not an email address; expected name@domain")]
pub struct EmailError(pub String);

impl Email {
    pub const MAX_LEN: usize = 254;

    /// What [`Email::parse`] accepts once surrounding spaces are trimmed, with at most
    /// [`Email::MAX_LEN`] bytes (see [`Slug::PATTERN`]): one `@`, no space or control
    /// character, a domain that neither starts nor ends with a dot.
    pub const PATTERN: &'static str = "^[^@\\s\\x00-\\x1f\\x7f-\\x9f]+@[^@\\s.\\x00-\\x1f\\x7f-\\x9f]([^@\\s\\x00-\\x1f\\x7f-\\x9f]*[^@\\s.\\x00-\\x1f\\x7f-\\x9f])?$";

    pub fn parse(value: &str) -> Result<Self, EmailError> {
        let value = value.trim();
        let ok = value.len() <= Self::MAX_LEN
            && match value.split_once('@') {
                Some((local, domain)) => {
                    !local.is_empty()
                        && !domain.is_empty()
                        && !domain.starts_with('.')
                        && !domain.ends_with('.')
                        && !value.chars().any(|c| c.is_whitespace() || c.is_control())
                        && !domain.contains('@')
                }
                None => false,
            };
        if ok {
            Ok(Self(value.to_ascii_lowercase()))
        } else {
            Err(EmailError(value.to_owned()))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for Email {
    type Err = EmailError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(&self.0)
    }
}

/// An IANA time zone name the bundled time zone database knows (`Europe/Berlin`, `UTC`):
/// where a person is, so that their morning digest comes in their morning and the times they
/// read are their own.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct ZoneName(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not a time zone; expected an IANA name such as Europe/Berlin or UTC")]
pub struct ZoneError(pub String);

impl ZoneName {
    pub fn parse(value: &str) -> Result<Self, ZoneError> {
        let value = value.trim();
        // The database also answers to a name in other letter cases; the name it knows the
        // zone by is the one kept.
        match jiff::tz::TimeZone::get(value)
            .ok()
            .as_ref()
            .and_then(jiff::tz::TimeZone::iana_name)
        {
            Some(name) => Ok(Self(name.to_owned())),
            None => Err(ZoneError(value.to_owned())),
        }
    }

    /// Every name the time zone database knows a zone by, as [`ZoneName::parse`] keeps it.
    pub fn known() -> Vec<String> {
        let mut names: Vec<String> = jiff::tz::db()
            .available()
            .map(|name| name.as_str().to_owned())
            .collect();
        names.sort();
        names
    }

    /// Coordinated Universal Time: everyone's zone until they choose theirs.
    pub fn utc() -> Self {
        Self("UTC".to_owned())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn zone(&self) -> jiff::tz::TimeZone {
        // A name that parsed is one the bundled database has.
        jiff::tz::TimeZone::get(&self.0).unwrap_or(jiff::tz::TimeZone::UTC)
    }
}

impl FromStr for ZoneName {
    type Err = ZoneError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl fmt::Display for ZoneName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(&self.0)
    }
}

/// Free text a person typed (names, titles, reasons): trimmed, non-empty, bounded, no control
/// characters except newlines in long text.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct Text(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TextError {
    #[error("is empty; expected some text")]
    Empty,
    #[error("is {len} characters long; expected at most {max}")]
    TooLong { len: usize, max: usize },
    #[error("contains a control character; expected plain text")]
    Control,
}

impl Text {
    /// Parses a single-line text of at most `max` characters.
    pub fn line(value: &str, max: usize) -> Result<Self, TextError> {
        Self::parse(value, max, false)
    }

    /// Parses a text that may span lines, of at most `max` characters.
    pub fn paragraph(value: &str, max: usize) -> Result<Self, TextError> {
        Self::parse(value, max, true)
    }

    fn parse(value: &str, max: usize, multiline: bool) -> Result<Self, TextError> {
        let value = value.trim();
        if value.is_empty() {
            return Err(TextError::Empty);
        }
        let len = value.chars().count();
        if len > max {
            return Err(TextError::TooLong { len, max });
        }
        let control = value
            .chars()
            .any(|c| c.is_control() && !(multiline && (c == '\n' || c == '\t' || c == '\r')));
        if control {
            return Err(TextError::Control);
        }
        Ok(Self(value.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Text {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zone_names_are_the_databases_and_nothing_else() {
        assert_eq!(
            ZoneName::parse("Europe/Berlin").unwrap().as_str(),
            "Europe/Berlin"
        );
        assert_eq!(
            ZoneName::parse(" asia/tokyo ").unwrap().as_str(),
            "Asia/Tokyo"
        );
        assert_eq!(ZoneName::parse("UTC").unwrap(), ZoneName::utc());
        for bad in ["", "Mars/Olympus_Mons", "CET+1", "Europe/"] {
            assert!(ZoneName::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn slugs_accept_machine_names_and_refuse_the_rest() {
        assert!(Slug::parse("client-standard").is_ok());
        assert!(Slug::parse("it").is_ok());
        assert!(matches!(Slug::parse(""), Err(NameError::Empty { .. })));
        assert!(matches!(
            Slug::parse("-x"),
            Err(NameError::BadCharacter { ch: '-', .. })
        ));
        assert!(matches!(
            Slug::parse("Client"),
            Err(NameError::BadCharacter { ch: 'C', .. })
        ));
        assert!(matches!(
            Slug::parse(&"a".repeat(65)),
            Err(NameError::TooLong { len: 65, max: 64 })
        ));
    }

    #[test]
    fn emails_are_lowercased_and_checked() {
        assert_eq!(
            Email::parse(" Ann@Example.COM ").unwrap().as_str(),
            "ann@example.com"
        );
        for bad in [
            "",
            "ann",
            "@x.org",
            "ann@",
            "a b@x.org",
            "ann@x@y",
            "ann@.x",
        ] {
            assert!(Email::parse(bad).is_err(), "{bad} should be refused");
        }
    }

    #[test]
    fn text_refuses_empty_long_and_control_characters() {
        assert_eq!(Text::line("  hi ", 10).unwrap().as_str(), "hi");
        assert_eq!(Text::line("   ", 10), Err(TextError::Empty));
        assert_eq!(
            Text::line("abcdef", 5),
            Err(TextError::TooLong { len: 6, max: 5 })
        );
        assert_eq!(Text::line("a\nb", 5), Err(TextError::Control));
        assert!(Text::paragraph("a\nb", 5).is_ok());
    }
}

/// A password as typed: 12 to 1,024 characters. It has no `Serialize`, and `Debug` hides it,
/// so it cannot end up in a log or a response by accident.
#[derive(Clone, PartialEq, Eq)]
pub struct Password(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PasswordError {
    #[error("is {len} characters long; expected at least {min}")]
    TooShort { len: usize, min: usize },
    #[error("is longer than {max} characters")]
    TooLong { max: usize },
}

impl Password {
    pub const MIN_LEN: usize = 12;
    pub const MAX_LEN: usize = 1024;

    pub fn parse(value: &str) -> Result<Self, PasswordError> {
        let len = value.chars().count();
        if len < Self::MIN_LEN {
            return Err(PasswordError::TooShort {
                len,
                min: Self::MIN_LEN,
            });
        }
        if len > Self::MAX_LEN {
            return Err(PasswordError::TooLong { max: Self::MAX_LEN });
        }
        Ok(Self(value.to_owned()))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(***)")
    }
}
