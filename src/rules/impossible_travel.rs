//! IMPOSSIBLE_TRAVEL: successive sign-ins from different countries too close together.

use polars::prelude::*;

use super::table::{Detail, Layout, Section, Subject, Table};
use super::util::{detail, hours, located_logins, ts_text, with_thresholds};
use super::{Freeze, RuleMeta, SeverityPolicy};
use crate::error::Result;
use crate::resolve::Ctx;
use crate::severity::Severity;

pub static META: RuleMeta = RuleMeta {
    code: "IMPOSSIBLE_TRAVEL",
    window_rows: Some(located_logins),
    reads_events: true,
    title: "Successive sign-ins from different countries too close together",
    fires: "two consecutive successful `login` events with a non-null `src_country` (logins \
           without one are skipped), of the identity's accounts, in the activity window, \
           ordered by ts then event_id, from different countries less than `travel_hours` \
           apart (the later login's jurisdiction sets the threshold and is the finding's \
           jurisdiction)",
    key: &["identity_id"],
    severity: SeverityPolicy::Fixed(Severity::High),
    rationale: "One person cannot sign in from two countries within a few hours; one of the \
                sessions is most likely a stolen credential or a shared account in use \
                elsewhere.",
    remediation: "Confirm with the person which sign-ins were theirs, reset the credentials and \
                  sessions of the accounts involved, and review what the other session did.",
    // regulations.md names no clause specific to sign-in anomalies; jurisdictions add
    // their monitoring citations through `references`.
    references: &[],
    freeze: Freeze::Never,
    sod_exceptions: false,
    table: Some(Table {
        layout: &Layout {
            id: "travel",
            section: Section::LogAudit,
            title: "Impossible travel",
            intro: "Successful logins of one identity (across all its accounts and systems) from \
                    two countries closer in time than the travel threshold.",
            headers: &["Identity", "First pair", "Accounts", "Pairs", "Threshold"],
            group: None,
        },
        cells,
    }),
    summary: None,
};

fn cells(f: &dyn Subject, d: &Detail) -> Vec<String> {
    let first = d.first("pairs");
    vec![
        f.identity(),
        format!(
            "{} {} → {} {} ({} min apart)",
            first.txt("from_country"),
            f.time(&first, "from_ts"),
            first.txt("to_country"),
            f.time(&first, "to_ts"),
            first.txt("gap_minutes")
        ),
        format!(
            "{} @ {} → {} @ {}",
            first.txt("from_account_id"),
            first.txt("from_system_id"),
            first.txt("to_account_id"),
            first.txt("to_system_id")
        ),
        d.txt("pair_count"),
        format!("{} h", d.txt("travel_hours")),
    ]
}

/// Pairs listed in the evidence per finding; the count covers all of them.
const MAX_PAIRS_SHOWN: u32 = 50;

/// Two consecutive successful logins with a country, of one identity across all systems,
/// from different countries less than `travel_hours` apart (later login's jurisdiction).
pub fn evaluate(ctx: &Ctx) -> Result<DataFrame> {
    let cols = [
        "identity",
        "ts",
        "event_id",
        "system_id",
        "account_id",
        "src_country",
    ];
    let logins = ctx
        .window_events
        .clone()
        .lazy()
        .filter(
            col("action")
                .eq(lit("login"))
                .and(col("outcome").eq(lit("success")))
                .and(col("src_country").is_not_null())
                .and(col("identity").is_not_null()),
        )
        .select(
            cols.iter()
                .map(|c| col(*c))
                .chain([col("jurisdiction")])
                .collect::<Vec<_>>(),
        )
        // Only an identity seen in two countries can travel; most are seen in one, and the
        // sort below is most of the rule's cost. Filtering keeps the rows' relative order.
        .filter(
            col("src_country")
                .n_unique()
                .over([col("identity")])?
                .gt(lit(1)),
        )
        .sort(
            ["identity", "ts", "event_id"],
            SortMultipleOptions::default().with_maintain_order(true),
        );
    // Sorted by identity first, the previous row is the previous login of the same
    // identity exactly when its identity matches.
    let pairs = logins
        .with_columns(
            cols.iter()
                .map(|c| col(*c).shift(lit(1)).alias(format!("prev_{c}")))
                .collect::<Vec<_>>(),
        )
        .filter(
            col("prev_identity")
                .eq(col("identity"))
                .and(col("prev_src_country").neq(col("src_country"))),
        );
    let gap = col("ts") - col("prev_ts");
    Ok(with_thresholds(pairs, ctx)
        .filter(gap.clone().lt(hours("travel_hours")))
        .with_column(
            as_struct(vec![
                col("prev_src_country").alias("from_country"),
                col("src_country").alias("to_country"),
                ts_text(col("prev_ts")).alias("from_ts"),
                ts_text(col("ts")).alias("to_ts"),
                (gap.cast(DataType::Float64) / lit(60_000_000.0))
                    .round(2, RoundMode::default())
                    .alias("gap_minutes"),
                col("prev_system_id").alias("from_system_id"),
                col("prev_account_id").alias("from_account_id"),
                col("prev_event_id").alias("from_event_id"),
                col("system_id").alias("to_system_id"),
                col("account_id").alias("to_account_id"),
                col("event_id").alias("to_event_id"),
            ])
            .alias("pair"),
        )
        .group_by_stable([col("identity"), col("jurisdiction")])
        .agg([
            len().alias("pair_count"),
            col("travel_hours").first(),
            ts_text(col("ts").first()).alias("first_pair_at"),
            ts_text(col("ts").last()).alias("last_pair_at"),
            col("pair")
                .head(Some(MAX_PAIRS_SHOWN as usize))
                .alias("pairs"),
        ])
        .select([
            col("jurisdiction"),
            col("identity").alias("identity_id"),
            lit("high").alias("severity"),
            detail(vec![
                col("pair_count"),
                col("travel_hours"),
                col("first_pair_at"),
                col("last_pair_at"),
                lit(MAX_PAIRS_SHOWN).alias("pairs_shown_max"),
                col("pairs"),
            ]),
        ])
        .collect()?)
}
