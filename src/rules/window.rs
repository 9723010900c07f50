//! Which activity-window rows the rules read, and lookups of a row's pair of keys in a set
//! of pairs.
//!
//! Ingest keeps the union of the window rules' rows, so that union is tested on every row
//! of every window partition each night (tens of millions of rows). Several rules ask
//! whether a row's `(system_id, account_id)` or `(system_id, action)` is in a set of
//! their own; asked rule by rule, each row was hashed and looked up once per set (five
//! times), which cost more than reading the rows. [`union`] asks once per row and kind of
//! pair, in one map whose values say which rules' sets hold the pair, and only for rows
//! that a rule with a lookup could keep.

use polars::prelude::*;

use crate::error::{Error, Result};
use crate::ingest::keys::{KeepRows, KeyCodes, PairCodes};

/// The window rows one rule reads: those for which `when` holds and, when given, whose
/// account pair is (or is not) among the rule's and whose action pair is among the rule's.
pub struct Wanted {
    when: Expr,
    account: Option<Among>,
    /// `system_id, action` pairs.
    action: Option<LazyFrame>,
}

/// A set of account pairs a row's pair must be in (or, `negated`, not be in).
struct Among {
    pairs: LazyFrame,
    negated: bool,
}

impl Wanted {
    /// The rows for which `when` holds.
    pub fn when(when: Expr) -> Wanted {
        Wanted {
            when,
            account: None,
            action: None,
        }
    }

    /// ... whose `(system_id, account_id)` is one of `accounts`' rows.
    pub fn account_in(self, accounts: LazyFrame) -> Wanted {
        self.with_account(accounts, false)
    }

    /// ... whose `(system_id, account_id)` is none of `accounts`' rows.
    pub fn account_not_in(self, accounts: LazyFrame) -> Wanted {
        self.with_account(accounts, true)
    }

    /// ... whose `(system_id, action)` is one of `pairs`' rows.
    pub fn action_in(self, pairs: LazyFrame) -> Wanted {
        Wanted {
            action: Some(pairs),
            ..self
        }
    }

    fn with_account(self, pairs: LazyFrame, negated: bool) -> Wanted {
        Wanted {
            account: Some(Among { pairs, negated }),
            ..self
        }
    }
}

/// Pairs `(a, b)` with, for each, the bits of the sets that hold it. Indexed by `b` (an
/// account, an action: many values) whose entries name `a` (a system: a few) by a small
/// index, so that a frame looks each of its `b` values up once and then finds a row's pair
/// among the few entries of its `b` without hashing a text ([`PairMemo`]).
struct PairMasks {
    /// `a` values and their indices.
    firsts: PlHashMap<PlSmallStr, u32>,
    /// For each `b` value, `(index of a, bits)` sorted by the index.
    by_second: PlHashMap<PlSmallStr, Vec<(u32, u64)>>,
}

impl PairMasks {
    fn new() -> PairMasks {
        PairMasks {
            firsts: PlHashMap::new(),
            by_second: PlHashMap::new(),
        }
    }

    /// Marks every `(a, b)` row of `pairs` (nulls skipped: a null never matches) with `bit`.
    fn add(&mut self, pairs: LazyFrame, a: &str, b: &str, bit: u64) -> Result<()> {
        let keys = pairs.select([col(a), col(b)]).collect()?;
        let (xs, ys) = (keys.column(a)?.str()?, keys.column(b)?.str()?);
        for (x, y) in xs.iter().zip(ys.iter()) {
            if let (Some(x), Some(y)) = (x, y) {
                let next = self.firsts.len() as u32;
                let i = *self.firsts.entry(x.into()).or_insert(next);
                let entries = self.by_second.entry(y.into()).or_default();
                match entries.binary_search_by_key(&i, |e| e.0) {
                    Ok(at) => entries[at].1 |= bit,
                    Err(at) => entries.insert(at, (i, bit)),
                }
            }
        }
        Ok(())
    }

    fn index(&self, x: Option<&str>) -> Option<u32> {
        x.and_then(|x| self.firsts.get(x)).copied()
    }

    fn entries(&self, y: Option<&str>) -> &[(u32, u64)] {
        y.and_then(|y| self.by_second.get(y))
            .map_or(&[], Vec::as_slice)
    }

    fn get(&self, x: Option<&str>, y: Option<&str>) -> u64 {
        self.index(x).map_or(0, |i| bits_of(self.entries(y), i))
    }
}

/// The bits of the entry of `a` index `i` (0 when there is none).
fn bits_of(entries: &[(u32, u64)], i: u32) -> u64 {
    entries
        .binary_search_by_key(&i, |e| e.0)
        .map_or(0, |at| entries[at].1)
}

/// Whether the row's `(a, b)` is one of `pairs`' rows (columns `a` and `b` there too; a
/// null never matches), by a lookup per row in a set of the pairs: polars' `is_in` of a
/// struct row-encodes every row first.
pub fn pair_in(a: &str, b: &str, pairs: LazyFrame) -> Result<Expr> {
    let mut set = PairMasks::new();
    set.add(pairs, a, b, 1)?;
    let lookup = move |c: &mut [Column]| -> PolarsResult<Column> {
        let (xs, ys) = (c[0].str()?, c[1].str()?);
        let found: BooleanChunked = xs
            .iter()
            .zip(ys.iter())
            .map(|(x, y)| set.get(x, y) != 0)
            .collect();
        Ok(found.with_name(c[0].name().clone()).into_column())
    };
    Ok(col(a).map_many(lookup, &[col(b)], |_, f| {
        Ok(Field::new(f[0].name().clone(), DataType::Boolean))
    }))
}

/// The rows any of `wanted` reads (None when there is none).
pub fn union(wanted: Vec<Wanted>) -> Result<Option<Union>> {
    if wanted.is_empty() {
        return Ok(None);
    }
    let (plain, looked_up): (Vec<Wanted>, Vec<Wanted>) = wanted
        .into_iter()
        .partition(|w| w.account.is_none() && w.action.is_none());
    let plain = plain.into_iter().map(|w| w.when).reduce(Expr::or);
    let mut lookup = Lookup::new(&looked_up)?;
    // Several rules share one condition (most are `success()`): each distinct one is
    // evaluated once over the rows and stands for every rule that has it.
    let mut whens: Vec<Expr> = Vec::new();
    for (i, w) in looked_up.into_iter().enumerate() {
        let at = match whens.iter().position(|e| *e == w.when) {
            Some(at) => at,
            None => {
                whens.push(w.when);
                lookup.rules_of_when.push(0);
                whens.len() - 1
            }
        };
        lookup.rules_of_when[at] |= 1 << i;
    }
    Ok(Some(Union {
        plain,
        whens,
        lookup,
    }))
}

/// The window rows any rule reads: those a condition without lookup holds for (`plain`),
/// and those whose rules' conditions hold and whose keys are in (or out of) the rules' sets.
pub struct Union {
    plain: Option<Expr>,
    /// The distinct conditions of the rules with a lookup ([`Lookup::rules_of_when`]).
    whens: Vec<Expr>,
    lookup: Lookup,
}

impl KeepRows for Union {
    fn keep(&self, rows: &DataFrame, keys: &KeyCodes) -> Result<BooleanChunked> {
        let height = rows.height();
        let conditions = rows
            .clone()
            .lazy()
            .select(
                self.plain
                    .iter()
                    .chain(&self.whens)
                    .enumerate()
                    .map(|(i, e)| e.clone().alias(format!("c{i}")))
                    .collect::<Vec<_>>(),
            )
            .collect()?;
        let mut conditions = conditions.columns().iter();
        let plain = match self.plain {
            Some(_) => conditions.next().map(|c| c.bool().cloned()).transpose()?,
            None => None,
        };
        // The rules that could keep each row before any lookup.
        let mut rules = vec![0u64; height];
        for (i, when) in conditions.enumerate() {
            for (r, w) in rules.iter_mut().zip(held(when.bool()?, height)) {
                if w {
                    *r |= self.lookup.rules_of_when[i];
                }
            }
        }
        let (systems, accounts, actions) = (
            rows.column("system_id")?.str()?,
            rows.column("account_id")?.str()?,
            rows.column("action")?.str()?,
        );
        // Each distinct pair looked up once, by its first row; a row's then by its code.
        let bits = |set: &PairMasks, b: &StringChunked, pairs: &PairCodes| -> Vec<u64> {
            pairs
                .firsts
                .iter()
                .map(|&row| set.get(systems.get(row as usize), b.get(row as usize)))
                .collect()
        };
        let by_account = bits(&self.lookup.accounts, accounts, &keys.account);
        let by_action = bits(&self.lookup.actions, actions, &keys.action);
        let l = &self.lookup;
        let looked_up = rules.into_iter().enumerate().map(|(row, mut pass)| {
            if pass & l.on_account != 0 {
                let held = by_account[keys.account.codes[row] as usize] ^ l.account_negated;
                pass &= held | !l.on_account;
            }
            if pass & l.on_action != 0 {
                pass &= by_action[keys.action.codes[row] as usize] | !l.on_action;
            }
            pass != 0
        });
        let kept: BooleanChunked = match plain {
            Some(plain) => looked_up
                .zip(held(&plain, height))
                .map(|(a, b)| a || b)
                .collect(),
            None => looked_up.collect(),
        };
        Ok(kept.with_name("kept".into()))
    }
}

/// Whether a condition holds for each of `height` rows (null: it does not); a literal
/// condition comes as one value for every row.
fn held(c: &BooleanChunked, height: usize) -> Box<dyn Iterator<Item = bool> + '_> {
    if c.len() == 1 && height != 1 {
        let v = c.get(0) == Some(true);
        return Box::new(std::iter::repeat_n(v, height));
    }
    Box::new(c.iter().map(|v| v == Some(true)))
}

/// The lookups of the rules of [`union`] that have any, rule `i` being bit `i`.
struct Lookup {
    accounts: PairMasks,
    actions: PairMasks,
    /// The rules that look the account (the action) up.
    on_account: u64,
    on_action: u64,
    /// The rules whose account lookup keeps the rows that are not in their set.
    account_negated: u64,
    /// For each distinct condition given to the lookup, the rules that have it.
    rules_of_when: Vec<u64>,
}

impl Lookup {
    fn new(wanted: &[Wanted]) -> Result<Lookup> {
        if wanted.len() > 64 {
            return Err(Error::Internal(
                "more than 64 window rules look a row's keys up".into(),
            ));
        }
        let mut l = Lookup {
            accounts: PairMasks::new(),
            actions: PairMasks::new(),
            on_account: 0,
            on_action: 0,
            account_negated: 0,
            rules_of_when: Vec::new(),
        };
        for (i, w) in wanted.iter().enumerate() {
            let bit = 1u64 << i;
            if let Some(a) = &w.account {
                l.accounts
                    .add(a.pairs.clone(), "system_id", "account_id", bit)?;
                l.on_account |= bit;
                if a.negated {
                    l.account_negated |= bit;
                }
            }
            if let Some(pairs) = &w.action {
                l.actions.add(pairs.clone(), "system_id", "action", bit)?;
                l.on_action |= bit;
            }
        }
        Ok(l)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The same account (and action) on two systems, in a rule's set on one of them only:
    /// each row's pair is looked up with its own system, even after the other's was.
    #[test]
    fn a_pair_is_looked_up_with_its_own_system() -> Result<()> {
        let rows = df!(
            "system_id" => ["sys-a", "sys-b", "sys-a", "sys-b"],
            "account_id" => ["alice", "alice", "bob", "bob"],
            "action" => ["pay", "pay", "refund", "refund"],
        )?;
        let wanted = vec![
            Wanted::when(lit(true))
                .account_in(df!("system_id" => ["sys-b"], "account_id" => ["alice"])?.lazy()),
            Wanted::when(lit(true))
                .action_in(df!("system_id" => ["sys-b"], "action" => ["refund"])?.lazy()),
        ];
        let keep = union(wanted)?.ok_or_else(|| Error::Internal("no predicate".into()))?;
        let kept = keep.keep(&rows, &KeyCodes::of(&rows)?)?;
        let kept: Vec<Option<bool>> = kept.iter().collect();
        assert_eq!(kept, [Some(false), Some(true), Some(false), Some(true)]);
        Ok(())
    }

    /// One action named alike on several systems, added to the set out of the systems'
    /// order and in two rules' sets: each row gets the bits of its own system's pair, and a
    /// system in no pair (or a null) matches nothing.
    #[test]
    fn an_action_on_several_systems_keeps_each_systems_bits() -> Result<()> {
        let mut set = PairMasks::new();
        let pairs = df!(
            "system_id" => ["sys-c", "sys-a", "sys-b"],
            "action" => ["pay", "pay", "pay"],
        )?;
        set.add(pairs.clone().lazy(), "system_id", "action", 1)?;
        set.add(pairs.slice(1, 1).lazy(), "system_id", "action", 2)?;
        let rows = df!(
            "system_id" => [Some("sys-a"), Some("sys-b"), Some("sys-c"), Some("sys-d"), None],
            "action" => ["pay", "pay", "pay", "pay", "pay"],
        )?;
        let (systems, actions) = (
            rows.column("system_id")?.str()?,
            rows.column("action")?.str()?,
        );
        let bits: Vec<u64> = systems
            .iter()
            .zip(actions.iter())
            .map(|(s, a)| set.get(s, a))
            .collect();
        assert_eq!(bits, [3, 1, 1, 0, 0]);
        Ok(())
    }
}
