//! Resolution: from the ingested tables to the facts every rule shares (the evaluation
//! instant, effective grants, role closure, privilege, identity mapping, event aggregates).
//! Computed once per run; rules only read it.

use std::collections::{BTreeMap, HashMap, VecDeque};

use chrono::NaiveDate;
use polars::prelude::*;
use rayon::prelude::*;

use crate::error::Result;
use crate::ingest::{Events, Tables};
use crate::policy::Policy;
use crate::time::{evaluation_instant, MICROS_PER_DAY};

/// Everything the rules read: the facts [`Resolved`] before the events (reached through
/// `Deref`: `ctx.grants`, `ctx.t`...) and the event aggregates. Frames follow the
/// canonical conventions of [`crate::ingest::Tables`]: timestamps are `Int64` microseconds
/// UTC.
pub struct Ctx<'a> {
    pub policy: &'a Policy,
    pub tables: &'a Tables,
    pub as_of: NaiveDate,
    pub resolved: Resolved,
    /// The sequenced records before T, as the log-chain rules read them.
    pub log_chains: LogChains,
    /// Per system with events before T: `events_before_t`, `first_ts`, `latest_ts`,
    /// `latest_event_id` (the last by `ts, event_id`), and `jurisdiction`.
    pub feed: DataFrame,
    /// Every partition's feed spans (`system_id, start_ts, start_event_id, end_ts,
    /// end_event_id`; see [`crate::ingest::events::feed_spans`]), all dates: the feed-gap
    /// rule merges them.
    pub feed_spans: DataFrame,
    /// Events in the activity window `[T - L days, T)`, with `jurisdiction` and the
    /// account's `identity` (null when the account is unknown or has no identity).
    pub window_events: DataFrame,
    /// `account_row, permission_row, last_use`: latest successful event before T of the
    /// account exercising the permission (through action_permissions), by their numbers in
    /// [`Resolved::accounts`] and [`Resolved::entitlements`].
    pub last_use: DataFrame,
    /// `system_id, account_id, last_login`: latest successful `login` before T.
    pub last_login: DataFrame,
    /// Decisions taken earlier and stored in OUT, read by the caller before the rules run
    /// (empty when there is no OUT, as in `review open` or a plain evaluation).
    pub remediation: Remediation,
}

/// What OUT already holds about remediation that was decided: plain data, filled by the
/// `run` command (which knows OUT) so that rules stay pure and this layer reads no file.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Remediation {
    /// Revocations decided by access review campaigns closed before T.
    pub revocations: Vec<RevocationDecision>,
    /// The freeze lists of the runs in OUT with an earlier as_of, oldest first.
    pub freeze_lists: Vec<EarlierFreezeList>,
}

/// The freeze list of one earlier run.
#[derive(Debug, Clone, PartialEq)]
pub struct EarlierFreezeList {
    pub as_of: NaiveDate,
    /// `(system_id, account_id)` -> the `finding_ids` that listed it; None when the list is
    /// missing or unreadable (the run is then known to list nobody for certain).
    pub accounts: Option<BTreeMap<(String, String), String>>,
}

/// One row of a closed campaign's `revocations.csv`.
#[derive(Debug, Clone, PartialEq)]
pub struct RevocationDecision {
    pub campaign_id: String,
    pub item_id: String,
    pub grant_id: String,
    pub system_id: String,
    /// Null when no reviewer decided (the campaign's no-response default did).
    pub reviewer_id: Option<String>,
    pub decided_at: i64,
    pub closed_at: i64,
}

impl Remediation {
    /// The revocations as a frame: `campaign_id, item_id, grant_id, system_id, reviewer_id,
    /// decided_at, closed_at` (timestamps in microseconds UTC).
    pub fn revocations_frame(&self) -> Result<DataFrame> {
        let r = &self.revocations;
        let text = |name: &str, f: &dyn Fn(&RevocationDecision) -> Option<String>| -> Column {
            Series::new(name.into(), r.iter().map(f).collect::<Vec<_>>()).into()
        };
        let micros = |name: &str, f: &dyn Fn(&RevocationDecision) -> i64| -> Column {
            Series::new(name.into(), r.iter().map(f).collect::<Vec<i64>>()).into()
        };
        Ok(DataFrame::new_infer_height(vec![
            text("campaign_id", &|d| Some(d.campaign_id.clone())),
            text("item_id", &|d| Some(d.item_id.clone())),
            text("grant_id", &|d| Some(d.grant_id.clone())),
            text("system_id", &|d| Some(d.system_id.clone())),
            text("reviewer_id", &|d| d.reviewer_id.clone()),
            micros("decided_at", &|d| d.decided_at),
            micros("closed_at", &|d| d.closed_at),
        ])?)
    }
}

/// Facts the report shows beside the findings, so that a reader sees what a control covered
/// and not only where it failed (no finding depends on them).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Coverage {
    /// Per jurisdiction: the identities, not terminated at T, holding an effective grant on
    /// one of its systems (those whose security training is judged). None without a
    /// `training` table, when nobody's training is judged.
    pub training_holders: Option<BTreeMap<String, u64>>,
    /// Per jurisdiction and second factor: successful `login` events in the activity window,
    /// with `mfa` true and a named `mfa_method`, of accounts with privileged access.
    pub privileged_mfa_methods: BTreeMap<String, BTreeMap<String, u64>>,
}

impl std::ops::Deref for Ctx<'_> {
    type Target = Resolved;

    fn deref(&self) -> &Resolved {
        &self.resolved
    }
}

/// The log chains of every system, from the partitions' digests (see
/// [`crate::ingest::events::EventDigests`]): raw records for the systems whose partitions
/// overlap in seq, and for the others each partition's edge records, lowest seqs and own
/// findings. Frames carry [`crate::ingest::events`]' seq columns.
pub struct LogChains {
    /// Records with `ts < T` of the systems evaluated on all their records.
    pub raw: DataFrame,
    pub edges: DataFrame,
    /// `system_id, seq`: each partition's lowest seq.
    pub gap_starts: DataFrame,
    /// `system_id, seq`: each partition's lowest hashed seq.
    pub hash_starts: DataFrame,
    /// Gaps inside single partitions: `system_id, seq, after_seq, detail`.
    pub gap_local: DataFrame,
    /// Hash-chain findings inside single partitions: `system_id, seq, detail`.
    pub hash_local: DataFrame,
}

/// The facts that do not depend on audit events: everything [`Ctx`] holds but the event
/// aggregates. Resolved before the events are read, so that only the window rows some rule
/// reads are kept (see [`crate::rules::window_rows`]).
///
/// Identities, accounts and entitlements are numbered (`identity_row`, `account_row`,
/// `entitlement_row`), and what the rules join over millions of rows carries the numbers
/// it is joined by (grants: identity, account and entitlement; the closure: entitlement
/// and permission; window rows: account; last use: account and permission), so that those
/// joins compare integers instead of one to three texts.
pub struct Resolved {
    /// Evaluation instant T.
    pub t: i64,
    /// Start of the activity window, `T - activity_lookback_days`.
    pub window_start: i64,
    /// One row per jurisdiction code: `jurisdiction` plus every numeric/boolean threshold
    /// under its policy key name and `timezone` (IANA name).
    pub jurisdictions: DataFrame,
    /// `system_id, jurisdiction`.
    pub systems: DataFrame,
    /// `system_id, entitlement_id, kind, name, risk, privileged` (own flag),
    /// `privileged_eff` (it or anything it reaches is privileged), `owner_id`,
    /// `entitlement_row`.
    pub entitlements: DataFrame,
    /// `system_id, entitlement_id, permission_id, path`: the closure of every entitlement,
    /// with a shortest role path (`"role-a > role-b > perm"`) as evidence;
    /// `entitlement_row` and `permission_row` (the permission's `entitlement_row`).
    pub closure: DataFrame,
    /// `identity_id, display_name, department, job_function, manager_id, status,
    /// terminated_at, terminated` (terminated at T), `identity_row`.
    pub identities: DataFrame,
    /// Every account with `jurisdiction`, `identity` (the identity_id when it names an
    /// existing identity, else null), `terminated`, `department`, `job_function`,
    /// `privileged_access` (holds an effective grant of a privileged entitlement), and
    /// `account_row`.
    pub accounts: DataFrame,
    /// Active grants at T with `jurisdiction`, the account's `identity`, `account_type`,
    /// `account_status`, `terminated`, the entitlement's `kind`, `risk`, `privileged_eff`,
    /// and `effective` (active and account status `active`); `identity_row` (null when the
    /// account names no identity), `account_row` and `entitlement_row`.
    pub grants: DataFrame,
    /// `system_id, action, permissions`: the actions exercising a privileged permission
    /// (privileged itself or reaching one), with the sorted ids of those permissions.
    pub privileged_actions: DataFrame,
    /// identity_id -> home jurisdiction (see [`home_jurisdictions`]); identities without an
    /// effective grant are absent.
    pub homes: BTreeMap<String, String>,
}

impl Resolved {
    /// Reads the tables other than `audit_events` (and `events`) only.
    pub fn build(
        tables: &Tables,
        policy: &Policy,
        as_of: NaiveDate,
        lookback_days: i64,
    ) -> Result<Resolved> {
        let t = evaluation_instant(as_of);
        let window_start = t - lookback_days * MICROS_PER_DAY;
        let jurisdictions = jurisdiction_frame(policy)?;
        let systems = tables
            .systems
            .clone()
            .lazy()
            .select([col("system_id"), col("jurisdiction")])
            .collect()?;

        let (closure, reach_priv) = role_closure(tables)?;
        let entitlements = tables
            .entitlements
            .clone()
            .lazy()
            .join(
                reach_priv.lazy(),
                [col("system_id"), col("entitlement_id")],
                [col("system_id"), col("entitlement_id")],
                JoinArgs::new(JoinType::Left),
            )
            .with_column(col("privileged_eff").fill_null(lit(false)))
            .with_row_index("entitlement_row", None)
            .collect()?;
        let closure = numbered_closure(closure, &entitlements)?;

        let identities = tables
            .identities
            .clone()
            .lazy()
            .with_column(
                (col("status")
                    .eq(lit("terminated"))
                    .and(col("terminated_at").lt(lit(t))))
                .fill_null(lit(false))
                .alias("terminated"),
            )
            .with_row_index("identity_row", None)
            .collect()?;

        let id_cols = identities.clone().lazy().select([
            col("identity_id").alias("identity"),
            col("identity_row"),
            col("terminated"),
            col("terminated_at"),
            col("department"),
            col("job_function"),
        ]);
        let active_grants = tables.grants.clone().lazy().filter(
            col("granted_at").lt(lit(t)).and(
                col("revoked_at")
                    .is_null()
                    .or(col("revoked_at").gt_eq(lit(t))),
            ),
        );
        // Numbered, so that window rows can meet them by one integer (`account_row`).
        let accounts_base = tables
            .accounts
            .clone()
            .lazy()
            .with_row_index("account_row", None)
            .join(
                systems.clone().lazy(),
                [col("system_id")],
                [col("system_id")],
                JoinArgs::new(JoinType::Left),
            )
            .join(
                id_cols,
                [col("identity_id")],
                [col("identity")],
                JoinArgs::new(JoinType::Left).with_coalesce(JoinCoalesce::KeepColumns),
            )
            .with_column(col("terminated").fill_null(lit(false)));

        let ent_cols = entitlements.clone().lazy().select([
            col("system_id"),
            col("entitlement_id"),
            col("entitlement_row"),
            col("kind"),
            col("risk"),
            col("privileged_eff"),
        ]);
        let grants_base = active_grants
            .join(
                accounts_base.clone().select([
                    col("system_id"),
                    col("account_id"),
                    col("jurisdiction"),
                    col("identity"),
                    col("identity_row"),
                    col("account_row"),
                    col("account_type"),
                    col("status").alias("account_status"),
                    col("terminated"),
                ]),
                [col("system_id"), col("account_id")],
                [col("system_id"), col("account_id")],
                JoinArgs::new(JoinType::Inner),
            )
            .join(
                ent_cols,
                [col("system_id"), col("entitlement_id")],
                [col("system_id"), col("entitlement_id")],
                JoinArgs::new(JoinType::Inner),
            )
            .with_column(col("account_status").eq(lit("active")).alias("effective"));
        let grants = grants_base.collect()?;

        let privileged_accounts = grants
            .clone()
            .lazy()
            .filter(col("effective").and(col("privileged_eff")))
            .group_by([col("system_id"), col("account_id")])
            .agg([lit(true).alias("privileged_access")]);
        let accounts = accounts_base
            .join(
                privileged_accounts,
                [col("system_id"), col("account_id")],
                [col("system_id"), col("account_id")],
                JoinArgs::new(JoinType::Left),
            )
            .with_column(col("privileged_access").fill_null(lit(false)))
            .collect()?;
        let privileged_actions = privileged_actions(tables, &entitlements)?;
        let homes = home_jurisdictions(&grants)?;
        Ok(Resolved {
            t,
            window_start,
            jurisdictions,
            systems,
            entitlements,
            closure,
            identities,
            accounts,
            grants,
            privileged_actions,
            homes,
        })
    }
}

/// The closure with the numbers of its entitlements and permissions, in its own order.
fn numbered_closure(closure: DataFrame, entitlements: &DataFrame) -> Result<DataFrame> {
    Ok(closure
        .lazy()
        .join(
            entitlement_numbers(entitlements, "entitlement_id", "entitlement_row"),
            [col("system_id"), col("entitlement_id")],
            [col("system_id"), col("entitlement_id")],
            left_in_order(),
        )
        .join(
            entitlement_numbers(entitlements, "permission_id", "permission_row"),
            [col("system_id"), col("permission_id")],
            [col("system_id"), col("permission_id")],
            left_in_order(),
        )
        .collect()?)
}

/// `system_id`, the entitlement's id as `id` and its number as `row`: what numbers another
/// frame's entitlements (or permissions) by a join on `system_id, id`.
fn entitlement_numbers(entitlements: &DataFrame, id: &str, row: &str) -> LazyFrame {
    entitlements.clone().lazy().select([
        col("system_id"),
        col("entitlement_id").alias(id),
        col("entitlement_row").alias(row),
    ])
}

/// A left join whose rows keep the left frame's order: what adds numbered columns beside
/// the left frame's own.
fn left_in_order() -> JoinArgs {
    JoinArgs {
        maintain_order: MaintainOrderJoin::Left,
        ..JoinArgs::new(JoinType::Left)
    }
}

/// Each identity's home jurisdiction (CONTRACT section 8): the jurisdiction of the system
/// that holds most of its effective grants, counted per system as the contract words it
/// (not summed per jurisdiction); among systems holding equally many, the lowest
/// jurisdiction code. `grants` are [`Resolved::grants`].
pub fn home_jurisdictions(grants: &DataFrame) -> Result<BTreeMap<String, String>> {
    let identity = grants.column("identity")?.str()?;
    let system = grants.column("system_id")?.str()?;
    let jurisdiction = grants.column("jurisdiction")?.str()?;
    let effective = grants.column("effective")?.bool()?;
    // Hashed, not ordered: millions of grants, and the choice below depends on no order.
    let mut held: PlHashMap<(&str, &str), (usize, &str)> = PlHashMap::new();
    for i in 0..grants.height() {
        let (Some(who), Some(s), Some(j), Some(true)) = (
            identity.get(i),
            system.get(i),
            jurisdiction.get(i),
            effective.get(i),
        ) else {
            continue;
        };
        held.entry((who, s)).or_insert((0, j)).0 += 1;
    }
    let mut best: PlHashMap<&str, (usize, &str)> = PlHashMap::new();
    for ((who, _), (n, j)) in held {
        let e = best.entry(who).or_insert((n, j));
        if n > e.0 || (n == e.0 && j < e.1) {
            *e = (n, j);
        }
    }
    Ok(best
        .into_iter()
        .map(|(who, (_, j))| (who.to_string(), j.to_string()))
        .collect())
}

/// The window rows of `[window.start, window.end)` with their `jurisdiction`, and their
/// account's `identity` and `account_row` (null when the accounts lack it). The rows
/// (millions on a large night) are never copied whole: the keys alone are joined, in the
/// rows' order, and the joined columns added beside them.
fn window_rows(
    rows: DataFrame,
    systems: &DataFrame,
    accounts: &DataFrame,
    window: std::ops::Range<i64>,
) -> Result<DataFrame> {
    let in_window = rows
        .clone()
        .lazy()
        .select([col("ts")
            .gt_eq(lit(window.start))
            .and(col("ts").lt(lit(window.end)))
            .alias("in_window")])
        .collect()?;
    let in_window = in_window.column("in_window")?.bool()?;
    let rows = if in_window.all() {
        rows
    } else {
        rows.filter(in_window)?
    };
    let joined = rows
        .select(["system_id", "account_id"])?
        .lazy()
        .join(
            systems.clone().lazy(),
            [col("system_id")],
            [col("system_id")],
            left_in_order(),
        )
        .join(
            accounts.clone().lazy().select([
                col("system_id"),
                col("account_id"),
                col("identity"),
                col("account_row"),
            ]),
            [col("system_id"), col("account_id")],
            [col("system_id"), col("account_id")],
            left_in_order(),
        )
        .select([col("jurisdiction"), col("identity"), col("account_row")])
        .collect()?;
    if joined.height() != rows.height() {
        return Err(crate::error::Error::Internal(format!(
            "window rows: {} rows joined to {} (a system or account key twice)",
            rows.height(),
            joined.height()
        )));
    }
    Ok(rows.hstack(joined.columns())?)
}

impl<'a> Ctx<'a> {
    /// Resolves everything at `as_of` from tables holding every event row the rules read.
    pub fn build(
        tables: &'a Tables,
        policy: &'a Policy,
        as_of: NaiveDate,
        lookback_days: i64,
    ) -> Result<Ctx<'a>> {
        let resolved = Resolved::build(tables, policy, as_of, lookback_days)?;
        Self::with_events(tables, tables.events(), policy, as_of, resolved)
    }

    /// Adds the aggregates of `events` (the window rows and every partition's digests,
    /// consumed here: [`Tables::take_events`]) to facts resolved earlier.
    pub fn with_events(
        tables: &'a Tables,
        events: Events,
        policy: &'a Policy,
        as_of: NaiveDate,
        r: Resolved,
    ) -> Result<Ctx<'a>> {
        let (t, window_start, systems, accounts) = (r.t, r.window_start, &r.systems, &r.accounts);
        // T and the window start are UTC midnights: the digests' per-day rows are before T
        // exactly when their day is.
        let t_day = t.div_euclid(MICROS_PER_DAY);
        let with_jurisdiction = |lf: LazyFrame| {
            lf.join(
                systems.clone().lazy(),
                [col("system_id")],
                [col("system_id")],
                JoinArgs::new(JoinType::Left),
            )
        };
        let Events { rows, digests } = events;
        tracing::debug!(
            usage_rows = digests.usage.height(),
            feed_rows = digests.feed.height(),
            window_rows = rows.height(),
            "event digests stacked"
        );
        let log_chains = LogChains {
            raw: digests
                .seq_raw
                .lazy()
                .filter(col("ts").lt(lit(t)))
                .collect()?,
            edges: digests.seq_edges,
            gap_starts: digests.gap_starts,
            hash_starts: digests.hash_starts,
            gap_local: digests.gap_local,
            hash_local: digests.hash_local,
        };
        let feed = with_jurisdiction(
            digests
                .feed
                .lazy()
                .filter(col("day").lt(lit(t_day)))
                .sort(
                    ["latest_ts", "latest_event_id"],
                    SortMultipleOptions::default(),
                )
                .group_by([col("system_id")])
                .agg([
                    col("events").sum().cast(IDX_DTYPE).alias("events_before_t"),
                    col("first_ts").min(),
                    col("latest_ts").last(),
                    col("latest_event_id").last(),
                ]),
        )
        .collect()?;
        let window_events = window_rows(rows, systems, accounts, window_start..t)?;

        let usage = digests
            .usage
            .lazy()
            .filter(col("day").lt(lit(t_day)))
            .collect()?;
        // By numbers, as the grants and the closure carry them: the rule that reads it joins
        // millions of (grant, permission) rows with it. Permissions the entitlements lack and
        // accounts the accounts table lacks hold no grant.
        let numbered_permissions = tables
            .action_permissions
            .clone()
            .lazy()
            .join(
                entitlement_numbers(&r.entitlements, "permission_id", "permission_row"),
                [col("system_id"), col("permission_id")],
                [col("system_id"), col("permission_id")],
                JoinArgs::new(JoinType::Inner),
            )
            .select([col("system_id"), col("action"), col("permission_row")])
            .collect()?;
        let last_use = last_use_by_numbers(&usage, &numbered_permissions, accounts)?;
        let last_login = usage
            .lazy()
            .filter(col("action").eq(lit("login")))
            .group_by([col("system_id"), col("account_id")])
            .agg([col("last_ts").max().alias("last_login")])
            .collect()?;

        Ok(Ctx {
            policy,
            tables,
            as_of,
            resolved: r,
            log_chains,
            feed,
            feed_spans: digests.spans,
            window_events,
            last_use,
            last_login,
            remediation: Remediation::default(),
        })
    }
}

/// `account_row, permission_row, last_use`: the latest use of each permission by each
/// account, from `usage` (`system_id, account_id, action, last_ts`), the permissions each
/// action exercises on its system (`system_id, action, permission_row`) and the accounts'
/// numbers (`system_id, account_id, account_row`). A null key meets nothing, as in a join.
///
/// One pass over the usage, with a lookup in a small map of (system, action) per row and
/// one of the account per run of rows of one account: as polars joins on two text keys
/// (and the joined frame they built), this was more than half of resolution on a large
/// night (3M usage rows).
fn last_use_by_numbers(
    usage: &DataFrame,
    permissions: &DataFrame,
    accounts: &DataFrame,
) -> Result<DataFrame> {
    let exercised = numbers_by_pair(permissions, "action", "permission_row")?;
    let numbered = numbers_by_pair(accounts, "account_id", "account_row")?;
    let text = |c: &str| -> Result<_> { Ok(usage.column(c)?.str()?.iter()) };
    let mut latest: PlHashMap<(IdxSize, IdxSize), Option<i64>> =
        PlHashMap::with_capacity(usage.height());
    // The stored rollup, most of the rows, is sorted by system and account: a row's account
    // is looked up only when it differs from the row before.
    let mut previous: Option<((&str, &str), &[IdxSize])> = None;
    let rows = text("system_id")?
        .zip(text("account_id")?)
        .zip(text("action")?)
        .zip(usage.column("last_ts")?.i64()?.iter());
    for (((system, account), action), t) in rows {
        let (Some(system), Some(account), Some(action)) = (system, account, action) else {
            continue;
        };
        let Some(permissions) = exercised.get(&(system, action)) else {
            continue;
        };
        let owners = match previous {
            Some((key, owners)) if key == (system, account) => owners,
            _ => {
                let owners = numbered
                    .get(&(system, account))
                    .map_or(&[][..], Vec::as_slice);
                previous = Some(((system, account), owners));
                owners
            }
        };
        for &owner in owners {
            for &permission in permissions {
                // As polars' `max`: a null time counts only when every time is null.
                let last = latest.entry((owner, permission)).or_insert(t);
                *last = (*last).max(t);
            }
        }
    }
    let mut entries: Vec<((IdxSize, IdxSize), Option<i64>)> = latest.into_iter().collect();
    entries.sort_unstable_by_key(|e| e.0);
    let numbers = |name: &str, of: fn(&(IdxSize, IdxSize)) -> IdxSize| {
        IdxCa::from_vec(name.into(), entries.iter().map(|e| of(&e.0)).collect()).into_column()
    };
    Ok(DataFrame::new(
        entries.len(),
        vec![
            numbers("account_row", |k| k.0),
            numbers("permission_row", |k| k.1),
            Int64Chunked::from_iter_options("last_use".into(), entries.iter().map(|e| e.1))
                .into_column(),
        ],
    )?)
}

/// Numbers (`number`) by the texts of `system_id` and `b` (rows with a null skipped).
type NumbersByPair<'a> = PlHashMap<(&'a str, &'a str), Vec<IdxSize>>;

fn numbers_by_pair<'a>(df: &'a DataFrame, b: &str, number: &str) -> Result<NumbersByPair<'a>> {
    let mut map = NumbersByPair::default();
    let (xs, ys) = (df.column("system_id")?.str()?, df.column(b)?.str()?);
    for ((x, y), n) in xs
        .iter()
        .zip(ys.iter())
        .zip(df.column(number)?.idx()?.iter())
    {
        if let (Some(x), Some(y), Some(n)) = (x, y, n) {
            map.entry((x, y)).or_default().push(n);
        }
    }
    Ok(map)
}

/// `rows` beside `columns` of `frame`, gathered at the positions in `rows`' column `at`.
fn beside(rows: &DataFrame, at: &str, frame: &DataFrame, columns: &[&str]) -> Result<DataFrame> {
    let taken = frame
        .select(columns.iter().copied())?
        .take(rows.column(at)?.idx()?)?;
    Ok(rows.hstack(taken.columns())?)
}

/// See [`Ctx::held_by_staff`].
fn held_by_staff() -> Expr {
    col("effective")
        .and(col("identity").is_not_null())
        .and(col("terminated").not())
}

impl Ctx<'_> {
    /// The effective grants of identities not terminated at T: the holders of access that
    /// the person-based controls judge (stale access, grade, peer group, security training).
    pub fn held_by_staff(&self) -> LazyFrame {
        self.grants.clone().lazy().filter(held_by_staff())
    }

    /// [`Self::held_by_staff`] with each grant's position in `grants` (`grant_row`). A rule
    /// that joins millions of grants selects numbers from it, so that its intermediate
    /// frames hold no text, and takes the texts of the grants that fire with
    /// [`Self::with_grant_columns`].
    pub fn staff_grant_rows(&self) -> LazyFrame {
        self.grants
            .clone()
            .lazy()
            .with_row_index("grant_row", None)
            .filter(held_by_staff())
    }

    /// `rows` beside `columns` of the grants at its `grant_row` positions.
    pub fn with_grant_columns(&self, rows: &DataFrame, columns: &[&str]) -> Result<DataFrame> {
        beside(rows, "grant_row", &self.grants, columns)
    }

    /// The closure as numbers, with each row's position in `closure` (`closure_row`):
    /// `closure_row, entitlement_row, permission_row`. As [`Self::staff_grant_rows`], for
    /// joins over millions of (grant, permission) rows; [`Self::with_closure_columns`]
    /// takes the texts back.
    pub fn closure_rows(&self) -> LazyFrame {
        self.closure
            .clone()
            .lazy()
            .select([col("entitlement_row"), col("permission_row")])
            .with_row_index("closure_row", None)
    }

    /// `rows` beside `columns` of the closure at its `closure_row` positions.
    pub fn with_closure_columns(&self, rows: &DataFrame, columns: &[&str]) -> Result<DataFrame> {
        beside(rows, "closure_row", &self.closure, columns)
    }

    /// The window rows with each row's position in `window_events` (`window_row`). As
    /// [`Self::staff_grant_rows`]: a rule that narrows millions of events selects numbers
    /// and instants from it, and takes the texts of the events that fire with
    /// [`Self::with_window_columns`].
    pub fn window_row_numbers(&self) -> LazyFrame {
        self.window_events
            .clone()
            .lazy()
            .with_row_index("window_row", None)
    }

    /// `rows` beside `columns` of the window rows at its `window_row` positions.
    pub fn with_window_columns(&self, rows: &DataFrame, columns: &[&str]) -> Result<DataFrame> {
        beside(rows, "window_row", &self.window_events, columns)
    }

    /// What the report shows of the controls' reach (see [`Coverage`]).
    pub fn coverage(&self) -> Result<Coverage> {
        let training_holders = if self.tables.training_given {
            let holders = self
                .held_by_staff()
                .group_by([col("jurisdiction")])
                .agg([col("identity").n_unique().cast(DataType::UInt64).alias("n")])
                .collect()?;
            Some(
                counts(&holders, &["jurisdiction"])?
                    .into_iter()
                    .map(|(mut k, n)| (k.remove(0), n))
                    .collect(),
            )
        } else {
            None
        };
        let privileged = self
            .accounts
            .clone()
            .lazy()
            .filter(col("privileged_access"))
            .select([col("system_id"), col("account_id")]);
        let methods = self
            .window_events
            .clone()
            .lazy()
            .filter(
                col("outcome")
                    .eq(lit("success"))
                    .and(col("action").eq(lit("login")))
                    .and(col("mfa").eq(lit(true)).fill_null(lit(false)))
                    .and(col("mfa_method").is_not_null())
                    .and(col("jurisdiction").is_not_null()),
            )
            .join(
                privileged,
                [col("system_id"), col("account_id")],
                [col("system_id"), col("account_id")],
                JoinArgs::new(JoinType::Inner),
            )
            .group_by([col("jurisdiction"), col("mfa_method")])
            .agg([len().cast(DataType::UInt64).alias("n")])
            .collect()?;
        let mut privileged_mfa_methods: BTreeMap<String, BTreeMap<String, u64>> = BTreeMap::new();
        for (mut k, n) in counts(&methods, &["jurisdiction", "mfa_method"])? {
            let method = k.pop().unwrap_or_default();
            let j = k.pop().unwrap_or_default();
            privileged_mfa_methods
                .entry(j)
                .or_default()
                .insert(method, n);
        }
        Ok(Coverage {
            training_holders,
            privileged_mfa_methods,
        })
    }
}

/// The rows of a frame of string key columns and a `UInt64` column `n`.
fn counts(df: &DataFrame, keys: &[&str]) -> Result<Vec<(Vec<String>, u64)>> {
    let cols = keys
        .iter()
        .map(|k| Ok(df.column(k)?.str()?.clone()))
        .collect::<Result<Vec<_>>>()?;
    let n = df.column("n")?.u64()?;
    Ok((0..df.height())
        .filter_map(|i| {
            let key = cols
                .iter()
                .map(|c| c.get(i).map(str::to_string))
                .collect::<Option<Vec<_>>>()?;
            Some((key, n.get(i)?))
        })
        .collect())
}

fn privileged_actions(tables: &Tables, entitlements: &DataFrame) -> Result<DataFrame> {
    let privileged = entitlements
        .clone()
        .lazy()
        .filter(col("kind").eq(lit("permission")).and(col("privileged_eff")))
        .select([
            col("system_id"),
            col("entitlement_id").alias("permission_id"),
        ]);
    Ok(tables
        .action_permissions
        .clone()
        .lazy()
        .select([col("system_id"), col("action"), col("permission_id")])
        .join(
            privileged,
            [col("system_id"), col("permission_id")],
            [col("system_id"), col("permission_id")],
            JoinArgs::new(JoinType::Inner),
        )
        .group_by([col("system_id"), col("action")])
        .agg([col("permission_id")
            .unique()
            .sort(SortOptions::default())
            .alias("permissions")])
        .collect()?)
}

fn jurisdiction_frame(policy: &Policy) -> Result<DataFrame> {
    let js = &policy.jurisdictions;
    let int = |name: &str, f: &dyn Fn(&crate::policy::Jurisdiction) -> i64| -> Column {
        Series::new(name.into(), js.iter().map(f).collect::<Vec<i64>>()).into()
    };
    let cols: Vec<Column> = vec![
        Series::new(
            "jurisdiction".into(),
            js.iter().map(|j| j.code.clone()).collect::<Vec<_>>(),
        )
        .into(),
        Series::new(
            "timezone".into(),
            js.iter()
                .map(|j| j.timezone.name().to_string())
                .collect::<Vec<_>>(),
        )
        .into(),
        int("stale_grant_days", &|j| j.stale_grant_days),
        int("dormant_account_days", &|j| j.dormant_account_days),
        int("termination_grace_hours", &|j| j.termination_grace_hours),
        int("revocation_sla_days", &|j| j.revocation_sla_days),
        int("freeze_sla_hours", &|j| j.freeze_sla_hours),
        int("review_interval_days", &|j| j.review_interval_days),
        int("privileged_review_interval_days", &|j| {
            j.privileged_review_interval_days
        }),
        Series::new(
            "mfa_required_for_privileged".into(),
            js.iter()
                .map(|j| j.mfa_required_for_privileged)
                .collect::<Vec<_>>(),
        )
        .into(),
        int("failed_login_threshold", &|j| {
            i64::from(j.failed_login_threshold)
        }),
        int("failed_login_window_minutes", &|j| {
            j.failed_login_window_minutes
        }),
        int("travel_hours", &|j| j.travel_hours),
        int("max_silence_hours", &|j| j.max_silence_hours),
        int("security_training_interval_days", &|j| {
            j.security_training_interval_days
        }),
        int("log_review_days", &|j| j.log_review_days),
    ];
    Ok(DataFrame::new_infer_height(cols)?)
}

/// Walks the role graph of every system once (breadth first, so cycles terminate and the
/// recorded path is a shortest one). Graph traversal is not tabular work, so it is done in
/// Rust, per system in parallel; the result is a frame the rules join against.
fn role_closure(tables: &Tables) -> Result<(DataFrame, DataFrame)> {
    let ents = &tables.entitlements;
    let sys = ents.column("system_id")?.str()?;
    let ids = ents.column("entitlement_id")?.str()?;
    let kinds = ents.column("kind")?.str()?;
    let privs = ents.column("privileged")?.bool()?;

    struct Node {
        id: String,
        permission: bool,
        privileged: bool,
    }
    /// One system's role graph: nodes, id -> node index, adjacency lists.
    type Graph = (Vec<Node>, HashMap<String, usize>, Vec<Vec<usize>>);
    let mut systems: BTreeMap<String, Graph> = BTreeMap::new();
    for i in 0..ents.height() {
        let (Some(s), Some(id)) = (sys.get(i), ids.get(i)) else {
            continue;
        };
        let entry = systems.entry(s.to_string()).or_default();
        entry.1.insert(id.to_string(), entry.0.len());
        entry.0.push(Node {
            id: id.to_string(),
            permission: kinds.get(i) == Some("permission"),
            privileged: privs.get(i).unwrap_or(false),
        });
        entry.2.push(Vec::new());
    }
    let rp = &tables.role_permissions;
    let (rs, rr, rm) = (
        rp.column("system_id")?.str()?,
        rp.column("role_id")?.str()?,
        rp.column("member_id")?.str()?,
    );
    for i in 0..rp.height() {
        let (Some(s), Some(r), Some(m)) = (rs.get(i), rr.get(i), rm.get(i)) else {
            continue;
        };
        if let Some((_, index, adj)) = systems.get_mut(s) {
            if let (Some(&a), Some(&b)) = (index.get(r), index.get(m)) {
                if !adj[a].contains(&b) {
                    adj[a].push(b);
                }
            }
        }
    }
    for (_, _, adj) in systems.values_mut() {
        for list in adj.iter_mut() {
            list.sort_unstable();
        }
    }

    type Rows = (
        Vec<(String, String, String, String)>,
        Vec<(String, String, bool)>,
    );
    let per_system: Vec<Rows> = systems
        .par_iter()
        .map(|(s, (nodes, _, adj))| {
            let mut closure = Vec::new();
            let mut reach = Vec::new();
            for start in 0..nodes.len() {
                let mut parent = vec![usize::MAX; nodes.len()];
                parent[start] = start;
                let mut queue = VecDeque::from([start]);
                let mut privileged = false;
                while let Some(n) = queue.pop_front() {
                    privileged |= nodes[n].privileged;
                    if nodes[n].permission {
                        let mut path = vec![nodes[n].id.as_str()];
                        let mut cur = n;
                        while cur != start {
                            cur = parent[cur];
                            path.push(nodes[cur].id.as_str());
                        }
                        path.reverse();
                        closure.push((
                            s.clone(),
                            nodes[start].id.clone(),
                            nodes[n].id.clone(),
                            path.join(" > "),
                        ));
                    }
                    for &m in &adj[n] {
                        if parent[m] == usize::MAX {
                            parent[m] = n;
                            queue.push_back(m);
                        }
                    }
                }
                reach.push((s.clone(), nodes[start].id.clone(), privileged));
            }
            (closure, reach)
        })
        .collect();

    let (mut cs, mut ce, mut cp, mut cpath) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let (mut rsys, mut rent, mut rpriv) = (Vec::new(), Vec::new(), Vec::new());
    for (closure, reach) in per_system {
        for (s, e, p, path) in closure {
            cs.push(s);
            ce.push(e);
            cp.push(p);
            cpath.push(path);
        }
        for (s, e, p) in reach {
            rsys.push(s);
            rent.push(e);
            rpriv.push(p);
        }
    }
    let closure = DataFrame::new_infer_height(vec![
        Series::new("system_id".into(), cs).into(),
        Series::new("entitlement_id".into(), ce).into(),
        Series::new("permission_id".into(), cp).into(),
        Series::new("path".into(), cpath).into(),
    ])?;
    let reach = DataFrame::new_infer_height(vec![
        Series::new("system_id".into(), rsys).into(),
        Series::new("entitlement_id".into(), rent).into(),
        Series::new("privileged_eff".into(), rpriv).into(),
    ])?;
    Ok((closure, reach))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The joins the numbered last use replaced, as polars runs them: the reference.
    fn by_joins(
        usage: &DataFrame,
        permissions: &DataFrame,
        accounts: &DataFrame,
    ) -> Result<DataFrame> {
        let inner = |lf: LazyFrame, other: &DataFrame, b: &str| {
            let on = [col("system_id"), col(b)];
            lf.join(
                other.clone().lazy(),
                on.clone(),
                on,
                JoinArgs::new(JoinType::Inner),
            )
        };
        let grouped = inner(usage.clone().lazy(), permissions, "action")
            .group_by([col("system_id"), col("account_id"), col("permission_row")])
            .agg([col("last_ts").max().alias("last_use")]);
        Ok(inner(grouped, accounts, "account_id")
            .select([col("account_row"), col("permission_row"), col("last_use")])
            .sort(
                ["account_row", "permission_row"],
                SortMultipleOptions::default(),
            )
            .collect()?)
    }

    /// Two actions exercising one permission, one action exercising two, an action named
    /// alike on another system, an account of the same name on two systems (in consecutive
    /// rows: the walk's last account must be told apart by its system too), nulls in every
    /// key and in a time, a permission no action exercises and an account with no number.
    #[test]
    fn last_use_by_numbers_is_the_joins_result() -> Result<()> {
        let idx = |v: &[IdxSize]| IdxCa::from_vec("".into(), v.to_vec());
        let usage = df!(
            "system_id" => [Some("pay"), Some("pay"), Some("core"), Some("pay"), None, Some("pay"), Some("pay"), Some("core")],
            "account_id" => [Some("u1"), Some("u1"), Some("u1"), Some("u2"), Some("u1"), None, Some("ghost"), Some("u1")],
            "action" => [Some("view"), Some("list"), Some("view"), Some("refund"), Some("view"), Some("view"), Some("view"), None],
            "last_ts" => [Some(10i64), Some(30), Some(5), None, Some(99), Some(99), Some(99), Some(99)],
        )?;
        let mut permissions = df!(
            "system_id" => [Some("pay"), Some("pay"), Some("pay"), Some("pay"), Some("core"), None],
            "action" => [Some("view"), Some("list"), Some("refund"), Some("refund"), Some("view"), Some("view")],
        )?;
        permissions.with_column(
            idx(&[0, 0, 1, 2, 3, 4])
                .into_column()
                .with_name("permission_row".into()),
        )?;
        let mut accounts = df!(
            "system_id" => ["pay", "pay", "core"],
            "account_id" => ["u1", "u2", "u1"],
        )?;
        accounts.with_column(
            idx(&[7, 8, 9])
                .into_column()
                .with_name("account_row".into()),
        )?;
        let got = last_use_by_numbers(&usage, &permissions, &accounts)?;
        let want = by_joins(&usage, &permissions, &accounts)?;
        assert!(got.equals_missing(&want), "{got}\n{want}");
        assert_eq!(got.height(), 4, "{got}");
        Ok(())
    }
}
