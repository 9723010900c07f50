//! `review open`: the population (effective grants of the jurisdiction that are due), the
//! reviewer of each item, the evidence on it, and the packets.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt;
use std::path::Path;

use chrono::{Duration, NaiveDate};
use polars::prelude::*;

use super::model::{
    self, Campaign, Item, OnNoResponse, ReviewerBasis, Stored, Verdict, CAMPAIGN_FILE, FORMAT,
};
use super::packets;
use crate::error::{Error, Result};
use crate::pipeline::{self, Inputs};
use crate::resolve::Ctx;
use crate::severity::Severity;
use crate::time::MICROS_PER_DAY;

pub struct OpenOptions<'a> {
    pub inputs: Inputs<'a>,
    pub config_sha256: &'a str,
    pub templates_dir: Option<&'a Path>,
    pub out: &'a Path,
    pub jurisdiction: &'a str,
    pub as_of: NaiveDate,
    /// Default: as_of + [`DEFAULT_DUE_DAYS`].
    pub due: Option<NaiveDate>,
    pub on_no_response: OnNoResponse,
}

/// Reviewers get four weeks unless `--due` says otherwise.
pub const DEFAULT_DUE_DAYS: i64 = 28;

pub struct Opened {
    pub campaign_id: String,
    pub dir: std::path::PathBuf,
    pub items: usize,
    pub packets: usize,
    pub unassigned: usize,
    /// False when the campaign already existed with the same parameters (idempotent reopen).
    pub created: bool,
}

/// What `review open` prints: the summary line, then the campaign id alone on the last
/// line, where scripts take it from.
impl fmt::Display for Opened {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "permaudit review open status={} campaign={} items={} packets={} unassigned={} dir={}",
            if self.created { "ok" } else { "exists" },
            self.campaign_id,
            self.items,
            self.packets,
            self.unassigned,
            self.dir.display()
        )?;
        write!(f, "{}", self.campaign_id)
    }
}

/// The people who could review one item, in the order of the fallback chain (docs/reviews.md).
#[derive(Debug, Default, Clone)]
pub struct Candidates<'a> {
    pub person: Option<&'a str>,
    pub privileged: bool,
    /// The line of management above the person, nearest first ([`management_line`]).
    pub managers: Vec<&'a str>,
    pub entitlement_owner: Option<&'a str>,
    pub system_owner: Option<&'a str>,
}

/// The managers above `person`, nearest first, following `manager_of` through everyone,
/// reviewers who have left included: the manager of a manager who left is still the next
/// person in line. The walk ends at the first identity met before (the person included),
/// so a manager cycle in the identities cannot loop, and it is at most as long as the
/// identities table.
pub fn management_line<'a>(
    person: Option<&'a str>,
    manager_of: impl Fn(&str) -> Option<&'a str>,
) -> Vec<&'a str> {
    let mut seen: HashSet<&str> = person.into_iter().collect();
    let mut line = Vec::new();
    let mut next = person.and_then(&manager_of);
    while let Some(m) = next {
        if !seen.insert(m) {
            break;
        }
        line.push(m);
        next = manager_of(m);
    }
    line
}

/// The reviewer of one item: the first candidate who is `eligible` (an active identity)
/// and not the person themself. Non-privileged: the managers up the line, then the
/// entitlement owner, then the system owner. Privileged: the entitlement owner first, then
/// the same order (see docs/reviews.md for why the manager precedes the system owner).
pub fn choose_reviewer(
    c: &Candidates,
    eligible: impl Fn(&str) -> bool,
) -> (Option<String>, ReviewerBasis) {
    use ReviewerBasis::*;
    let managers = c.managers.iter().enumerate().map(|(level, m)| {
        let basis = match level {
            0 => Manager,
            1 => ManagersManager,
            _ => HigherManager,
        };
        (Some(*m), basis)
    });
    let owner = std::iter::once((c.entitlement_owner, EntitlementOwner));
    let system = std::iter::once((c.system_owner, SystemOwner));
    let chain: Vec<(Option<&str>, ReviewerBasis)> = if c.privileged {
        owner.chain(managers).chain(system).collect()
    } else {
        managers.chain(owner).chain(system).collect()
    };
    chain
        .into_iter()
        .find_map(|(who, basis)| {
            let who = who?;
            (Some(who) != c.person && eligible(who)).then(|| (Some(who.to_string()), basis))
        })
        .unwrap_or((None, Unassigned))
}

/// Whether a grant is due: never reviewed, or last reviewed strictly before
/// `T - interval` (contract 1: "older than N days").
pub fn is_due(last_reviewed_us: Option<i64>, t: i64, interval_days: i64) -> bool {
    match last_reviewed_us {
        None => true,
        Some(r) => r < t - interval_days * MICROS_PER_DAY,
    }
}

/// Latest explicit reviewer decision per grant in closed campaigns, before `t`. Decisions
/// applied by `on_no_response` are not reviews: nobody looked at the access.
pub fn last_reviewed(out: &Path, t: i64) -> Result<HashMap<String, i64>> {
    let mut last: HashMap<String, i64> = HashMap::new();
    for s in Stored::all(out)? {
        if !s.state.is_closed() {
            continue;
        }
        let grants: HashMap<&str, &str> = s
            .campaign
            .items
            .iter()
            .map(|i| (i.item_id.as_str(), i.grant_id.as_str()))
            .collect();
        for (item, d) in &s.state.decisions {
            if d.source != model::Source::Reviewer || d.verdict == Verdict::Escalated {
                continue;
            }
            let (Some(grant), Some(at)) =
                (grants.get(item.as_str()), model::parse_time(&d.decided_at))
            else {
                continue;
            };
            let at = at.timestamp_micros();
            if at < t {
                let e = last.entry((*grant).to_string()).or_insert(at);
                *e = (*e).max(at);
            }
        }
    }
    Ok(last)
}

pub fn campaign_id(jurisdiction: &str, as_of: NaiveDate) -> String {
    format!("{jurisdiction}-{as_of}")
}

pub fn open(opts: &OpenOptions) -> Result<Opened> {
    let code = opts.jurisdiction;
    if !crate::report::safe_dir_name(code) {
        return Err(Error::input(
            "--jurisdiction",
            format!("{code:?} is not a jurisdiction code"),
        ));
    }
    let id = campaign_id(code, opts.as_of);
    let dir = model::campaign_dir(opts.out, &id)?;
    let due = opts
        .due
        .unwrap_or(opts.as_of + Duration::days(DEFAULT_DUE_DAYS));
    if due < opts.as_of {
        return Err(Error::input(
            "--due",
            format!("due date {due} is before as_of {}", opts.as_of),
        ));
    }
    if dir.join(CAMPAIGN_FILE).is_file() {
        return reopen(opts, &id, due);
    }

    // The nightly run's view of the events (window rows, digests of the rest): the same
    // findings with bounded memory.
    let pipeline::Loaded {
        policy,
        tables,
        resolved,
        events,
        ..
    } = pipeline::load_at(&opts.inputs, opts.as_of, None)?;
    let j = policy.jurisdiction(code).ok_or_else(|| {
        Error::input(
            "--jurisdiction",
            format!("{code} is not defined in the policy's jurisdictions.toml"),
        )
    })?;
    let ctx = Ctx::with_events(&tables, events, &policy, opts.as_of, resolved)?;
    let findings = crate::findings::detect(&ctx)?.into_frame()?;
    let reviewed = last_reviewed(opts.out, ctx.t)?;
    let (items, not_due) = build_items(&ctx, &findings, &reviewed, code, &id)?;

    let mut campaign = Campaign {
        format: FORMAT,
        campaign_id: id.clone(),
        jurisdiction: code.to_string(),
        jurisdiction_name: j.name.clone(),
        as_of: opts.as_of,
        evaluation_instant: model::fmt_micros(ctx.t),
        due,
        on_no_response: opts.on_no_response,
        review_interval_days: j.review_interval_days,
        privileged_review_interval_days: j.privileged_review_interval_days,
        config_sha256: opts.config_sha256.to_string(),
        not_due,
        items,
        packets: Vec::new(),
    };
    std::fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
    campaign.packets = packets::write_all(&dir, &campaign)?;
    let state = model::State {
        format: FORMAT,
        ..model::State::default()
    };
    let stored = Stored {
        dir: dir.clone(),
        campaign,
        state,
    };
    super::report::render(&stored, opts.templates_dir)?;
    stored.save_state()?;
    // campaign.json last: its presence is what makes the campaign exist.
    model::write_json(&dir.join(CAMPAIGN_FILE), &stored.campaign)?;
    let c = &stored.campaign;
    Ok(Opened {
        campaign_id: id,
        dir,
        items: c.items.len(),
        packets: c.packets.len(),
        unassigned: c.items.iter().filter(|i| i.reviewer_id.is_none()).count(),
        created: true,
    })
}

/// Opening a campaign that exists changes nothing, as long as it asks for the same thing;
/// packets lost from disk are written again (they are deterministic, so their hashes match).
fn reopen(opts: &OpenOptions, id: &str, due: NaiveDate) -> Result<Opened> {
    let stored = Stored::load(opts.out, id)?;
    let c = &stored.campaign;
    if c.due != due || c.on_no_response != opts.on_no_response {
        return Err(Error::input(
            "review open",
            format!(
                "campaign {id} already exists with due {} and on_no_response {}; \
                 a campaign's terms are fixed when it opens",
                c.due,
                c.on_no_response.as_str()
            ),
        ));
    }
    if !stored.state.is_closed() {
        let rewritten = packets::write_all(&stored.dir, c)?;
        if rewritten != c.packets {
            return Err(Error::Internal(format!(
                "campaign {id}: packets rewritten differ from the recorded hashes"
            )));
        }
    }
    Ok(Opened {
        campaign_id: id.to_string(),
        dir: stored.dir.clone(),
        items: c.items.len(),
        packets: c.packets.len(),
        unassigned: c.items.iter().filter(|i| i.reviewer_id.is_none()).count(),
        created: false,
    })
}

fn strs(df: &DataFrame, name: &str) -> Result<Vec<Option<String>>> {
    Ok(df
        .column(name)?
        .cast(&DataType::String)?
        .str()?
        .iter()
        .map(|v| v.map(str::to_string))
        .collect())
}

fn i64s(df: &DataFrame, name: &str) -> Result<Vec<Option<i64>>> {
    Ok(df.column(name)?.i64()?.iter().collect())
}

fn bools(df: &DataFrame, name: &str) -> Result<Vec<Option<bool>>> {
    Ok(df.column(name)?.bool()?.iter().collect())
}

struct Person {
    name: Option<String>,
    department: Option<String>,
    job_function: Option<String>,
    manager: Option<String>,
    /// Status `active`: on leave or terminated (whatever the date), nobody reviews.
    active: bool,
}

/// A finding's severity word on the scale; none (or an unknown word) ranks below `low`.
fn severity_of(s: Option<&str>) -> Option<Severity> {
    s.and_then(|s| s.parse().ok())
}

/// Open findings as rows, indexed by what they can be attached to.
struct FindingIndex {
    rows: Vec<FindingRow>,
    by_grant: HashMap<String, Vec<usize>>,
    by_account: HashMap<(String, String), Vec<usize>>,
    by_identity: HashMap<String, Vec<usize>>,
}

struct FindingRow {
    id: String,
    rule: String,
    severity: String,
    jurisdiction: String,
    system_id: Option<String>,
    entitlement_id: Option<String>,
    sod_rule_id: Option<String>,
}

impl FindingIndex {
    fn new(df: &DataFrame) -> Result<FindingIndex> {
        let c = |n: &str| strs(df, n);
        let (ids, rules, sev, status, jur) = (
            c("finding_id")?,
            c("rule")?,
            c("severity")?,
            c("status")?,
            c("jurisdiction")?,
        );
        let (ident, sys, acct, grant, ent, sod) = (
            c("identity_id")?,
            c("system_id")?,
            c("account_id")?,
            c("grant_id")?,
            c("entitlement_id")?,
            c("sod_rule_id")?,
        );
        let mut ix = FindingIndex {
            rows: Vec::new(),
            by_grant: HashMap::new(),
            by_account: HashMap::new(),
            by_identity: HashMap::new(),
        };
        for i in 0..df.height() {
            // Mitigated and waived findings are covered by an approved control or accepted
            // risk: not for the reviewer.
            if status[i].as_deref() != Some("open") {
                continue;
            }
            let n = ix.rows.len();
            if let Some(g) = &grant[i] {
                ix.by_grant.entry(g.clone()).or_default().push(n);
            } else if let (Some(s), Some(a)) = (&sys[i], &acct[i]) {
                ix.by_account
                    .entry((s.clone(), a.clone()))
                    .or_default()
                    .push(n);
            } else if let Some(p) = &ident[i] {
                ix.by_identity.entry(p.clone()).or_default().push(n);
            }
            ix.rows.push(FindingRow {
                id: ids[i].clone().unwrap_or_default(),
                rule: rules[i].clone().unwrap_or_default(),
                severity: sev[i].clone().unwrap_or_default(),
                jurisdiction: jur[i].clone().unwrap_or_default(),
                system_id: sys[i].clone(),
                entitlement_id: ent[i].clone(),
                sod_rule_id: sod[i].clone(),
            });
        }
        Ok(ix)
    }
}

/// Builds the items of one campaign: returns them in packet order (items with findings
/// first, most severe first) and the count of effective grants that were not due.
fn build_items(
    ctx: &Ctx,
    findings: &DataFrame,
    reviewed: &HashMap<String, i64>,
    code: &str,
    campaign_id: &str,
) -> Result<(Vec<Item>, usize)> {
    let Some(j) = ctx.policy.jurisdiction(code) else {
        return Ok((Vec::new(), 0));
    };
    let g = &population(ctx, code)?;
    let rows = GrantRows::new(g)?;
    let lk = Lookups::new(ctx, findings)?;
    let mut items = Vec::new();
    let mut not_due = 0;
    let mut seen_ids = HashSet::new();
    for i in 0..g.height() {
        let Some(key) = rows.key(i) else {
            continue;
        };
        let interval = if rows.privileged(i) {
            j.privileged_review_interval_days
        } else {
            j.review_interval_days
        };
        let last_rev = reviewed.get(key.0).copied();
        if !is_due(last_rev, ctx.t, interval) {
            not_due += 1;
            continue;
        }
        let item = assemble(&rows, i, key, &lk, code, campaign_id, last_rev);
        if !seen_ids.insert(item.item_id.clone()) {
            return Err(Error::Internal(format!(
                "item id collision: {}",
                item.item_id
            )));
        }
        items.push(item);
    }
    items.sort_by(packet_order);
    Ok((items, not_due))
}

/// The population's columns.
struct GrantRows {
    grant_id: Vec<Option<String>>,
    system_id: Vec<Option<String>>,
    account_id: Vec<Option<String>>,
    entitlement_id: Vec<Option<String>>,
    identity: Vec<Option<String>>,
    account_type: Vec<Option<String>>,
    risk: Vec<Option<String>>,
    granted_by: Vec<Option<String>>,
    approved_by: Vec<Option<String>>,
    granted_at: Vec<Option<i64>>,
    privileged: Vec<Option<bool>>,
}

/// (grant, system, account, entitlement) of one grant.
type GrantKey<'a> = (&'a String, &'a String, &'a String, &'a String);

impl GrantRows {
    fn new(g: &DataFrame) -> Result<Self> {
        Ok(GrantRows {
            grant_id: strs(g, "grant_id")?,
            system_id: strs(g, "system_id")?,
            account_id: strs(g, "account_id")?,
            entitlement_id: strs(g, "entitlement_id")?,
            identity: strs(g, "identity")?,
            account_type: strs(g, "account_type")?,
            risk: strs(g, "risk")?,
            granted_by: strs(g, "granted_by")?,
            approved_by: strs(g, "approved_by")?,
            granted_at: i64s(g, "granted_at")?,
            privileged: bools(g, "privileged_eff")?,
        })
    }

    fn key(&self, i: usize) -> Option<GrantKey<'_>> {
        Some((
            self.grant_id[i].as_ref()?,
            self.system_id[i].as_ref()?,
            self.account_id[i].as_ref()?,
            self.entitlement_id[i].as_ref()?,
        ))
    }

    fn privileged(&self, i: usize) -> bool {
        self.privileged[i].unwrap_or(false)
    }
}

/// The item of grant i: its holder, reviewer, the permissions it confers and their last
/// use, and the findings attached to it.
fn assemble(
    rows: &GrantRows,
    i: usize,
    (grant_id, s, a, e): GrantKey,
    lk: &Lookups,
    code: &str,
    campaign_id: &str,
    last_rev: Option<i64>,
) -> Item {
    let is_priv = rows.privileged(i);
    let person_id = rows.identity[i].as_deref();
    let person = person_id.and_then(|p| lk.people.get(p));
    let key = (s.clone(), e.clone());
    let (ent_name, ent_owner) = lk.ents.get(&key).cloned().unwrap_or((None, None));
    let sys_owner = lk.system_owner.get(s).cloned().flatten();
    let cands = Candidates {
        person: person_id,
        privileged: is_priv,
        managers: management_line(person_id, |id| lk.manager_of(id)),
        entitlement_owner: ent_owner.as_deref(),
        system_owner: sys_owner.as_deref(),
    };
    let (reviewer, basis) = choose_reviewer(&cands, |id| lk.eligible(id));
    let escalate_to = lk.escalation(reviewer.as_deref(), person_id, sys_owner.as_deref());

    let perms = lk.closure.get(&key).cloned().unwrap_or_default();
    let role_path = perms
        .iter()
        .map(|(_, p)| p.as_str())
        .collect::<Vec<_>>()
        .join("; ");
    let last_used = perms
        .iter()
        .filter_map(|(p, _)| lk.last_use.get(&(s.clone(), a.clone(), p.clone())))
        .max()
        .copied();
    let perm_ids: HashSet<&str> = perms
        .iter()
        .map(|(p, _)| p.as_str())
        .chain([e.as_str()])
        .collect();
    let fr = lk.findings.attached(
        grant_id,
        (s, a),
        person_id,
        &perm_ids,
        &lk.sod_patterns,
        code,
    );
    Item {
        item_id: item_id(campaign_id, grant_id),
        reviewer_name: reviewer
            .as_deref()
            .and_then(|r| lk.people.get(r))
            .and_then(|p| p.name.clone()),
        reviewer_id: reviewer,
        reviewer_basis: basis,
        escalate_to,
        identity_id: person_id.map(str::to_string),
        display_name: person.and_then(|p| p.name.clone()),
        department: person.and_then(|p| p.department.clone()),
        job_function: person.and_then(|p| p.job_function.clone()),
        system_id: s.clone(),
        account_id: a.clone(),
        account_type: rows.account_type[i].clone(),
        entitlement_id: e.clone(),
        entitlement_name: ent_name,
        role_path,
        risk: rows.risk[i].clone().or_else(|| Some("medium".to_string())),
        privileged: is_priv,
        grant_id: grant_id.clone(),
        granted_at: rows.granted_at[i]
            .map(model::fmt_micros)
            .unwrap_or_default(),
        granted_by: rows.granted_by[i].clone(),
        approved_by: rows.approved_by[i].clone(),
        last_used: last_used.map(model::fmt_micros),
        last_reviewed: last_rev.map(model::fmt_micros),
        findings: fr
            .iter()
            .map(|f| format!("{}({})", f.rule, f.severity))
            .collect(),
        finding_ids: fr.iter().map(|f| f.id.clone()).collect(),
        max_severity: fr.first().map(|f| f.severity.clone()),
        critical_findings: fr
            .iter()
            .filter(|f| f.severity == Severity::Critical.as_str())
            .count() as u32,
    }
}

/// The population: the jurisdiction's effective grants, in grant id order.
fn population(ctx: &Ctx, code: &str) -> Result<DataFrame> {
    Ok(ctx
        .grants
        .clone()
        .lazy()
        .filter(col("effective").and(col("jurisdiction").eq(lit(code))))
        .sort(["grant_id"], SortMultipleOptions::default())
        .collect()?)
}

/// Items with findings first, most severe first, then by holder and grant.
fn packet_order(x: &Item, y: &Item) -> std::cmp::Ordering {
    severity_of(y.max_severity.as_deref())
        .cmp(&severity_of(x.max_severity.as_deref()))
        .then(y.findings.len().cmp(&x.findings.len()))
        .then(x.identity_id.cmp(&y.identity_id))
        .then(x.system_id.cmp(&y.system_id))
        .then(x.account_id.cmp(&y.account_id))
        .then(x.entitlement_id.cmp(&y.entitlement_id))
        .then(x.grant_id.cmp(&y.grant_id))
}

/// (system, entitlement) -> (name, owner)
type EntInfo = HashMap<(String, String), (Option<String>, Option<String>)>;
/// (system, entitlement) -> its closure as (permission, path), in permission order.
type Closures = HashMap<(String, String), Vec<(String, String)>>;
/// (system, account, permission) -> last use
type LastUses = HashMap<(String, String, String), i64>;

/// What an item is described with besides its grant (and the open findings), keyed for
/// lookup per grant.
struct Lookups<'a> {
    people: HashMap<String, Person>,
    ents: EntInfo,
    system_owner: HashMap<String, Option<String>>,
    closure: Closures,
    last_use: LastUses,
    /// Per SoD rule: the permission patterns of all its functions.
    sod_patterns: HashMap<&'a str, Vec<&'a crate::policy::Pattern>>,
    findings: FindingIndex,
}

impl<'a> Lookups<'a> {
    fn new(ctx: &'a Ctx, findings: &DataFrame) -> Result<Self> {
        Ok(Lookups {
            people: people(&ctx.identities)?,
            ents: entitlements(&ctx.entitlements)?,
            system_owner: system_owners(&ctx.tables.systems)?,
            closure: closures(&ctx.closure)?,
            last_use: last_uses(ctx)?,
            sod_patterns: ctx
                .policy
                .sod_rules
                .iter()
                .map(|r| {
                    (
                        r.id.as_str(),
                        r.functions.iter().flat_map(|f| f.patterns.iter()).collect(),
                    )
                })
                .collect(),
            findings: FindingIndex::new(findings)?,
        })
    }

    fn eligible(&self, id: &str) -> bool {
        self.people.get(id).is_some_and(|p| p.active)
    }

    fn manager_of(&self, id: &str) -> Option<&str> {
        self.people.get(id).and_then(|p| p.manager.as_deref())
    }

    /// Who an unanswered item escalates to: the reviewer's manager, else the system owner,
    /// if eligible and not the person under review.
    fn escalation(
        &self,
        reviewer: Option<&str>,
        person: Option<&str>,
        system_owner: Option<&str>,
    ) -> Option<String> {
        let fit = |m: &&str| self.eligible(m) && Some(*m) != person;
        reviewer
            .and_then(|r| self.manager_of(r))
            .filter(fit)
            .or_else(|| system_owner.filter(fit))
            .map(str::to_string)
    }
}

fn people(idf: &DataFrame) -> Result<HashMap<String, Person>> {
    let (ids, names, deps, jobs, mgrs) = (
        strs(idf, "identity_id")?,
        strs(idf, "display_name")?,
        strs(idf, "department")?,
        strs(idf, "job_function")?,
        strs(idf, "manager_id")?,
    );
    let status = strs(idf, "status")?;
    let mut people = HashMap::new();
    for i in 0..idf.height() {
        if let Some(id) = &ids[i] {
            people.insert(
                id.clone(),
                Person {
                    name: names[i].clone(),
                    department: deps[i].clone(),
                    job_function: jobs[i].clone(),
                    manager: mgrs[i].clone(),
                    active: status[i].as_deref() == Some("active"),
                },
            );
        }
    }
    Ok(people)
}

fn entitlements(e: &DataFrame) -> Result<EntInfo> {
    let (s, id, name, owner) = (
        strs(e, "system_id")?,
        strs(e, "entitlement_id")?,
        strs(e, "name")?,
        strs(e, "owner_id")?,
    );
    let mut ents = HashMap::new();
    for i in 0..e.height() {
        if let (Some(s), Some(id)) = (&s[i], &id[i]) {
            ents.insert((s.clone(), id.clone()), (name[i].clone(), owner[i].clone()));
        }
    }
    Ok(ents)
}

fn system_owners(s: &DataFrame) -> Result<HashMap<String, Option<String>>> {
    let (id, owner) = (strs(s, "system_id")?, strs(s, "owner_id")?);
    let mut owners = HashMap::new();
    for i in 0..s.height() {
        if let Some(id) = &id[i] {
            owners.insert(id.clone(), owner[i].clone());
        }
    }
    Ok(owners)
}

fn closures(c: &DataFrame) -> Result<Closures> {
    let (s, e, p, path) = (
        strs(c, "system_id")?,
        strs(c, "entitlement_id")?,
        strs(c, "permission_id")?,
        strs(c, "path")?,
    );
    let mut closure = Closures::new();
    for i in 0..c.height() {
        if let (Some(s), Some(e), Some(p)) = (&s[i], &e[i], &p[i]) {
            closure
                .entry((s.clone(), e.clone()))
                .or_default()
                .push((p.clone(), path[i].clone().unwrap_or_default()));
        }
    }
    for v in closure.values_mut() {
        v.sort();
    }
    Ok(closure)
}

/// The context's last uses by their texts: a campaign looks them up per item.
fn last_uses(ctx: &Ctx) -> Result<LastUses> {
    let l = &ctx
        .last_use
        .clone()
        .lazy()
        .join(
            ctx.accounts.clone().lazy().select([
                col("account_row"),
                col("system_id"),
                col("account_id"),
            ]),
            [col("account_row")],
            [col("account_row")],
            JoinArgs::new(JoinType::Inner),
        )
        .join(
            ctx.entitlements.clone().lazy().select([
                col("entitlement_row").alias("permission_row"),
                col("entitlement_id").alias("permission_id"),
            ]),
            [col("permission_row")],
            [col("permission_row")],
            JoinArgs::new(JoinType::Inner),
        )
        .collect()?;
    let (s, a, p) = (
        strs(l, "system_id")?,
        strs(l, "account_id")?,
        strs(l, "permission_id")?,
    );
    let u = i64s(l, "last_use")?;
    let mut last_use = HashMap::new();
    for i in 0..l.height() {
        if let (Some(s), Some(a), Some(p), Some(u)) = (&s[i], &a[i], &p[i], u[i]) {
            last_use.insert((s.clone(), a.clone(), p.clone()), u);
        }
    }
    Ok(last_use)
}

impl FindingIndex {
    /// The findings of the jurisdiction on one grant, on its account, and on its holder
    /// where they concern this grant (same system, a permission it confers, or a SoD rule
    /// it feeds), most severe first. `perm_ids`: the grant's entitlement and the
    /// permissions it confers.
    fn attached(
        &self,
        grant_id: &str,
        (system, account): (&str, &str),
        person: Option<&str>,
        perm_ids: &HashSet<&str>,
        sod_patterns: &HashMap<&str, Vec<&crate::policy::Pattern>>,
        code: &str,
    ) -> Vec<&FindingRow> {
        let mut attached: Vec<usize> = Vec::new();
        attached.extend(self.by_grant.get(grant_id).into_iter().flatten());
        attached.extend(
            self.by_account
                .get(&(system.to_string(), account.to_string()))
                .into_iter()
                .flatten(),
        );
        if let Some(p) = person {
            for &n in self.by_identity.get(p).into_iter().flatten() {
                let f = &self.rows[n];
                let system_ok = f.system_id.as_deref().is_none_or(|x| x == system);
                let ent_ok = f
                    .entitlement_id
                    .as_deref()
                    .is_none_or(|x| perm_ids.contains(x));
                let sod_ok = f.sod_rule_id.as_deref().is_none_or(|r| {
                    sod_patterns.get(r).is_some_and(|pats| {
                        pats.iter()
                            .any(|pat| perm_ids.iter().any(|pid| pat.matches(system, pid)))
                    })
                });
                if system_ok && ent_ok && sod_ok {
                    attached.push(n);
                }
            }
        }
        attached.retain(|&n| self.rows[n].jurisdiction == code);
        attached.sort_by(|&x, &y| {
            let (fx, fy) = (&self.rows[x], &self.rows[y]);
            severity_of(Some(&fy.severity))
                .cmp(&severity_of(Some(&fx.severity)))
                .then(fx.rule.cmp(&fy.rule))
                .then(fx.id.cmp(&fy.id))
        });
        attached.dedup();
        attached.iter().map(|&n| &self.rows[n]).collect()
    }
}

/// Stable per campaign and grant, so a reopened campaign has the same ids.
fn item_id(campaign_id: &str, grant_id: &str) -> String {
    let h = crate::hash::sha256_hex(format!("{campaign_id}\u{1f}{grant_id}").as_bytes());
    format!("RI-{}", &h[..12])
}

/// Items per reviewer, reviewers in id order (unassigned items have no packet).
pub fn by_reviewer(items: &[Item]) -> BTreeMap<&str, Vec<&Item>> {
    let mut m: BTreeMap<&str, Vec<&Item>> = BTreeMap::new();
    for i in items {
        if let Some(r) = &i.reviewer_id {
            m.entry(r.as_str()).or_default().push(i);
        }
    }
    m
}
