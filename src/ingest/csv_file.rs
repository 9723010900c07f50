//! CSV files: RFC 4180 via the `csv` crate's byte records, so that every row keeps its
//! physical line number and bad UTF-8 or ragged rows are caught row by row.

use chrono_tz::Tz;

use super::loader::TableLoader;
use super::values::{has_line_break, parse_text, row_cells, Value};
use super::{ColumnMap, FileRead};
use crate::error::{Error, Result};

pub fn read(
    rel: &str,
    bytes: &[u8],
    naive_tz: Option<Tz>,
    loader: &mut TableLoader,
) -> Result<FileRead> {
    let schema = loader.schema;
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let mut rdr = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(bytes);
    let mut records = rdr.byte_records();
    let header = match records.next() {
        None => return Err(Error::input(rel, "empty file: no header row")),
        Some(Err(e)) => return Err(Error::input(rel, format!("unreadable header: {e}"))),
        Some(Ok(h)) => h,
    };
    let names = header
        .iter()
        .enumerate()
        .map(|(i, f)| {
            std::str::from_utf8(f)
                .map(str::to_string)
                .map_err(|_| Error::input(rel, format!("header field {} is not UTF-8", i + 1)))
        })
        .collect::<Result<Vec<String>>>()?;
    let map = ColumnMap::new(rel, schema, &names)?;

    let mut lines = LineCounter::default();
    let mut last_start = header.position().map(|p| p.byte()).unwrap_or_default();
    for rec in records {
        let rec = rec.map_err(|e| Error::input(rel, format!("unreadable CSV: {e}")))?;
        let start = rec.position().map(|p| p.byte()).unwrap_or_default();
        last_start = start;
        let line = lines.line_of_record(bytes, start);
        // Line breaks inside quoted fields are the only ones within a record.
        let end_line = line + rec.as_slice().iter().filter(|&&b| b == b'\n').count() as u64;
        let span = || format!("the record spans lines {line}-{end_line}");
        let fields: Vec<Option<&str>> = rec.iter().map(|f| std::str::from_utf8(f).ok()).collect();
        let raw = || raw_json(&names, &rec);
        if rec.len() != names.len() {
            let mut msg = format!(
                "wrong number of fields: expected {}, found {}",
                names.len(),
                rec.len()
            );
            if end_line > line {
                msg = format!("{msg} ({})", span());
            }
            loader.push(rel, line, Err(msg), raw);
            continue;
        }
        if let Some(i) = fields.iter().position(Option::is_none) {
            let msg = format!("bytes that are not UTF-8 in column {}", names[i]);
            loader.push(rel, line, Err(msg), raw);
            continue;
        }
        // Two stray quotes lines apart make every line between them one value: if that
        // value is in a column that cannot hold a line break, the whole record is the bad
        // row, named by its line span (the lines are in its raw text, not lost).
        // (A lone `\r` is caught by the cell parser, with the value in the reason.)
        let spanning: Vec<&str> = schema
            .columns
            .iter()
            .zip(&map.sources)
            .filter(|(c, src)| {
                end_line > line
                    && !c.multiline
                    && src.and_then(|i| fields[i]).is_some_and(has_line_break)
            })
            .map(|(c, _)| c.name)
            .collect();
        if !spanning.is_empty() {
            let msg = format!(
                "{}: a quoted value in column {} holds a line break, which that column \
                 cannot hold (a stray quote?)",
                span(),
                spanning.join(", ")
            );
            loader.push(rel, line, Err(msg), raw);
            continue;
        }
        let cells = cells_from_text(schema.columns, &map, |i| fields[i], naive_tz);
        loader.push(rel, line, cells, raw);
    }
    // The csv crate ends a quoted field that is never closed at the end of the file: one
    // stray quote would silently turn every later line into a single value. Such a quote
    // can only be in the last record, so only that one is scanned.
    let last_start = usize::try_from(last_start).unwrap_or(usize::MAX);
    if let Some(quote) = bytes
        .get(last_start..)
        .and_then(unclosed_quote)
        .map(|q| last_start + q)
    {
        let line = bytes[..quote].iter().filter(|&&b| b == b'\n').count() + 1;
        return Err(Error::input(
            rel,
            format!(
                "line {line}: a quoted field opened here is never closed (the quote runs to \
                 the end of the file, swallowing every later line)"
            ),
        ));
    }
    Ok(FileRead {
        unknown_columns: map.unknown,
    })
}

/// The offset of the opening quote of a quoted field that `record` (a record's bytes up to
/// the end of the file) leaves open, as the csv crate reads quotes: a quote opens a field
/// only as its first byte, `""` inside is an escaped quote, and a lone one closes it.
fn unclosed_quote(record: &[u8]) -> Option<usize> {
    let mut open: Option<usize> = None;
    let mut field_start = true;
    let mut i = 0;
    while i < record.len() {
        let b = record[i];
        match open {
            Some(_) if b == b'"' && record.get(i + 1) == Some(&b'"') => i += 1,
            Some(_) if b == b'"' => open = None,
            Some(_) => {}
            None if b == b'"' && field_start => open = Some(i),
            None => {}
        }
        field_start = open.is_none() && matches!(b, b',' | b'\n' | b'\r');
        i += 1;
    }
    open
}

/// Physical 1-based line numbers of records.
///
/// The `csv` crate's own `Position::line` is taken *before* the terminator of the previous
/// record is fully consumed and before skipped blank lines: with CRLF line ends it is one
/// short per record, and every blank line shifts later rows. So the line is counted here
/// from the byte offset instead: skip the rest of the previous terminator and any blank
/// lines, then count the `\n` bytes before the record's first byte (including those inside
/// quoted fields, which are physical lines too).
#[derive(Default)]
struct LineCounter {
    /// Bytes before this offset have been counted.
    scanned: usize,
    /// Number of `\n` bytes before `scanned`.
    newlines: u64,
}

impl LineCounter {
    fn line_of_record(&mut self, bytes: &[u8], start: u64) -> u64 {
        let mut start = usize::try_from(start)
            .unwrap_or(usize::MAX)
            .min(bytes.len());
        while start < bytes.len() && matches!(bytes[start], b'\r' | b'\n') {
            start += 1;
        }
        // Records come in order, so offsets only grow and each byte is counted once.
        if let Some(between) = bytes.get(self.scanned..start) {
            self.newlines += between.iter().filter(|&&b| b == b'\n').count() as u64;
            self.scanned = start;
        }
        self.newlines + 1
    }
}

/// Parses every schema column of one textual row, joining the problems of all bad cells.
pub fn cells_from_text<'a>(
    columns: &[super::schema::Column],
    map: &ColumnMap,
    field: impl Fn(usize) -> Option<&'a str>,
    naive_tz: Option<Tz>,
) -> std::result::Result<Vec<Value>, String> {
    row_cells(columns, |i, col| {
        parse_text(col, map.sources[i].and_then(&field), naive_tz)
    })
}

fn raw_json(names: &[String], rec: &csv::ByteRecord) -> String {
    let text = |f: &[u8]| serde_json::Value::String(String::from_utf8_lossy(f).into_owned());
    let value = if rec.len() == names.len() {
        serde_json::Value::Object(names.iter().cloned().zip(rec.iter().map(text)).collect())
    } else {
        serde_json::Value::Array(rec.iter().map(text).collect())
    };
    value.to_string()
}
