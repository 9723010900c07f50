//! LOGIN_FROM_UNEXPECTED_COUNTRY: successful login from a country the jurisdiction does not allow.

use polars::prelude::*;

use super::table::{Detail, Layout, Section, Subject, Table};
use super::util::{detail, located_logins, ts_text};
use super::{Freeze, RuleMeta, SeverityPolicy};
use crate::error::Result;
use crate::resolve::Ctx;
use crate::severity::Severity;

pub static META: RuleMeta = RuleMeta {
    code: "LOGIN_FROM_UNEXPECTED_COUNTRY",
    window_rows: Some(located_logins),
    reads_events: true,
    title: "Successful login from a country the jurisdiction does not allow",
    fires: "the jurisdiction lists allowed countries, and the account has a successful \
           `login` in the activity window whose non-null `src_country` is not in the list. \
           Concerns the event's (system_id, account_id), whether or not it is in `accounts`",
    key: &["system_id", "account_id"],
    severity: SeverityPolicy::Fixed(Severity::High),
    rationale: "A successful sign-in from outside the countries the business operates from \
                points to stolen credentials, an unapproved remote worker or a proxy used to \
                hide the origin.",
    remediation: "Confirm with the account owner whether the logins were theirs; if not, \
                  disable the account, reset its credentials and review the sessions' actions.",
    references: &[],
    freeze: Freeze::Never,
    sod_exceptions: false,
    table: Some(Table {
        layout: &Layout {
            id: "countries",
            section: Section::LogAudit,
            title: "Logins from unexpected countries",
            intro: "Successful logins from a country outside the jurisdiction's allowed list.",
            headers: &[
                "Account",
                "Identity",
                "Countries (logins)",
                "Allowed",
                "First – last login",
            ],
            group: None,
        },
        cells,
    }),
    summary: None,
};

fn cells(f: &dyn Subject, d: &Detail) -> Vec<String> {
    let countries = match d.records("countries") {
        Some(a) => a
            .iter()
            .take(8)
            .map(|c| format!("{} ({})", c.txt("country"), c.txt("logins")))
            .collect::<Vec<_>>()
            .join(", "),
        None => "—".into(),
    };
    vec![
        f.account(),
        f.identity(),
        countries,
        d.list("allowed_countries"),
        format!("{} – {}", f.time(d, "first_login"), f.time(d, "last_login")),
    ]
}

/// The account (of the event, in `accounts` or not) has a successful `login` in the activity
/// window whose non-null `src_country` is not in its jurisdiction's non-empty
/// `allowed_login_countries`. Countries compare exactly, like every identifier (the policy
/// only accepts upper-case codes, so `gb` in a log is not `GB`).
pub fn evaluate(ctx: &Ctx) -> Result<DataFrame> {
    let (mut jur, mut country) = (Vec::new(), Vec::new());
    for j in &ctx.policy.jurisdictions {
        for c in &j.allowed_login_countries {
            jur.push(j.code.clone());
            country.push(c.clone());
        }
    }
    let allowed = df!("jurisdiction" => jur, "src_country" => country)?.lazy();
    // Only jurisdictions that list countries are checked: an empty list means no check.
    let checked = allowed
        .clone()
        .group_by([col("jurisdiction")])
        .agg([col("src_country")
            .sort(SortOptions::default())
            .alias("allowed_countries")]);

    let per_country = ctx
        .window_events
        .clone()
        .lazy()
        .filter(
            col("action")
                .eq(lit("login"))
                .and(col("outcome").eq(lit("success")))
                .and(col("src_country").is_not_null()),
        )
        .join(
            checked,
            [col("jurisdiction")],
            [col("jurisdiction")],
            JoinArgs::new(JoinType::Inner),
        )
        .join(
            allowed,
            [col("jurisdiction"), col("src_country")],
            [col("jurisdiction"), col("src_country")],
            JoinArgs::new(JoinType::Anti),
        )
        .group_by([
            col("system_id"),
            col("account_id"),
            col("jurisdiction"),
            col("src_country"),
        ])
        .agg([
            len().alias("logins"),
            col("ts").min().alias("first_ts"),
            col("ts").max().alias("last_ts"),
            col("identity").first(),
            col("allowed_countries").first(),
        ]);

    Ok(per_country
        .group_by([col("system_id"), col("account_id"), col("jurisdiction")])
        .agg([
            as_struct(vec![
                col("src_country").alias("country"),
                col("logins"),
                ts_text(col("first_ts")).alias("first_login"),
                ts_text(col("last_ts")).alias("last_login"),
            ])
            .sort_by([col("src_country")], SortMultipleOptions::default())
            .alias("countries"),
            col("logins").sum().alias("unexpected_logins"),
            col("first_ts").min(),
            col("last_ts").max(),
            col("identity").first(),
            col("allowed_countries").first(),
        ])
        .select([
            col("jurisdiction"),
            col("system_id"),
            col("account_id"),
            col("identity").alias("identity_id"),
            lit("high").alias("severity"),
            detail(vec![
                col("unexpected_logins"),
                ts_text(col("first_ts")).alias("first_login"),
                ts_text(col("last_ts")).alias("last_login"),
                col("countries"),
                col("allowed_countries"),
            ]),
        ])
        .collect()?)
}
