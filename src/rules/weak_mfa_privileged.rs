//! WEAK_MFA_PRIVILEGED: privileged sign-in with a second factor the jurisdiction does not
//! accept for privileged access.

use polars::prelude::*;

use super::table::{Detail, Layout, Section, Subject, Table};
use super::util::{detail, login, success, ts_text, JoinOnAccount};
use super::window::Wanted;
use super::{Freeze, RuleMeta, SeverityPolicy};
use crate::error::Result;
use crate::policy::Policy;
use crate::resolve::{Ctx, Resolved};
use crate::severity::Severity;

pub static META: RuleMeta = RuleMeta {
    code: "WEAK_MFA_PRIVILEGED",
    window_rows: Some(window_rows),
    reads_events: true,
    title: "Privileged sign-in with a second factor not allowed for privileged access",
    fires: "the account has privileged access, and it has successful `login` events in the \
           activity window with `mfa` true and a non-null `mfa_method` not in \
           `allowed_mfa_methods_for_privileged` of the event's system's jurisdiction (an empty \
           list allows every method: the rule never fires there)",
    key: &["system_id", "account_id"],
    severity: SeverityPolicy::Fixed(Severity::High),
    rationale: "Codes sent by SMS, voice call or e-mail can be intercepted or redirected (SIM \
                swap, mailbox takeover); NIST SP 800-63B restricts them, and regulators expect \
                stronger factors (hardware tokens, biometrics) for administrators.",
    remediation: "Enrol the account in an allowed factor (FIDO2 key, smart card, platform \
                  authenticator...), remove the weak factor from it, and review the sessions \
                  opened with the weak one.",
    references: &[
        "PCI DSS v4.0.1 req. 8.4.1",
        "NIST SP 800-63B sec. 5.1.3.3 (restricted authenticators)",
    ],
    freeze: Freeze::Never,
    sod_exceptions: false,
    table: Some(Table {
        layout: &Layout {
            id: "weak-mfa",
            section: Section::LogAudit,
            title: "Privileged sign-ins with a weak second factor",
            intro: "Successful privileged logins whose second factor is not among those the \
                    jurisdiction allows for privileged access.",
            headers: &[
                "Account",
                "Identity",
                "Methods (logins)",
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
    let methods = match d.records("methods") {
        Some(a) => a
            .iter()
            .map(|m| format!("{} ({})", m.txt("mfa_method"), m.txt("logins")))
            .collect::<Vec<_>>()
            .join(", "),
        None => "—".into(),
    };
    vec![
        f.account(),
        f.identity(),
        methods,
        d.list("allowed_methods"),
        format!("{} – {}", f.time(d, "first_login"), f.time(d, "last_login")),
    ]
}

/// Successful logins with a known second factor.
fn window_rows(_: &Resolved, _: &Policy) -> Result<Wanted> {
    Ok(Wanted::when(logins_with_method()))
}

/// Successful logins with MFA and a method.
fn logins_with_method() -> Expr {
    success()
        .and(login())
        .and(col("mfa").eq(lit(true)).fill_null(lit(false)))
        .and(col("mfa_method").is_not_null())
}

/// Successful `login` events in the activity window of an account with privileged access,
/// with `mfa` true and a method outside the non-empty allowed list of the event's
/// jurisdiction. A login without a known method is the no-MFA rule's concern when `mfa`
/// is not true, and judged by nobody when it is (the method is unknown, not weak).
pub fn evaluate(ctx: &Ctx) -> Result<DataFrame> {
    let (mut listing, mut jur, mut method) = (Vec::new(), Vec::new(), Vec::new());
    let mut allowed_lists = Vec::new();
    for j in &ctx.policy.jurisdictions {
        if j.allowed_mfa_methods_for_privileged.is_empty() {
            continue;
        }
        listing.push(j.code.clone());
        allowed_lists.push(
            j.allowed_mfa_methods_for_privileged
                .iter()
                .cloned()
                .collect::<Vec<_>>(),
        );
        for m in &j.allowed_mfa_methods_for_privileged {
            jur.push(j.code.clone());
            method.push(m.clone());
        }
    }
    // Each login row is only tested against its jurisdiction's methods; the lists join
    // the few aggregated rows at the end, not the window's logins one by one.
    let listed = Series::new("listing".into(), listing.clone());
    let lists: Vec<Series> = allowed_lists
        .into_iter()
        .map(|l| Series::new("".into(), l))
        .collect();
    let checked = DataFrame::new_infer_height(vec![
        Series::new("jurisdiction".into(), listing).into(),
        Series::new("allowed_methods".into(), lists)
            .cast(&DataType::List(Box::new(DataType::String)))?
            .into(),
    ])?
    .lazy();
    let allowed = df!("jurisdiction" => jur, "mfa_method" => method)?.lazy();
    let privileged = ctx
        .accounts
        .clone()
        .lazy()
        .filter(col("privileged_access"))
        .select([
            col("system_id"),
            col("account_id"),
            col("identity").alias("identity_id"),
        ]);
    let weak = ctx
        .window_events
        .clone()
        .lazy()
        .filter(logins_with_method())
        .filter(col("jurisdiction").is_in(lit(listed).implode(false), false))
        .select([
            col("system_id"),
            col("account_id"),
            col("jurisdiction"),
            col("ts"),
            col("mfa_method"),
        ])
        .join(
            allowed,
            [col("jurisdiction"), col("mfa_method")],
            [col("jurisdiction"), col("mfa_method")],
            JoinArgs::new(JoinType::Anti),
        )
        .join_on_account(privileged, JoinType::Inner);
    let methods = weak
        .clone()
        .group_by([
            col("system_id"),
            col("account_id"),
            col("jurisdiction"),
            col("mfa_method"),
        ])
        .agg([len().cast(DataType::Int64).alias("logins")])
        .sort(["mfa_method"], SortMultipleOptions::default())
        .group_by([col("system_id"), col("account_id"), col("jurisdiction")])
        .agg([as_struct(vec![col("mfa_method"), col("logins")]).alias("methods")]);
    Ok(weak
        .group_by([col("system_id"), col("account_id"), col("jurisdiction")])
        .agg([
            col("identity_id").first(),
            len().cast(DataType::Int64).alias("weak_logins"),
            col("ts").min().alias("first_ts"),
            col("ts").max().alias("last_ts"),
        ])
        .join(
            methods,
            [col("system_id"), col("account_id"), col("jurisdiction")],
            [col("system_id"), col("account_id"), col("jurisdiction")],
            JoinArgs::new(JoinType::Inner),
        )
        .join(
            checked,
            [col("jurisdiction")],
            [col("jurisdiction")],
            JoinArgs::new(JoinType::Inner),
        )
        .select([
            col("jurisdiction"),
            col("system_id"),
            col("account_id"),
            col("identity_id"),
            lit("high").alias("severity"),
            detail(vec![
                col("weak_logins"),
                col("methods"),
                col("allowed_methods"),
                ts_text(col("first_ts")).alias("first_login"),
                ts_text(col("last_ts")).alias("last_login"),
            ]),
        ])
        .collect()?)
}
