//! The containers a source's files arrive in, recognised by content rather than by name:
//! gzip and Parquet by their magic bytes, then one JSON document (an object, an array, or a
//! wrapper such as `{"Records":[…]}`), else NDJSON; CSV for the kinds that read it.
//!
//! Read as a stream: a document is cut into its records by a small structural scanner (it
//! tracks strings and brackets, nothing more), and each record is parsed on its own. Memory
//! holds one record at a time, whatever the size of the file, and a record that does not
//! parse is one bad item (quarantined with its text) instead of the end of the file.

use std::fs::OpenOptions;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;

use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::error::{Error, Result};
use crate::fs_guard::{self, Links};
use crate::ingest::mapped::Hashed;

/// Keys whose array holds the records of a wrapper document: CloudTrail's S3 delivery,
/// Azure diagnostic exports, Microsoft Graph, SCIM list responses.
const WRAPPERS: [&str; 4] = ["Records", "records", "value", "Resources"];

/// One record of a file, or what stood in its place.
#[derive(Debug)]
pub enum Item {
    Record(Value),
    /// A record that is not a JSON object, or a line or element that does not parse.
    Bad {
        raw: String,
        reason: String,
    },
}

/// Which containers besides JSON a kind reads.
#[derive(Debug, Clone, Copy, Default)]
pub struct Accepts {
    pub csv: bool,
    pub parquet: bool,
}

/// Calls `each` with every item of the file at `path`, in file order, with its 0-based
/// index among the file's items, and returns the hash of the bytes read. A file that is no
/// container at all (not gzip, JSON, NDJSON, or a format the kind reads) is a file-level
/// error naming `rel`.
pub fn read(
    path: &Path,
    rel: &str,
    accepts: Accepts,
    each: &mut dyn FnMut(u64, Item) -> Result<()>,
) -> Result<Hashed> {
    let file = fs_guard::open_regular(OpenOptions::new().read(true), path, Links::Follow).map_err(
        |e| {
            if fs_guard::is_refusal(&e) {
                Error::input(rel, e.to_string())
            } else {
                Error::input(rel, format!("unreadable file: {e}"))
            }
        },
    )?;
    let mut r = BufReader::with_capacity(1 << 16, Hashing::new(file));
    let head = fill(&mut r, rel)?;
    if head.is_empty() {
        return Err(Error::input(rel, "empty file: zero bytes"));
    }
    if head.starts_with(&[0x1f, 0x8b]) {
        let mut inner = BufReader::with_capacity(1 << 16, flate2::read::MultiGzDecoder::new(r));
        plain(&mut inner, rel, accepts, true, each)?;
        return finish(inner.into_inner().into_inner(), rel);
    }
    if head.starts_with(b"PAR1") {
        if !accepts.parquet {
            return Err(Error::input(
                rel,
                "is a Parquet file; this kind of source reads JSON or NDJSON",
            ));
        }
        let mut bytes = Vec::new();
        r.read_to_end(&mut bytes).map_err(|e| unreadable(rel, e))?;
        parquet(bytes, rel, each)?;
        return finish(r, rel);
    }
    plain(&mut r, rel, accepts, false, each)?;
    finish(r, rel)
}

/// Reads what is left (trailing white space, gzip padding) so that the hash covers the
/// whole file, and returns it.
fn finish<R: Read>(mut r: BufReader<Hashing<R>>, rel: &str) -> Result<Hashed> {
    std::io::copy(&mut r, &mut std::io::sink()).map_err(|e| unreadable(rel, e))?;
    let h = r.into_inner();
    Ok(Hashed {
        sha256: hex::encode(h.hasher.finalize()),
        bytes: h.bytes,
    })
}

/// Hashes the bytes as they are read: the hash is that of the bytes the rows came from.
struct Hashing<R> {
    inner: R,
    hasher: Sha256,
    bytes: u64,
}

impl<R> Hashing<R> {
    fn new(inner: R) -> Self {
        Hashing {
            inner,
            hasher: Sha256::new(),
            bytes: 0,
        }
    }
}

impl<R: Read> Read for Hashing<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hasher.update(&buf[..n]);
        self.bytes += n as u64;
        Ok(n)
    }
}

fn fill<'r>(r: &'r mut dyn BufRead, rel: &str) -> Result<&'r [u8]> {
    r.fill_buf().map_err(|e| unreadable(rel, e))
}

fn unreadable(rel: &str, e: std::io::Error) -> Error {
    if e.kind() == std::io::ErrorKind::InvalidInput || e.kind() == std::io::ErrorKind::InvalidData {
        Error::input(rel, format!("not a valid gzip stream: {e}"))
    } else {
        Error::input(rel, format!("unreadable file: {e}"))
    }
}

/// Text content (after gzip): JSON, NDJSON or CSV.
fn plain(
    r: &mut dyn BufRead,
    rel: &str,
    accepts: Accepts,
    gzip: bool,
    each: &mut dyn FnMut(u64, Item) -> Result<()>,
) -> Result<()> {
    let mut s = Scanner::new(r, rel);
    s.skip_bom()?;
    s.skip_ws()?;
    match s.peek()? {
        None if gzip => Err(Error::input(
            rel,
            "empty file: the gzip stream holds no bytes",
        )),
        None => Err(Error::input(
            rel,
            "holds only white space: no JSON document",
        )),
        Some(b'{' | b'[') => json(&mut s, each),
        Some(_) if accepts.csv => csv(s, each),
        Some(b) => Err(Error::input(
            rel,
            format!(
                "is not JSON or NDJSON (it starts with {:?}, not with an object or an array)",
                char::from(b)
            ),
        )),
    }
}

struct Emitter<'e> {
    next: u64,
    each: &'e mut dyn FnMut(u64, Item) -> Result<()>,
}

impl Emitter<'_> {
    fn item(&mut self, item: Item) -> Result<()> {
        let pos = self.next;
        self.next += 1;
        (self.each)(pos, item)
    }

    /// A record in its place in a container: objects are records, anything else is not.
    fn value(&mut self, v: Value) -> Result<()> {
        match v {
            Value::Object(_) => self.item(Item::Record(v)),
            other => self.item(Item::Bad {
                raw: other.to_string(),
                reason: "not a JSON object".into(),
            }),
        }
    }

    fn parsed(&mut self, bytes: &[u8]) -> Result<()> {
        match serde_json::from_slice::<Value>(bytes) {
            Ok(v) => self.value(v),
            Err(e) => self.item(Item::Bad {
                raw: String::from_utf8_lossy(bytes).into_owned(),
                reason: format!("malformed JSON record: {e}"),
            }),
        }
    }

    /// A whole top-level value (an NDJSON line): a wrapper gives its records, an array its
    /// elements, an object is one record.
    fn unwrapped(&mut self, v: Value) -> Result<()> {
        match v {
            Value::Array(items) => {
                for i in items {
                    self.value(i)?;
                }
                Ok(())
            }
            Value::Object(mut m) => {
                for w in WRAPPERS {
                    if matches!(m.get(w), Some(Value::Array(_))) {
                        if let Some(Value::Array(items)) = m.remove(w) {
                            for i in items {
                                self.value(i)?;
                            }
                        }
                        return Ok(());
                    }
                }
                if let Some(Value::Array(_)) = m.get("data").and_then(|d| d.get("events")) {
                    if let Some(Value::Array(items)) = m
                        .get_mut("data")
                        .and_then(|d| d.get_mut("events"))
                        .map(Value::take)
                    {
                        for i in items {
                            self.value(i)?;
                        }
                    }
                    return Ok(());
                }
                self.value(Value::Object(m))
            }
            other => self.value(other),
        }
    }
}

/// One JSON document, several documents one after the other, or NDJSON.
fn json(s: &mut Scanner, each: &mut dyn FnMut(u64, Item) -> Result<()>) -> Result<()> {
    let mut out = Emitter { next: 0, each };
    let mut first = true;
    loop {
        s.skip_separators()?;
        let Some(b) = s.peek()? else {
            return Ok(());
        };
        let start_line = s.line;
        match b {
            b'[' => s.array(&mut out)?,
            b'{' => s.object(&mut out)?,
            _ => {
                let mut buf = Vec::new();
                s.capture(&mut buf)?;
                out.parsed(&buf)?;
            }
        }
        if first && s.line == start_line {
            // The first value fit on its line: if more follows, this is NDJSON, read line
            // by line so that a broken line is one bad record and not the rest of the file.
            s.skip_line_tail()?;
            if s.peek()?.is_some() {
                return lines(s, &mut out);
            }
        }
        first = false;
    }
}

fn lines(s: &mut Scanner, out: &mut Emitter) -> Result<()> {
    let mut line = Vec::new();
    while s.read_line(&mut line)? {
        let t = trim_line(&line);
        if t.is_empty() {
            continue;
        }
        match serde_json::from_slice::<Value>(t) {
            Ok(v) => out.unwrapped(v)?,
            Err(e) => out.item(Item::Bad {
                raw: String::from_utf8_lossy(t).into_owned(),
                reason: format!("malformed NDJSON line: {e}"),
            })?,
        }
    }
    Ok(())
}

/// A line without its surrounding white space and a trailing comma (exports that print
/// each record followed by `,`).
fn trim_line(line: &[u8]) -> &[u8] {
    let mut t = line.trim_ascii();
    if let Some(x) = t.strip_suffix(b",") {
        t = x.trim_ascii_end();
    }
    t
}

fn csv(s: Scanner, each: &mut dyn FnMut(u64, Item) -> Result<()>) -> Result<()> {
    let rel = s.rel.to_string();
    let mut out = Emitter { next: 0, each };
    let mut rdr = csv::ReaderBuilder::new()
        .flexible(true)
        .has_headers(false)
        .from_reader(s.into_reader());
    let mut header: Option<Vec<String>> = None;
    let mut rec = csv::ByteRecord::new();
    loop {
        match rdr.read_byte_record(&mut rec) {
            Ok(false) => break,
            Ok(true) => {}
            Err(e) => return Err(Error::input(&rel, format!("unreadable CSV: {e}"))),
        }
        let raw = || {
            let cells: Vec<String> = rec
                .iter()
                .map(|c| String::from_utf8_lossy(c).into_owned())
                .collect();
            Value::from(cells).to_string()
        };
        let Some(names) = &header else {
            let names = rec
                .iter()
                .map(|c| String::from_utf8_lossy(c).trim().to_string())
                .collect();
            header = Some(names);
            continue;
        };
        if rec.len() != names.len() {
            let reason = format!("{} fields where the header has {}", rec.len(), names.len());
            out.item(Item::Bad { raw: raw(), reason })?;
            continue;
        }
        let mut m = serde_json::Map::new();
        let mut bad = false;
        for (n, c) in names.iter().zip(rec.iter()) {
            match std::str::from_utf8(c) {
                Ok(t) => {
                    m.insert(n.clone(), Value::String(t.to_string()));
                }
                Err(_) => bad = true,
            }
        }
        if bad {
            out.item(Item::Bad {
                raw: raw(),
                reason: "bytes that are not UTF-8".into(),
            })?;
        } else {
            out.item(Item::Record(Value::Object(m)))?;
        }
    }
    if header.is_none() {
        return Err(Error::input(&rel, "empty CSV: no header"));
    }
    Ok(())
}

/// Amazon Security Lake's Parquet: each row becomes the JSON object its nested columns
/// describe, so that the same mapping reads both.
fn parquet(bytes: Vec<u8>, rel: &str, each: &mut dyn FnMut(u64, Item) -> Result<()>) -> Result<()> {
    use polars::prelude::*;
    let bad = |e: PolarsError| Error::input(rel, format!("unreadable Parquet: {e}"));
    let mut df = ParquetReader::new(std::io::Cursor::new(bytes))
        .finish()
        .map_err(bad)?;
    // A naive Parquet timestamp is UTC (as for contract files); written out without a zone
    // it would be text without an offset, which no source accepts.
    let naive: Vec<Expr> = df
        .columns()
        .iter()
        .filter_map(|c| match c.dtype() {
            DataType::Datetime(unit, None) => {
                Some(col(c.name().clone()).cast(DataType::Datetime(*unit, Some(TimeZone::UTC))))
            }
            _ => None,
        })
        .collect();
    if !naive.is_empty() {
        df = df.lazy().with_columns(naive).collect().map_err(bad)?;
    }
    let mut out = Emitter { next: 0, each };
    const SLICE: usize = 10_000;
    let mut offset = 0;
    while offset < df.height() {
        let mut part = df.slice(offset as i64, SLICE);
        offset += SLICE;
        let mut buf = Vec::new();
        JsonWriter::new(&mut buf)
            .with_json_format(JsonFormat::JsonLines)
            .finish(&mut part)
            .map_err(bad)?;
        for line in buf.split(|&b| b == b'\n') {
            if !line.trim_ascii().is_empty() {
                out.parsed(line)?;
            }
        }
    }
    df = DataFrame::empty();
    drop(df);
    Ok(())
}

/// Bytes of a text container, one at a time, with the line they are on.
struct Scanner<'r> {
    r: &'r mut dyn BufRead,
    rel: &'r str,
    /// 1-based line of the next byte.
    line: u64,
}

impl<'r> Scanner<'r> {
    fn new(r: &'r mut dyn BufRead, rel: &'r str) -> Self {
        Scanner { r, rel, line: 1 }
    }

    fn into_reader(self) -> &'r mut dyn BufRead {
        self.r
    }

    fn peek(&mut self) -> Result<Option<u8>> {
        let rel = self.rel;
        Ok(fill(self.r, rel)?.first().copied())
    }

    fn bump(&mut self) -> Result<Option<u8>> {
        let b = self.peek()?;
        if let Some(b) = b {
            self.r.consume(1);
            if b == b'\n' {
                self.line += 1;
            }
        }
        Ok(b)
    }

    fn skip_bom(&mut self) -> Result<()> {
        let rel = self.rel;
        if fill(self.r, rel)?.starts_with(b"\xEF\xBB\xBF") {
            self.r.consume(3);
        }
        Ok(())
    }

    fn skip_ws(&mut self) -> Result<()> {
        while let Some(b) = self.peek()? {
            if !b.is_ascii_whitespace() {
                break;
            }
            self.bump()?;
        }
        Ok(())
    }

    /// White space and stray commas between top-level values.
    fn skip_separators(&mut self) -> Result<()> {
        while let Some(b) = self.peek()? {
            if !(b.is_ascii_whitespace() || b == b',') {
                break;
            }
            self.bump()?;
        }
        Ok(())
    }

    /// The rest of the current line, which may hold only white space and a comma.
    fn skip_line_tail(&mut self) -> Result<()> {
        while let Some(b) = self.peek()? {
            match b {
                b'\n' => {
                    self.bump()?;
                    return Ok(());
                }
                b',' | b' ' | b'\t' | b'\r' => {
                    self.bump()?;
                }
                _ => return Ok(()),
            }
        }
        Ok(())
    }

    fn read_line(&mut self, line: &mut Vec<u8>) -> Result<bool> {
        line.clear();
        let rel = self.rel;
        let n = self
            .r
            .read_until(b'\n', line)
            .map_err(|e| unreadable(rel, e))?;
        self.line += 1;
        Ok(n > 0)
    }

    fn truncated(&self, what: &str) -> Error {
        Error::input(
            self.rel,
            format!(
                "truncated JSON: the file ends inside {what} (line {})",
                self.line
            ),
        )
    }

    fn eat(&mut self, want: u8) -> Result<()> {
        match self.bump()? {
            Some(b) if b == want => Ok(()),
            Some(b) => Err(Error::input(
                self.rel,
                format!(
                    "malformed JSON at line {}: expected {:?}, found {:?}",
                    self.line,
                    char::from(want),
                    char::from(b)
                ),
            )),
            None => Err(self.truncated("a document")),
        }
    }

    /// A top-level array: each element is a record.
    fn array(&mut self, out: &mut Emitter) -> Result<()> {
        self.eat(b'[')?;
        let mut buf = Vec::new();
        loop {
            self.skip_ws()?;
            match self.peek()? {
                None => return Err(self.truncated("an array")),
                Some(b']') => {
                    self.bump()?;
                    return Ok(());
                }
                // Tolerates the trailing (or doubled) comma of hand-made exports.
                Some(b',') => {
                    self.bump()?;
                }
                Some(_) => {
                    buf.clear();
                    self.capture(&mut buf)?;
                    out.parsed(&buf)?;
                }
            }
        }
    }

    /// A top-level object: a wrapper (its record array is streamed) or one record.
    fn object(&mut self, out: &mut Emitter) -> Result<()> {
        self.eat(b'{')?;
        let mut rest: Vec<u8> = b"{".to_vec();
        let mut members = 0;
        let mut wrapper = false;
        loop {
            self.skip_ws()?;
            match self.peek()? {
                None => return Err(self.truncated("an object")),
                Some(b'}') => {
                    self.bump()?;
                    break;
                }
                Some(b',') => {
                    self.bump()?;
                    continue;
                }
                Some(b'"') => {}
                Some(_) => {
                    // Not a key: keep the text; the record will not parse and is reported.
                    let mut buf = Vec::new();
                    self.capture(&mut buf)?;
                    rest.extend_from_slice(&buf);
                    continue;
                }
            }
            let mut key = Vec::new();
            self.capture(&mut key)?;
            self.skip_ws()?;
            self.eat(b':')?;
            self.skip_ws()?;
            let name: Option<String> = serde_json::from_slice(&key).ok();
            let is_wrapper = name.as_deref().is_some_and(|n| WRAPPERS.contains(&n));
            if !wrapper && is_wrapper && self.peek()? == Some(b'[') {
                wrapper = true;
                self.array(out)?;
                continue;
            }
            let mut value = Vec::new();
            self.capture(&mut value)?;
            if !wrapper && name.as_deref() == Some("data") {
                // Okta event hooks: {"data": {"events": [...]}}.
                if let Ok(Value::Object(mut d)) = serde_json::from_slice::<Value>(&value) {
                    if let Some(Value::Array(items)) = d.remove("events") {
                        wrapper = true;
                        for i in items {
                            out.value(i)?;
                        }
                        continue;
                    }
                }
            }
            if members > 0 {
                rest.push(b',');
            }
            members += 1;
            rest.extend_from_slice(&key);
            rest.push(b':');
            rest.extend_from_slice(&value);
        }
        if wrapper {
            // The envelope's other members (paging, counts, schemas) are not records.
            return Ok(());
        }
        rest.push(b'}');
        out.parsed(&rest)
    }

    /// Copies one JSON value (string, number, literal, object or array) into `buf`. Scans
    /// the reader's buffer a slice at a time: this loop sees every byte of an export.
    fn capture(&mut self, buf: &mut Vec<u8>) -> Result<()> {
        let mut depth = 0usize;
        let mut in_string = false;
        let mut escaped = false;
        let rel = self.rel;
        loop {
            let chunk = fill(self.r, rel)?;
            if chunk.is_empty() {
                if depth == 0 && !in_string && !buf.is_empty() {
                    return Ok(());
                }
                return Err(self.truncated(if in_string { "a string" } else { "a value" }));
            }
            let mut take = chunk.len();
            let mut done = false;
            let mut i = 0;
            while i < chunk.len() {
                let b = chunk[i];
                if in_string {
                    if escaped {
                        escaped = false;
                    } else if b == b'\\' {
                        escaped = true;
                    } else if b == b'"' {
                        in_string = false;
                        if depth == 0 {
                            (take, done) = (i + 1, true);
                            break;
                        }
                    } else {
                        // Most bytes of an export are inside strings: jump to the next
                        // quote or backslash.
                        match memchr::memchr2(b'"', b'\\', &chunk[i..]) {
                            Some(n) => i += n,
                            None => i = chunk.len(),
                        }
                        continue;
                    }
                    i += 1;
                    continue;
                }
                match b {
                    b'"' => in_string = true,
                    b'{' | b'[' => depth += 1,
                    b'}' | b']' if depth == 0 => {
                        (take, done) = (i, true);
                        break;
                    }
                    b'}' | b']' => {
                        depth -= 1;
                        if depth == 0 {
                            (take, done) = (i + 1, true);
                            break;
                        }
                    }
                    b',' if depth == 0 => {
                        (take, done) = (i, true);
                        break;
                    }
                    b if depth == 0 && b.is_ascii_whitespace() => {
                        (take, done) = (i, true);
                        break;
                    }
                    _ => {}
                }
                i += 1;
            }
            let taken = &chunk[..take];
            buf.extend_from_slice(taken);
            self.line += memchr::memchr_iter(b'\n', taken).count() as u64;
            self.r.consume(take);
            if done {
                return Ok(());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn items(text: &[u8]) -> Vec<std::result::Result<Value, String>> {
        let dir = tempfile::tempdir().map_err(|e| e.to_string());
        let Ok(dir) = dir else { return Vec::new() };
        let p = dir.path().join("f");
        if std::fs::write(&p, text).is_err() {
            return Vec::new();
        }
        let mut got = Vec::new();
        let r = read(&p, "f", Accepts::default(), &mut |_, i| {
            got.push(match i {
                Item::Record(v) => Ok(v),
                Item::Bad { reason, .. } => Err(reason),
            });
            Ok(())
        });
        if let Err(e) = r {
            got.push(Err(format!("FILE: {e}")));
        }
        got
    }

    #[test]
    fn documents_wrappers_and_lines() {
        let one = items(b"{\"a\":1}");
        assert_eq!(one.len(), 1);
        let wrapped = items(b"{\"x\":[1],\"Records\":[{\"a\":1},{\"a\":2},]}");
        assert_eq!(wrapped.len(), 2, "{wrapped:?}");
        let arr = items(b"[\n {\"a\":\"]}\"},\n {\"b\":[1,2]}\n]\n");
        assert_eq!(arr.len(), 2, "{arr:?}");
        let nd = items(b"{\"a\":1}\n{\"a\":\n{\"a\":3},\n");
        assert_eq!(nd.len(), 3, "{nd:?}");
        assert!(nd[1].is_err());
        let hook = items(b"{\"eventType\":\"x\",\"data\":{\"events\":[{\"u\":1}]}}");
        assert_eq!(hook.len(), 1);
        let truncated = items(b"{\"Records\":[{\"a\":1}");
        assert!(truncated.last().is_some_and(|r| r.is_err()));
    }
}
