//! Writing a bag in one streaming pass.

use std::collections::HashMap;
use std::io::{ErrorKind, Read, Seek, Write};

use sha2::{Digest, Sha256};
use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, DateTime, System, ZipWriter};

use crate::{
    BAG_INFO_TXT, BAGGING_DATE, BAGIT_TXT, BAGIT_TXT_LINES, BUF_SIZE, BagError, MANIFEST,
    PAYLOAD_OXUM, TAG_MANIFEST, check_bag_name, check_relative_path, encode_path, hex,
};

/// Extensions (lower case) of formats that are already compressed. Deflating them
/// again saves next to nothing and costs CPU on multi-gigabyte exports, so they are
/// stored. PDF and the office/epub/jar/apk formats are zip or deflate inside.
const COMPRESSED_EXTENSIONS: &[&str] = &[
    "zip", "gz", "tgz", "bz2", "tbz2", "xz", "txz", "zst", "lz4", "br", "7z", "rar", "jpg", "jpeg",
    "png", "gif", "webp", "heic", "avif", "mp3", "m4a", "aac", "ogg", "opus", "flac", "mp4", "m4v",
    "mov", "avi", "mkv", "webm", "pdf", "docx", "xlsx", "pptx", "odt", "ods", "odp", "epub", "jar",
    "apk",
];

/// The fastest deflate level: exports are large and mostly bounded by I/O.
const DEFLATE_LEVEL: i64 = 1;

/// How much of a file's start is test-deflated to decide whether deflating it pays.
const SAMPLE: usize = 64 * 1024;

/// Deflating must save at least this share of the sample, or the file is stored: content that
/// is already compressed or encrypted under any name (a `.bin`, a `.dat`) would otherwise cost
/// the deflate's CPU for nothing, as Info-ZIP's `zip` also finds out (after the fact).
const WORTHWHILE_SAVING: f64 = 0.10;

/// Whether deflating `sample` (the start of a file) shrinks it enough to be worth it.
fn deflate_pays(sample: &[u8]) -> bool {
    // Small files cost next to nothing either way; the test would cost more than it saves.
    if sample.len() < 4096 {
        return true;
    }
    let mut encoder = flate2::write::DeflateEncoder::new(
        Vec::with_capacity(sample.len()),
        flate2::Compression::fast(),
    );
    let Ok(compressed) = encoder.write_all(sample).and_then(|()| encoder.finish()) else {
        return true;
    };
    (compressed.len() as f64) < sample.len() as f64 * (1.0 - WORTHWHILE_SAVING)
}

/// Reads up to `SAMPLE` bytes (fewer only at the end of the content).
fn read_sample(content: &mut dyn Read, path: &str) -> Result<Vec<u8>, BagError> {
    let mut sample = Vec::with_capacity(SAMPLE);
    content
        .take(SAMPLE as u64)
        .read_to_end(&mut sample)
        .map_err(BagError::io(format!("reading data/{path}")))?;
    Ok(sample)
}

/// Whether `path`'s extension (case-insensitive) names an already-compressed format,
/// which the writer stores instead of deflating.
pub fn is_compressed_name(path: &str) -> bool {
    let file = path.rsplit('/').next().unwrap_or(path);
    file.rsplit_once('.').is_some_and(|(stem, ext)| {
        !stem.is_empty()
            && COMPRESSED_EXTENSIONS
                .iter()
                .any(|c| c.eq_ignore_ascii_case(ext))
    })
}

/// Fixed metadata so the same inputs give the same bytes.
fn entry_options(method: CompressionMethod, large_file: bool) -> SimpleFileOptions {
    let level = (method == CompressionMethod::Deflated).then_some(DEFLATE_LEVEL);
    SimpleFileOptions::DEFAULT
        .compression_method(method)
        .compression_level(level)
        .last_modified_time(DateTime::DEFAULT)
        .system(System::Unix)
        .unix_permissions(0o644)
        .large_file(large_file)
}

/// What [`BagWriter::finish`] wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BagSummary {
    pub payload_bytes: u64,
    pub payload_files: u64,
    /// Hex SHA-256 of `tagmanifest-sha256.txt`. It transitively covers every tag and
    /// payload file, so it identifies the bag's content in one value.
    pub tag_manifest_sha256: String,
}

/// Writes a bag into a zip. Call [`BagWriter::add_payload`] per file, then
/// [`BagWriter::finish`]; a writer dropped without `finish` leaves a zip without
/// manifests, which [`crate::verify`] rejects.
pub struct BagWriter<W: Write + Seek> {
    zip: ZipWriter<W>,
    bag_name: String,
    bagging_date: String,
    info: Vec<(String, String)>,
    bagit_txt_sha256: String,
    /// (hex sha256, path relative to the bag) in the order added.
    manifest: Vec<(String, String)>,
    /// Payload paths (`true`) and their ancestor directories (`false`), so a path is
    /// neither added twice nor used as both a file and a directory.
    taken: HashMap<String, bool>,
    payload_bytes: u64,
}

impl<W: Write + Seek> BagWriter<W> {
    /// Starts a bag named `bag_name` (the top-level directory in the zip).
    /// `bagging_date` is `YYYY-MM-DD`; `info` becomes `bag-info.txt` in the order given,
    /// followed by `Bagging-Date` and `Payload-Oxum`, which the writer computes.
    pub fn new(
        out: W,
        bag_name: &str,
        bagging_date: &str,
        info: Vec<(String, String)>,
    ) -> Result<Self, BagError> {
        check_bag_name(bag_name)?;
        check_date(bagging_date)?;
        for (label, value) in &info {
            check_info(label, value)?;
        }
        let mut zip = ZipWriter::new(out);
        let bagit_lines = BAGIT_TXT_LINES.map(String::from);
        let bagit_txt_sha256 = write_tag(&mut zip, bag_name, BAGIT_TXT, bagit_lines, false)?;
        // Explicit, so an empty bag still unzips with the data/ directory bagit.py requires.
        let data_dir = format!("{bag_name}/data/");
        let dir_options = entry_options(CompressionMethod::Stored, false).unix_permissions(0o755);
        zip.add_directory(data_dir.as_str(), dir_options)
            .map_err(BagError::zip(format!("writing {data_dir}")))?;
        Ok(Self {
            zip,
            bag_name: bag_name.to_owned(),
            bagging_date: bagging_date.to_owned(),
            info,
            bagit_txt_sha256,
            manifest: Vec::new(),
            taken: HashMap::new(),
            payload_bytes: 0,
        })
    }

    /// Streams `content` into `data/<path>` while hashing it, with a fixed-size buffer.
    /// `path` is relative to `data/` and `/`-separated. Returns the bytes copied.
    /// If reading or writing fails the entry is removed again, so the writer stays usable.
    pub fn add_payload(&mut self, path: &str, content: &mut dyn Read) -> Result<u64, BagError> {
        self.claim(path)?;
        let entry = format!("{}/data/{path}", self.bag_name);
        let sample = read_sample(content, path)?;
        let method = if is_compressed_name(path) || !deflate_pays(&sample) {
            CompressionMethod::Stored
        } else {
            CompressionMethod::Deflated
        };
        // Zip64 sizes always: the length is unknown until the reader ends, and the zip
        // crate aborts a non-zip64 entry that passes 4 GiB.
        self.zip
            .start_file(entry.as_str(), entry_options(method, true))
            .map_err(BagError::zip(format!("writing {entry}")))?;
        let (digest, bytes) = match copy_hashing(&sample, content, &mut self.zip, path, &entry) {
            Ok(done) => done,
            Err(err) => {
                // The copy error is what the caller needs; if abort_file fails too, the
                // zip writer is broken and its next use reports that.
                let _ = self.zip.abort_file();
                return Err(err);
            }
        };
        self.taken
            .extend(ancestors(path).map(|dir| (dir.to_owned(), false)));
        self.taken.insert(path.to_owned(), true);
        self.manifest.push((digest, format!("data/{path}")));
        self.payload_bytes += bytes;
        Ok(bytes)
    }

    /// Writes `bag-info.txt`, `manifest-sha256.txt` and `tagmanifest-sha256.txt`, then
    /// the zip central directory. Returns the output and a summary.
    pub fn finish(mut self) -> Result<(W, BagSummary), BagError> {
        let payload_files = self.manifest.len() as u64;
        let oxum = format!("{}.{payload_files}", self.payload_bytes);
        let computed = [
            (BAGGING_DATE, self.bagging_date.as_str()),
            (PAYLOAD_OXUM, &oxum),
        ];
        let info_lines = self
            .info
            .iter()
            .map(|(l, v)| (l.as_str(), v.as_str()))
            .chain(computed)
            .map(|(label, value)| format!("{label}: {value}"));
        let bag = self.bag_name.as_str();
        let bag_info = write_tag(&mut self.zip, bag, BAG_INFO_TXT, info_lines, false)?;
        let manifest_lines = self
            .manifest
            .iter()
            .map(|(digest, path)| format!("{digest}  {}", encode_path(path)));
        // Zip64 sizes: the manifest grows with the file count and is not measured first.
        let manifest = write_tag(&mut self.zip, bag, MANIFEST, manifest_lines, true)?;
        let tag_lines = [
            (BAGIT_TXT, &self.bagit_txt_sha256),
            (BAG_INFO_TXT, &bag_info),
            (MANIFEST, &manifest),
        ]
        .map(|(name, digest)| format!("{digest}  {name}"));
        let tag_manifest_sha256 = write_tag(&mut self.zip, bag, TAG_MANIFEST, tag_lines, false)?;
        let out = self
            .zip
            .finish()
            .map_err(BagError::zip("writing the zip central directory"))?;
        let payload_bytes = self.payload_bytes;
        Ok((
            out,
            BagSummary {
                payload_bytes,
                payload_files,
                tag_manifest_sha256,
            },
        ))
    }

    /// Rejects a path that is malformed or collides with one already added.
    fn claim(&self, path: &str) -> Result<(), BagError> {
        let expected = check_relative_path(path)
            .map_err(str::to_owned)
            .and_then(|()| match self.taken.get(path) {
                Some(true) => Err("expected a path not already in the bag".to_owned()),
                Some(false) => {
                    Err("expected a file, but it is a directory of another payload file".to_owned())
                }
                None => match ancestors(path).find(|dir| self.taken.get(*dir) == Some(&true)) {
                    Some(file) => Err(format!(
                        "expected {file} to be a directory, but it is a payload file"
                    )),
                    None => Ok(()),
                },
            });
        expected.map_err(|expected| BagError::PayloadPath {
            path: path.to_owned(),
            expected,
        })
    }
}

/// `a/b/c` yields `a/b` and `a`.
fn ancestors(path: &str) -> impl Iterator<Item = &str> {
    path.char_indices()
        .filter(|(_, c)| *c == '/')
        .map(|(at, _)| &path[..at])
}

fn copy_hashing(
    already_read: &[u8],
    content: &mut dyn Read,
    zip: &mut impl Write,
    path: &str,
    entry: &str,
) -> Result<(String, u64), BagError> {
    let mut hasher = Sha256::new();
    hasher.update(already_read);
    zip.write_all(already_read)
        .map_err(BagError::io(format!("writing {entry}")))?;
    let mut buf = vec![0; BUF_SIZE];
    let mut total = already_read.len() as u64;
    loop {
        let n = match content.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(err) if err.kind() == ErrorKind::Interrupted => continue,
            Err(err) => Err(err).map_err(BagError::io(format!("reading data/{path}")))?,
        };
        hasher.update(&buf[..n]);
        zip.write_all(&buf[..n])
            .map_err(BagError::io(format!("writing {entry}")))?;
        total += n as u64;
    }
    Ok((hex(&hasher.finalize()), total))
}

/// Writes a tag file line by line (LF endings) and returns its hex SHA-256.
fn write_tag<W: Write + Seek>(
    zip: &mut ZipWriter<W>,
    bag: &str,
    name: &str,
    lines: impl IntoIterator<Item = String>,
    large_file: bool,
) -> Result<String, BagError> {
    let entry = format!("{bag}/{name}");
    let options = entry_options(CompressionMethod::Deflated, large_file);
    zip.start_file(entry.as_str(), options)
        .map_err(BagError::zip(format!("writing {entry}")))?;
    let mut hasher = Sha256::new();
    for mut line in lines {
        line.push('\n');
        hasher.update(line.as_bytes());
        zip.write_all(line.as_bytes())
            .map_err(BagError::io(format!("writing {entry}")))?;
    }
    Ok(hex(&hasher.finalize()))
}

fn check_date(date: &str) -> Result<(), BagError> {
    let shaped = date.len() == 10
        && (date.bytes().enumerate()).all(|(at, b)| {
            if at == 4 || at == 7 {
                b == b'-'
            } else {
                b.is_ascii_digit()
            }
        });
    let field = |at: usize| date.get(at..at + 2).and_then(|f| f.parse::<u8>().ok());
    if shaped
        && field(5).is_some_and(|m| (1..=12).contains(&m))
        && field(8).is_some_and(|d| (1..=31).contains(&d))
    {
        Ok(())
    } else {
        Err(BagError::BaggingDate(date.to_owned()))
    }
}

fn check_info(label: &str, value: &str) -> Result<(), BagError> {
    let expected = if label.is_empty() {
        "expected a non-empty label"
    } else if label.contains(':') {
        "expected a label without a colon"
    } else if label.contains(['\r', '\n']) || value.contains(['\r', '\n']) {
        "expected a single-line label and value"
    } else if label.trim() != label {
        "expected no leading or trailing whitespace in the label"
    } else if label.eq_ignore_ascii_case(PAYLOAD_OXUM) || label.eq_ignore_ascii_case(BAGGING_DATE) {
        "expected a label other than Payload-Oxum and Bagging-Date, which the writer computes"
    } else {
        return Ok(());
    };
    Err(BagError::Info {
        label: label.to_owned(),
        expected,
    })
}
