//! TRAINING_OVERDUE: a holder of access whose security training is overdue or missing.

use polars::prelude::*;

use super::table::Detail;
use super::util::{days, detail, ts_text, with_thresholds};
use super::{Freeze, RuleMeta, SeverityPolicy, Summary};
use crate::error::Result;
use crate::resolve::Ctx;
use crate::severity::Severity;

pub static META: RuleMeta = RuleMeta {
    code: "TRAINING_OVERDUE",
    window_rows: None,
    reads_events: false,
    title: "Holder of access without current security training",
    fires: "the identity, not terminated at T, holds an effective grant on a system of the \
           jurisdiction, and its latest qualifying `training` completion (course in the \
           jurisdiction's `security_training_courses`, compared exactly; any course when the \
           list is empty) with `completed_at < T` is older than \
           `security_training_interval_days`, or there is none. Not evaluated when the \
           `training` table is absent; a header-only table means nobody is trained",
    key: &["identity_id", "jurisdiction"],
    severity: SeverityPolicy::Either {
        then: Severity::High,
        when: "one of the identity's effective grants on a system of the jurisdiction is \
               privileged",
        otherwise: Severity::Medium,
    },
    rationale: "People who hold access to payment systems are the first target of phishing and \
                social engineering; training at least once a year, and on joining, is how they \
                learn to recognise it and what to report.",
    remediation: "Have the person complete the security awareness course now (or suspend the \
                  access until they have), and check why the training schedule missed them.",
    references: &[
        "PCI DSS v4.0.1 req. 12.6.1",
        "PCI DSS v4.0.1 req. 12.6.2",
        "PCI DSS v4.0.1 req. 12.6.3",
    ],
    freeze: Freeze::Never,
    sod_exceptions: false,
    table: None,
    summary: Some(Summary::Training {
        never: never_trained,
    }),
};

/// A finding about someone with no qualifying completion at all (else: overdue).
fn never_trained(d: &Detail) -> bool {
    d.str("last_training").is_none()
}

/// Per (identity, jurisdiction) of the effective grants of identities not terminated at T:
/// the latest qualifying completion before T, judged against the jurisdiction's interval:
/// overdue when `completed_at < T - interval days`, or when there is none. Without a
/// `training` table there is nothing to judge by, and nothing is raised (the pipeline's
/// log says so); a table without rows is evidence that nobody is trained.
pub fn evaluate(ctx: &Ctx) -> Result<DataFrame> {
    let holders = ctx
        .held_by_staff()
        .filter(lit(ctx.tables.training_given))
        .group_by([col("identity"), col("jurisdiction")])
        .agg([
            col("privileged_eff").any(true).alias("privileged"),
            len().cast(DataType::Int64).alias("effective_grants"),
            col("system_id")
                .unique()
                .sort(SortOptions::default())
                .alias("systems"),
        ]);
    let latest = qualifying(ctx)?
        .sort(["completed_at", "course"], SortMultipleOptions::default())
        .group_by([col("identity_id"), col("jurisdiction")])
        .agg([col("completed_at").last(), col("course").last()]);
    let joined = with_thresholds(holders, ctx).join(
        latest,
        [col("identity"), col("jurisdiction")],
        [col("identity_id"), col("jurisdiction")],
        JoinArgs::new(JoinType::Left),
    );
    let due = lit(ctx.t) - days("security_training_interval_days");
    Ok(joined
        .filter(
            col("completed_at")
                .is_null()
                .or(col("completed_at").lt(due.clone())),
        )
        .select([
            col("jurisdiction"),
            col("identity").alias("identity_id"),
            when(col("privileged"))
                .then(lit("high"))
                .otherwise(lit("medium"))
                .alias("severity"),
            detail(vec![
                ts_text(col("completed_at")).alias("last_training"),
                col("course").alias("last_course"),
                col("security_training_interval_days"),
                ts_text(due).alias("required_since"),
                col("privileged"),
                col("effective_grants"),
                col("systems"),
            ]),
        ])
        .collect()?)
}

/// `identity_id, jurisdiction, course, completed_at`: every completion before T, once per
/// jurisdiction whose list of courses it qualifies for (every jurisdiction with an empty
/// list).
fn qualifying(ctx: &Ctx) -> Result<LazyFrame> {
    let (mut any, mut jur, mut course) = (Vec::new(), Vec::new(), Vec::new());
    for j in &ctx.policy.jurisdictions {
        if j.security_training_courses.is_empty() {
            any.push(j.code.clone());
        }
        for c in &j.security_training_courses {
            jur.push(j.code.clone());
            course.push(c.clone());
        }
    }
    let done = ctx
        .tables
        .training
        .clone()
        .lazy()
        .filter(col("completed_at").lt(lit(ctx.t)));
    let any_course = done
        .clone()
        .cross_join(df!("jurisdiction" => any)?.lazy(), None);
    let listed = done.join(
        df!("jurisdiction" => jur, "course" => course)?.lazy(),
        [col("course")],
        [col("course")],
        JoinArgs::new(JoinType::Inner),
    );
    let cols = || {
        [
            col("identity_id"),
            col("jurisdiction"),
            col("course"),
            col("completed_at"),
        ]
    };
    Ok(concat(
        [any_course.select(cols()), listed.select(cols())],
        UnionArgs::default(),
    )?)
}
