//! Writes bags, reads them back with the zip crate, tampers with them, and checks that
//! `verify` (and, when installed, `bagit.py`) agrees.

use std::io::{self, Cursor, Read, Write};
use std::process::Command;

use exeunt_bagit::{BagError, BagSummary, BagWriter, VerifiedBag, is_compressed_name, verify};
use sha2::{Digest, Sha256};
use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, ZipArchive, ZipWriter};

const BAG: &str = "acme-export";
const NOTES: &[u8] = b"id,note\n1,first\n2,second with more text text text text\n";
const README: &[u8] = b"This export holds everything Acme had with us.\n";

fn png() -> Vec<u8> {
    (0..4096u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect()
}

fn info() -> Vec<(String, String)> {
    vec![
        ("Source-Organization".to_owned(), "Exeunt test".to_owned()),
        ("External-Identifier".to_owned(), "client-42".to_owned()),
    ]
}

fn write_bag(files: &[(&str, &[u8])]) -> (Vec<u8>, BagSummary) {
    let mut bag = BagWriter::new(Cursor::new(Vec::new()), BAG, "2024-05-31", info()).unwrap();
    for (path, content) in files {
        let copied = bag.add_payload(path, &mut &content[..]).unwrap();
        assert_eq!(copied, content.len() as u64);
    }
    let (out, summary) = bag.finish().unwrap();
    (out.into_inner(), summary)
}

fn sample() -> (Vec<u8>, BagSummary) {
    let png = png();
    write_bag(&[
        ("records/notes.csv", NOTES),
        ("photo.png", &png),
        ("readme.txt", README),
    ])
}

fn verify_bytes(zip: &[u8]) -> Result<VerifiedBag, BagError> {
    verify(Cursor::new(zip))
}

fn entry_text(zip: &[u8], name: &str) -> String {
    let mut archive = ZipArchive::new(Cursor::new(zip)).unwrap();
    let mut text = String::new();
    archive
        .by_name(name)
        .unwrap()
        .read_to_string(&mut text)
        .unwrap();
    text
}

fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Copies every entry into a new zip; `edit` may replace an entry's content or drop it
/// (`None`). Entries are written with the zip crate's defaults, not the bag writer's.
fn rebuild(zip: &[u8], mut edit: impl FnMut(&str, Vec<u8>) -> Option<Vec<u8>>) -> Vec<u8> {
    let mut archive = ZipArchive::new(Cursor::new(zip)).unwrap();
    let mut out = ZipWriter::new(Cursor::new(Vec::new()));
    for index in 0..archive.len() {
        let mut file = archive.by_index(index).unwrap();
        let name = file.name().unwrap().into_owned();
        if file.is_dir() {
            out.add_directory(name, SimpleFileOptions::DEFAULT).unwrap();
            continue;
        }
        let mut content = Vec::new();
        file.read_to_end(&mut content).unwrap();
        if let Some(content) = edit(&name, content) {
            out.start_file(name, SimpleFileOptions::DEFAULT).unwrap();
            out.write_all(&content).unwrap();
        }
    }
    out.finish().unwrap().into_inner()
}

/// Recomputes the tag manifest, as someone tampering with care would.
fn fix_tag_manifest(zip: &[u8]) -> Vec<u8> {
    let lines: String = ["bagit.txt", "bag-info.txt", "manifest-sha256.txt"]
        .iter()
        .map(|tag| {
            let digest = sha256_hex(entry_text(zip, &format!("{BAG}/{tag}")).as_bytes());
            format!("{digest}  {tag}\n")
        })
        .collect();
    let tag_manifest = format!("{BAG}/tagmanifest-sha256.txt");
    rebuild(zip, |name, content| {
        Some(if name == tag_manifest {
            lines.clone().into_bytes()
        } else {
            content
        })
    })
}

fn replace_in(zip: &[u8], entry: &str, from: &str, to: &str) -> Vec<u8> {
    let entry = format!("{BAG}/{entry}");
    rebuild(zip, |name, content| {
        if name != entry {
            return Some(content);
        }
        let text = String::from_utf8(content).unwrap();
        assert!(
            text.contains(from),
            "{entry} does not contain {from:?}:\n{text}"
        );
        Some(text.replacen(from, to, 1).into_bytes())
    })
}

#[test]
fn round_trip_verifies_and_reports_the_payload() {
    let (zip, summary) = sample();
    let payload_bytes = (NOTES.len() + png().len() + README.len()) as u64;
    assert_eq!(summary.payload_files, 3);
    assert_eq!(summary.payload_bytes, payload_bytes);

    let verified = verify_bytes(&zip).unwrap();
    assert_eq!(verified.bag_name, BAG);
    assert_eq!(verified.payload_files, 3);
    assert_eq!(verified.payload_bytes, payload_bytes);
    assert_eq!(verified.tag_manifest_sha256, summary.tag_manifest_sha256);
    let mut expected_info = info();
    expected_info.push(("Bagging-Date".to_owned(), "2024-05-31".to_owned()));
    expected_info.push(("Payload-Oxum".to_owned(), format!("{payload_bytes}.3")));
    assert_eq!(verified.info, expected_info);
}

#[test]
fn compressed_formats_are_stored_and_others_deflated() {
    let (zip, _) = sample();
    let mut archive = ZipArchive::new(Cursor::new(&zip)).unwrap();
    let method = |archive: &mut ZipArchive<_>, path: &str| {
        archive
            .by_name(&format!("{BAG}/data/{path}"))
            .unwrap()
            .compression()
    };
    assert_eq!(method(&mut archive, "photo.png"), CompressionMethod::Stored);
    assert_eq!(
        method(&mut archive, "readme.txt"),
        CompressionMethod::Deflated
    );
    assert_eq!(
        method(&mut archive, "records/notes.csv"),
        CompressionMethod::Deflated
    );
    // Content decides too: random bytes under a neutral name are stored, text is deflated.
    let mut random = vec![0u8; 100_000];
    let mut state = 0x2545_f491_4f6c_dd1du64;
    for byte in &mut random {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        *byte = state as u8;
    }
    let text: Vec<u8> = b"line of text, "
        .iter()
        .copied()
        .cycle()
        .take(100_000)
        .collect();
    let mut bag = BagWriter::new(Cursor::new(Vec::new()), BAG, "2026-11-23", Vec::new()).unwrap();
    bag.add_payload("random.bin", &mut random.as_slice())
        .unwrap();
    bag.add_payload("text.bin", &mut text.as_slice()).unwrap();
    let (out, _) = bag.finish().unwrap();
    let bytes = out.into_inner();
    let mut archive = ZipArchive::new(Cursor::new(&bytes)).unwrap();
    assert_eq!(
        method(&mut archive, "random.bin"),
        CompressionMethod::Stored
    );
    assert_eq!(
        method(&mut archive, "text.bin"),
        CompressionMethod::Deflated
    );
    verify(Cursor::new(&bytes)).unwrap();
    assert!(is_compressed_name("a/B.JPEG"));
    assert!(is_compressed_name("x.tar.gz"));
    assert!(!is_compressed_name("notes.csv"));
    assert!(!is_compressed_name("dir.png/notes"));
    assert!(!is_compressed_name(".png"));
}

#[test]
fn layout_and_tag_files_follow_rfc_8493() {
    let (zip, summary) = sample();
    let archive = ZipArchive::new(Cursor::new(&zip)).unwrap();
    let names: Vec<_> = archive.file_names().map(Result::unwrap).collect();
    assert_eq!(
        names,
        [
            "acme-export/bagit.txt",
            "acme-export/data/",
            "acme-export/data/records/notes.csv",
            "acme-export/data/photo.png",
            "acme-export/data/readme.txt",
            "acme-export/bag-info.txt",
            "acme-export/manifest-sha256.txt",
            "acme-export/tagmanifest-sha256.txt",
        ]
    );
    assert_eq!(
        entry_text(&zip, "acme-export/bagit.txt"),
        "BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n"
    );
    let oxum = format!("{}.3", NOTES.len() + png().len() + README.len());
    assert_eq!(
        entry_text(&zip, "acme-export/bag-info.txt"),
        format!(
            "Source-Organization: Exeunt test\nExternal-Identifier: client-42\n\
             Bagging-Date: 2024-05-31\nPayload-Oxum: {oxum}\n"
        )
    );
    let manifest = entry_text(&zip, "acme-export/manifest-sha256.txt");
    assert_eq!(
        manifest,
        format!(
            "{}  data/records/notes.csv\n{}  data/photo.png\n{}  data/readme.txt\n",
            sha256_hex(NOTES),
            sha256_hex(&png()),
            sha256_hex(README)
        )
    );
    let tag_manifest = entry_text(&zip, "acme-export/tagmanifest-sha256.txt");
    let expected: String = ["bagit.txt", "bag-info.txt", "manifest-sha256.txt"]
        .iter()
        .map(|tag| {
            format!(
                "{}  {tag}\n",
                sha256_hex(entry_text(&zip, &format!("{BAG}/{tag}")).as_bytes())
            )
        })
        .collect();
    assert_eq!(tag_manifest, expected);
    assert_eq!(
        summary.tag_manifest_sha256,
        sha256_hex(tag_manifest.as_bytes())
    );
}

#[test]
fn same_inputs_give_the_same_bytes() {
    assert_eq!(sample().0, sample().0);
}

#[test]
fn empty_file_and_empty_bag_verify() {
    let (zip, summary) = write_bag(&[("empty.txt", b""), ("empty.png", b"")]);
    assert_eq!((summary.payload_bytes, summary.payload_files), (0, 2));
    assert!(entry_text(&zip, "acme-export/bag-info.txt").contains("\nPayload-Oxum: 0.2\n"));
    assert_eq!(verify_bytes(&zip).unwrap().payload_files, 2);

    let (zip, _) = write_bag(&[]);
    assert!(entry_text(&zip, "acme-export/bag-info.txt").ends_with("\nPayload-Oxum: 0.0\n"));
    let verified = verify_bytes(&zip).unwrap();
    assert_eq!((verified.payload_bytes, verified.payload_files), (0, 0));
}

#[test]
fn paths_with_percent_and_line_breaks_are_percent_encoded() {
    let (zip, _) = write_bag(&[("100% done.txt", b"a"), ("two\nlines\r.txt", b"b")]);
    let manifest = entry_text(&zip, "acme-export/manifest-sha256.txt");
    assert!(manifest.contains("  data/100%25 done.txt\n"), "{manifest}");
    assert!(
        manifest.contains("  data/two%0Alines%0D.txt\n"),
        "{manifest}"
    );
    assert_eq!(verify_bytes(&zip).unwrap().payload_files, 2);
}

#[test]
fn bad_payload_paths_are_rejected_and_the_writer_stays_usable() {
    let mut bag = BagWriter::new(Cursor::new(Vec::new()), BAG, "2024-05-31", info()).unwrap();
    bag.add_payload("a/b.txt", &mut &b"x"[..]).unwrap();
    for bad in [
        "../x",
        "/abs",
        "a//b",
        "a/./b",
        "a/../b",
        "dir/",
        "",
        "back\\slash",
        "nul\0",
        "a/b.txt",
        "a",
        "a/b.txt/c",
    ] {
        let err = bag.add_payload(bad, &mut &b"y"[..]).unwrap_err();
        let message = err.to_string();
        assert!(
            matches!(err, BagError::PayloadPath { .. }),
            "{bad:?}: {message}"
        );
        assert!(
            message.contains(&format!("{bad:?}")) && message.contains("expected"),
            "{message}"
        );
    }
    let err = bag.add_payload("a/b.txt", &mut &b"y"[..]).unwrap_err();
    assert_eq!(
        err.to_string(),
        r#"payload path "a/b.txt": expected a path not already in the bag"#
    );

    let (out, summary) = bag.finish().unwrap();
    assert_eq!(summary.payload_files, 1);
    assert_eq!(verify_bytes(&out.into_inner()).unwrap().payload_files, 1);
}

#[test]
fn a_failing_reader_leaves_no_entry_behind() {
    struct Failing(usize);
    impl Read for Failing {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            if self.0 == 0 {
                return Err(io::Error::other("disk gone"));
            }
            self.0 -= 1;
            buf[0] = b'z';
            Ok(1)
        }
    }
    let mut bag = BagWriter::new(Cursor::new(Vec::new()), BAG, "2024-05-31", info()).unwrap();
    bag.add_payload("kept.txt", &mut &b"kept"[..]).unwrap();
    let err = bag
        .add_payload("lost.txt", &mut Failing(100_000))
        .unwrap_err();
    assert_eq!(err.to_string(), "reading data/lost.txt: disk gone");
    bag.add_payload("lost.txt", &mut &b"second try"[..])
        .unwrap();
    let (out, _) = bag.finish().unwrap();
    let zip = out.into_inner();
    assert_eq!(verify_bytes(&zip).unwrap().payload_files, 2);
    assert_eq!(entry_text(&zip, "acme-export/data/lost.txt"), "second try");
}

#[test]
fn bad_bag_info_date_and_name_are_rejected() {
    let new = |name: &str, date: &str, label: &str, value: &str| {
        let info = vec![(label.to_owned(), value.to_owned())];
        BagWriter::new(Cursor::new(Vec::new()), name, date, info)
            .err()
            .map(|e| e.to_string())
    };
    assert_eq!(new(BAG, "2024-05-31", "Contact-Name", "Jo"), None);
    assert_eq!(
        new(BAG, "2024-05-31", "Contact-Name", "Jo\nPayload-Oxum: 1.1").as_deref(),
        Some(r#"bag-info.txt label "Contact-Name": expected a single-line label and value"#)
    );
    assert!(
        new(BAG, "2024-05-31", "Con\rtact", "Jo")
            .unwrap()
            .contains("single-line")
    );
    assert!(
        new(BAG, "2024-05-31", "Contact:Name", "Jo")
            .unwrap()
            .contains("without a colon")
    );
    assert!(
        new(BAG, "2024-05-31", "", "Jo")
            .unwrap()
            .contains("non-empty label")
    );
    assert!(
        new(BAG, "2024-05-31", "payload-oxum", "1.1")
            .unwrap()
            .contains("the writer computes")
    );
    for date in [
        "2024-5-31",
        "2024-13-01",
        "2024-00-10",
        "31.05.2024",
        "2024-05-31T00:00",
    ] {
        assert_eq!(
            new(BAG, date, "A", "b"),
            Some(format!("bagging date {date:?}: expected YYYY-MM-DD"))
        );
    }
    for name in ["", "..", "a/b", "a\\b", "tab\there"] {
        let message = new(name, "2024-05-31", "A", "b").unwrap();
        assert!(
            message.starts_with(&format!("bag name {name:?}: expected")),
            "{message}"
        );
    }
}

#[test]
fn a_flipped_byte_in_stored_payload_fails() {
    let (mut zip, _) = sample();
    let mut archive = ZipArchive::new(Cursor::new(&zip)).unwrap();
    let photo = archive.by_name("acme-export/data/photo.png").unwrap();
    let middle = photo.data_start().unwrap() + photo.compressed_size() / 2;
    drop(photo);
    zip[middle as usize] ^= 0x20;
    let err = verify_bytes(&zip).unwrap_err();
    assert!(
        matches!(err, BagError::Corrupt { ref entry, .. } if entry == "data/photo.png"),
        "{err}"
    );
}

#[test]
fn a_tampered_payload_with_a_fixed_crc_fails_on_the_digest() {
    let (zip, _) = sample();
    let tampered = rebuild(&zip, |name, content| {
        Some(if name.ends_with("/notes.csv") {
            content.to_ascii_uppercase()
        } else {
            content
        })
    });
    let err = verify_bytes(&tampered).unwrap_err();
    let expected = format!(
        "data/records/notes.csv: sha256 is {}, manifest-sha256.txt says {}",
        sha256_hex(&NOTES.to_ascii_uppercase()),
        sha256_hex(NOTES)
    );
    assert_eq!(err.to_string(), expected);
}

/// Each entry's name, kind and content, as any zip reader extracts them.
fn extracted(zip: &[u8]) -> Vec<(String, bool, Vec<u8>)> {
    let mut archive = ZipArchive::new(Cursor::new(zip)).unwrap();
    (0..archive.len())
        .map(|index| {
            let mut file = archive.by_index(index).unwrap();
            let mut content = Vec::new();
            file.read_to_end(&mut content).unwrap();
            (file.name().unwrap().into_owned(), file.is_dir(), content)
        })
        .collect()
}

/// A path `unzip` created: its name, kind, permission bits and content (a link's target).
type Extracted = (String, &'static str, u32, Vec<u8>);

/// What Info-ZIP's `unzip`, the reader people use, makes of a zip: every path it creates, its
/// kind (file, directory, link), permission bits and content; or its complaint.
fn unzipped(zip: &[u8]) -> Result<Vec<Extracted>, String> {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("bag.zip");
    std::fs::write(&file, zip).unwrap();
    let out = dir.path().join("out");
    let ran = Command::new("unzip")
        .args(["-q", "-o"])
        .arg(&file)
        .arg("-d")
        .arg(&out)
        .output()
        .expect("unzip runs");
    if !ran.status.success() {
        return Err(String::from_utf8_lossy(&ran.stderr).into_owned());
    }
    let mut found = Vec::new();
    let mut stack = vec![out.clone()];
    while let Some(at) = stack.pop() {
        for entry in std::fs::read_dir(&at).unwrap() {
            let path = entry.unwrap().path();
            let meta = std::fs::symlink_metadata(&path).unwrap();
            let name = path.strip_prefix(&out).unwrap().display().to_string();
            let mode = meta.permissions().mode() & 0o7777;
            if meta.is_dir() {
                found.push((name, "dir", mode, Vec::new()));
                stack.push(path);
            } else if meta.file_type().is_symlink() {
                let target = std::fs::read_link(&path).unwrap();
                found.push((
                    name,
                    "link",
                    mode,
                    target.display().to_string().into_bytes(),
                ));
            } else {
                found.push((name, "file", mode, std::fs::read(&path).unwrap()));
            }
        }
    }
    found.sort();
    Ok(found)
}

/// Flips bits in every byte of a small bag. A change must fail `verify` unless it changes
/// nothing a reader extracts, neither the zip crate nor Info-ZIP's `unzip` (names, kinds,
/// permissions, contents): such changes (unused flag bits, a deflate stream's padding bits,
/// times) no digest inside the bag can cover, only a digest of the whole zip file kept
/// elsewhere.
#[test]
fn every_single_byte_change_fails_or_leaves_the_extracted_bag_unchanged() {
    let (zip, _) = write_bag(&[("a.txt", b"hello"), ("b.png", b"\x89PNG")]);
    let original = extracted(&zip);
    // Info-ZIP's unzip, when this machine has it (CI installs it and requires it).
    let has_unzip = Command::new("unzip").arg("-v").output().is_ok();
    assert!(
        has_unzip || std::env::var("EXEUNT_REQUIRE_SERVICES").as_deref() != Ok("1"),
        "unzip is required (EXEUNT_REQUIRE_SERVICES=1) but not available"
    );
    let unzipped_original = has_unzip.then(|| unzipped(&zip));
    let mut undetected = 0;
    for at in 0..zip.len() {
        for flip in [0x01, 0x10, 0x80] {
            let mut changed = zip.clone();
            changed[at] ^= flip;
            if verify_bytes(&changed).is_ok() {
                undetected += 1;
                assert_eq!(
                    extracted(&changed),
                    original,
                    "byte {at} ^ {flip:#04x} changed the bag, yet verify passed"
                );
                if let Some(before) = &unzipped_original {
                    assert_eq!(
                        &unzipped(&changed),
                        before,
                        "byte {at} ^ {flip:#04x} changed what Info-ZIP's unzip extracts, yet verify passed"
                    );
                }
            }
        }
    }
    eprintln!(
        "{undetected} of {} single-bit changes left the extracted bag unchanged",
        zip.len() * 3
    );
}

#[test]
fn a_removed_manifest_line_fails_naming_the_file() {
    let (zip, _) = sample();
    let without_readme = |name: &str, content: Vec<u8>| {
        if !name.ends_with("/manifest-sha256.txt") || name.contains("tagmanifest") {
            return Some(content);
        }
        let text = String::from_utf8(content).unwrap();
        Some(
            text.lines()
                .filter(|l| !l.ends_with("data/readme.txt"))
                .map(|l| format!("{l}\n"))
                .collect::<String>()
                .into_bytes(),
        )
    };
    let careless = rebuild(&zip, without_readme);
    let err = verify_bytes(&careless).unwrap_err();
    assert!(
        err.to_string()
            .starts_with("manifest-sha256.txt: sha256 is ")
            && err.to_string().contains(", tagmanifest-sha256.txt says "),
        "{err}"
    );
    let careful = fix_tag_manifest(&careless);
    assert_eq!(
        verify_bytes(&careful).unwrap_err().to_string(),
        "data/readme.txt is not in manifest-sha256.txt"
    );
}

#[test]
fn a_payload_file_missing_from_the_zip_fails_naming_it() {
    let (zip, _) = sample();
    let dropped = rebuild(&zip, |name, content| {
        (!name.ends_with("/photo.png")).then_some(content)
    });
    assert_eq!(
        verify_bytes(&dropped).unwrap_err().to_string(),
        "manifest-sha256.txt lists data/photo.png, which the bag does not hold"
    );
}

#[test]
fn a_wrong_payload_oxum_fails() {
    let (zip, summary) = sample();
    let real = format!("Payload-Oxum: {}.3", summary.payload_bytes);
    let tampered = fix_tag_manifest(&replace_in(
        &zip,
        "bag-info.txt",
        &real,
        "Payload-Oxum: 10.3",
    ));
    assert_eq!(
        verify_bytes(&tampered).unwrap_err().to_string(),
        format!(
            "Payload-Oxum says 10.3, the payload is {}.3",
            summary.payload_bytes
        )
    );
    let malformed = fix_tag_manifest(&replace_in(&zip, "bag-info.txt", &real, "Payload-Oxum: 10"));
    assert_eq!(
        verify_bytes(&malformed).unwrap_err().to_string(),
        r#"bag-info.txt: expected Payload-Oxum as <bytes>.<files>, found "10""#
    );
}

#[test]
fn structural_problems_are_named() {
    assert!(
        verify_bytes(b"PK\x03\x04 not really")
            .unwrap_err()
            .to_string()
            .starts_with("not a zip file: ")
    );

    let (zip, _) = sample();
    let no_bagit = rebuild(&zip, |name, content| {
        (!name.ends_with("/bagit.txt")).then_some(content)
    });
    assert_eq!(
        verify_bytes(&no_bagit).unwrap_err().to_string(),
        "bagit.txt is missing"
    );

    let mut out = ZipWriter::new_append(Cursor::new(zip.clone())).unwrap();
    out.start_file("stray.txt", SimpleFileOptions::DEFAULT)
        .unwrap();
    let stray = out.finish().unwrap().into_inner();
    assert_eq!(
        verify_bytes(&stray).unwrap_err().to_string(),
        "the entries are not all under one bag directory: stray.txt is outside any directory"
    );

    let mut out = ZipWriter::new_append(Cursor::new(zip.clone())).unwrap();
    out.start_file(format!("{BAG}/extra-tag.txt"), SimpleFileOptions::DEFAULT)
        .unwrap();
    let extra = out.finish().unwrap().into_inner();
    assert_eq!(
        verify_bytes(&extra).unwrap_err().to_string(),
        "extra-tag.txt is not in tagmanifest-sha256.txt"
    );

    let wrong_version = fix_tag_manifest(&replace_in(&zip, "bagit.txt", "1.0", "0.97"));
    assert_eq!(
        verify_bytes(&wrong_version).unwrap_err().to_string(),
        r#"bagit.txt: expected ["BagIt-Version: 1.0", "Tag-File-Character-Encoding: UTF-8"], found ["BagIt-Version: 0.97", "Tag-File-Character-Encoding: UTF-8"]"#
    );
}

/// Extracts with Python's `zipfile` (a reader independent of the zip crate, as a third
/// party would use) and runs `bagit.py --validate`, then checks that bagit.py does
/// notice a changed payload file, so a pass means something.
#[test]
fn bagit_py_validates_the_unzipped_bag() {
    let has_bagit = Command::new("python3")
        .args(["-c", "import bagit"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !has_bagit {
        if std::env::var("EXEUNT_REQUIRE_SERVICES").is_ok_and(|v| v == "1") {
            panic!(
                "bagit_py_validates_the_unzipped_bag: bagit.py is required (EXEUNT_REQUIRE_SERVICES=1); pip install bagit"
            );
        }
        eprintln!("SKIPPED bagit.py not installed");
        return;
    }
    let png = png();
    let (zip, _) = write_bag(&[
        ("records/2024/notes.csv", NOTES),
        ("photo.png", &png),
        ("readme.txt", README),
        ("empty.txt", b""),
        ("naïve café/ünïcode.txt", b"utf-8 names"),
    ]);
    let dir = tempfile::tempdir().unwrap();
    let zip_path = dir.path().join("export.zip");
    std::fs::write(&zip_path, &zip).unwrap();
    let out = dir.path().join("out");
    let python = |args: &[&std::ffi::OsStr]| Command::new("python3").args(args).output().unwrap();
    let extracted = python(&[
        "-c".as_ref(),
        "import sys, zipfile; zipfile.ZipFile(sys.argv[1]).extractall(sys.argv[2])".as_ref(),
        zip_path.as_os_str(),
        out.as_os_str(),
    ]);
    assert!(
        extracted.status.success(),
        "{}",
        String::from_utf8_lossy(&extracted.stderr)
    );
    let bag_dir = out.join(BAG);
    let validate = || {
        python(&[
            "-m".as_ref(),
            "bagit".as_ref(),
            "--validate".as_ref(),
            bag_dir.as_os_str(),
        ])
    };
    let valid = validate();
    assert!(
        valid.status.success(),
        "bagit.py rejected the bag:\n{}",
        String::from_utf8_lossy(&valid.stderr)
    );

    std::fs::write(bag_dir.join("data/readme.txt"), b"changed").unwrap();
    let invalid = validate();
    assert!(
        !invalid.status.success(),
        "bagit.py accepted a changed payload file"
    );
}

/// More than 4 GiB in one stored entry, followed by more entries, so both zip64 sizes
/// and zip64 offsets are exercised end to end. Needs 4.5 GB of temporary disk and is
/// slow in a debug build: `cargo test --release -p exeunt-bagit -- --ignored`.
#[test]
#[ignore = "writes and verifies 4.5 GiB of payload"]
fn a_payload_entry_over_4_gib_verifies() {
    let size = (9u64 << 29) + 7;
    let file = tempfile::tempfile().unwrap();
    let mut bag = BagWriter::new(file, BAG, "2024-05-31", info()).unwrap();
    assert_eq!(
        bag.add_payload("big.png", &mut io::repeat(7).take(size))
            .unwrap(),
        size
    );
    bag.add_payload("after.txt", &mut &README[..]).unwrap();
    let (file, summary) = bag.finish().unwrap();
    assert!(file.metadata().unwrap().len() > size);
    let expected = size + README.len() as u64;
    assert_eq!(summary.payload_bytes, expected);
    let verified = verify(file).unwrap();
    assert_eq!(
        (verified.payload_bytes, verified.payload_files),
        (expected, 2)
    );
}
