//! FAILED_LOGIN_BURST: burst of failed logins on one account.

use polars::prelude::*;

use super::table::{Detail, Layout, Section, Subject, Table};
use super::util::{detail, login, ts_text, with_thresholds};
use super::window::{pair_in, Wanted};
use super::{Freeze, RuleMeta, SeverityPolicy};
use crate::error::Result;
use crate::policy::Policy;
use crate::resolve::{Ctx, Resolved};
use crate::severity::Severity;

const MICROS_PER_MINUTE: i64 = 60_000_000;

pub static META: RuleMeta = RuleMeta {
    code: "FAILED_LOGIN_BURST",
    window_rows: Some(window_rows),
    reads_events: true,
    title: "Burst of failed logins on one account",
    fires: "in the activity window, at least `failed_login_threshold` failed `login` events \
           of the account whose first and last are less than `failed_login_window_minutes` \
           apart. Concerns the event's (system_id, account_id), whether or not it is in \
           `accounts`",
    key: &["system_id", "account_id"],
    severity: SeverityPolicy::Either {
        then: Severity::Critical,
        when: "a successful login follows a failure of the burst within the window",
        otherwise: Severity::High,
    },
    rationale: "Many failed sign-ins in a short time are password guessing or credential \
                stuffing; a success right after them suggests the attacker got in.",
    remediation: "If a success followed, freeze the account, reset its credentials and review \
                  the session; otherwise confirm with the owner, check the source addresses \
                  and make sure lockout is enforced.",
    references: &[],
    freeze: Freeze::Account(Severity::Critical),
    sod_exceptions: false,
    table: Some(Table {
        layout: &Layout {
            id: "bursts",
            section: Section::LogAudit,
            title: "Failed-login bursts",
            intro: "Accounts with at least the threshold of failed logins inside the sliding \
                    window; critical when a successful login followed the burst within the window.",
            headers: &[
                "Account",
                "Identity",
                "Failures",
                "Burst (local time)",
                "Success after the burst",
            ],
            group: None,
        },
        cells,
    }),
    summary: None,
};

fn cells(f: &dyn Subject, d: &Detail) -> Vec<String> {
    vec![
        f.account(),
        f.identity(),
        format!(
            "{} (threshold {} in {} min)",
            d.txt("burst_failures"),
            d.txt("failed_login_threshold"),
            d.txt("failed_login_window_minutes")
        ),
        format!(
            "{} – {}",
            f.time(d, "first_burst_failure"),
            f.time(d, "last_burst_failure")
        ),
        d.str("success_after_burst_failure")
            .map_or_else(|| "none within the window".into(), |s| f.local_time(s)),
    ]
}

/// The failures of one account that lie in a burst, and what followed them.
struct Burst {
    failed_logins: usize,
    burst_failures: usize,
    peak: usize,
    first: i64,
    last: i64,
    /// The earliest successful login later than a burst failure by less than the window,
    /// and the latest burst failure before it.
    critical: Option<(i64, i64)>,
    /// The first successful login after the last burst failure, however late (evidence for
    /// a reviewer when it is not soon enough to make the finding critical).
    next_success: Option<i64>,
}

/// `failures` and `successes` are sorted timestamps of one account's logins.
fn burst(failures: &[i64], successes: &[i64], threshold: usize, window: i64) -> Option<Burst> {
    let k = threshold.max(1);
    if failures.len() < k {
        return None;
    }
    // Any K failures spanning less than the window imply K consecutive ones that do, so
    // marking every qualifying run of K consecutive failures finds exactly the failures
    // that belong to some burst.
    let mut in_burst = vec![false; failures.len()];
    let mut marked_to = 0;
    for i in 0..=failures.len() - k {
        if failures[i + k - 1] - failures[i] < window {
            for flag in &mut in_burst[marked_to.max(i)..i + k] {
                *flag = true;
            }
            marked_to = i + k;
        }
    }
    let members: Vec<i64> = failures
        .iter()
        .zip(&in_burst)
        .filter_map(|(&ts, &b)| b.then_some(ts))
        .collect();
    let (&first, &last) = (members.first()?, members.last()?);

    let mut peak = 0;
    let mut left = 0;
    for (right, &ts) in failures.iter().enumerate() {
        while ts - failures[left] >= window {
            left += 1;
        }
        peak = peak.max(right + 1 - left);
    }

    let next_after = |ts: i64| {
        let i = successes.partition_point(|&s| s <= ts);
        successes.get(i).copied()
    };
    // The first success after a failure only moves later as the failure does, so the first
    // qualifying pair found is the earliest qualifying success.
    let critical = members
        .iter()
        .find_map(|&f| next_after(f).filter(|&s| s - f < window).map(|s| (s, f)))
        .map(|(s, f)| {
            // Shown against the latest burst failure before it: the shortest delay.
            let before = members.partition_point(|&m| m < s);
            let latest = before.checked_sub(1).and_then(|i| members.get(i));
            (s, latest.copied().unwrap_or(f))
        });
    Some(Burst {
        failed_logins: failures.len(),
        burst_failures: members.len(),
        peak,
        first,
        last,
        critical,
        next_success: next_after(last),
    })
}

#[derive(Default)]
struct Out {
    system_id: Vec<String>,
    account_id: Vec<String>,
    jurisdiction: Vec<String>,
    identity: Vec<Option<String>>,
    severity: Vec<&'static str>,
    failed_logins: Vec<u64>,
    burst_failures: Vec<u64>,
    peak: Vec<u64>,
    first: Vec<i64>,
    last: Vec<i64>,
    success: Vec<Option<i64>>,
    success_after_failure: Vec<Option<i64>>,
    next_success: Vec<Option<i64>>,
    threshold: Vec<i64>,
    window_minutes: Vec<i64>,
}

/// Every login, failed or not (a success can end a burst).
fn window_rows(_: &Resolved, _: &Policy) -> Result<Wanted> {
    Ok(Wanted::when(login()))
}

/// In the activity window, at least `failed_login_threshold` failed `login` events of the
/// event's (system_id, account_id) whose first and last are less than
/// `failed_login_window_minutes` apart. Critical when a successful login follows a failure
/// of such a burst by `0 < Δ < window`; such a success is necessarily in the window too
/// (it is later than a failure in the window and, like every event rules see, before T).
pub fn evaluate(ctx: &Ctx) -> Result<DataFrame> {
    let logins = ctx
        .window_events
        .clone()
        .lazy()
        .filter(col("action").eq(lit("login")))
        .select([
            col("system_id"),
            col("account_id"),
            col("jurisdiction"),
            col("identity"),
            col("ts"),
            col("event_id"),
            col("outcome").eq(lit("failure")).alias("failed"),
        ]);
    let logins = with_thresholds(logins, ctx);
    // Accounts with too few failures cannot burst; dropping them keeps the loop small.
    // Counted on the failures alone (a few of the window's logins), and the accounts
    // kept found by a set lookup, not a window over every login.
    let enough = logins
        .clone()
        .filter(col("failed"))
        .group_by([col("system_id"), col("account_id")])
        .agg([
            len().cast(DataType::Int64).alias("failures"),
            col("failed_login_threshold").first(),
        ])
        .filter(col("failures").gt_eq(col("failed_login_threshold")));
    let mut df = logins
        .filter(pair_in("system_id", "account_id", enough)?)
        .sort(
            ["system_id", "account_id", "ts", "event_id"],
            SortMultipleOptions::default(),
        )
        .select([
            col("system_id"),
            col("account_id"),
            col("jurisdiction"),
            col("identity"),
            col("ts"),
            col("failed"),
            col("failed_login_threshold"),
            col("failed_login_window_minutes"),
        ])
        .collect()?;
    df.rechunk_mut();

    let sys = df.column("system_id")?.str()?;
    let acc = df.column("account_id")?.str()?;
    let jur = df.column("jurisdiction")?.str()?;
    let ident = df.column("identity")?.str()?;
    let ts = df.column("ts")?.i64()?;
    let failed = df.column("failed")?.bool()?;
    let thr = df.column("failed_login_threshold")?.i64()?;
    let win = df.column("failed_login_window_minutes")?.i64()?;

    let mut out = Out::default();
    let n = df.height();
    let mut start = 0;
    while start < n {
        let key = (sys.get(start), acc.get(start));
        let mut end = start + 1;
        while end < n && (sys.get(end), acc.get(end)) == key {
            end += 1;
        }
        let (mut fails, mut oks) = (Vec::new(), Vec::new());
        for i in start..end {
            if let Some(t) = ts.get(i) {
                if failed.get(i).unwrap_or(false) {
                    fails.push(t);
                } else {
                    oks.push(t);
                }
            }
        }
        let threshold = thr.get(start).unwrap_or(1);
        let minutes = win.get(start).unwrap_or(0);
        let found = burst(
            &fails,
            &oks,
            usize::try_from(threshold).unwrap_or(usize::MAX),
            minutes.saturating_mul(MICROS_PER_MINUTE),
        );
        if let (Some(b), (Some(s), Some(a)), Some(j)) = (found, key, jur.get(start)) {
            out.system_id.push(s.to_string());
            out.account_id.push(a.to_string());
            out.jurisdiction.push(j.to_string());
            out.identity.push(ident.get(start).map(str::to_string));
            out.severity.push(if b.critical.is_some() {
                "critical"
            } else {
                "high"
            });
            out.failed_logins.push(b.failed_logins as u64);
            out.burst_failures.push(b.burst_failures as u64);
            out.peak.push(b.peak as u64);
            out.first.push(b.first);
            out.last.push(b.last);
            out.success.push(b.critical.map(|c| c.0));
            out.success_after_failure.push(b.critical.map(|c| c.1));
            out.next_success.push(b.next_success);
            out.threshold.push(threshold);
            out.window_minutes.push(minutes);
        }
        start = end;
    }

    let frame = df!(
        "system_id" => out.system_id,
        "account_id" => out.account_id,
        "jurisdiction" => out.jurisdiction,
        "identity_id" => out.identity,
        "severity" => out.severity,
        "failed_logins" => out.failed_logins,
        "burst_failures" => out.burst_failures,
        "peak" => out.peak,
        "first" => out.first,
        "last" => out.last,
        "success" => out.success,
        "success_after_failure" => out.success_after_failure,
        "next_success" => out.next_success,
        "threshold" => out.threshold,
        "window_minutes" => out.window_minutes,
    )?;
    Ok(frame
        .lazy()
        .select([
            col("jurisdiction"),
            col("system_id"),
            col("account_id"),
            col("identity_id"),
            col("severity"),
            detail(vec![
                col("burst_failures"),
                ts_text(col("first")).alias("first_burst_failure"),
                ts_text(col("last")).alias("last_burst_failure"),
                col("peak").alias("max_failures_within_window"),
                col("failed_logins").alias("failed_logins_in_window"),
                ts_text(col("success")).alias("success_after_burst_failure"),
                ts_text(col("success_after_failure")).alias("preceding_burst_failure"),
                ((col("success") - col("success_after_failure")).cast(DataType::Float64)
                    / lit(1_000_000f64))
                .alias("success_delay_seconds"),
                ts_text(col("next_success")).alias("next_success_after_burst"),
                col("threshold").alias("failed_login_threshold"),
                col("window_minutes").alias("failed_login_window_minutes"),
            ]),
        ])
        .collect()?)
}
