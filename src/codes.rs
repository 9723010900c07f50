//! Text columns as small integer codes, for the per-row loops that group or look up by
//! text (the event digests, the usage rollup, the log chains).
//!
//! Hashing a text once per row is most of what such a loop costs. polars keeps a string as
//! a 16-byte view: the text itself when it has at most 12 bytes, else its length, prefix
//! and place in the array's buffers; and a Parquet column that was dictionary-encoded
//! (the usual case for ids, actions and outcomes) decodes into repeats of the same views.
//! So a cell is looked up by its view, an integer, and its text is hashed only the first
//! time a view is seen: equal views always hold equal texts, and equal texts under
//! different views still meet in the map of texts.

use polars::prelude::*;

/// A text column's cells as codes into `values`: equal texts have equal codes, and null is
/// one more value. Codes are numbered in the order the values first occur.
pub struct Coded<'a> {
    pub codes: Vec<u32>,
    pub values: Vec<Option<&'a str>>,
}

impl<'a> Coded<'a> {
    pub fn of(ca: &'a StringChunked) -> Coded<'a> {
        let mut coded = Coded {
            codes: Vec::with_capacity(ca.len()),
            values: Vec::new(),
        };
        let mut by_text: PlHashMap<&'a str, u32> = PlHashMap::default();
        let mut by_view: PlHashMap<u128, u32> = PlHashMap::default();
        let mut null = None;
        for arr in ca.downcast_iter() {
            // A long text's view names a buffer of its own array.
            by_view.clear();
            for (view, text) in arr.views().iter().zip(arr.iter()) {
                let Some(text) = text else {
                    let code = *null.get_or_insert_with(|| coded.push(None));
                    coded.codes.push(code);
                    continue;
                };
                let code = match by_view.get(&view.as_u128()) {
                    Some(&code) => code,
                    None => {
                        let code = match by_text.get(text) {
                            Some(&code) => code,
                            None => {
                                let code = coded.push(Some(text));
                                by_text.insert(text, code);
                                code
                            }
                        };
                        by_view.insert(view.as_u128(), code);
                        code
                    }
                };
                coded.codes.push(code);
            }
        }
        coded
    }

    fn push(&mut self, value: Option<&'a str>) -> u32 {
        self.values.push(value);
        (self.values.len() - 1) as u32
    }

    /// The value of row `row`.
    pub fn at(&self, row: usize) -> Option<&'a str> {
        self.values[self.codes[row] as usize]
    }

    /// The values of `rows`, in that order.
    pub fn at_rows(&self, rows: impl IntoIterator<Item = usize>) -> Vec<Option<&'a str>> {
        rows.into_iter().map(|row| self.at(row)).collect()
    }

    /// The codes of the values but null, each with its value, in the order of the values.
    pub fn sorted(&self) -> Vec<(usize, &'a str)> {
        let mut sorted: Vec<(usize, &'a str)> = self
            .values
            .iter()
            .enumerate()
            .filter_map(|(code, v)| Some((code, (*v)?)))
            .collect();
        sorted.sort_unstable_by_key(|&(_, v)| v);
        sorted
    }

    /// Each code's rank in the order of the values (null first, as polars sorts).
    pub fn ranks(&self) -> Vec<u32> {
        ranks(&self.values)
    }
}

/// Each value's rank in sorted order (null first, as polars sorts).
pub fn ranks<T: Ord>(values: &[T]) -> Vec<u32> {
    let mut order: Vec<u32> = (0..values.len() as u32).collect();
    order.sort_unstable_by(|&a, &b| values[a as usize].cmp(&values[b as usize]));
    let mut rank = vec![0; order.len()];
    for (r, code) in order.into_iter().enumerate() {
        rank[code as usize] = r as u32;
    }
    rank
}

/// A text column's cells as owned texts, nulls as the empty text.
pub fn texts(df: &DataFrame, name: &str) -> PolarsResult<Vec<String>> {
    Ok(df
        .column(name)?
        .str()?
        .iter()
        .map(|v| v.unwrap_or_default().to_string())
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(ca: &StringChunked) -> Vec<Option<&str>> {
        let coded = Coded::of(ca);
        (0..ca.len()).map(|row| coded.at(row)).collect()
    }

    #[test]
    fn equal_texts_share_a_code_across_chunks_inline_or_not() -> crate::error::Result<()> {
        let long = "an-account-id-longer-than-twelve-bytes";
        let mut ca = StringChunked::new("c".into(), [Some(long), None, Some("short"), Some(long)]);
        ca.append(&StringChunked::new(
            "c".into(),
            [Some("short"), Some(long), None, Some("other")],
        ))?;
        assert_eq!(ca.chunks().len(), 2);
        let coded = Coded::of(&ca);
        assert_eq!(coded.codes, [0, 1, 2, 0, 2, 0, 1, 3]);
        assert_eq!(
            coded.values,
            [Some(long), None, Some("short"), Some("other")]
        );
        assert_eq!(texts(&ca), ca.iter().collect::<Vec<_>>());
        assert_eq!(coded.ranks(), [1, 0, 3, 2]);
        assert_eq!(coded.sorted(), [(0, long), (3, "other"), (2, "short")]);
        Ok(())
    }

    #[test]
    fn equal_views_of_two_chunks_with_other_texts_get_their_own_codes() -> crate::error::Result<()>
    {
        // Same length, same first four bytes, each first in its chunk's buffer: the two
        // views are equal bit for bit, the texts are not.
        let (one, two) = ("account-number-000001", "account-number-000002");
        let mut ca = StringChunked::new("c".into(), [Some(one)]);
        ca.append(&StringChunked::new("c".into(), [Some(two)]))?;
        let views: Vec<u128> = ca.downcast_iter().map(|a| a.views()[0].as_u128()).collect();
        assert_eq!(views[0], views[1]);
        assert_eq!(texts(&ca), [Some(one), Some(two)]);
        Ok(())
    }
}
