//! Verifying a serialized bag without unzipping it.

use std::collections::{BTreeMap, HashSet};
use std::io::{self, BufRead, BufReader, ErrorKind, Read, Seek};

use sha2::{Digest, Sha256};
use zip::ZipArchive;
use zip::read::ZipFile;

use crate::{
    BAG_INFO_TXT, BAGIT_TXT, BAGIT_TXT_LINES, BUF_SIZE, BagError, MANIFEST, PAYLOAD_OXUM,
    TAG_MANIFEST, check_bag_name, check_relative_path, decode_path, hex,
};

/// What [`verify`] found in a valid bag.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedBag {
    pub bag_name: String,
    /// `bag-info.txt` in file order, including `Bagging-Date` and `Payload-Oxum`.
    pub info: Vec<(String, String)>,
    pub payload_files: u64,
    pub payload_bytes: u64,
    /// Hex SHA-256 of `tagmanifest-sha256.txt`, comparable with
    /// [`crate::BagSummary::tag_manifest_sha256`].
    pub tag_manifest_sha256: String,
}

/// Longest manifest or tag line read. Zip entry names are under 64 KiB, so a longer
/// line cannot be valid, and the cap bounds memory on hostile input.
const MAX_LINE: u64 = 128 * 1024;

/// Checks a serialized bag: one bag directory holding safe paths, `bagit.txt`, the tag
/// manifest (every tag file listed and matching), `bag-info.txt` with one well-formed
/// `Payload-Oxum`, then the payload (every manifest entry held, every payload file
/// listed, each SHA-256 in manifest order) and the oxum. Returns the first problem.
/// Entries are streamed; memory grows only with the number of files.
///
/// A digest inside a bag cannot cover zip fields that change nothing a reader extracts
/// (versions, attributes, a deflate stream's padding bits); to detect any change to the
/// file at all, keep the SHA-256 of the whole zip elsewhere.
pub fn verify<R: Read + Seek>(zip: R) -> Result<VerifiedBag, BagError> {
    let mut archive = ZipArchive::new(zip).map_err(BagError::NotZip)?;
    // Readers extract by the central directory and ignore local headers; requiring
    // both to agree makes a change in either an error.
    archive
        .validate_header_consistency()
        .map_err(BagError::zip(
            "the local headers disagree with the central directory",
        ))?;
    let bag = Layout::read(&archive)?;
    let archive = &mut archive;
    let bagit_txt = bag.tag(BAGIT_TXT)?;
    let tag_manifest_index = bag.tag(TAG_MANIFEST)?;
    let tag_manifest = read_manifest(archive, tag_manifest_index, TAG_MANIFEST, false)?;
    check_manifest(archive, &bag.tags, &tag_manifest, TAG_MANIFEST)?;
    check_bagit_txt(archive, bagit_txt)?;
    let info = read_info(archive, bag.tag(BAG_INFO_TXT)?)?;
    let stated = payload_oxum(&info)?;
    let manifest = read_manifest(archive, bag.tag(MANIFEST)?, MANIFEST, true)?;
    let payload_bytes = check_manifest(archive, &bag.payload, &manifest, MANIFEST)?;
    let payload_files = manifest.len() as u64;
    let actual = format!("{payload_bytes}.{payload_files}");
    if stated != actual {
        return Err(BagError::Oxum { stated, actual });
    }
    let (tag_manifest_sha256, _) = hash_entry(archive, tag_manifest_index, TAG_MANIFEST)?;
    let bag_name = bag.name;
    Ok(VerifiedBag {
        bag_name,
        info,
        payload_files,
        payload_bytes,
        tag_manifest_sha256,
    })
}

/// The zip's files by path relative to the bag directory (sorted, so checks that walk
/// them report in a fixed order), split into payload (`data/...`) and tag files.
struct Layout {
    name: String,
    tags: BTreeMap<String, usize>,
    payload: BTreeMap<String, usize>,
}

impl Layout {
    fn read<R: Read + Seek>(archive: &ZipArchive<R>) -> Result<Self, BagError> {
        let (mut name, mut tags, mut payload) = (None, BTreeMap::new(), BTreeMap::new());
        for index in 0..archive.len() {
            let entry = archive
                .by_index_data(index)
                .map_err(BagError::zip(format!("zip entry {index}")))?;
            let entry_name = entry
                .name()
                .map_err(BagError::zip(format!("zip entry {index}")))?;
            let Some((top, rest)) = entry_name.split_once('/') else {
                return Err(BagError::NotOneBag(format!(
                    "{entry_name} is outside any directory"
                )));
            };
            let bag: &mut String = name.get_or_insert_with(|| top.to_owned());
            if bag != top {
                return Err(BagError::NotOneBag(format!("found both {bag}/ and {top}/")));
            }
            // Unzipping would create a link where the bag promises a file.
            if entry.is_symlink() {
                return Err(BagError::structure(
                    &entry_name,
                    "expected a file, found a symbolic link",
                ));
            }
            let (path, is_dir) = rest
                .strip_suffix('/')
                .map_or((rest, rest.is_empty()), |dir| (dir, true));
            if !path.is_empty() {
                check_relative_path(path)
                    .map_err(|expected| BagError::structure(&entry_name, expected))?;
            }
            if !is_dir {
                let files = if path.starts_with("data/") {
                    &mut payload
                } else {
                    &mut tags
                };
                files.insert(path.to_owned(), index);
            }
        }
        let name = name.ok_or_else(|| BagError::NotOneBag("the zip is empty".to_owned()))?;
        check_bag_name(&name)?;
        Ok(Self {
            name,
            tags,
            payload,
        })
    }

    fn tag(&self, file: &'static str) -> Result<usize, BagError> {
        self.tags
            .get(file)
            .copied()
            .ok_or(BagError::MissingTagFile(file))
    }
}

/// Every listed path is held and every held path but the tag manifest is listed; then
/// each listed file is hashed in manifest order. Returns the bytes hashed.
fn check_manifest<R: Read + Seek>(
    archive: &mut ZipArchive<R>,
    held: &BTreeMap<String, usize>,
    listed: &[(String, String)],
    manifest: &'static str,
) -> Result<u64, BagError> {
    let mut indexed = Vec::with_capacity(listed.len());
    for (digest, path) in listed {
        let index = held.get(path).ok_or_else(|| BagError::NotHeld {
            path: path.clone(),
            manifest,
        })?;
        indexed.push((*index, digest, path));
    }
    let listed: HashSet<&str> = listed.iter().map(|(_, path)| path.as_str()).collect();
    if let Some(path) = held
        .keys()
        .find(|path| *path != TAG_MANIFEST && !listed.contains(path.as_str()))
    {
        return Err(BagError::Unlisted {
            path: path.clone(),
            manifest,
        });
    }
    let mut total = 0u64;
    for (index, expected, path) in indexed {
        let (actual, bytes) = hash_entry(archive, index, path)?;
        if actual != *expected {
            let (path, expected) = (path.clone(), expected.clone());
            return Err(BagError::Digest {
                path,
                actual,
                expected,
                manifest,
            });
        }
        total += bytes;
    }
    Ok(total)
}

fn open<'a, R: Read + Seek>(
    archive: &'a mut ZipArchive<R>,
    index: usize,
    path: &str,
) -> Result<ZipFile<'a, R>, BagError> {
    archive
        .by_index(index)
        .map_err(BagError::zip(format!("opening {path}")))
}

/// Damaged zip data surfaces from the zip crate and its decompressor as these kinds;
/// anything else is a genuine I/O failure of the underlying reader.
fn read_error(path: &str, source: io::Error) -> BagError {
    match source.kind() {
        ErrorKind::InvalidData | ErrorKind::InvalidInput | ErrorKind::UnexpectedEof => {
            BagError::Corrupt {
                entry: path.to_owned(),
                source,
            }
        }
        _ => BagError::io(format!("reading {path}"))(source),
    }
}

/// Streams one entry; returns its hex SHA-256 and length.
fn hash_entry<R: Read + Seek>(
    archive: &mut ZipArchive<R>,
    index: usize,
    path: &str,
) -> Result<(String, u64), BagError> {
    let mut file = open(archive, index, path)?;
    let declared = file.size();
    let (mut hasher, mut buf, mut total) = (Sha256::new(), vec![0; BUF_SIZE], 0u64);
    loop {
        match file.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => {
                hasher.update(&buf[..n]);
                total += n as u64;
            }
            Err(err) if err.kind() == ErrorKind::Interrupted => {}
            Err(err) => return Err(read_error(path, err)),
        }
    }
    // The zip crate stops at the declared size; a short entry must not pass either.
    if total != declared {
        let problem = format!("read {total} bytes, the zip declares {declared}");
        return Err(read_error(
            path,
            io::Error::new(ErrorKind::InvalidData, problem),
        ));
    }
    Ok((hex(&hasher.finalize()), total))
}

/// Calls `each` with every line (1-based number, without its CR/LF ending).
fn for_each_line<R: Read + Seek>(
    archive: &mut ZipArchive<R>,
    index: usize,
    file: &str,
    mut each: impl FnMut(usize, &str) -> Result<(), BagError>,
) -> Result<(), BagError> {
    let mut reader = BufReader::new(open(archive, index, file)?);
    let (mut buf, mut line) = (Vec::new(), 0);
    loop {
        line += 1;
        buf.clear();
        let limited = &mut (&mut reader).take(MAX_LINE);
        let n = limited
            .read_until(b'\n', &mut buf)
            .map_err(|e| read_error(file, e))?;
        if n == 0 {
            return Ok(());
        }
        if n as u64 == MAX_LINE && buf.last() != Some(&b'\n') {
            return Err(BagError::malformed(
                file,
                line,
                "expected a line shorter than 128 KiB",
            ));
        }
        let text = std::str::from_utf8(&buf)
            .map_err(|_| BagError::malformed(file, line, "expected UTF-8"))?;
        let text = text.strip_suffix('\n').unwrap_or(text);
        each(line, text.strip_suffix('\r').unwrap_or(text))?;
    }
}

/// Parses `<sha256> <path>` lines into (lower-case digest, decoded path).
fn read_manifest<R: Read + Seek>(
    archive: &mut ZipArchive<R>,
    index: usize,
    file: &'static str,
    payload: bool,
) -> Result<Vec<(String, String)>, BagError> {
    let (mut entries, mut seen) = (Vec::new(), HashSet::new());
    for_each_line(archive, index, file, |line, text| {
        let malformed = |problem: String| BagError::malformed(file, line, problem);
        let Some((digest, path)) = text.split_once([' ', '\t']) else {
            return Err(malformed("expected `<sha256>  <path>`".to_owned()));
        };
        if digest.len() != 64 || !digest.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(malformed(format!(
                "expected a 64-digit hex sha256, found {digest:?}"
            )));
        }
        let path = decode_path(path.trim_start_matches([' ', '\t']));
        if path.starts_with("data/") != payload {
            let expected = if payload {
                "a path under data/"
            } else {
                "a tag file, not a path under data/"
            };
            return Err(malformed(format!("expected {expected}, found {path:?}")));
        }
        if !seen.insert(path.clone()) {
            return Err(malformed(format!("{path} is listed a second time")));
        }
        entries.push((digest.to_ascii_lowercase(), path));
        Ok(())
    })?;
    Ok(entries)
}

fn check_bagit_txt<R: Read + Seek>(
    archive: &mut ZipArchive<R>,
    index: usize,
) -> Result<(), BagError> {
    let mut lines = Vec::new();
    for_each_line(archive, index, BAGIT_TXT, |_, text| {
        // One line more than expected is enough to show the difference.
        if lines.len() <= BAGIT_TXT_LINES.len() {
            lines.push(text.to_owned());
        }
        Ok(())
    })?;
    if lines != BAGIT_TXT_LINES {
        return Err(BagError::structure(
            BAGIT_TXT,
            format!("expected {BAGIT_TXT_LINES:?}, found {lines:?}"),
        ));
    }
    Ok(())
}

/// `Label: value` lines; a line starting with whitespace continues the previous value
/// (RFC 8493 section 2.2.2).
fn read_info<R: Read + Seek>(
    archive: &mut ZipArchive<R>,
    index: usize,
) -> Result<Vec<(String, String)>, BagError> {
    let mut info: Vec<(String, String)> = Vec::new();
    for_each_line(archive, index, BAG_INFO_TXT, |line, text| {
        let malformed = |problem| BagError::malformed(BAG_INFO_TXT, line, problem);
        if text.starts_with([' ', '\t']) {
            let (_, value) = info
                .last_mut()
                .ok_or_else(|| malformed("expected a label before a continuation line"))?;
            value.push(' ');
            value.push_str(text.trim());
        } else {
            let (label, value) = text
                .split_once(':')
                .ok_or_else(|| malformed("expected `Label: value`"))?;
            info.push((label.trim().to_owned(), value.trim().to_owned()));
        }
        Ok(())
    })?;
    Ok(info)
}

/// The single `Payload-Oxum`, checked to be `<bytes>.<files>`.
fn payload_oxum(info: &[(String, String)]) -> Result<String, BagError> {
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    let mut values = info
        .iter()
        .filter(|(label, _)| label == PAYLOAD_OXUM)
        .map(|(_, value)| value);
    let problem = match (values.next(), values.next()) {
        (Some(value), None)
            if value
                .split_once('.')
                .is_some_and(|(b, f)| digits(b) && digits(f)) =>
        {
            return Ok(value.clone());
        }
        (Some(value), None) => format!("expected Payload-Oxum as <bytes>.<files>, found {value:?}"),
        (None, _) => "expected a Payload-Oxum".to_owned(),
        (Some(_), Some(_)) => "expected one Payload-Oxum, found several".to_owned(),
    };
    Err(BagError::structure(BAG_INFO_TXT, problem))
}
