//! Review packets: one CSV and one XLSX per reviewer under `packets/`, and the reader of
//! returned packets (CSV or XLSX) for ingest.
//!
//! Both formats carry the same columns ([`PACKET_COLUMNS`]), header on the first row, and
//! the same cell text: every cell a spreadsheet could execute is neutralised with a leading
//! `'` (contract 6) in both, so the values read back compare equal to the values written.

use std::collections::BTreeMap;
use std::io::Cursor;
use std::path::Path;

use rust_xlsxwriter::{
    DataValidation, DataValidationErrorStyle, DocProperties, ExcelDateTime, Format, Workbook,
    XlsxError,
};

use super::model::{Campaign, Item, Packet, PACKETS_DIR, PACKET_COLUMNS};
use crate::error::{Error, Result};
use crate::files::write_atomic;
use crate::findings::neutralise;

pub const SHEET: &str = "Review";

/// A reviewer id becomes a file name only when it is plainly one; anything else (slashes,
/// dots first, spaces, non-ASCII) is replaced by a hash so input data can never choose a
/// path outside `packets/`.
pub fn file_stem(reviewer_id: &str) -> String {
    let plain = (1..=64).contains(&reviewer_id.len())
        && !reviewer_id.starts_with('.')
        && reviewer_id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
    if plain {
        reviewer_id.to_string()
    } else {
        let h = crate::hash::sha256_hex(reviewer_id.as_bytes());
        format!("reviewer-{}", &h[..16])
    }
}

fn row_cells(item: &Item) -> Vec<String> {
    let mut cells: Vec<String> = item
        .packet_fields()
        .into_iter()
        .map(|(_, v)| neutralise(&v).into_owned())
        .collect();
    cells.push(String::new());
    cells.push(String::new());
    cells
}

pub fn csv_bytes(items: &[&Item]) -> Result<Vec<u8>> {
    let mut w = csv::Writer::from_writer(Vec::new());
    let err = |e: csv::Error| Error::Internal(format!("packet csv: {e}"));
    w.write_record(PACKET_COLUMNS).map_err(err)?;
    for item in items {
        w.write_record(row_cells(item)).map_err(err)?;
    }
    w.into_inner()
        .map_err(|e| Error::Internal(format!("packet csv: {e}")))
}

fn xlsx_err(e: XlsxError) -> Error {
    Error::Internal(format!("packet xlsx: {e}"))
}

/// The workbook of one packet: every cell locked except `decision` and `comment` of the
/// item rows, the sheet protected, `decision` limited to keep/revoke. The creation date is
/// the campaign's as_of so the same campaign yields byte-identical workbooks.
pub fn xlsx_bytes(campaign: &Campaign, items: &[&Item]) -> Result<Vec<u8>> {
    let mut wb = Workbook::new();
    let date = ExcelDateTime::parse_from_str(&campaign.as_of.to_string()).map_err(xlsx_err)?;
    wb.set_properties(
        &DocProperties::new()
            .set_creation_datetime(&date)
            .set_title(format!("Access review {}", campaign.campaign_id)),
    );
    let ws = wb.add_worksheet();
    ws.set_name(SHEET).map_err(xlsx_err)?;
    let header = Format::new().set_bold();
    let unlocked = Format::new().set_unlocked();
    let decision_col = PACKET_COLUMNS.len() as u16 - 2;
    let comment_col = decision_col + 1;
    for (c, name) in PACKET_COLUMNS.iter().enumerate() {
        ws.write_string_with_format(0, c as u16, *name, &header)
            .map_err(xlsx_err)?;
    }
    for (r, item) in items.iter().enumerate() {
        let row = r as u32 + 1;
        for (c, v) in row_cells(item).iter().enumerate() {
            let c = c as u16;
            if c == decision_col || c == comment_col {
                ws.write_string_with_format(row, c, v, &unlocked)
                    .map_err(xlsx_err)?;
            } else {
                ws.write_string(row, c, v).map_err(xlsx_err)?;
            }
        }
    }
    if !items.is_empty() {
        let last = items.len() as u32;
        let dv = DataValidation::new()
            .allow_list_strings(&["keep", "revoke"])
            .map_err(xlsx_err)?
            .set_error_style(DataValidationErrorStyle::Stop)
            .set_error_title("Decision")
            .map_err(xlsx_err)?
            .set_error_message("Choose keep or revoke.")
            .map_err(xlsx_err)?;
        ws.add_data_validation(1, decision_col, last, decision_col, &dv)
            .map_err(xlsx_err)?;
    }
    ws.set_column_width(decision_col, 10).map_err(xlsx_err)?;
    ws.set_column_width(comment_col, 40).map_err(xlsx_err)?;
    ws.set_freeze_panes(1, 1).map_err(xlsx_err)?;
    ws.protect();
    wb.save_to_buffer().map_err(xlsx_err)
}

/// Writes every reviewer's packet (and `unassigned.csv`) and returns their records.
pub fn write_all(dir: &Path, campaign: &Campaign) -> Result<Vec<Packet>> {
    let pdir = dir.join(PACKETS_DIR);
    let mut packets = Vec::new();
    let mut stems = std::collections::HashSet::new();
    for (reviewer, items) in super::open::by_reviewer(&campaign.items) {
        let stem = file_stem(reviewer);
        if !stems.insert(stem.clone()) {
            return Err(Error::Internal(format!(
                "two reviewers share the packet name {stem}"
            )));
        }
        let csv = csv_bytes(&items)?;
        let xlsx = xlsx_bytes(campaign, &items)?;
        write_atomic(&pdir.join(format!("{stem}.csv")), &csv)?;
        write_atomic(&pdir.join(format!("{stem}.xlsx")), &xlsx)?;
        packets.push(Packet {
            reviewer_id: reviewer.to_string(),
            reviewer_name: items.first().and_then(|i| i.reviewer_name.clone()),
            file_stem: stem,
            items: items.len(),
            csv_sha256: crate::hash::sha256_hex(&csv),
            xlsx_sha256: crate::hash::sha256_hex(&xlsx),
        });
    }
    let unassigned: Vec<&Item> = campaign
        .items
        .iter()
        .filter(|i| i.reviewer_id.is_none())
        .collect();
    write_atomic(&dir.join("unassigned.csv"), &csv_bytes(&unassigned)?)?;
    Ok(packets)
}

/// One data row of a returned packet: 1-based row number (the spreadsheet's, header = 1)
/// and column -> cell text.
pub struct Row {
    pub line: usize,
    pub cells: BTreeMap<String, String>,
}

/// A cell of a returned workbook that holds a formula. Ingest refuses it: the value read is
/// whatever the workbook cached (or nothing), not what the reviewer typed.
pub struct FormulaCell {
    pub sheet: String,
    /// As a spreadsheet names it, e.g. `D7`.
    pub cell: String,
    pub line: usize,
    /// The header above the cell, when it has one.
    pub column: Option<String>,
    pub formula: String,
}

/// What a returned packet holds: its data rows and, for a workbook, every formula cell of
/// the sheet read.
pub struct Contents {
    pub rows: Vec<Row>,
    pub formulas: Vec<FormulaCell>,
}

/// Reads a returned packet by content: a ZIP signature means XLSX, anything else is CSV.
/// Errors are plain sentences; the caller names the file.
pub fn read_packet(bytes: &[u8]) -> std::result::Result<Contents, String> {
    if bytes.starts_with(b"PK\x03\x04") {
        read_xlsx(bytes)
    } else {
        Ok(Contents {
            rows: read_csv(bytes)?,
            formulas: Vec::new(),
        })
    }
}

fn to_rows(header: &[String], body: Vec<(usize, Vec<String>)>) -> Vec<Row> {
    body.into_iter()
        .filter(|(_, cells)| cells.iter().any(|c| !c.trim().is_empty()))
        .map(|(line, cells)| Row {
            line,
            cells: header
                .iter()
                .cloned()
                .zip(cells.into_iter().chain(std::iter::repeat(String::new())))
                .collect(),
        })
        .collect()
}

fn read_csv(bytes: &[u8]) -> std::result::Result<Vec<Row>, String> {
    let mut r = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(bytes);
    let mut records = r.records();
    let header: Vec<String> = match records.next() {
        Some(Ok(h)) => h
            .iter()
            // A spreadsheet saving CSV may prepend a byte order mark.
            .map(|s| s.trim_start_matches('\u{feff}').to_string())
            .collect(),
        Some(Err(e)) => return Err(format!("not a readable CSV: {e}")),
        None => return Err("empty file".to_string()),
    };
    let mut body = Vec::new();
    for (i, rec) in records.enumerate() {
        let rec = rec.map_err(|e| format!("row {}: not a readable CSV record: {e}", i + 2))?;
        body.push((i + 2, rec.iter().map(str::to_string).collect()));
    }
    Ok(to_rows(&header, body))
}

fn cell_text(d: &calamine::Data) -> String {
    use calamine::Data;
    match d {
        Data::Empty => String::new(),
        Data::String(s) | Data::DateTimeIso(s) | Data::DurationIso(s) => s.clone(),
        Data::Int(i) => i.to_string(),
        Data::Float(f) if f.fract() == 0.0 && f.abs() < 1e15 => format!("{}", *f as i64),
        Data::Float(f) => f.to_string(),
        Data::Bool(b) => b.to_string(),
        Data::DateTime(dt) => dt.to_string(),
        Data::Error(e) => format!("#{e:?}"),
    }
}

/// `A1` notation of a 0-based (row, column).
pub fn cell_name(row: u32, col: u32) -> String {
    let mut letters = Vec::new();
    let mut n = col as u64 + 1;
    while n > 0 {
        let rem = ((n - 1) % 26) as u8;
        letters.push(b'A' + rem);
        n = (n - 1) / 26;
    }
    letters.reverse();
    format!("{}{}", String::from_utf8_lossy(&letters), row as u64 + 1)
}

fn read_xlsx(bytes: &[u8]) -> std::result::Result<Contents, String> {
    use calamine::Reader;
    let mut wb = calamine::open_workbook_auto_from_rs(Cursor::new(bytes))
        .map_err(|e| format!("not a readable workbook: {e}"))?;
    let names = wb.sheet_names();
    let sheet = if names.iter().any(|n| n == SHEET) {
        SHEET.to_string()
    } else {
        names.first().cloned().ok_or("the workbook has no sheet")?
    };
    let range = wb
        .worksheet_range(&sheet)
        .map_err(|e| format!("sheet {sheet:?} is unreadable: {e}"))?;
    let formula_range = wb
        .worksheet_formula(&sheet)
        .map_err(|e| format!("the formulas of sheet {sheet:?} are unreadable: {e}"))?;
    // Row numbers as the spreadsheet shows them: the range may not start at A1.
    let first_row = range.start().map_or(0, |(r, _)| r as usize);
    let first_col = range.start().map_or(0, |(_, c)| c as usize);
    let mut rows = range.rows();
    let header: Vec<String> = match rows.next() {
        Some(h) => std::iter::repeat_n(String::new(), first_col)
            .chain(h.iter().map(cell_text))
            .collect(),
        None => return Err(format!("sheet {sheet:?} is empty")),
    };
    let body = rows
        .enumerate()
        .map(|(i, r)| {
            (
                first_row + i + 2,
                std::iter::repeat_n(String::new(), first_col)
                    .chain(r.iter().map(cell_text))
                    .collect(),
            )
        })
        .collect();
    let (f_row, f_col) = formula_range.start().unwrap_or((0, 0));
    let formulas = formula_range
        .used_cells()
        .filter(|(_, _, f)| !f.is_empty())
        .map(|(r, c, f)| {
            let (row, col) = (f_row + r as u32, f_col + c as u32);
            FormulaCell {
                sheet: sheet.clone(),
                cell: cell_name(row, col),
                line: row as usize + 1,
                column: header.get(col as usize).filter(|h| !h.is_empty()).cloned(),
                formula: f.clone(),
            }
        })
        .collect();
    Ok(Contents {
        rows: to_rows(&header, body),
        formulas,
    })
}
