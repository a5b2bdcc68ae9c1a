//! The message catalogues of the pages people outside the firm read (the departing client's
//! page and what it says when a link fails): one Fluent catalogue per language in
//! `crates/server/locales/`, English complete, German beside it, chosen from the browser's
//! `Accept-Language`.

use std::borrow::Cow;
use std::collections::HashMap;

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

impl Language {
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

    /// The message `id` with its arguments.
    pub fn text_with(&self, id: &str, args: &[(&'static str, &str)]) -> String {
        let args: HashMap<Cow<'static, str>, fluent_templates::fluent_bundle::FluentValue> = args
            .iter()
            .map(|(name, value)| (Cow::Borrowed(*name), (*value).to_owned().into()))
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
            return self.text_with("size-bytes", &[("n", &bytes.to_string())]);
        }
        engine::wording::size(bytes).replace('.', &self.text("decimal-separator"))
    }
}

#[cfg(test)]
mod tests {
    use super::Language;

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
