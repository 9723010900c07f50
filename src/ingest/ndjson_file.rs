//! NDJSON / JSON Lines audit events: one JSON object per line; a malformed line is one
//! quarantined row, identified by its 0-based line index.

use chrono_tz::Tz;
use serde::de::{Deserialize, Deserializer, MapAccess, Visitor};
use serde_json::error::Category;
use serde_json::Value as Json;

use super::loader::TableLoader;
use super::values::{bad, parse_text, row_cells, Value};
use super::FileRead;
use crate::error::{Error, Result};

pub fn read(
    rel: &str,
    bytes: &[u8],
    naive_tz: Option<Tz>,
    loader: &mut TableLoader,
) -> Result<FileRead> {
    let schema = loader.schema;
    // Editors on Windows put a byte order mark first; it is not part of the first object.
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let mut unknown = std::collections::BTreeSet::new();
    // Which schema columns some object of the file names: a required key that no object
    // names is a missing column, not a missing value in every row.
    let mut named = vec![false; schema.columns.len()];
    let mut objects = 0usize;
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
        let Object { obj, duplicates } = match serde_json::from_str::<Object>(text) {
            Ok(o) => o,
            // The only data error is a line holding another JSON value than an object.
            Err(e) if e.classify() == Category::Data => {
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
        objects += 1;
        for k in obj.keys() {
            match schema.column_index(k) {
                Some(i) => named[i] = true,
                None => {
                    unknown.insert(k.clone());
                }
            }
        }
        let cells = if duplicates.is_empty() {
            cells_from_json(schema, &obj, naive_tz)
        } else {
            Err(format!(
                "duplicate key in the JSON object: {} (readers disagree on which value counts)",
                duplicates.join(", ")
            ))
        };
        loader.push(rel, pos, cells, || text.to_string());
    }
    let missing: Vec<&str> = schema
        .columns
        .iter()
        .zip(&named)
        .filter(|(c, named)| c.required && !**named)
        .map(|(c, _)| c.name)
        .collect();
    if objects > 0 && !missing.is_empty() {
        return Err(Error::input(
            rel,
            format!(
                "missing required column(s): {} (table {}): no object in the file has the key",
                missing.join(", "),
                schema.name
            ),
        ));
    }
    Ok(FileRead {
        unknown_columns: unknown.into_iter().collect(),
    })
}

/// Every scalar goes through the textual parser so that the rules are the same in every
/// format: JSON booleans and numbers render as the text that parser accepts. An array or an
/// object is never a contract value, so it is a bad value rather than its JSON text.
fn cells_from_json(
    schema: &super::schema::TableSchema,
    obj: &serde_json::Map<String, Json>,
    naive_tz: Option<Tz>,
) -> std::result::Result<Vec<Value>, String> {
    row_cells(schema.columns, |_, col| match obj.get(col.name) {
        None | Some(Json::Null) => parse_text(col, None, naive_tz),
        Some(Json::String(s)) => parse_text(col, Some(s), naive_tz),
        Some(v @ (Json::Array(_) | Json::Object(_))) => Err(bad(
            "value (a JSON array or object, not a scalar)",
            &v.to_string(),
        )),
        Some(other) => parse_text(col, Some(&other.to_string()), naive_tz),
    })
}

/// One line's JSON object, with the keys it gives more than once. serde_json keeps the
/// last value of a repeated key without a word, and other tools keep the first, so such a
/// record is read two ways: it is quarantined rather than loaded with either value.
struct Object {
    obj: serde_json::Map<String, Json>,
    duplicates: Vec<String>,
}

impl<'de> Deserialize<'de> for Object {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        d.deserialize_map(ObjectVisitor)
    }
}

struct ObjectVisitor;

impl<'de> Visitor<'de> for ObjectVisitor {
    type Value = Object;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> std::result::Result<Object, A::Error> {
        let mut obj = serde_json::Map::new();
        let mut duplicates = Vec::new();
        while let Some((key, value)) = map.next_entry::<String, Json>()? {
            if obj.contains_key(&key) {
                if !duplicates.contains(&key) {
                    duplicates.push(key);
                }
            } else {
                obj.insert(key, value);
            }
        }
        Ok(Object { obj, duplicates })
    }
}
