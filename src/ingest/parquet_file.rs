//! Parquet files through polars' reader. A column must have the contract's type or be a
//! string (parsed like CSV text); anything else rejects the file.

use std::borrow::Cow;
use std::io::Cursor;

use chrono_tz::Tz;
use polars::prelude::*;

use polars_parquet::parquet::metadata::{FileMetadata, SchemaDescriptor};
use polars_parquet::parquet::schema::types::{ParquetType, PhysicalType};

use super::loader::TableLoader;
use super::schema::{ColType, Column as SchemaColumn, TableSchema};
use super::values::{
    bad, finish, has_line_break, in_range, parse_text, row_cells, CellError, Value,
};
use super::FileRead;
use crate::error::{Error, Result};

enum Source {
    Missing,
    Text(StringChunked),
    /// Byte strings (BYTE_ARRAY without the UTF-8 annotation, as some writers store text):
    /// text when they are UTF-8, a row-level problem when not.
    Bytes(BinaryChunked),
    Bool(BooleanChunked),
    /// Integers cast to Int64, with the file's column to tell a null cell from a value that
    /// did not fit (a UInt64 above i64::MAX casts to null).
    Int(Int64Chunked, Series),
    /// Microseconds since the epoch, whatever the file's unit; naive means UTC. The file's
    /// physical values (and unit) tell a null cell from a value that did not convert.
    Micros(Int64Chunked, Int64Chunked, TimeUnit),
}

pub fn read(
    rel: &str,
    bytes: &[u8],
    naive_tz: Option<Tz>,
    loader: &mut TableLoader,
) -> Result<FileRead> {
    // polars' Parquet decoder asserts on some corrupt files (bad page offsets, lengths)
    // instead of returning an error. A corrupt input must be a file-level error naming the
    // file, never a crash of the run, so a panic while reading is caught and reported.
    // A panic ends the run with an error, so the half-filled loader is never used.
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        read_checked(rel, bytes, naive_tz, loader)
    }));
    result.unwrap_or_else(|payload| {
        let why = payload
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "the decoder failed".to_string());
        Err(Error::input(
            rel,
            format!("unreadable Parquet file (corrupt data): {why}"),
        ))
    })
}

fn read_checked(
    rel: &str,
    bytes: &[u8],
    naive_tz: Option<Tz>,
    loader: &mut TableLoader,
) -> Result<FileRead> {
    let schema = loader.schema;
    let (df, names) = read_frame(rel, bytes, schema)?;
    let map = super::ColumnMap::new(rel, schema, &names)?;

    let mut sources = Vec::with_capacity(schema.columns.len());
    for col in schema.columns {
        let Ok(c) = df.column(col.name) else {
            sources.push(Source::Missing);
            continue;
        };
        let s = c.as_materialized_series();
        let dtype = s.dtype().clone();
        let wrong = || {
            Error::input(
                rel,
                format!(
                    "column {}: type {dtype} is neither the contract's ({}) nor a string",
                    col.name,
                    type_word(col.ty)
                ),
            )
        };
        let src = match (&dtype, col.ty) {
            (DataType::String, _) => Source::Text(s.str()?.clone()),
            // Dictionary-encoded strings (pandas `category`, Arrow dictionaries) are strings
            // too: the file's logical type is text.
            (d, _) if d.is_categorical() || d.is_enum() => {
                Source::Text(s.cast(&DataType::String)?.str()?.clone())
            }
            // A column without a single value (writers give it the Null type): every cell
            // is null, which the requiredness check handles row by row.
            (DataType::Null, _) => Source::Missing,
            (DataType::Binary, _) => Source::Bytes(s.binary()?.clone()),
            (DataType::Boolean, ColType::Bool) => Source::Bool(s.bool()?.clone()),
            (d, ColType::Int) if d.is_integer() => {
                Source::Int(s.cast(&DataType::Int64)?.i64()?.clone(), s.clone())
            }
            (DataType::Datetime(unit, _), ColType::Timestamp) => {
                let phys = s.cast(&DataType::Int64)?;
                // Truncation towards the earlier microsecond (also before 1970); a
                // millisecond value too large for microseconds becomes null here and a bad
                // value below.
                let micros = match unit {
                    TimeUnit::Nanoseconds => phys.i64()?.apply_values(|v| v.div_euclid(1000)),
                    TimeUnit::Microseconds => phys.i64()?.clone(),
                    TimeUnit::Milliseconds => {
                        phys.i64()?.apply(|v| v.and_then(|v| v.checked_mul(1000)))
                    }
                };
                Source::Micros(micros, phys.i64()?.clone(), *unit)
            }
            _ => return Err(wrong()),
        };
        sources.push(src);
    }

    if sources
        .iter()
        .zip(schema.columns)
        .all(|(s, c)| columnar(s, c.ty))
    {
        read_columnar(rel, &df, &sources, loader)?;
    } else {
        for row in 0..df.height() {
            let cells = cells_at(schema.columns, &sources, row, naive_tz);
            loader.push(rel, row as u64, cells, || raw_json(&df, row));
        }
    }
    Ok(FileRead {
        unknown_columns: map.unknown,
    })
}

/// The file as a frame, and the names of all its columns.
///
/// A decimal column cannot be read by this build of polars (its reader fails without
/// naming the column): in a contract column it is a file-level error naming the column
/// and the type expected; an unknown decimal column is left unread (it is still listed as
/// unknown).
///
/// polars refuses a whole string column if one value is not UTF-8, but the contract makes
/// that a row-level problem. So when the file cannot be read as it declares itself, it is
/// read once more with every byte-array column declared as plain bytes (no UTF-8
/// annotation, and without the Arrow schema stored in the file, which would restore it):
/// those columns then take the byte-string path, where a value that is not UTF-8
/// quarantines its row. Every other column reads the same either way. If that fails too,
/// the first error is the file's.
fn read_frame(rel: &str, bytes: &[u8], schema: &TableSchema) -> Result<(DataFrame, Vec<String>)> {
    let unreadable = |e: PolarsError| Error::input(rel, format!("unreadable Parquet file: {e}"));
    let mut reader = ParquetReader::new(Cursor::new(bytes));
    let fields = reader.schema().map_err(unreadable)?;
    let mut names = Vec::with_capacity(fields.len());
    let mut projection = Vec::with_capacity(fields.len());
    for (i, (name, field)) in fields.iter().enumerate() {
        names.push(name.to_string());
        let (ArrowDataType::Decimal(p, sc)
        | ArrowDataType::Decimal32(p, sc)
        | ArrowDataType::Decimal64(p, sc)
        | ArrowDataType::Decimal256(p, sc)) = field.dtype
        else {
            projection.push(i);
            continue;
        };
        if let Some(col) = schema.columns.iter().find(|c| c.name == name.as_str()) {
            return Err(Error::input(
                rel,
                format!(
                    "column {name}: type decimal({p}, {sc}) is neither the contract's ({}) \
                     nor a string",
                    type_word(col.ty)
                ),
            ));
        }
    }
    let projection = (projection.len() < names.len()).then_some(projection);
    let metadata = reader.get_metadata().map_err(unreadable)?.clone();
    let first = match reader
        .with_projection(projection.clone())
        .set_rechunk(true)
        .finish()
    {
        Ok(df) => return Ok((df, names)),
        Err(e) => e,
    };
    let mut reader = ParquetReader::new(Cursor::new(bytes));
    reader.set_metadata(std::sync::Arc::new(byte_strings(metadata.as_ref().clone())));
    reader
        .with_projection(projection)
        .set_rechunk(true)
        .finish()
        .map(|df| (df, names))
        .map_err(|_| unreadable(first))
}

/// The file's metadata with every top-level byte-array column declared as bare bytes.
fn byte_strings(mut meta: FileMetadata) -> FileMetadata {
    if let Some(kv) = meta.key_value_metadata.as_mut() {
        kv.retain(|kv| kv.key != "ARROW:schema");
    }
    let fields = meta
        .schema_descr
        .fields()
        .iter()
        .cloned()
        .map(|f| match f {
            ParquetType::PrimitiveType(mut p) if p.physical_type == PhysicalType::ByteArray => {
                p.logical_type = None;
                p.converted_type = None;
                ParquetType::PrimitiveType(p)
            }
            other => other,
        })
        .collect();
    meta.schema_descr = SchemaDescriptor::new(meta.schema_descr.name().into(), fields);
    meta
}

/// The typed cells of one row, or every problem in it.
fn cells_at(
    columns: &[SchemaColumn],
    sources: &[Source],
    row: usize,
    naive_tz: Option<Tz>,
) -> std::result::Result<Vec<Value>, String> {
    row_cells(columns, |i, col| match &sources[i] {
        Source::Missing => finish(col, Value::Null),
        Source::Text(ca) => parse_text(col, ca.get(row), naive_tz),
        Source::Bytes(ca) => match ca.get(row).map(std::str::from_utf8) {
            None => parse_text(col, None, naive_tz),
            Some(Ok(text)) => parse_text(col, Some(text), naive_tz),
            Some(Err(_)) => Err(CellError::NotUtf8),
        },
        Source::Bool(ca) => finish(col, ca.get(row).map_or(Value::Null, Value::Bool)),
        Source::Int(ca, file) => match ca.get(row) {
            Some(v) => Ok(Value::Int(v)),
            None => match file.get(row) {
                Ok(AnyValue::Null) => finish(col, Value::Null),
                Ok(v) => Err(bad("integer", &v.to_string())),
                Err(e) => Err(bad("integer", &e.to_string())),
            },
        },
        Source::Micros(ca, phys, unit) => match ca.get(row).and_then(in_range) {
            Some(v) => Ok(Value::Ts(v)),
            // Shown as the stored number: polars cannot format it as a date.
            None => match phys.get(row) {
                None => finish(col, Value::Null),
                Some(v) => Err(bad("timestamp", &format!("{v} {unit} since the epoch"))),
            },
        },
    })
}

/// Whether a column can be validated column-wise: native types, and strings only where
/// the contract wants text (text needing parsing into other types goes row by row).
fn columnar(src: &Source, ty: ColType) -> bool {
    match src {
        Source::Missing | Source::Bool(_) | Source::Int(..) | Source::Micros(..) => true,
        Source::Text(_) => matches!(ty, ColType::Id | ColType::Text | ColType::Enum(_)),
        Source::Bytes(_) => false,
    }
}

/// The bulk path (generated and exported Parquet is native-typed): each column is
/// validated and made canonical at once; only the key, reference and table checks, which
/// depend on the rows before, go row by row, on borrowed values. Rows with a bad cell get
/// the same reasons as on the row path.
fn read_columnar(
    rel: &str,
    df: &DataFrame,
    sources: &[Source],
    loader: &mut TableLoader,
) -> Result<()> {
    let schema = loader.schema;
    let n = df.height();
    let mut bad_rows = vec![false; n];
    let canon: Vec<Column> = schema
        .columns
        .iter()
        .zip(sources)
        .map(|(col, src)| canonical(col, src, n, &mut bad_rows))
        .collect::<Result<_>>()?;
    let mut chunk = DataFrame::new_infer_height(canon)?;
    if !bad_rows.contains(&true) && loader.admit_file(rel, &chunk)? {
        return loader.push_chunk(chunk);
    }
    let cells: Vec<Cell> = chunk
        .columns()
        .iter()
        .map(Cell::of)
        .collect::<Result<_>>()?;
    let mut keep = Vec::with_capacity(n);
    for (row, is_bad) in bad_rows.iter().enumerate() {
        let raw = || raw_json(df, row);
        let loaded = if *is_bad {
            match cells_at(schema.columns, sources, row, None) {
                Err(reason) => {
                    loader.reject(rel, row as u64, reason, raw);
                    false
                }
                // Not expected (the column checks mirror the cell parser); checked as
                // any row would be, from the canonical values.
                Ok(_) => loader.admit(rel, row as u64, &|i| cells[i].text(row), raw),
            }
        } else {
            loader.admit(rel, row as u64, &|i| cells[i].text(row), raw)
        };
        keep.push(loaded);
    }
    drop(cells);
    if keep.iter().any(|k| !k) {
        let mask = BooleanChunked::from_slice(PlSmallStr::from_static("keep"), &keep);
        chunk = chunk.filter(&mask)?;
    }
    loader.push_chunk(chunk)
}

/// A canonical column, read back as text for the row checks.
enum Cell<'a> {
    Str(&'a StringChunked),
    Bool(&'a BooleanChunked),
    Int(&'a Int64Chunked),
}

impl<'a> Cell<'a> {
    fn of(c: &'a Column) -> Result<Cell<'a>> {
        Ok(match c.dtype() {
            DataType::Boolean => Cell::Bool(c.bool()?),
            DataType::Int64 => Cell::Int(c.i64()?),
            _ => Cell::Str(c.str()?),
        })
    }

    fn text(&self, row: usize) -> Option<Cow<'a, str>> {
        match self {
            Cell::Str(ca) => ca.get(row).map(Cow::Borrowed),
            Cell::Bool(ca) => ca.get(row).map(|b| Cow::Owned(b.to_string())),
            Cell::Int(ca) => ca.get(row).map(|v| Cow::Owned(v.to_string())),
        }
    }
}

/// One schema column in canonical form (defaults applied, blanks null, out-of-range
/// timestamps null), marking the rows whose cell is bad or missing.
fn canonical(col: &SchemaColumn, src: &Source, n: usize, bad_rows: &mut [bool]) -> Result<Column> {
    let name = PlSmallStr::from_static(col.name);
    // A null cell takes the default, else is a problem when the column is required.
    let null_is_bad = col.default.is_none() && col.required;
    let series = match src {
        Source::Text(ca) => {
            let blank = |s: &str| match col.ty {
                // Most ids start with a visible ASCII character: no trim to look further.
                ColType::Id => {
                    !s.as_bytes().first().is_some_and(u8::is_ascii_graphic) && s.trim().is_empty()
                }
                _ => s.is_empty(),
            };
            let breaks = !col.multiline && may_hold_line_break(ca);
            // Most columns hold no blank to replace: checked first, so that the file's own
            // column is kept instead of being copied value by value.
            let mut replaced = false;
            for (row, v) in ca.iter().enumerate() {
                match v.filter(|s| !blank(s)) {
                    None => {
                        bad_rows[row] |= null_is_bad;
                        replaced |= v.is_some() || col.default.is_some();
                    }
                    Some(s) => {
                        if let ColType::Enum(words) = col.ty {
                            if !words.contains(&s) {
                                bad_rows[row] = true;
                            }
                        } else if breaks && has_line_break(s) {
                            bad_rows[row] = true;
                        }
                    }
                }
            }
            if replaced {
                ca.iter()
                    .map(|v| v.filter(|s| !blank(s)).or(col.default))
                    .collect::<StringChunked>()
                    .with_name(name)
                    .into_series()
            } else {
                ca.clone().with_name(name).into_series()
            }
        }
        Source::Bool(ca) if ca.null_count() == 0 => ca.clone().with_name(name).into_series(),
        Source::Bool(ca) => {
            let default = col.default.map(|d| d == "true");
            ca.iter()
                .enumerate()
                .map(|(row, v)| {
                    v.or_else(|| {
                        bad_rows[row] |= null_is_bad;
                        default
                    })
                })
                .collect::<BooleanChunked>()
                .with_name(name)
                .into_series()
        }
        // Without a null, no value failed to fit.
        Source::Int(ca, _) if ca.null_count() == 0 => ca.clone().with_name(name).into_series(),
        Source::Int(ca, file) => {
            let file_null = file.is_null();
            ca.iter()
                .zip(file_null.iter())
                .enumerate()
                .map(|(row, (v, was_null))| {
                    if v.is_none() {
                        if was_null == Some(true) {
                            bad_rows[row] |= null_is_bad;
                        } else {
                            bad_rows[row] = true;
                        }
                    }
                    v
                })
                .collect::<Int64Chunked>()
                .with_name(name)
                .into_series()
        }
        Source::Micros(ca, _, _)
            if ca.null_count() == 0
                && ca.min().and_then(in_range).is_some()
                && ca.max().and_then(in_range).is_some() =>
        {
            ca.clone().with_name(name).into_series()
        }
        Source::Micros(ca, phys, _) => ca
            .iter()
            .zip(phys.iter())
            .enumerate()
            .map(|(row, (v, stored))| {
                let v = v.and_then(in_range);
                if v.is_none() {
                    if stored.is_none() {
                        bad_rows[row] |= null_is_bad;
                    } else {
                        bad_rows[row] = true;
                    }
                }
                v
            })
            .collect::<Int64Chunked>()
            .with_name(name)
            .into_series(),
        Source::Bytes(_) => {
            return Err(Error::Internal(format!(
                "column {}: byte strings are read row by row",
                col.name
            )))
        }
        Source::Missing => {
            bad_rows.iter_mut().for_each(|b| *b |= null_is_bad);
            match (col.default, col.ty) {
                (Some(d), ColType::Bool) => Series::new(name, vec![d == "true"; n]),
                (Some(d), _) => Series::new(name, vec![d; n]),
                (None, ColType::Bool) => Series::full_null(name, n, &DataType::Boolean),
                (None, ColType::Int | ColType::Timestamp) => {
                    Series::full_null(name, n, &DataType::Int64)
                }
                (None, _) => Series::full_null(name, n, &DataType::String),
            }
        }
    };
    Ok(series.into())
}

/// Whether a text of the column may hold a line break; false when none does. The column's
/// bytes are searched in bulk (its buffers, and the views that hold short texts inline):
/// much faster than text by text, and a buffer's unused bytes can only make it say true.
fn may_hold_line_break(ca: &StringChunked) -> bool {
    let found = |bytes: &[u8]| memchr::memchr2(b'\n', b'\r', bytes).is_some();
    ca.downcast_iter().any(|arr| {
        arr.data_buffers().iter().any(|b| found(b))
            || arr
                .views()
                .iter()
                .any(|v| v.get_inlined_slice().is_some_and(found))
    })
}

fn type_word(ty: ColType) -> &'static str {
    match ty {
        ColType::Bool => "boolean",
        ColType::Int => "integer",
        ColType::Timestamp => "timestamp",
        _ => "string",
    }
}

fn raw_json(df: &DataFrame, row: usize) -> String {
    let obj = df
        .columns()
        .iter()
        .map(|c| {
            let v = match c.get(row) {
                Ok(AnyValue::Null) | Err(_) => serde_json::Value::Null,
                Ok(AnyValue::Boolean(b)) => serde_json::Value::Bool(b),
                Ok(AnyValue::String(s)) => serde_json::Value::String(s.to_string()),
                // Single-value columns come back as scalar columns, whose cells are owned.
                Ok(AnyValue::StringOwned(s)) => serde_json::Value::String(s.to_string()),
                Ok(AnyValue::Binary(b)) => {
                    serde_json::Value::String(String::from_utf8_lossy(b).into_owned())
                }
                Ok(AnyValue::BinaryOwned(b)) => {
                    serde_json::Value::String(String::from_utf8_lossy(&b).into_owned())
                }
                Ok(v) if v.is_integer() => v
                    .extract::<i64>()
                    .map(serde_json::Value::from)
                    .or_else(|| v.extract::<u64>().map(serde_json::Value::from))
                    .unwrap_or(serde_json::Value::Null),
                // polars' own formatting of dates and datetimes panics outside chrono's
                // range; render them here, falling back to the stored number.
                Ok(AnyValue::Datetime(v, unit, _)) => datetime_json(v, unit),
                Ok(AnyValue::DatetimeOwned(v, unit, _)) => datetime_json(v, unit),
                Ok(AnyValue::Date(days)) => chrono::NaiveDate::from_ymd_opt(1970, 1, 1)
                    .and_then(|epoch| {
                        epoch.checked_add_signed(chrono::TimeDelta::try_days(days.into())?)
                    })
                    .map_or(serde_json::Value::from(days), |d| {
                        serde_json::Value::String(d.to_string())
                    }),
                Ok(other) => serde_json::Value::String(other.to_string()),
            };
            (c.name().to_string(), v)
        })
        .collect::<serde_json::Map<_, _>>();
    serde_json::Value::Object(obj).to_string()
}

/// A datetime cell as RFC 3339 UTC text at its full precision (the raw row is the row as
/// stored, not as loaded), or its stored number when out of range.
fn datetime_json(v: i64, unit: TimeUnit) -> serde_json::Value {
    let per_second: i64 = match unit {
        TimeUnit::Nanoseconds => 1_000_000_000,
        TimeUnit::Microseconds => 1_000_000,
        TimeUnit::Milliseconds => 1_000,
    };
    let secs = v.div_euclid(per_second);
    // Below one second, so it fits in u32 nanoseconds for every unit.
    let nanos = u32::try_from(v.rem_euclid(per_second) * (1_000_000_000 / per_second)).ok();
    secs.checked_mul(1_000_000)
        .and_then(in_range)
        .zip(nanos)
        .and_then(|(_, n)| chrono::DateTime::from_timestamp(secs, n))
        .map_or(serde_json::Value::from(v), |dt| {
            serde_json::Value::String(dt.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true))
        })
}
