//! Parquet files through polars' reader. A column must have the contract's type or be a
//! string (parsed like CSV text); anything else rejects the file.

use std::io::Cursor;

use chrono_tz::Tz;
use polars::prelude::*;

use super::loader::TableLoader;
use super::schema::ColType;
use super::values::{finish, parse_text, Value};
use super::FileRead;
use crate::error::{Error, Result};

enum Source {
    Missing,
    Text(StringChunked),
    Bool(BooleanChunked),
    Int(Int64Chunked),
    /// Microseconds since the epoch, whatever the file's unit; naive means UTC.
    Micros(Int64Chunked),
}

pub fn read(
    rel: &str,
    bytes: &[u8],
    naive_tz: Option<Tz>,
    loader: &mut TableLoader,
) -> Result<FileRead> {
    let schema = loader.schema;
    if bytes.is_empty() {
        return Err(Error::input(rel, "empty file: not a Parquet file"));
    }
    let df = ParquetReader::new(Cursor::new(bytes))
        .set_rechunk(true)
        .finish()
        .map_err(|e| Error::input(rel, format!("unreadable Parquet file: {e}")))?;
    let names: Vec<String> = df
        .get_column_names()
        .iter()
        .map(|s| s.to_string())
        .collect();
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
            (DataType::Boolean, ColType::Bool) => Source::Bool(s.bool()?.clone()),
            (d, ColType::Int) if d.is_integer() => {
                Source::Int(s.cast(&DataType::Int64)?.i64()?.clone())
            }
            (DataType::Datetime(unit, _), ColType::Timestamp) => {
                let phys = s.cast(&DataType::Int64)?;
                let micros = match unit {
                    TimeUnit::Nanoseconds => phys.i64()?.apply_values(|v| v.div_euclid(1000)),
                    TimeUnit::Microseconds => phys.i64()?.clone(),
                    TimeUnit::Milliseconds => phys.i64()?.apply_values(|v| v.saturating_mul(1000)),
                };
                Source::Micros(micros)
            }
            _ => return Err(wrong()),
        };
        sources.push(src);
    }

    for row in 0..df.height() {
        let mut cells = Vec::with_capacity(schema.columns.len());
        let mut problems = Vec::new();
        for (col, src) in schema.columns.iter().zip(&sources) {
            let parsed = match src {
                Source::Missing => finish(col, Value::Null),
                Source::Text(ca) => parse_text(col, ca.get(row), naive_tz),
                Source::Bool(ca) => finish(col, ca.get(row).map_or(Value::Null, Value::Bool)),
                Source::Int(ca) => finish(col, ca.get(row).map_or(Value::Null, Value::Int)),
                Source::Micros(ca) => finish(col, ca.get(row).map_or(Value::Null, Value::Ts)),
            };
            match parsed {
                Ok(v) => cells.push(v),
                Err(e) => problems.push(e.describe(col.name)),
            }
        }
        let cells = if problems.is_empty() {
            Ok(cells)
        } else {
            Err(problems.join("; "))
        };
        loader.push(rel, row as u64, cells, || raw_json(&df, row));
    }
    Ok(FileRead {
        unknown_columns: map.unknown,
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
                Ok(v) if v.is_integer() => v
                    .extract::<i64>()
                    .map_or(serde_json::Value::Null, serde_json::Value::from),
                Ok(other) => serde_json::Value::String(other.to_string()),
            };
            (c.name().to_string(), v)
        })
        .collect::<serde_json::Map<_, _>>();
    serde_json::Value::Object(obj).to_string()
}
