//! Cross-border data minimisation (CONTRACT section 8). The outputs under `<J>/` go to J's
//! regulator, so the personal data of people whose home jurisdiction is another one (that
//! does not share with J) appear there under pseudonyms. Everything J's writers and report
//! read passes once through [`View::apply`]; no writer knows pseudonyms exist.
//!
//! Values are replaced where they equal a person's value exactly (never as substrings), in
//! frame columns and in the strings of `detail` JSON, parsed and walked. `finding_id` is
//! kept: it is the finding's stable id, the same in every output (see docs/decisions.md).

use std::collections::{BTreeMap, BTreeSet};

use polars::prelude::*;
use serde_json::Value as Json;

use crate::error::Result;
use crate::hash::SecretKey;
use crate::ingest::Tables;
use crate::policy::Policy;
use crate::report::context::Minimisation;
use crate::report::review_summary::AccessReviewSummary;

/// `P-` and the first 16 hex digits of HMAC-SHA-256(key, text). For an identity, `text` is
/// its identity_id; for an account, `system_id:account_id`.
pub fn pseudonym(key: &SecretKey, text: &str) -> String {
    format!("P-{}", &key.hmac_sha256_hex(text.as_bytes())[..16])
}

/// Columns that never hold personal data and must keep their values: ids of findings, the
/// words of the contract, dates, and the systems that tell which account an id names.
const KEPT_COLUMNS: [&str; 9] = [
    "finding_id",
    "finding_ids",
    "rule",
    "severity",
    "status",
    "jurisdiction",
    "first_seen",
    "listed_since",
    "reasons",
];

/// Between the steps of an evidence path (an `access_path` of the SoD rules).
const PATH_STEP: &str = " > ";

struct Person {
    values: Vec<String>,
    home: Option<String>,
    pseudonym: String,
}

struct Account {
    system: String,
    account: String,
    jurisdiction: String,
    person: usize,
    pseudonym: String,
}

/// The run's people and accounts with their pseudonyms, built once and viewed per
/// jurisdiction. Without a key, views rewrite nothing and only count who would be hidden.
pub struct Plan<'a> {
    key: Option<&'a SecretKey>,
    policy: &'a Policy,
    people: Vec<Person>,
    accounts: Vec<Account>,
}

impl<'a> Plan<'a> {
    /// `homes` is identity_id -> home jurisdiction (`resolve::home_jurisdictions`).
    pub fn new(
        key: Option<&'a SecretKey>,
        policy: &'a Policy,
        homes: &BTreeMap<String, String>,
        tables: &Tables,
    ) -> Result<Plan<'a>> {
        let name_of = |s: &str| key.map_or_else(String::new, |k| pseudonym(k, s));
        let ids = &tables.identities;
        let (id, name, email) = (
            ids.column("identity_id")?.str()?,
            ids.column("display_name")?.str()?,
            ids.column("email")?.str()?,
        );
        let mut people = Vec::with_capacity(ids.height());
        let mut index: PlHashMap<&str, usize> =
            PlHashMap::with_capacity_and_hasher(ids.height(), Default::default());
        for i in 0..ids.height() {
            let Some(who) = id.get(i) else { continue };
            index.insert(who, people.len());
            let values = [Some(who), name.get(i), email.get(i)]
                .into_iter()
                .flatten()
                .filter(|v| !v.trim().is_empty())
                .map(str::to_string)
                .collect();
            people.push(Person {
                values,
                home: homes.get(who).cloned(),
                pseudonym: name_of(who),
            });
        }
        let sys = &tables.systems;
        let jurisdiction_of: PlHashMap<&str, &str> = sys
            .column("system_id")?
            .str()?
            .iter()
            .zip(sys.column("jurisdiction")?.str()?.iter())
            .filter_map(|(s, j)| Some((s?, j?)))
            .collect();
        let acc = &tables.accounts;
        let (a_sys, a_id, a_who) = (
            acc.column("system_id")?.str()?,
            acc.column("account_id")?.str()?,
            acc.column("identity_id")?.str()?,
        );
        let mut accounts = Vec::new();
        for i in 0..acc.height() {
            let (Some(s), Some(a), Some(who)) = (a_sys.get(i), a_id.get(i), a_who.get(i)) else {
                continue;
            };
            let (Some(&person), Some(j)) = (index.get(who), jurisdiction_of.get(s)) else {
                continue;
            };
            accounts.push(Account {
                system: s.to_string(),
                account: a.to_string(),
                jurisdiction: j.to_string(),
                person,
                pseudonym: name_of(&format!("{s}:{a}")),
            });
        }
        Ok(Plan {
            key,
            policy,
            people,
            accounts,
        })
    }

    /// Whether pseudonyms are written (a key is set).
    pub fn on(&self) -> bool {
        self.key.is_some()
    }

    /// What `code`'s outputs may not show: the people whose home is not `code` and does not
    /// share with it. A person without a home (no effective grant) belongs to no
    /// jurisdiction whose policy could allow the transfer, so is hidden everywhere.
    pub fn view(&self, code: &str) -> View<'_> {
        let shares = |home: &str| {
            self.policy
                .jurisdiction(home)
                .is_some_and(|j| j.share_personal_data_with.contains(code))
        };
        let hidden: Vec<bool> = self
            .people
            .iter()
            .map(|p| match p.home.as_deref() {
                Some(h) => h != code && !shares(h),
                None => true,
            })
            .collect();
        let mut values = PlHashMap::new();
        for (i, p) in self.people.iter().enumerate().filter(|(i, _)| hidden[*i]) {
            for v in &p.values {
                values.entry(v.as_str()).or_insert(i);
            }
        }
        let mut pairs = PlHashMap::new();
        let mut by_id: PlHashMap<&str, Vec<usize>> = PlHashMap::new();
        for (k, a) in self.accounts.iter().enumerate() {
            if hidden[a.person] && a.jurisdiction != code {
                pairs.insert((a.system.as_str(), a.account.as_str()), k);
                by_id.entry(a.account.as_str()).or_default().push(k);
            }
        }
        for list in by_id.values_mut() {
            list.sort_by(|x, y| self.accounts[*x].system.cmp(&self.accounts[*y].system));
        }
        let shared_by = self
            .policy
            .jurisdictions
            .iter()
            .filter(|j| j.code != code && j.share_personal_data_with.contains(code))
            .map(|j| j.code.clone())
            .collect();
        View {
            plan: self,
            values,
            pairs,
            by_id,
            shared_by,
            named: BTreeSet::new(),
        }
    }
}

/// One jurisdiction's outputs as its writers and report read them.
pub struct Outputs {
    pub findings: DataFrame,
    pub freeze: DataFrame,
    pub review: Option<AccessReviewSummary>,
    /// The tables the report reads, with the same values replaced. Tables the report does
    /// not read (grants, events) are emptied, so that a future reader finds nothing rather
    /// than real values.
    pub tables: Tables,
}

/// One jurisdiction's replacements, and the people its outputs name.
pub struct View<'p> {
    plan: &'p Plan<'p>,
    /// identity_id, display_name or email of a hidden person -> the person.
    values: PlHashMap<&'p str, usize>,
    /// (system_id, account_id) of a hidden person's account outside the jurisdiction -> it.
    pairs: PlHashMap<(&'p str, &'p str), usize>,
    /// The same accounts by account_id alone, by system: for a value no system comes with.
    by_id: PlHashMap<&'p str, Vec<usize>>,
    shared_by: Vec<String>,
    /// Hidden people that the findings, freeze list or review of this jurisdiction name.
    named: BTreeSet<usize>,
}

impl View<'_> {
    /// Rewrites everything the jurisdiction's writers and report read. Without a key the
    /// outputs are returned as they are, and the people they name only counted.
    pub fn apply(
        &mut self,
        findings: DataFrame,
        freeze: DataFrame,
        review: Option<AccessReviewSummary>,
        tables: &Tables,
    ) -> Result<Outputs> {
        let mut named = BTreeSet::new();
        let findings = self.frame(&findings, &mut named)?;
        let freeze = self.frame(&freeze, &mut named)?;
        let review = review.map(|r| self.review(r, &mut named));
        self.named = named;
        let tables = if self.plan.on() {
            self.tables(tables)?
        } else {
            tables.clone()
        };
        Ok(Outputs {
            findings,
            freeze,
            review,
            tables,
        })
    }

    /// The people of other jurisdictions that this jurisdiction's findings, freeze list or
    /// access review name (real values without a key).
    pub fn named(&self) -> &BTreeSet<usize> {
        &self.named
    }

    /// What the report says about minimisation. `report` is the report's context as JSON:
    /// the pseudonyms in it, besides those of the findings, count people who appear only in
    /// the report's tables (an approver of a waiver, say).
    pub fn summary(&self, report: &str) -> Minimisation {
        let mut shown = self.named.clone();
        if self.plan.on() {
            let by_pseudonym: PlHashMap<&str, usize> = self
                .values
                .values()
                .map(|&p| (self.plan.people[p].pseudonym.as_str(), p))
                .chain(self.pairs.values().map(|&k| {
                    let a = &self.plan.accounts[k];
                    (a.pseudonym.as_str(), a.person)
                }))
                .collect();
            shown.extend(pseudonyms_in(report).filter_map(|t| by_pseudonym.get(t).copied()));
        }
        Minimisation {
            on: self.plan.on(),
            pseudonymous: if self.plan.on() { shown.len() } else { 0 },
            exposed: if self.plan.on() { 0 } else { shown.len() },
            shared_by: self.shared_by.clone(),
        }
    }

    /// The replacement of one value, seen beside `system` (None: no system named), and the
    /// person it belongs to. Without a key the value replaces itself.
    fn value(&self, v: &str, system: Option<&str>) -> Option<(&str, usize)> {
        let plan = self.plan;
        if let Some(&p) = self.values.get(v) {
            return Some((&plan.people[p].pseudonym, p));
        }
        let k = match system {
            Some(s) => *self.pairs.get(&(s, v))?,
            None => *self.by_id.get(v)?.first()?,
        };
        let a = &plan.accounts[k];
        Some((&a.pseudonym, a.person))
    }

    /// [`Self::value`] applied: the new text when it changes. An evidence path
    /// (`identity > account@system > role > permission`) is replaced step by step, each step
    /// matched whole like any value.
    fn replace(
        &self,
        v: &str,
        system: Option<&str>,
        named: &mut BTreeSet<usize>,
    ) -> Option<String> {
        if let Some((to, person)) = self.value(v, system) {
            named.insert(person);
            return self.plan.on().then(|| to.to_string());
        }
        if !v.contains(PATH_STEP) {
            return None;
        }
        let mut changed = false;
        let steps: Vec<String> = v
            .split(PATH_STEP)
            .map(|step| match self.step(step) {
                Some((to, person)) => {
                    named.insert(person);
                    changed = true;
                    to
                }
                None => step.to_string(),
            })
            .collect();
        (changed && self.plan.on()).then(|| steps.join(PATH_STEP))
    }

    /// One step of a path: an identity value, or `account@system`.
    fn step(&self, step: &str) -> Option<(String, usize)> {
        let plan = self.plan;
        if let Some(&p) = self.values.get(step) {
            return Some((plan.people[p].pseudonym.clone(), p));
        }
        let (account, system) = step.rsplit_once('@')?;
        if let Some(&k) = self.pairs.get(&(system, account)) {
            let a = &plan.accounts[k];
            return Some((a.pseudonym.clone(), a.person));
        }
        // An account of this jurisdiction's system named like a person's e-mail address:
        // the address goes wherever it appears, the system stays.
        let &p = self.values.get(account)?;
        Some((format!("{}@{system}", plan.people[p].pseudonym), p))
    }

    /// Every text column of a frame: `detail` walked as JSON, `*account_id` read with the
    /// row's `*system_id`, the rest matched as identity values.
    fn frame(&self, df: &DataFrame, named: &mut BTreeSet<usize>) -> Result<DataFrame> {
        let systems: PlHashMap<&str, &StringChunked> = df
            .columns()
            .iter()
            .filter(|c| c.name().ends_with("system_id"))
            .filter_map(|c| Some((c.name().as_str(), c.str().ok()?)))
            .collect();
        let mut out = df.clone();
        for c in df.columns() {
            let name = c.name().as_str();
            if KEPT_COLUMNS.contains(&name) || name.ends_with("system_id") {
                continue;
            }
            let Ok(texts) = c.str() else { continue };
            let prefix = name.strip_suffix("account_id");
            let system = prefix
                .and_then(|p| systems.get(format!("{p}system_id").as_str()))
                .or_else(|| systems.get("system_id"))
                .copied();
            // The new texts where they change: most cells keep theirs (all of them without
            // a key), so nothing is copied unless one does.
            let new: Vec<Option<String>> = texts
                .iter()
                .enumerate()
                .map(|(i, v)| {
                    let v = v?;
                    let sys = system.and_then(|s| s.get(i));
                    if name == "detail" {
                        self.detail(v, sys, named)
                    } else {
                        self.replace(v, sys, named)
                    }
                })
                .collect();
            if new.iter().any(Option::is_some) {
                let column: StringChunked = texts
                    .iter()
                    .zip(&new)
                    .map(|(v, new)| new.as_deref().or(v))
                    .collect();
                out.replace(name, column.with_name(name.into()).into_column())?;
            }
        }
        Ok(out)
    }

    /// A `detail` JSON text with its values replaced; None when nothing changes, so that an
    /// untouched detail keeps its exact bytes.
    fn detail(
        &self,
        text: &str,
        system: Option<&str>,
        named: &mut BTreeSet<usize>,
    ) -> Option<String> {
        let mut json: Json = serde_json::from_str(text).ok()?;
        let mut changed = false;
        self.walk(&mut json, system, named, &mut changed);
        changed.then(|| json.to_string())
    }

    /// A string's system is the one named beside it: `<prefix>system_id` for a key
    /// `<prefix>account_id`, else the object's `system_id`, else the nearest enclosing one.
    fn walk(
        &self,
        v: &mut Json,
        system: Option<&str>,
        named: &mut BTreeSet<usize>,
        changed: &mut bool,
    ) {
        match v {
            Json::Object(map) => {
                let systems: PlHashMap<String, String> = map
                    .iter()
                    .filter_map(|(k, x)| {
                        let prefix = k.strip_suffix("system_id")?;
                        Some((prefix.to_string(), x.as_str()?.to_string()))
                    })
                    .collect();
                let own = systems.get("").map(String::as_str).or(system);
                for (k, x) in map.iter_mut() {
                    if k.ends_with("system_id") {
                        continue;
                    }
                    let beside = k
                        .strip_suffix("account_id")
                        .and_then(|p| systems.get(p))
                        .map(String::as_str)
                        .or(own);
                    self.walk(x, beside, named, changed);
                }
            }
            Json::Array(items) => {
                for x in items {
                    self.walk(x, system, named, changed);
                }
            }
            Json::String(s) => {
                if let Some(new) = self.replace(s, system, named) {
                    *s = new;
                    *changed = true;
                }
            }
            _ => {}
        }
    }

    fn review(
        &self,
        mut r: AccessReviewSummary,
        named: &mut BTreeSet<usize>,
    ) -> AccessReviewSummary {
        for item in &mut r.overdue_items {
            for (id, name) in [
                (&mut item.reviewer_id, &mut item.reviewer_name),
                (&mut item.identity_id, &mut item.display_name),
            ] {
                let hidden = id.as_deref().and_then(|v| self.replace(v, None, named));
                let hidden_name = name.as_deref().and_then(|v| self.replace(v, None, named));
                if let Some(p) = hidden.or(hidden_name) {
                    *id = Some(p);
                    *name = None;
                }
            }
            if let Some(p) = self.replace(&item.account_id, Some(&item.system_id), named) {
                item.account_id = p;
            }
        }
        r
    }

    /// The tables the report reads, rewritten like the findings (people named there only
    /// are counted by [`Self::summary`] from the report itself).
    fn tables(&self, t: &Tables) -> Result<Tables> {
        let mut ignored = BTreeSet::new();
        let mut v = t.clone();
        v.identities = self.identities(&t.identities)?;
        v.systems = self.frame(&t.systems, &mut ignored)?;
        v.accounts = self.frame(&t.accounts, &mut ignored)?;
        v.exceptions = self.frame(&t.exceptions, &mut ignored)?;
        v.waivers = self.frame(&t.waivers, &mut ignored)?;
        v.grants = t.grants.clear();
        v.audit_events = t.audit_events.clear();
        v.events = t.events.cleared();
        Ok(v)
    }

    /// The identities table by row: a hidden person's row keeps only the pseudonym (no name,
    /// no email), so that another person who shares a name keeps theirs.
    fn identities(&self, ids: &DataFrame) -> Result<DataFrame> {
        let id = ids.column("identity_id")?.str()?;
        let hidden: Vec<Option<usize>> = id
            .iter()
            .map(|v| {
                self.values
                    .get(v?)
                    .copied()
                    .filter(|p| self.plan.people[*p].values.first().map(String::as_str) == v)
            })
            .collect();
        let mut ignored = BTreeSet::new();
        let mut out = self.frame(&ids.select(["manager_id"])?, &mut ignored)?;
        let pseudonyms: StringChunked = id
            .iter()
            .zip(&hidden)
            .map(|(v, h)| match h {
                Some(p) => Some(self.plan.people[*p].pseudonym.clone()),
                None => v.map(str::to_string),
            })
            .collect();
        let blank = |c: &str| -> Result<Column> {
            let col = ids.column(c)?.str()?;
            let kept: StringChunked = col
                .iter()
                .zip(&hidden)
                .map(|(v, h)| {
                    if h.is_some() {
                        None
                    } else {
                        v.map(str::to_string)
                    }
                })
                .collect();
            Ok(kept.with_name(c.into()).into_column())
        };
        let mut whole = ids.clone();
        whole.replace(
            "identity_id",
            pseudonyms.with_name("identity_id".into()).into_column(),
        )?;
        whole.replace("display_name", blank("display_name")?)?;
        whole.replace("email", blank("email")?)?;
        whole.replace("manager_id", out.drop_in_place("manager_id")?)?;
        Ok(whole)
    }
}

/// The `P-` + 16 hex digit tokens in a text.
fn pseudonyms_in(text: &str) -> impl Iterator<Item = &str> {
    text.match_indices("P-").filter_map(move |(i, _)| {
        let token = text.get(i..i + 18)?;
        token[2..]
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
            .then_some(token)
    })
}
