//! The keys a window rule looks an event row up by, as codes: its `(system_id, account_id)`
//! and its `(system_id, action)`.
//!
//! Which rows of the activity window are kept is decided each night by looking every row's
//! keys up in sets that change from night to night ([`KeepRows`]). Hashing the texts of
//! tens of millions of rows cost more than decoding them. So a partition's rows are coded
//! once, when the partition is first read, and stored with their codes: a night then looks
//! each distinct pair up once and a row's answer by its code, an array index.

use polars::prelude::*;

use crate::codes::Coded;
use crate::error::Result;

/// The stored rows' columns holding the codes.
pub const ACCOUNT_KEY: &str = "account_key";
pub const ACTION_KEY: &str = "action_key";

/// Decides which window rows to keep. Ingest knows no rule: the rules give this.
pub trait KeepRows: Send + Sync {
    /// Which of `rows` (the window columns) are kept, one boolean per row; `keys` are the
    /// rows' codes.
    fn keep(&self, rows: &DataFrame, keys: &KeyCodes) -> Result<BooleanChunked>;
}

/// A frame's rows' `(system_id, account_id)` and `(system_id, action)` as codes.
pub struct KeyCodes {
    pub account: PairCodes,
    pub action: PairCodes,
}

/// One kind of pair as codes. Codes number the distinct pairs in the order they first
/// occur, so a pair's values are those of the first row with its code.
pub struct PairCodes {
    /// Per row, the code of its pair.
    pub codes: Vec<u32>,
    /// For each code, the first row with it.
    pub firsts: Vec<u32>,
}

impl KeyCodes {
    /// The codes of `rows`' pairs (columns `system_id`, `account_id`, `action`).
    pub fn of(rows: &DataFrame) -> Result<KeyCodes> {
        let text = |c: &str| -> Result<Coded> { Ok(Coded::of(rows.column(c)?.str()?)) };
        let system = text("system_id")?;
        Ok(KeyCodes {
            account: PairCodes::of(&system, &text("account_id")?),
            action: PairCodes::of(&system, &text("action")?),
        })
    }

    /// The codes stored beside rows ([`Self::columns`]); None when they are not codes in
    /// the order their pairs first occur (a damaged or foreign file).
    pub fn stored(rows: &DataFrame) -> Option<KeyCodes> {
        Some(KeyCodes {
            account: PairCodes::stored(rows.column(ACCOUNT_KEY).ok()?)?,
            action: PairCodes::stored(rows.column(ACTION_KEY).ok()?)?,
        })
    }

    /// The codes as the two columns stored beside the rows.
    pub fn columns(&self) -> [Column; 2] {
        let column = |name: &str, pairs: &PairCodes| {
            UInt32Chunked::from_slice(name.into(), &pairs.codes).into_column()
        };
        [
            column(ACCOUNT_KEY, &self.account),
            column(ACTION_KEY, &self.action),
        ]
    }
}

impl PairCodes {
    /// The codes of the pairs `(system, b)` of each row.
    fn of(system: &Coded, b: &Coded) -> PairCodes {
        let mut at: PlHashMap<u64, u32> = PlHashMap::default();
        let mut firsts = Vec::new();
        let codes = system
            .codes
            .iter()
            .zip(&b.codes)
            .enumerate()
            .map(|(row, (&s, &b))| {
                *at.entry((u64::from(s) << 32) | u64::from(b))
                    .or_insert_with(|| {
                        firsts.push(row as u32);
                        (firsts.len() - 1) as u32
                    })
            })
            .collect();
        PairCodes { codes, firsts }
    }

    /// A stored code column, if every code is at most one more than the largest before it
    /// (as [`Self::of`] numbers them) and none is null.
    fn stored(column: &Column) -> Option<PairCodes> {
        let ca = column.u32().ok()?;
        if ca.null_count() > 0 {
            return None;
        }
        let mut codes = Vec::with_capacity(ca.len());
        let mut firsts = Vec::new();
        for arr in ca.downcast_iter() {
            for &code in arr.values().iter() {
                let row = codes.len() as u32;
                match (code as usize).cmp(&firsts.len()) {
                    std::cmp::Ordering::Less => {}
                    std::cmp::Ordering::Equal => firsts.push(row),
                    std::cmp::Ordering::Greater => return None,
                }
                codes.push(code);
            }
        }
        Some(PairCodes { codes, firsts })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows() -> PolarsResult<DataFrame> {
        df!(
            "system_id" => ["a", "b", "a", "a", "b"],
            "account_id" => ["x", "x", "x", "y", "x"],
            "action" => ["pay", "pay", "pay", "pay", "refund"],
        )
    }

    /// The same account on two systems is two pairs; codes number pairs as they first
    /// occur, and the stored codes give back the same first rows.
    #[test]
    fn pairs_are_coded_with_their_system_in_first_occurrence_order() -> Result<()> {
        let keys = KeyCodes::of(&rows()?)?;
        assert_eq!(keys.account.codes, [0, 1, 0, 2, 1]);
        assert_eq!(keys.account.firsts, [0, 1, 3]);
        assert_eq!(keys.action.codes, [0, 1, 0, 0, 2]);
        assert_eq!(keys.action.firsts, [0, 1, 4]);
        let stored = DataFrame::new_infer_height(keys.columns().to_vec())?;
        let back = KeyCodes::stored(&stored)
            .ok_or_else(|| crate::error::Error::Internal("not read back".into()))?;
        for (back, keys) in [(back.account, keys.account), (back.action, keys.action)] {
            assert_eq!(back.codes, keys.codes);
            assert_eq!(back.firsts, keys.firsts);
        }
        Ok(())
    }

    /// A planted code column that skips a code (or holds a null) is not taken for codes:
    /// a code must never index past the pairs it names.
    #[test]
    fn stored_codes_out_of_order_are_refused() -> Result<()> {
        let skips = df!(ACCOUNT_KEY => [0u32, 2], ACTION_KEY => [0u32, 1])?;
        assert!(KeyCodes::stored(&skips).is_none());
        let null = df!(ACCOUNT_KEY => [Some(0u32), None], ACTION_KEY => [0u32, 0])?;
        assert!(KeyCodes::stored(&null).is_none());
        let sound = df!(ACCOUNT_KEY => [0u32, 0, 1], ACTION_KEY => [0u32, 1, 1])?;
        assert!(KeyCodes::stored(&sound).is_some());
        Ok(())
    }
}
