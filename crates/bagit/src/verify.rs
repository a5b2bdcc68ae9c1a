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
    let archive = ZipArchive::new(zip).map_err(BagError::NotZip)?;
    let mut archive = check_local_headers(archive)?;
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

/// The zip version a bag's entries may need: 4.5, for Zip64. Info-ZIP's `unzip` refuses an
/// entry that asks for more than it can do, which the zip crate does not look at.
const MAX_VERSION_NEEDED: u16 = 45;

/// What the zip crate does not compare between an entry's local header and its central
/// directory record, but other readers act on (found by flipping every byte of a bag and
/// extracting it with Info-ZIP's `unzip`): the version needed to extract, the same in both and
/// no more than [`MAX_VERSION_NEEDED`]; and the local extra field, a well-formed run of (id,
/// size, data) records ending exactly where the header says (the zip crate passes over a record
/// that overruns the field, where `unzip` takes the entry's sizes from it).
fn check_local_headers<R: Read + Seek>(
    mut archive: ZipArchive<R>,
) -> Result<ZipArchive<R>, BagError> {
    let mut headers = Vec::with_capacity(archive.len());
    for index in 0..archive.len() {
        let entry = archive
            .by_index_raw(index)
            .map_err(BagError::zip(format!("zip entry {index}")))?;
        let name = entry.name().map(|n| n.into_owned()).unwrap_or_default();
        headers.push((name, entry.header_start(), entry.central_header_start()));
    }
    let mut reader = archive.into_inner();
    let mut central_ends = Vec::with_capacity(headers.len());
    for (name, start, central_start) in &headers {
        let read_error = |e| BagError::io(format!("reading the headers of {name}"))(e);
        let mut central = [0u8; 46];
        reader
            .seek(io::SeekFrom::Start(*central_start))
            .map_err(read_error)?;
        reader.read_exact(&mut central).map_err(read_error)?;
        let central_version = u16::from_le_bytes([central[6], central[7]]);
        check_unix_mode(name, central[5], &central[38..42])?;
        let [name_len, extra_len, comment_len] =
            [28, 30, 32].map(|at| u64::from(u16::from_le_bytes([central[at], central[at + 1]])));
        reader
            .seek(io::SeekFrom::Current(name_len as i64))
            .map_err(read_error)?;
        let mut extra = vec![0u8; extra_len as usize];
        reader.read_exact(&mut extra).map_err(read_error)?;
        check_extra_field(name, "central directory record", &extra)?;
        central_ends.push((
            *central_start,
            central_start + 46 + name_len + extra_len + comment_len,
        ));
        let mut fixed = [0u8; 30];
        reader
            .seek(io::SeekFrom::Start(*start))
            .map_err(read_error)?;
        reader.read_exact(&mut fixed).map_err(read_error)?;
        let local_version = u16::from_le_bytes([fixed[4], fixed[5]]);
        if local_version != central_version || local_version > MAX_VERSION_NEEDED {
            return Err(BagError::structure(
                name,
                format!(
                    "needs zip version {local_version} by its local header and \
                     {central_version} by the central directory; expected the same, at most \
                     {MAX_VERSION_NEEDED}"
                ),
            ));
        }
        let name_len = u16::from_le_bytes([fixed[26], fixed[27]]);
        let extra_len = usize::from(u16::from_le_bytes([fixed[28], fixed[29]]));
        reader
            .seek(io::SeekFrom::Current(i64::from(name_len)))
            .map_err(read_error)?;
        let mut extra = vec![0u8; extra_len];
        reader.read_exact(&mut extra).map_err(read_error)?;
        check_extra_field(name, "local header", &extra)?;
    }
    // The central directory's records follow one another without a gap, and its end record
    // follows the last: a reader that walks them (as `unzip` does) finds what this one found.
    central_ends.sort_unstable();
    for pair in central_ends.windows(2) {
        if pair[0].1 != pair[1].0 {
            return Err(BagError::NotOneBag(
                "the central directory's records do not follow one another".to_owned(),
            ));
        }
    }
    if let (Some((first, _)), Some((_, end))) = (central_ends.first(), central_ends.last()) {
        let (offset, size) = stated_central_directory(&mut reader)?;
        if (offset, offset + size) != (*first, *end) {
            return Err(BagError::NotOneBag(format!(
                "the end record puts the central directory at {offset} for {size} bytes; its \
                 records are at {first} to {end}"
            )));
        }
    }
    reader.rewind().map_err(BagError::io("rewinding the zip"))?;
    ZipArchive::new(reader).map_err(BagError::NotZip)
}

/// Where the end record (a bag has no zip comment, so it is the last 22 bytes), or the Zip64
/// end record it points to, says the central directory is: its offset and size.
fn stated_central_directory<R: Read + Seek>(reader: &mut R) -> Result<(u64, u64), BagError> {
    let io_error = BagError::io("reading the zip's end record");
    let read_at = |reader: &mut R, from: io::SeekFrom, buf: &mut [u8]| {
        reader.seek(from).and_then(|_| reader.read_exact(buf))
    };
    let mut end = [0u8; 22];
    read_at(reader, io::SeekFrom::End(-22), &mut end).map_err(io_error)?;
    if &end[..4] != b"PK\x05\x06" {
        return Err(BagError::NotOneBag(
            "the zip does not end with its end record".to_owned(),
        ));
    }
    let size = u32::from_le_bytes([end[12], end[13], end[14], end[15]]);
    let offset = u32::from_le_bytes([end[16], end[17], end[18], end[19]]);
    if size != u32::MAX && offset != u32::MAX {
        return Ok((u64::from(offset), u64::from(size)));
    }
    let io_error = BagError::io("reading the zip's Zip64 end record");
    let mut locator = [0u8; 20];
    read_at(reader, io::SeekFrom::End(-42), &mut locator).map_err(io_error)?;
    let at = u64::from_le_bytes(locator[8..16].try_into().unwrap_or_default());
    let mut zip64 = [0u8; 56];
    read_at(reader, io::SeekFrom::Start(at), &mut zip64)
        .map_err(BagError::io("reading the zip's Zip64 end record"))?;
    let size = u64::from_le_bytes(zip64[40..48].try_into().unwrap_or_default());
    let offset = u64::from_le_bytes(zip64[48..56].try_into().unwrap_or_default());
    Ok((offset, size))
}

/// An extra field is a run of (id, size, data) records that ends exactly at its end.
fn check_extra_field(name: &str, header: &str, extra: &[u8]) -> Result<(), BagError> {
    let mut at = 0;
    while at < extra.len() {
        let Some(size) = extra.get(at + 2..at + 4) else {
            return Err(BagError::structure(
                name,
                format!("its {header}'s extra field is cut short"),
            ));
        };
        at += 4 + usize::from(u16::from_le_bytes([size[0], size[1]]));
        if at > extra.len() {
            return Err(BagError::structure(
                name,
                format!("its {header}'s extra field holds a record longer than the field"),
            ));
        }
    }
    Ok(())
}

/// The permissions `unzip` gives what it extracts, from the central directory: a bag's entries
/// are made on Unix, files `rw-r--r--` and directories `rwxr-xr-x`, as the writer makes them,
/// so that no change to these bytes makes an extracted file executable or writable by others.
fn check_unix_mode(name: &str, host: u8, attributes: &[u8]) -> Result<(), BagError> {
    const UNIX: u8 = 3;
    let mode =
        u32::from_le_bytes([attributes[0], attributes[1], attributes[2], attributes[3]]) >> 16;
    let expected = if name.ends_with('/') {
        0o040_755
    } else {
        0o100_644
    };
    if host != UNIX || mode != expected {
        return Err(BagError::structure(
            name,
            format!(
                "has permissions {mode:o} from host system {host}; expected {expected:o} from \
                 Unix, as a bag is written"
            ),
        ));
    }
    Ok(())
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
