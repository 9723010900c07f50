//! `aws iam get-account-authorization-details` output (CONTRACT section 7): every page of
//! the source merged (`IsTruncated`/`Marker` pages list different principals and policies,
//! and a user on one page is attached to a policy listed on another).
//!
//! Users and roles become accounts; groups, managed policies and inline policies become
//! roles; each `Action` allowed by a policy's default version becomes a permission
//! entitlement named as IAM names it. The ids, the stand-in for `granted_at` and what the
//! export does not tell are in `docs/sources.md`.

use std::collections::{BTreeSet, HashMap, HashSet};

use chrono::DateTime;
use serde_json::Value;

use super::aws_iam_credential_report::arn_account;
use super::json::{array, at, boolean, text};
use super::{Accepts, Emitted, Export, Item, Kind, Outcome, Reader, Row, SnapshotCx, Table};

pub const KIND: Kind = Kind {
    name: "aws_iam_authorization_details",
    tables: &[
        Table::Accounts,
        Table::Entitlements,
        Table::RolePermissions,
        Table::Grants,
    ],
    accepts: Accepts {
        csv: false,
        parquet: false,
    },
    read: Reader::Snapshot(build),
    version: 1,
};

const LISTS: [&str; 4] = [
    "UserDetailList",
    "GroupDetailList",
    "RoleDetailList",
    "Policies",
];

pub const NOT_A_PAGE: &str = "not an authorization details page";
pub const EMPTY_PAGE: &str = "page without details";

/// Where a row comes from: the page's place in its file, and the entry's own text.
#[derive(Clone)]
struct From {
    file: usize,
    pos: u64,
    raw: String,
}

struct Entry<'a> {
    from: From,
    v: &'a Value,
    account: Option<String>,
}

fn entry(file: usize, pos: u64, v: &Value) -> Entry<'_> {
    Entry {
        from: From {
            file,
            pos,
            raw: v.to_string(),
        },
        v,
        account: text(v, "Arn").and_then(|a| arn_account(&a).map(str::to_string)),
    }
}

/// A policy document: an object (the CLI decodes it), JSON text, or the URL-encoded JSON
/// text the API itself returns.
fn document(d: &Value) -> Option<Value> {
    match d {
        Value::Object(_) => Some(d.clone()),
        Value::String(s) => serde_json::from_str(s)
            .ok()
            .or_else(|| serde_json::from_str(&percent_decoded(s)?).ok()),
        _ => None,
    }
}

fn percent_decoded(s: &str) -> Option<String> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex = |c: u8| (c as char).to_digit(16);
        match (b[i], b.get(i + 1).copied(), b.get(i + 2).copied()) {
            (b'%', Some(h), Some(l)) if hex(h).is_some() && hex(l).is_some() => {
                out.push((hex(h)? * 16 + hex(l)?) as u8);
                i += 3;
            }
            (c, _, _) => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8(out).ok()
}

/// The actions a document allows. Deny statements, and Allow statements written with
/// `NotAction` (everything but a list, which no list of permissions can name), grant
/// nothing here: they are listed in the log.
fn allowed(doc: &Value, policy: &str) -> Vec<String> {
    let statements = match at(doc, "Statement").as_deref() {
        Some(Value::Array(a)) => a.clone(),
        Some(s @ Value::Object(_)) => vec![s.clone()],
        _ => Vec::new(),
    };
    let mut out = Vec::new();
    for s in &statements {
        let actions: Vec<String> = match at(s, "Action").as_deref() {
            Some(Value::String(a)) => vec![a.clone()],
            Some(Value::Array(a)) => a
                .iter()
                .filter_map(|x| x.as_str().map(str::to_string))
                .collect(),
            _ => Vec::new(),
        };
        let effect = text(s, "Effect").unwrap_or_default();
        if effect.eq_ignore_ascii_case("Deny") {
            tracing::info!(policy, actions = ?actions, "Deny statement: grants nothing");
        } else if !effect.eq_ignore_ascii_case("Allow") {
            tracing::info!(
                policy,
                effect,
                "statement without Allow or Deny: not mapped"
            );
        } else if actions.is_empty() {
            tracing::info!(
                policy,
                "Allow statement without Action (NotAction): not mapped"
            );
        } else {
            out.extend(actions);
        }
    }
    out
}

/// The default version's document of a managed policy.
fn default_document(p: &Value) -> Option<Value> {
    let versions = array(p, "PolicyVersionList");
    let default = text(p, "DefaultVersionId");
    let v = versions
        .iter()
        .find(|v| boolean(v, "IsDefaultVersion") == Some(true))
        .or_else(|| {
            versions
                .iter()
                .find(|v| default.is_some() && text(v, "VersionId") == default)
        })?;
    document(at(v, "Document")?.as_ref())
}

/// Every action can change who can do anything: that is what privileged means.
fn privileged(action: &str) -> bool {
    action == "*" || action.eq_ignore_ascii_case("iam:*")
}

/// The later of two timestamps (the one that parses when only one does).
fn later(a: Option<String>, b: Option<String>) -> Option<String> {
    match (a, b) {
        (Some(a), Some(b)) => match (
            DateTime::parse_from_rfc3339(&a),
            DateTime::parse_from_rfc3339(&b),
        ) {
            (Ok(x), Ok(y)) => Some(if y > x { b } else { a }),
            (Err(_), Ok(_)) => Some(b),
            _ => Some(a),
        },
        (a, b) => a.or(b),
    }
}

struct Out<'c> {
    rows: Vec<Emitted>,
    cx: &'c SnapshotCx<'c>,
    /// (system, entitlement id) offered: a permission several policies allow is one
    /// entitlement of its system.
    entitlements: HashSet<(String, String)>,
    edges: HashSet<(String, String, String)>,
}

impl Out<'_> {
    fn emit(&mut self, from: &From, outcome: Outcome) {
        self.rows.push(Emitted {
            file: from.file,
            pos: from.pos,
            outcome,
            raw: from.raw.clone(),
        });
    }

    fn system(&self, account: Option<&str>) -> Result<String, String> {
        self.cx.system.resolve(&[("account", account)])
    }

    fn entitlement(&mut self, from: &From, system: &str, id: &str, kind: &str, name: &str) {
        if !self
            .entitlements
            .insert((system.to_string(), id.to_string()))
        {
            return;
        }
        let row = Row::new(Table::Entitlements)
            .set("system_id", Some(system.to_string()))
            .set("entitlement_id", Some(id.to_string()))
            .set("kind", Some(kind.to_string()))
            .set("name", Some(name.to_string()))
            .set(
                "privileged",
                (kind == "permission" && privileged(id)).then(|| "true".to_string()),
            );
        self.emit(from, Outcome::Row(row));
    }

    fn edge(&mut self, from: &From, system: &str, role: &str, member: &str) {
        if !self
            .edges
            .insert((system.to_string(), role.to_string(), member.to_string()))
        {
            return;
        }
        let row = Row::new(Table::RolePermissions)
            .set("system_id", Some(system.to_string()))
            .set("role_id", Some(role.to_string()))
            .set("member_id", Some(member.to_string()));
        self.emit(from, Outcome::Row(row));
    }

    /// A policy's role, its allowed actions as permissions, and the edges between them.
    fn policy(&mut self, from: &From, system: &str, id: &str, name: &str, doc: Option<Value>) {
        self.entitlement(from, system, id, "role", name);
        let Some(doc) = doc else {
            self.emit(
                from,
                Outcome::Bad(
                    Table::RolePermissions,
                    format!("policy {name}: no readable document (default version)"),
                ),
            );
            return;
        };
        for action in allowed(&doc, name) {
            self.entitlement(from, system, &action, "permission", &action);
            self.edge(from, system, id, &action);
        }
    }

    fn grant(
        &mut self,
        from: &From,
        system: &Result<String, String>,
        account: Option<&str>,
        principal: &str,
        entitlement: &str,
        granted_at: Option<String>,
    ) {
        let outcome = match (system, granted_at) {
            (Err(e), _) => Outcome::Bad(Table::Grants, e.clone()),
            (Ok(_), None) => Outcome::Bad(
                Table::Grants,
                format!(
                    "no timestamp for granted_at: neither {principal} nor {entitlement} has a CreateDate"
                ),
            ),
            (Ok(sys), Some(at)) => {
                let name = principal
                    .split_once('/')
                    .map(|(_, n)| n)
                    .unwrap_or(principal);
                Outcome::Row(
                    Row::new(Table::Grants)
                        .set(
                            "grant_id",
                            Some(format!(
                                "aws:{}:{principal}:{entitlement}",
                                account.unwrap_or("-")
                            )),
                        )
                        .set("system_id", Some(sys.clone()))
                        .set("account_id", Some(name.to_string()))
                        .set("entitlement_id", Some(entitlement.to_string()))
                        .set("granted_at", Some(at)),
                )
            }
        };
        self.emit(from, outcome);
    }
}

/// The entries of every page, by list.
#[derive(Default)]
struct Entries<'a> {
    users: Vec<Entry<'a>>,
    groups: Vec<Entry<'a>>,
    roles: Vec<Entry<'a>>,
    policies: Vec<Entry<'a>>,
}

impl Entries<'_> {
    /// AWS managed policies (`arn:aws:iam::aws:policy/...`) belong to no account: they are
    /// roles of every account the export describes.
    fn accounts(&self) -> BTreeSet<String> {
        self.users
            .iter()
            .chain(&self.groups)
            .chain(&self.roles)
            .chain(&self.policies)
            .filter_map(|e| e.account.clone())
            .filter(|a| a != "aws")
            .collect()
    }
}

/// `CreateDate` of the managed policies, by ARN.
type PolicyCreated = HashMap<String, Option<String>>;
/// `CreateDate` of the groups, by (account, group name).
type GroupCreated = HashMap<(Option<String>, String), Option<String>>;

fn build(files: &[Export], cx: &SnapshotCx) -> Vec<Emitted> {
    let mut out = Out {
        rows: Vec::new(),
        cx,
        entitlements: HashSet::new(),
        edges: HashSet::new(),
    };
    let entries = out.pages(files);
    out.accounts(&entries);
    let policy_created = out.policies(&entries);
    let group_created = out.groups(&entries.groups);
    out.grants(&entries, &group_created, &policy_created);
    out.rows
}

impl Out<'_> {
    /// Every page's entries, merged; records that are no page are skipped.
    fn pages<'a>(&mut self, files: &'a [Export]) -> Entries<'a> {
        let mut entries = Entries::default();
        for (file, export) in files.iter().enumerate() {
            for (pos, item) in &export.items {
                let v = match item {
                    Item::Record(v) => v,
                    Item::Bad { raw, reason } => {
                        self.rows.push(Emitted {
                            file,
                            pos: *pos,
                            outcome: Outcome::Bad(KIND.tables[0], reason.clone()),
                            raw: raw.clone(),
                        });
                        continue;
                    }
                };
                let page = From {
                    file,
                    pos: *pos,
                    raw: v.to_string(),
                };
                if !LISTS.iter().any(|l| v.get(l).is_some()) {
                    self.emit(&page, Outcome::Skip(NOT_A_PAGE));
                    continue;
                }
                let mut n = 0;
                for (list, into) in [
                    ("UserDetailList", &mut entries.users),
                    ("GroupDetailList", &mut entries.groups),
                    ("RoleDetailList", &mut entries.roles),
                    ("Policies", &mut entries.policies),
                ] {
                    if let Some(Value::Array(a)) = v.get(list) {
                        n += a.len();
                        into.extend(a.iter().map(|e| entry(file, *pos, e)));
                    }
                }
                if n == 0 {
                    self.emit(&page, Outcome::Skip(EMPTY_PAGE));
                }
            }
        }
        entries
    }

    /// Users and roles as accounts.
    fn accounts(&mut self, entries: &Entries) {
        for (list, kind) in [(&entries.users, "human"), (&entries.roles, "service")] {
            let name_key = if kind == "human" {
                "UserName"
            } else {
                "RoleName"
            };
            for e in list {
                let outcome = match (self.system(e.account.as_deref()), text(e.v, name_key)) {
                    (Err(err), _) => Outcome::Bad(Table::Accounts, err),
                    (_, None) => Outcome::Bad(Table::Accounts, format!("entry without {name_key}")),
                    (Ok(sys), Some(name)) => Outcome::Row(
                        Row::new(Table::Accounts)
                            .set("system_id", Some(sys))
                            .set("account_id", Some(name))
                            .set("account_type", Some(kind.to_string()))
                            // Listed means it exists; whether it can sign in is the
                            // credential report's to tell.
                            .set("status", Some("active".to_string()))
                            .set("created_at", text(e.v, "CreateDate")),
                    ),
                };
                self.emit(&e.from, outcome);
            }
        }
    }

    /// Managed policies as roles of their account's system (an AWS managed one: of every
    /// account's), with what they allow.
    fn policies(&mut self, entries: &Entries) -> PolicyCreated {
        let accounts = entries.accounts();
        let mut created = PolicyCreated::new();
        for p in &entries.policies {
            let Some(name) = text(p.v, "PolicyName") else {
                self.emit(
                    &p.from,
                    Outcome::Bad(Table::Entitlements, "policy without PolicyName".into()),
                );
                continue;
            };
            if let Some(arn) = text(p.v, "Arn") {
                created.insert(arn, text(p.v, "CreateDate"));
            }
            let id = format!("policy:{name}");
            let doc = default_document(p.v);
            let systems: Vec<Result<String, String>> = match p.account.as_deref() {
                // An export of policies alone names no account: the template decides (a
                // fixed system id takes them; one with `{account}` quarantines them).
                Some("aws") if accounts.is_empty() => vec![self.system(None)],
                Some("aws") => accounts.iter().map(|a| self.system(Some(a))).collect(),
                a => vec![self.system(a)],
            };
            for sys in systems {
                match sys {
                    Ok(sys) => self.policy(&p.from, &sys, &id, &name, doc.clone()),
                    Err(e) => self.emit(&p.from, Outcome::Bad(Table::Entitlements, e)),
                }
            }
        }
        created
    }

    /// Groups as roles, with edges to their attached and inline policies.
    fn groups(&mut self, groups: &[Entry]) -> GroupCreated {
        let mut created = GroupCreated::new();
        for g in groups {
            let system = self.system(g.account.as_deref());
            let (Ok(sys), Some(name)) = (&system, text(g.v, "GroupName")) else {
                let reason = match &system {
                    Err(e) => e.clone(),
                    Ok(_) => "group without GroupName".into(),
                };
                self.emit(&g.from, Outcome::Bad(Table::Entitlements, reason));
                continue;
            };
            created.insert((g.account.clone(), name.clone()), text(g.v, "CreateDate"));
            let id = format!("group:{name}");
            self.entitlement(&g.from, sys, &id, "role", &name);
            for a in array(g.v, "AttachedManagedPolicies") {
                if let Some(pid) = attached(self, &g.from, sys, &a) {
                    self.edge(&g.from, sys, &id, &pid);
                }
            }
            for ip in array(g.v, "GroupPolicyList") {
                if let Some(pid) = inline(self, &g.from, sys, "group", &name, &ip) {
                    self.edge(&g.from, sys, &id, &pid);
                }
            }
        }
        created
    }

    /// The grants of users and roles: a user's groups, and every principal's attached and
    /// inline policies.
    fn grants(
        &mut self,
        entries: &Entries,
        group_created: &GroupCreated,
        policy_created: &PolicyCreated,
    ) {
        for (list, what, name_key, inline_key) in [
            (&entries.users, "user", "UserName", "UserPolicyList"),
            (&entries.roles, "role", "RoleName", "RolePolicyList"),
        ] {
            for e in list {
                let system = self.system(e.account.as_deref());
                let Some(name) = text(e.v, name_key) else {
                    // Already quarantined as an account.
                    continue;
                };
                let principal = format!("{what}/{name}");
                let created = text(e.v, "CreateDate");
                let account = e.account.as_deref();
                if what == "user" {
                    for g in array(e.v, "GroupList") {
                        let Some(group) = g.as_str() else { continue };
                        let gc = group_created
                            .get(&(e.account.clone(), group.to_string()))
                            .cloned()
                            .flatten();
                        let ent = format!("group:{group}");
                        if let Ok(sys) = &system {
                            self.entitlement(&e.from, sys, &ent, "role", group);
                        }
                        let at = later(created.clone(), gc);
                        self.grant(&e.from, &system, account, &principal, &ent, at);
                    }
                }
                for a in array(e.v, "AttachedManagedPolicies") {
                    let Ok(sys) = &system else {
                        self.grant(&e.from, &system, account, &principal, "-", None);
                        continue;
                    };
                    let Some(ent) = attached(self, &e.from, sys, &a) else {
                        continue;
                    };
                    let pc = text(&a, "PolicyArn")
                        .and_then(|arn| policy_created.get(&arn).cloned())
                        .flatten();
                    let at = later(created.clone(), pc);
                    self.grant(&e.from, &system, account, &principal, &ent, at);
                }
                for ip in array(e.v, inline_key) {
                    let Ok(sys) = &system else {
                        self.grant(&e.from, &system, account, &principal, "-", None);
                        continue;
                    };
                    if let Some(ent) = inline(self, &e.from, sys, what, &name, &ip) {
                        self.grant(&e.from, &system, account, &principal, &ent, created.clone());
                    }
                }
            }
        }
    }
}

/// The role of an attached managed policy: listed in `Policies` (offered there), or not
/// (a role without permissions is offered so that the grant names an entitlement).
fn attached(out: &mut Out, from: &From, system: &str, a: &Value) -> Option<String> {
    let Some(name) = text(a, "PolicyName") else {
        out.emit(
            from,
            Outcome::Bad(Table::Grants, "attached policy without PolicyName".into()),
        );
        return None;
    };
    let id = format!("policy:{name}");
    out.entitlement(from, system, &id, "role", &name);
    Some(id)
}

/// An inline policy: its role `inline:<user|group|role>/<principal>/<policy>` and what it
/// allows.
fn inline(
    out: &mut Out,
    from: &From,
    system: &str,
    what: &str,
    principal: &str,
    p: &Value,
) -> Option<String> {
    let Some(name) = text(p, "PolicyName") else {
        out.emit(
            from,
            Outcome::Bad(
                Table::Entitlements,
                "inline policy without PolicyName".into(),
            ),
        );
        return None;
    };
    let id = format!("inline:{what}/{principal}/{name}");
    let doc = at(p, "PolicyDocument").and_then(|d| document(d.as_ref()));
    out.policy(from, system, &id, &name, doc);
    Some(id)
}
