//! The message catalogues the pages read their words from: one Fluent catalogue per language
//! in `crates/server/locales/<language>/`, a file per page or concern, compiled in.
//!
//! English is complete: every page's own text is in it, the Offboarding Center's (the staff's
//! pages, which are in English whatever the browser asks) and the pages people outside the firm
//! read (the departing client's page and what it says when a link fails). Those outside pages
//! are also in German, chosen from the browser's `Accept-Language`; a message German lacks
//! reads in English. Data (names, keys, what people typed) is never in a catalogue, and
//! neither are the problems the use cases report, which read alike in the API, the CLI and
//! the pages.

use std::borrow::Cow;
use std::collections::HashMap;

use fluent_templates::fluent_bundle::FluentValue;
use fluent_templates::{LanguageIdentifier, Loader, langid};

fluent_templates::static_loader! {
    static CATALOGUES = {
        locales: "./locales",
        fallback_language: "en",
        // Arguments as they are, without the bidirectional isolation marks Fluent would add
        // around each: the pages are left to right.
        customise: |bundle| bundle.set_use_isolating(false),
    };
}

const ENGLISH: LanguageIdentifier = langid!("en");
const GERMAN: LanguageIdentifier = langid!("de");

/// A language there is a catalogue for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Language(LanguageIdentifier);

/// A value a message takes: text as it is, or a number, by which a message can choose its
/// words (`{ $count -> [one] 1 task *[other] { $count } tasks }`).
pub trait Argument {
    fn value(&self) -> FluentValue<'static>;
}

impl Argument for str {
    fn value(&self) -> FluentValue<'static> {
        FluentValue::from(self.to_owned())
    }
}

impl Argument for String {
    fn value(&self) -> FluentValue<'static> {
        self.as_str().value()
    }
}

impl<T: Argument + ?Sized> Argument for &T {
    fn value(&self) -> FluentValue<'static> {
        (**self).value()
    }
}

macro_rules! number_arguments {
    ($($number:ty),*) => {$(
        impl Argument for $number {
            fn value(&self) -> FluentValue<'static> {
                FluentValue::from(*self)
            }
        }
    )*};
}

number_arguments!(i64, usize, u32, f64);

impl Language {
    /// English, the language of the Offboarding Center's pages.
    pub fn english() -> Self {
        Language(ENGLISH)
    }

    /// The language of the catalogues the reader prefers most, by `Accept-Language` (its
    /// q-values, then its order); English when they name none of them.
    pub fn preferred(accept_language: Option<&str>) -> Self {
        let mut wanted: Vec<(f32, usize, &str)> = accept_language
            .unwrap_or("")
            .split(',')
            .enumerate()
            .filter_map(|(i, item)| {
                let mut parts = item.split(';');
                let tag = parts.next()?.trim();
                let q = parts
                    .find_map(|p| p.trim().strip_prefix("q="))
                    .map_or(Some(1.0), |q| q.trim().parse::<f32>().ok())?;
                (!tag.is_empty() && q > 0.0).then_some((q, i, tag))
            })
            .collect();
        wanted.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
        wanted
            .iter()
            .find_map(|(_, _, tag)| {
                let primary = tag.split(['-', '_']).next()?.to_ascii_lowercase();
                [ENGLISH, GERMAN]
                    .into_iter()
                    .find(|l| l.language.as_str() == primary)
            })
            .map_or(Language(ENGLISH), Language)
    }

    /// Its tag, for `<html lang>`.
    pub fn tag(&self) -> String {
        self.0.to_string()
    }

    /// The message `id`.
    pub fn text(&self, id: &str) -> String {
        CATALOGUES.lookup(&self.0, id)
    }

    /// The message `id` with its arguments, each text or a number:
    /// `text_with("case-assigned", &[("owner", &email), ("number", &number)])`.
    pub fn text_with(&self, id: &str, args: &[(&'static str, &dyn Argument)]) -> String {
        let args: HashMap<Cow<'static, str>, FluentValue> = args
            .iter()
            .map(|(name, value)| (Cow::Borrowed(*name), value.value()))
            .collect();
        CATALOGUES.lookup_with_args(&self.0, id, &args)
    }

    /// An instant in words, in `zone`: "Monday 21 December 2026, 06:06 (CET)".
    pub fn instant(&self, at: jiff::Timestamp, zone: &jiff::tz::TimeZone) -> String {
        let local = at.to_zoned_datetime(zone.clone());
        let weekday = self.text(&format!(
            "weekday-{}",
            local.weekday().to_monday_one_offset()
        ));
        let month = self.text(&format!("month-{}", local.month()));
        self.text_with(
            "date-in-words",
            &[
                ("weekday", &weekday),
                ("day", &local.day().to_string()),
                ("month", &month),
                ("year", &local.year().to_string()),
                ("time", &local.strftime("%H:%M").to_string()),
                ("zone", &local.strftime("%Z").to_string()),
            ],
        )
    }

    /// A size in bytes in words, with this language's decimal separator: "10.9 KB", "10,9 KB".
    pub fn size(&self, bytes: i64) -> String {
        if bytes < 1000 {
            return self.text_with("size-bytes", &[("n", &bytes)]);
        }
        engine::wording::size(bytes).replace('.', &self.text("decimal-separator"))
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;
    use std::path::{Path, PathBuf};

    use fluent_templates::fluent_bundle::{FluentBundle, FluentResource};

    use super::{ENGLISH, Language};

    /// The files of a directory whose names end with `ext`, and of its subdirectories.
    fn files(dir: &Path, ext: &str) -> Vec<PathBuf> {
        let mut found = Vec::new();
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                found.extend(files(&path, ext));
            } else if path.extension().is_some_and(|e| e == ext) {
                found.push(path);
            }
        }
        found.sort();
        found
    }

    /// The ids of the messages in a language's catalogue, and that catalogue as a bundle.
    fn catalogue(language: &str) -> (BTreeSet<String>, FluentBundle<FluentResource>) {
        let id = regex::Regex::new(r"(?m)^([a-zA-Z][a-zA-Z0-9_-]*) *=").unwrap();
        let mut ids = BTreeSet::new();
        let mut bundle = FluentBundle::new(vec![ENGLISH]);
        let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("locales")
            .join(language);
        for file in files(&dir, "ftl") {
            let text = std::fs::read_to_string(&file).unwrap();
            for found in id.captures_iter(&text) {
                assert!(
                    ids.insert(found[1].to_owned()),
                    "{} is in {language}'s catalogue twice",
                    &found[1]
                );
            }
            let resource = FluentResource::try_new(text)
                .unwrap_or_else(|(_, e)| panic!("{}: {e:?}", file.display()));
            bundle
                .add_resource(resource)
                .unwrap_or_else(|e| panic!("{}: {e:?}", file.display()));
        }
        (ids, bundle)
    }

    /// The code that names messages: the templates, the Offboarding Center's handlers, the
    /// departing client's page and this module (without its tests), without their comments.
    fn sources() -> Vec<(PathBuf, String)> {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let template_comment = regex::Regex::new(r"(?s)\{#.*?#\}").unwrap();
        let mut sources = Vec::new();
        for file in files(&root.join("templates"), "html") {
            let text = std::fs::read_to_string(&file).unwrap();
            sources.push((file, template_comment.replace_all(&text, "").into_owned()));
        }
        let rust = files(&root.join("src/web"), "rs")
            .into_iter()
            .chain([root.join("src/delivery.rs"), root.join("src/i18n.rs")]);
        for file in rust {
            let text = std::fs::read_to_string(&file).unwrap();
            let code = text.split("#[cfg(test)]").next().unwrap_or_default();
            let code: Vec<&str> = code
                .lines()
                .filter(|l| !l.trim_start().starts_with("//"))
                .collect();
            sources.push((file, code.join("\n")));
        }
        sources
    }

    #[test]
    fn every_message_the_pages_name_is_in_the_english_catalogue_and_every_one_there_is_used() {
        let (english, bundle) = catalogue("en");
        let sources = sources();

        // A message is named where a template or a handler looks it up.
        let named = regex::Regex::new(r#"\btext(?:_with)?\(\s*"([^"]*)""#).unwrap();
        let mut missing = BTreeSet::new();
        for (file, text) in &sources {
            for found in named.captures_iter(text) {
                if !bundle.has_message(&found[1]) {
                    missing.insert(format!("{} in {}", &found[1], file.display()));
                }
            }
        }
        assert!(
            missing.is_empty(),
            "not in the English catalogue: {missing:#?}"
        );

        // A message is used where its id (`page-thing`: an id without a hyphen counts as
        // unused) is a literal of the code, as a handler may choose the id before it looks it
        // up, or fits one a handler fills in (`weekday-{}`). In a template, only what is
        // between its tags is code.
        let literal = regex::Regex::new(r#""([a-z][a-z0-9]*-[a-z0-9{}-]*)""#).unwrap();
        let template_code = regex::Regex::new(r"(?s)\{\{.*?\}\}|\{%.*?%\}").unwrap();
        let hole = regex::Regex::new(r"\\\{[^}]*\\\}").unwrap();
        let mut ids = BTreeSet::new();
        let mut patterns = Vec::new();
        for (file, text) in &sources {
            let code: Vec<&str> = if file.extension().is_some_and(|e| e == "html") {
                template_code.find_iter(text).map(|m| m.as_str()).collect()
            } else {
                vec![text.as_str()]
            };
            for found in code.iter().flat_map(|c| literal.captures_iter(c)) {
                let id = &found[1];
                if id.contains('{') {
                    let pattern = hole.replace_all(&regex::escape(id), ".+").into_owned();
                    patterns.push(regex::Regex::new(&format!("^{pattern}$")).unwrap());
                } else {
                    ids.insert(id.to_owned());
                }
            }
        }
        let unused: Vec<&String> = english
            .iter()
            .filter(|id| !ids.contains(*id) && !patterns.iter().any(|p| p.is_match(id)))
            .collect();
        assert!(unused.is_empty(), "no page uses {unused:#?}");

        // Every message has words; another language has no message English lacks.
        for id in &english {
            assert!(bundle.has_message(id), "{id} has no value");
        }
        let (german, _) = catalogue("de");
        let extra: Vec<&String> = german.difference(&english).collect();
        assert!(extra.is_empty(), "only in German: {extra:?}");
    }

    #[test]
    fn counts_choose_the_words_they_go_with() {
        let english = Language::english();
        let completed = |files: usize| {
            english.text_with(
                "task-completed",
                &[("task", &"Close the books"), ("files", &files)],
            )
        };
        assert_eq!(completed(0), "Completed “Close the books”.");
        assert_eq!(
            completed(1),
            "Completed “Close the books” with 1 evidence file."
        );
        assert_eq!(
            completed(3),
            "Completed “Close the books” with 3 evidence files."
        );
        let started = |tasks: usize, children: usize| {
            english.text_with(
                "offboard-started",
                &[
                    ("number", &7_i64),
                    ("tasks", &tasks),
                    ("children", &children),
                ],
            )
        };
        assert_eq!(started(13, 0), "Started case 7 with 13 tasks.");
        assert_eq!(
            started(1, 1),
            "Started case 7 with 1 task and 1 child case."
        );
        assert_eq!(
            started(2, 3),
            "Started case 7 with 2 tasks and 3 child cases."
        );
        let opened = |count: f64| {
            english.text_with(
                "home-activity-bar-opened",
                &[("week", &"Nov 23"), ("count", &(count as i64))],
            )
        };
        assert_eq!(opened(1.0), "Nov 23: 1 case opened");
        assert_eq!(opened(0.0), "Nov 23: 0 cases opened");
        let days = |days: f64| {
            english.text_with("home-duration-bar", &[("week", &"Nov 23"), ("days", &days)])
        };
        assert_eq!(days(1.0), "Nov 23: 1 day to offboard");
        assert_eq!(days(2.5), "Nov 23: 2.5 days to offboard");
        assert_eq!(
            english.text_with(
                "shared-tasks-closed",
                &[("closed", &0_i64), ("total", &1_i64)]
            ),
            "0/1 task"
        );
    }

    #[test]
    fn the_reader_gets_the_language_they_prefer_that_there_is_a_catalogue_for() {
        let tag = |header: Option<&str>| Language::preferred(header).tag();
        assert_eq!(tag(Some("de-DE,de;q=0.9,en;q=0.8")), "de");
        assert_eq!(tag(Some("fr-FR,fr;q=0.9,de;q=0.7,en;q=0.5")), "de");
        assert_eq!(tag(Some("en;q=0.4, de;q=0.6")), "de");
        assert_eq!(tag(Some("de;q=0, en")), "en");
        assert_eq!(tag(Some("fr")), "en");
        assert_eq!(tag(Some("garbage;q=x")), "en");
        assert_eq!(tag(None), "en");
    }

    #[test]
    fn instants_and_sizes_read_in_the_readers_language() {
        let at: jiff::Timestamp = "2026-12-21T05:06:53Z".parse().unwrap();
        let berlin = jiff::tz::TimeZone::get("Europe/Berlin").unwrap();
        let german = Language::preferred(Some("de"));
        assert_eq!(
            german.instant(at, &berlin),
            "Montag, 21. Dezember 2026, 06:06 Uhr (CET)"
        );
        assert_eq!(german.size(10_872), "10,9 KB");
        let english = Language::preferred(None);
        assert_eq!(
            english.instant(at, &berlin),
            "Monday 21 December 2026, 06:06 (CET)"
        );
        assert_eq!(english.size(10_872), "10.9 KB");
        assert_eq!(english.size(512), "512 bytes");
        assert_eq!(german.size(512), "512 Byte");
    }
}
