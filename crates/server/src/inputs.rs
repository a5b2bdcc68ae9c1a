//! Parsing what a request carries (path segments, fields of a body or a form) into domain
//! types, naming the field at fault: shared by the JSON API and the pages, so both accept and
//! refuse the same input with the same message.

use engine::fields::{FileName, Reason};
use engine::ids::{Slug, SubjectKey};
use jiff::civil::Date;

use crate::error::ApiError;
use crate::extract::segment;

pub(crate) fn key(value: &str) -> Result<SubjectKey, ApiError> {
    segment(value, "subject", SubjectKey::parse)
}

pub(crate) fn case_number(value: &str) -> Result<i64, ApiError> {
    number(value, "case")
}

/// A record's number within its subject, as a path names it.
pub(crate) fn record_number(value: &str) -> Result<i64, ApiError> {
    number(value, "record")
}

/// A case's or a record's number: 1 or more, as the document states (`docs::document_forms`).
fn number(value: &str, what: &str) -> Result<i64, ApiError> {
    segment(value, what, |v| {
        v.parse::<i64>().map_err(|e| e.to_string()).and_then(|n| {
            if n > 0 {
                Ok(n)
            } else {
                Err("not positive".into())
            }
        })
    })
}

pub(crate) fn slug(value: &str, what: &str) -> Result<Slug, ApiError> {
    segment(value, what, Slug::parse)
}

/// A file's name as uploaded: one line, no directory (`engine::fields::FileName`).
pub(crate) fn file_name(name_field: &str, value: &str) -> Result<String, ApiError> {
    Ok(field(name_field, FileName::parse(value))?.into_string())
}

/// Validates one field of a body into a domain type, naming the field when it fails.
pub(crate) fn field<T, E: std::fmt::Display>(
    name: &str,
    result: Result<T, E>,
) -> Result<T, ApiError> {
    result.map_err(|e| ApiError::invalid(name, format!("{name}: {e}")))
}

/// Checks a search text: blank means no search.
pub(crate) fn search(text: Option<&str>) -> Result<Option<String>, ApiError> {
    match text.map(str::trim) {
        None | Some("") => Ok(None),
        Some(t) if t.chars().count() > 200 => Err(ApiError::invalid(
            "search",
            "search must be at most 200 characters",
        )),
        Some(t) => Ok(Some(t.to_owned())),
    }
}

/// A reason given in a field named `reason`.
pub(crate) fn reason(text: &str) -> Result<Reason, ApiError> {
    field("reason", Reason::parse(text))
}

pub(crate) fn exit_date(text: &str) -> Result<Date, ApiError> {
    text.parse::<Date>()
        .ok()
        .filter(|_| text.len() == 10)
        .ok_or_else(|| {
            ApiError::invalid(
                "exit_date",
                format!("exit_date `{text}` is not a date; expected YYYY-MM-DD"),
            )
        })
}
