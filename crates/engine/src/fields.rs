//! The free text people type into Exeunt, one type per field, each with its own limit. Each
//! type is built only by its parser, and every interface (the CLI's flags, the API's bodies,
//! the pages' forms) parses through that one parser, so the same text is accepted or refused
//! alike everywhere, with the same message; a use case that takes one need not check it again.

use std::fmt;
use std::str::FromStr;

use crate::ids::{Text, TextError};

/// Declares a text field: its type, whether it is one line or may span several, and the
/// most characters it holds.
macro_rules! text_field {
    ($($(#[$doc:meta])* $name:ident: $shape:ident, $max:expr;)+) => {$(
        $(#[$doc])*
        #[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
        #[serde(transparent)]
        pub struct $name(Text);

        impl $name {
            /// The most characters it holds.
            pub const MAX: usize = $max;

            /// Trims the text and refuses it when empty, longer than [`Self::MAX`]
            /// characters, or holding control characters (a line break only where the field
            /// is one line).
            pub fn parse(value: &str) -> Result<Self, TextError> {
                Text::$shape(value, Self::MAX).map(Self)
            }

            /// Like [`Self::parse`], but blank text means none was given: how an empty form
            /// field and an empty string for an optional field read, on every interface.
            pub fn parse_optional(value: &str) -> Result<Option<Self>, TextError> {
                if value.trim().is_empty() {
                    return Ok(None);
                }
                Self::parse(value).map(Some)
            }

            pub fn as_str(&self) -> &str {
                self.0.as_str()
            }
        }

        impl FromStr for $name {
            type Err = TextError;

            fn from_str(value: &str) -> Result<Self, TextError> {
                Self::parse(value)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl From<$name> for Text {
            fn from(value: $name) -> Text {
                value.0
            }
        }
    )+};
}

text_field! {
    /// Why: a case is cancelled; a task, a finding or the client's acknowledgement is waived;
    /// a legal hold is placed or lifted.
    Reason: paragraph, 2000;
    /// What a person notes when they complete a task.
    TaskNote: paragraph, 4000;
    /// What a person notes when they move a revocation item on by hand.
    RevocationNote: paragraph, 2000;
    /// A person's name.
    PersonName: line, 200;
    /// A tenant's name: the firm's.
    TenantName: line, 200;
    /// An API token's name, which says what it is for.
    TokenName: line, 200;
}

/// The field a deserializer's message names as unknown or missing (serde words these the
/// same for every format): how a refusal names the field at fault rather than the body.
pub fn field_named_in(message: &str) -> Option<&str> {
    ["unknown field `", "missing field `"]
        .iter()
        .find_map(|prefix| message.strip_prefix(prefix))
        .and_then(|rest| rest.split_once('`'))
        .map(|(name, _)| name)
}

/// A file's name as people give it (an upload, evidence): one line of at most 255
/// characters, without a directory, and not `.` or `..`, which name directories wherever the
/// file is saved.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileName(Text);

/// Why a file name is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FileNameError {
    #[error("{0}")]
    Text(#[from] TextError),
    #[error("is a path; expected a file name without a directory")]
    Directory,
}

impl FileName {
    pub const MAX: usize = 255;

    pub fn parse(value: &str) -> Result<Self, FileNameError> {
        let name = Text::line(value, Self::MAX)?;
        if name.as_str().contains(['/', '\\']) || matches!(name.as_str(), "." | "..") {
            return Err(FileNameError::Directory);
        }
        Ok(FileName(name))
    }

    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }

    pub fn into_string(self) -> String {
        self.0.as_str().to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_field_keeps_its_own_limit() {
        assert!(TaskNote::parse(&"n".repeat(4000)).is_ok());
        assert_eq!(
            Reason::parse(&"r".repeat(2001)),
            Err(TextError::TooLong {
                len: 2001,
                max: 2000
            })
        );
        assert_eq!(Reason::parse("  \n "), Err(TextError::Empty));
        assert!(Reason::parse("first line\nsecond line").is_ok());
        assert_eq!(PersonName::parse("Ann\nLee"), Err(TextError::Control));
        assert_eq!(
            "  Ann Lee ".parse::<PersonName>().unwrap().as_str(),
            "Ann Lee"
        );
    }

    #[test]
    fn a_file_name_names_no_directory() {
        assert_eq!(
            FileName::parse(" Vertrag Müller.pdf ").unwrap().as_str(),
            "Vertrag Müller.pdf"
        );
        for refused in [".", "..", "a/b", "..\\x", "dir/"] {
            assert_eq!(
                FileName::parse(refused),
                Err(FileNameError::Directory),
                "{refused}"
            );
        }
        assert!(
            FileName::parse("...").is_ok(),
            "three dots name no directory"
        );
        assert_eq!(
            FileName::parse(""),
            Err(FileNameError::Text(TextError::Empty))
        );
    }
}
