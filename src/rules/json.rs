//! Evidence assembled from JSON text. polars gathers and aggregates nested columns (lists of
//! structs holding lists) slowly, so a rule whose evidence nests lists encodes each inner
//! part to text as soon as it is built and carries the text through its joins. Pieces are
//! joined with the separators of polars' own encoder (`,` and `:`, no spaces), so the
//! result is byte for byte what [`super::util::detail`] makes of the nested columns.

use polars::prelude::*;

/// One member of a JSON object: a value polars encodes, or JSON text already encoded.
pub enum Member {
    Value(Expr),
    Json(&'static str, Expr),
}

/// The members as one JSON object (text), in their order.
pub fn object(members: Vec<Member>) -> Expr {
    let mut pieces: Vec<Expr> = Vec::new();
    let mut values: Vec<Expr> = Vec::new();
    let flush = |values: &mut Vec<Expr>, pieces: &mut Vec<Expr>| {
        if !values.is_empty() {
            // `{"a":1,"b":2}` without its braces.
            pieces.push(
                as_struct(std::mem::take(values))
                    .struct_()
                    .json_encode()
                    .str()
                    .strip_prefix(lit("{"))
                    .str()
                    .strip_suffix(lit("}")),
            );
        }
    };
    for m in members {
        match m {
            Member::Value(e) => values.push(e),
            Member::Json(name, text) => {
                flush(&mut values, &mut pieces);
                pieces.push(concat_str([lit(format!("\"{name}\":")), text], "", false));
            }
        }
    }
    flush(&mut values, &mut pieces);
    concat_str(
        [lit("{"), concat_str(pieces, ",", false), lit("}")],
        "",
        false,
    )
}

/// A list of JSON texts as one JSON array (text).
pub fn array(texts: Expr) -> Expr {
    concat_str(
        [lit("["), texts.list().join(lit(","), false), lit("]")],
        "",
        false,
    )
}

/// A list column as JSON text, encoded in place (before any join gathers it).
pub fn list(name: &'static str) -> Expr {
    as_struct(vec![col(name)])
        .struct_()
        .json_encode()
        .str()
        .strip_prefix(lit(format!("{{\"{name}\":")))
        .str()
        .strip_suffix(lit("}"))
        .alias(name)
}
