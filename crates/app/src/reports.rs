//! Reports people take away: the case list and a case's tasks as CSV that opens cleanly in a
//! spreadsheet (UTF-8 with a byte order mark, every cell quoted, instants in ISO 8601), written
//! a page at a time so that a report of a million cases never sits in memory whole, and with
//! no cell a spreadsheet would run as a formula.

use std::borrow::Cow;

use engine::case::CaseStatus;
use store::{CaseFilter, CaseSummary};

use crate::{Actor, App, AppError, Result};

/// How many cases a piece of the report reads at once.
const CASES_PER_PIECE: i64 = 500;

/// What starts a UTF-8 file that spreadsheets should read as UTF-8.
const BYTE_ORDER_MARK: &[u8] = "\u{feff}".as_bytes();

/// A cell as a spreadsheet must not run it: text starting with `=`, `+`, `-`, `@`, a tab or a
/// carriage return is a formula to Excel, LibreOffice and Sheets, so it gets a leading `'`,
/// which they show as text.
pub fn neutral_cell(text: &str) -> Cow<'_, str> {
    if text.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        Cow::Owned(format!("'{text}"))
    } else {
        Cow::Borrowed(text)
    }
}

fn writer() -> csv::Writer<Vec<u8>> {
    csv::WriterBuilder::new()
        .quote_style(csv::QuoteStyle::Always)
        .from_writer(Vec::new())
}

fn finish(csv: csv::Writer<Vec<u8>>) -> Result<Vec<u8>> {
    csv.into_inner()
        .map_err(|e| AppError::Conflict(format!("the report could not be written: {e}")))
}

fn write_row<'a>(
    csv: &mut csv::Writer<Vec<u8>>,
    cells: impl IntoIterator<Item = &'a str>,
) -> Result<()> {
    let cells: Vec<Cow<'_, str>> = cells.into_iter().map(neutral_cell).collect();
    csv.write_record(cells.iter().map(|c| c.as_bytes()))
        .map_err(|e| AppError::Conflict(format!("the report could not be written: {e}")))
}

/// The tenant's cases as CSV, newest first, filtered as the case list is: read with
/// [`CasesReport::next_piece`] until it gives `None`.
pub struct CasesReport {
    app: App,
    actor: Actor,
    status: Option<CaseStatus>,
    /// The number of the last case written; `None` before the first piece.
    after: Option<i64>,
    done: bool,
}

impl App {
    /// The case list as a CSV report (see [`CasesReport`]).
    pub fn cases_report(&self, actor: &Actor, status: Option<CaseStatus>) -> CasesReport {
        CasesReport {
            app: self.clone(),
            actor: actor.clone(),
            status,
            after: None,
            done: false,
        }
    }

    /// A case's tasks as CSV, in the order the case file keeps them: stage, task, title, who
    /// owns it, its assignee, status, due and closed instants, and the note or waiver.
    pub async fn tasks_report(&self, actor: &Actor, number: i64) -> Result<Vec<u8>> {
        let view = self.case(actor, number).await?;
        let people = self.users(actor).await?;
        let name = |id| {
            people
                .iter()
                .find(|u| u.id == id)
                .map_or_else(String::new, |u| u.email.to_string())
        };
        let mut csv = writer();
        write_row(
            &mut csv,
            [
                "case", "stage", "task", "title", "owner", "assignee", "status", "due", "closed",
                "note",
            ],
        )?;
        let case = number.to_string();
        for t in &view.file.tasks {
            write_row(
                &mut csv,
                [
                    case.as_str(),
                    t.stage.as_str(),
                    t.id.as_str(),
                    &t.title,
                    &t.owner_label,
                    &t.assignee.map(name).unwrap_or_default(),
                    t.status.as_str(),
                    &t.due_at.map(|d| d.to_string()).unwrap_or_default(),
                    &t.closed_at.map(|d| d.to_string()).unwrap_or_default(),
                    t.note
                        .as_deref()
                        .or(t.waive_reason.as_deref())
                        .unwrap_or(""),
                ],
            )?;
        }
        let mut bytes = BYTE_ORDER_MARK.to_vec();
        bytes.extend(finish(csv)?);
        Ok(bytes)
    }
}

impl CasesReport {
    /// The next piece of the report: the byte order mark and the header first, then up to
    /// [`CASES_PER_PIECE`] cases a piece, each read after the last by its number.
    pub async fn next_piece(&mut self) -> Result<Option<Vec<u8>>> {
        if self.done {
            return Ok(None);
        }
        let mut csv = writer();
        let mut bytes = Vec::new();
        if self.after.is_none() {
            bytes.extend(BYTE_ORDER_MARK);
            write_row(
                &mut csv,
                [
                    "case",
                    "subject",
                    "subject name",
                    "kind",
                    "blueprint",
                    "status",
                    "resolution",
                    "exit date",
                    "opened",
                    "tasks done",
                    "tasks",
                ],
            )?;
        }
        let cases = self
            .app
            .cases(
                &self.actor,
                &CaseFilter {
                    status: self.status,
                    before: self.after,
                    limit: CASES_PER_PIECE,
                    ..CaseFilter::default()
                },
            )
            .await?;
        for c in &cases {
            write_case(&mut csv, c)?;
        }
        self.done = (cases.len() as i64) < CASES_PER_PIECE;
        self.after = Some(cases.last().map_or(0, |c| c.number));
        bytes.extend(finish(csv)?);
        Ok(Some(bytes))
    }
}

fn write_case(csv: &mut csv::Writer<Vec<u8>>, c: &CaseSummary) -> Result<()> {
    write_row(
        csv,
        [
            c.number.to_string().as_str(),
            c.subject_key.as_str(),
            &c.subject_name,
            c.subject_kind.as_str(),
            &format!("{}@{}", c.blueprint_id, c.blueprint_version),
            c.status.as_str(),
            c.resolution.map_or("", |r| r.as_str()),
            &c.exit_date.to_string(),
            &c.opened_at.to_string(),
            &c.tasks_closed.to_string(),
            &c.tasks_total.to_string(),
        ],
    )
}

#[cfg(test)]
mod tests {
    use super::neutral_cell;

    #[test]
    fn a_cell_a_spreadsheet_would_run_is_set_as_text() {
        for formula in ["=1+1", "+1", "-2", "@SUM(A1)", "\tx", "\rx"] {
            assert_eq!(neutral_cell(formula), format!("'{formula}"));
        }
        assert_eq!(neutral_cell("Acme = fine"), "Acme = fine");
        assert_eq!(neutral_cell(""), "");
    }
}
