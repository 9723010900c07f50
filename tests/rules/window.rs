//! The union of the window rules' rows (`rules::window::union`), which looks a row's pairs
//! up once for all rules, by their codes: it must keep exactly the rows that the rules'
//! predicates, each evaluated on its own, keep, whether the codes were just computed or
//! read back as stored beside the rows.

use polars::prelude::*;

use permaudit::ingest::keys::{KeepRows, KeyCodes};
use permaudit::rules::window::{pair_in, union, Union, Wanted};

fn opt(v: &str) -> Option<&str> {
    (!v.is_empty()).then_some(v)
}

/// Every combination of two systems, three accounts and null, three actions and null, and
/// three outcomes and null: nulls included, since a null key is in no set.
fn rows() -> DataFrame {
    let (mut s, mut a, mut x, mut o) = (vec![], vec![], vec![], vec![]);
    for system in ["s1", "s2"] {
        for account in ["a1", "a2", "a3", ""] {
            for action in ["login", "pay", "view", ""] {
                for outcome in ["success", "failure", ""] {
                    s.push(system);
                    a.push(opt(account));
                    x.push(opt(action));
                    o.push(opt(outcome));
                }
            }
        }
    }
    df!(
        "system_id" => s,
        "account_id" => a,
        "action" => x,
        "outcome" => o,
    )
    .expect("frame")
}

fn pairs(b: &str, of: &[(&str, &str)]) -> LazyFrame {
    df!(
        "system_id" => of.iter().map(|p| p.0).collect::<Vec<_>>(),
        b => of.iter().map(|p| p.1).collect::<Vec<_>>(),
    )
    .expect("pairs")
    .lazy()
}

fn kept(df: &DataFrame, predicate: Expr) -> Vec<String> {
    let out = df
        .clone()
        .lazy()
        .filter(predicate)
        .collect()
        .expect("filter");
    (0..out.height())
        .map(|i| format!("{:?}", out.get_row(i).expect("row").0))
        .collect()
}

/// The rows `union` keeps, with the codes computed from the rows; the same must come of
/// the codes as a later night reads them back from the state.
fn kept_by(df: &DataFrame, union: &Union) -> Vec<String> {
    let keys = KeyCodes::of(df).expect("codes");
    let stored = DataFrame::new_infer_height(keys.columns().to_vec()).expect("stored codes");
    let read_back = KeyCodes::stored(&stored).expect("codes read back");
    let mask = union.keep(df, &keys).expect("keep");
    let again = union.keep(df, &read_back).expect("keep");
    assert!(mask.iter().eq(again.iter()), "stored codes keep other rows");
    let out = df.filter(&mask).expect("filter");
    (0..out.height())
        .map(|i| format!("{:?}", out.get_row(i).expect("row").0))
        .collect()
}

#[test]
fn one_lookup_per_row_keeps_what_each_rule_keeps() {
    let success = || col("outcome").eq(lit("success"));
    let login = || col("action").eq(lit("login"));
    let emergency = [("s1", "a1"), ("s2", "a3")];
    let known = [("s1", "a1"), ("s1", "a2"), ("s2", "a2")];
    let privileged = [("s1", "pay"), ("s2", "view")];
    let wanted = || {
        vec![
            Wanted::when(success()).account_in(pairs("account_id", &emergency)),
            Wanted::when(login().and(success().not())),
            Wanted::when(success()).account_not_in(pairs("account_id", &known)),
            Wanted::when(success()).action_in(pairs("action", &privileged)),
            Wanted::when(success())
                .account_in(pairs("account_id", &known))
                .action_in(pairs("action", &[("s2", "pay")])),
        ]
    };
    let each = [
        success()
            .and(pair_in("system_id", "account_id", pairs("account_id", &emergency)).expect("set")),
        login().and(success().not()),
        success().and(
            pair_in("system_id", "account_id", pairs("account_id", &known))
                .expect("set")
                .not(),
        ),
        success().and(pair_in("system_id", "action", pairs("action", &privileged)).expect("set")),
        success()
            .and(pair_in("system_id", "account_id", pairs("account_id", &known)).expect("set"))
            .and(pair_in("system_id", "action", pairs("action", &[("s2", "pay")])).expect("set")),
    ]
    .into_iter()
    .reduce(Expr::or)
    .expect("rules");
    let df = rows();
    let fused = kept_by(&df, &union(wanted()).expect("union").expect("some rows"));
    assert_eq!(fused, kept(&df, each));
    // Not vacuous: each kind of rule keeps rows, and many rows are dropped.
    assert!(
        fused.len() > 10 && fused.len() * 2 < df.height(),
        "{fused:?}"
    );
    for (rule, n) in wanted().into_iter().enumerate() {
        let alone = kept_by(&df, &union(vec![n]).expect("union").expect("rows"));
        assert!(!alone.is_empty(), "rule {rule} keeps nothing");
    }
}

#[test]
fn an_unknown_account_with_a_null_key_is_kept_by_a_rule_on_unknown_accounts() {
    // A null account is in no set: "not among the accounts" holds for it, as it did for
    // `not(pair_in)`.
    let df = rows();
    let unknown = union(vec![
        Wanted::when(lit(true)).account_not_in(pairs("account_id", &[("s1", "a1")]))
    ])
    .expect("union")
    .expect("rows");
    let mask = unknown
        .keep(&df, &KeyCodes::of(&df).expect("codes"))
        .expect("keep");
    let out = df.filter(&mask).expect("filter");
    assert_eq!(out.column("account_id").expect("col").null_count(), 24);
    assert_eq!(out.height(), 96 - 12);
}

#[test]
fn rules_without_lookups_are_a_plain_predicate_and_none_is_none() {
    assert!(union(vec![]).expect("union").is_none());
    let df = rows();
    let p = union(vec![Wanted::when(col("outcome").eq(lit("failure")))])
        .expect("union")
        .expect("rows");
    assert_eq!(kept_by(&df, &p).len(), 32);
}
