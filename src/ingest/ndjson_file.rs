//! NDJSON / JSON Lines audit events: one JSON object per line; a malformed line is one
//! quarantined row, identified by its 0-based line index.

use chrono_tz::Tz;
use serde_json::Value as Json;

use super::csv_file::cells_from_text;
use super::loader::TableLoader;
use super::values::Value;
use super::{ColumnMap, FileRead};
use crate::error::Result;

pub fn read(
    rel: &str,
    bytes: &[u8],
    naive_tz: Option<Tz>,
    loader: &mut TableLoader,
) -> Result<FileRead> {
    let schema = loader.schema;
    let mut unknown = std::collections::BTreeSet::new();
    for (index, line) in bytes.split(|&b| b == b'\n').enumerate() {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        let pos = index as u64;
        let lossy =
            || serde_json::Value::String(String::from_utf8_lossy(line).into_owned()).to_string();
        let Ok(text) = std::str::from_utf8(line) else {
            loader.push(rel, pos, Err("bytes that are not UTF-8".into()), lossy);
            continue;
        };
        let obj = match serde_json::from_str::<Json>(text) {
            Ok(Json::Object(o)) => o,
            Ok(_) => {
                loader.push(
                    rel,
                    pos,
                    Err("malformed NDJSON line: not a JSON object".into()),
                    lossy,
                );
                continue;
            }
            Err(e) => {
                loader.push(rel, pos, Err(format!("malformed NDJSON line: {e}")), lossy);
                continue;
            }
        };
        unknown.extend(
            obj.keys()
                .filter(|k| schema.column_index(k).is_none())
                .cloned(),
        );
        let cells = cells_from_json(schema, &obj, naive_tz);
        loader.push(rel, pos, cells, || text.to_string());
    }
    Ok(FileRead {
        unknown_columns: unknown.into_iter().collect(),
    })
}

/// Every value goes through the textual parser so that the rules are the same in every format.
fn cells_from_json(
    schema: &super::schema::TableSchema,
    obj: &serde_json::Map<String, Json>,
    naive_tz: Option<Tz>,
) -> std::result::Result<Vec<Value>, String> {
    let texts: Vec<Option<String>> = schema
        .columns
        .iter()
        .map(|c| match obj.get(c.name) {
            None | Some(Json::Null) => None,
            Some(Json::String(s)) => Some(s.clone()),
            Some(other) => Some(other.to_string()),
        })
        .collect();
    let map = ColumnMap::identity(schema);
    // JSON booleans and numbers render as the text the textual parser accepts.
    cells_from_text(schema.columns, &map, |i| texts[i].as_deref(), naive_tz)
}
