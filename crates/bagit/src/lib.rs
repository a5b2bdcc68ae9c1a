//! BagIt (RFC 8493, version 1.0) packages serialized as a single zip file.
//!
//! Exeunt exports everything a departing client has as one bag. The bag must be
//! checkable by a third party with stock tools (`unzip` then `bagit.py --validate`)
//! and by Exeunt itself without unzipping ([`verify`]).
//!
//! Format decisions:
//! - Every entry lives under one top-level directory named after the bag, because
//!   that is what unzipping must produce for `bagit.py` to find `bagit.txt`.
//! - The writer makes one streaming pass: payload is hashed while it is copied, and
//!   the tag files that depend on it (`bag-info.txt` with `Payload-Oxum`,
//!   `manifest-sha256.txt`, `tagmanifest-sha256.txt`) are written last. Memory grows
//!   with the number of payload files (manifest lines), never with their size.
//! - Only SHA-256 manifests are written; they are what RFC 8493 recommends and what
//!   [`verify`] checks.
//! - Already-compressed formats are stored, and so is any file whose first 64 KiB do not
//!   deflate by at least 10% (compressed or encrypted content under another name);
//!   everything else is deflated at the fastest level: exports are large and deflating a
//!   JPEG only costs time.
//! - Output is deterministic for the same inputs: entry timestamps are fixed at
//!   1980-01-01 00:00:00 (the earliest zip time; the real date is `Bagging-Date`),
//!   and permissions and the "made by" system are fixed too.
//! - Payload entries and the manifest always carry zip64 sizes (20 bytes each), because
//!   their length is unknown when the entry starts and the zip crate aborts a non-zip64
//!   entry that passes 4 GiB. The three small tag files do not. Zip64 offsets and the
//!   zip64 end of central directory are added by the zip crate whenever the archive
//!   itself passes 4 GiB or 65,535 entries.
//! - Paths in manifests are percent-encoded for `%`, CR and LF as RFC 8493 requires.
//!   `bagit.py` 1.9 decodes only CR and LF, so a payload path containing `%` makes a
//!   bag that RFC-conforming tools accept but `bagit.py` rejects.

mod verify;
mod write;

pub use verify::{VerifiedBag, verify};
pub use write::{BagSummary, BagWriter, is_compressed_name};

/// Something wrong with a bag being written or verified. Each variant names the
/// entry or input it is about.
#[derive(Debug, thiserror::Error)]
pub enum BagError {
    #[error("bag name {name:?}: {expected}")]
    BagName {
        name: String,
        expected: &'static str,
    },
    #[error("bagging date {0:?}: expected YYYY-MM-DD")]
    BaggingDate(String),
    #[error("bag-info.txt label {label:?}: {expected}")]
    Info {
        label: String,
        expected: &'static str,
    },
    #[error("payload path {path:?}: {expected}")]
    PayloadPath { path: String, expected: String },
    #[error("not a zip file: {0}")]
    NotZip(zip::result::ZipError),
    #[error("the entries are not all under one bag directory: {0}")]
    NotOneBag(String),
    #[error("{entry}: {problem}")]
    Structure { entry: String, problem: String },
    #[error("{0} is missing")]
    MissingTagFile(&'static str),
    #[error("{file} line {line}: {problem}")]
    Malformed {
        file: String,
        line: usize,
        problem: String,
    },
    #[error("{path}: sha256 is {actual}, {manifest} says {expected}")]
    Digest {
        path: String,
        actual: String,
        expected: String,
        manifest: &'static str,
    },
    #[error("{path} is not in {manifest}")]
    Unlisted {
        path: String,
        manifest: &'static str,
    },
    #[error("{manifest} lists {path}, which the bag does not hold")]
    NotHeld {
        path: String,
        manifest: &'static str,
    },
    #[error("Payload-Oxum says {stated}, the payload is {actual}")]
    Oxum { stated: String, actual: String },
    #[error("{entry} is damaged: its content does not match the zip checksum or size ({source})")]
    Corrupt {
        entry: String,
        source: std::io::Error,
    },
    #[error("{context}: {source}")]
    Io {
        context: String,
        source: std::io::Error,
    },
    #[error("{context}: {source}")]
    Zip {
        context: String,
        source: zip::result::ZipError,
    },
}

impl BagError {
    fn zip(context: impl Into<String>) -> impl FnOnce(zip::result::ZipError) -> Self {
        let context = context.into();
        move |source| Self::Zip { context, source }
    }

    fn io(context: impl Into<String>) -> impl FnOnce(std::io::Error) -> Self {
        let context = context.into();
        move |source| Self::Io { context, source }
    }

    fn structure(entry: &str, problem: impl Into<String>) -> Self {
        Self::Structure {
            entry: entry.to_owned(),
            problem: problem.into(),
        }
    }

    fn malformed(file: &str, line: usize, problem: impl Into<String>) -> Self {
        Self::Malformed {
            file: file.to_owned(),
            line,
            problem: problem.into(),
        }
    }
}

const BAGIT_TXT: &str = "bagit.txt";
const BAG_INFO_TXT: &str = "bag-info.txt";
const MANIFEST: &str = "manifest-sha256.txt";
const TAG_MANIFEST: &str = "tagmanifest-sha256.txt";
const BAGIT_TXT_LINES: [&str; 2] = ["BagIt-Version: 1.0", "Tag-File-Character-Encoding: UTF-8"];
const PAYLOAD_OXUM: &str = "Payload-Oxum";
const BAGGING_DATE: &str = "Bagging-Date";
/// Copy buffer size: large enough for throughput, small enough to keep memory flat.
const BUF_SIZE: usize = 64 * 1024;

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// RFC 8493 section 2.1.3: `%` first, so the escapes added for CR and LF stay intact.
fn encode_path(path: &str) -> String {
    path.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// The inverse of [`encode_path`]: every `%` it wrote starts an escape, so CR and LF
/// can be decoded before `%25` without misreading an escaped `%0A`. Any other `%` is
/// kept literally, which is how bags from tools that do not escape `%` read.
fn decode_path(path: &str) -> String {
    [
        ("%0D", "\r"),
        ("%0d", "\r"),
        ("%0A", "\n"),
        ("%0a", "\n"),
        ("%25", "%"),
    ]
    .iter()
    .fold(path.to_owned(), |path, (escape, c)| path.replace(escape, c))
}

/// Checks a `/`-separated relative path; returns what was expected if it is not one.
/// Shared by the writer (payload paths) and the verifier (entry names), so that
/// nothing either accepts can escape the bag directory when unzipped.
fn check_relative_path(path: &str) -> Result<(), &'static str> {
    if path.is_empty() {
        Err("expected a non-empty relative path")
    } else if path.starts_with('/') {
        Err("expected a relative path, not one starting with /")
    } else if path.contains('\\') {
        Err("expected / as the only separator, found a backslash")
    } else if path.contains('\0') {
        Err("expected no NUL characters")
    } else if path.split('/').any(str::is_empty) {
        Err("expected no empty segments (// or a trailing /)")
    } else if path.split('/').any(|s| s == "." || s == "..") {
        Err("expected no . or .. segments")
    } else {
        Ok(())
    }
}

fn check_bag_name(name: &str) -> Result<(), BagError> {
    let expected = if name.contains('/') {
        "expected a single directory name, without /"
    } else if name.chars().any(char::is_control) {
        "expected no control characters"
    } else {
        match check_relative_path(name) {
            Ok(()) => return Ok(()),
            Err(expected) => expected,
        }
    };
    Err(BagError::BagName {
        name: name.to_owned(),
        expected,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percent_encoding_round_trips() {
        let path = "data/100% a\r\nb%0A.txt";
        let encoded = encode_path(path);
        assert_eq!(encoded, "data/100%25 a%0D%0Ab%250A.txt");
        assert_eq!(decode_path(&encoded), path);
        assert_eq!(decode_path("data/50%off%0a%250D"), "data/50%off\n%0D");
    }

    #[test]
    fn hex_is_lower_case() {
        assert_eq!(hex(&[0x00, 0xab, 0xff]), "00abff");
    }
}
