//! SCIM 2.0 (RFC 7643) User and Group resources (CONTRACT section 7): every file of the
//! source at once, so that a Group's members resolve to Users listed in another file
//! (`/Users` and `/Groups` are separate exports, each possibly paged).
//!
//! A User becomes an identity and an account of the source's system, a Group an
//! entitlement of kind `permission`, and each membership a grant. The mapping of every
//! field, the stand-in for `granted_at` and the skip reasons are in
//! `docs/sources.md` (section scim).

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, FixedOffset};
use serde_json::Value;

use super::json::{array, boolean, first_text, text};
use super::{Accepts, Emitted, Export, Item, Kind, Outcome, Reader, Row, SnapshotCx, Table};

pub const KIND: Kind = Kind {
    name: "scim",
    tables: &[
        Table::Identities,
        Table::Accounts,
        Table::Entitlements,
        Table::Grants,
    ],
    accepts: Accepts {
        csv: false,
        parquet: false,
    },
    read: Reader::Snapshot(build),
    version: 1,
};

const USER_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
const GROUP_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
/// Read with `Value::get`, never through a dotted path: the URN itself holds a dot
/// (`2.0`).
const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";

pub const NOT_USER_OR_GROUP: &str = "not a User or Group";
pub const NESTED_GROUP: &str = "group member of a group";
pub const SEEN_TWICE: &str = "membership listed by both the group and the user";

#[derive(Debug, Clone, Copy, PartialEq)]
enum Resource {
    User,
    Group,
    Other,
}

/// Which resource a record is. `schemas` (or `meta.resourceType`) decides when present;
/// list responses with partial attributes (RFC 7644 3.4.2) carry neither, so a record
/// without them is a User when it has `userName`, a Group when it has `members`.
fn resource(v: &Value) -> Resource {
    let schemas: Vec<String> = array(v, "schemas")
        .iter()
        .filter_map(|s| s.as_str().map(str::to_string))
        .collect();
    // Some servers list only the extension a User carries.
    if schemas.iter().any(|s| s == USER_SCHEMA || s == ENTERPRISE) {
        return Resource::User;
    }
    if schemas.iter().any(|s| s == GROUP_SCHEMA) {
        return Resource::Group;
    }
    match text(v, "meta.resourceType").as_deref() {
        Some("User") => return Resource::User,
        Some("Group") => return Resource::Group,
        Some(_) => return Resource::Other,
        None => {}
    }
    if !schemas.is_empty() {
        return Resource::Other;
    }
    if text(v, "userName").is_some() {
        Resource::User
    } else if v.get("members").is_some_and(Value::is_array) {
        Resource::Group
    } else {
        Resource::Other
    }
}

struct Found<'a> {
    file: usize,
    pos: u64,
    v: &'a Value,
    raw: String,
}

impl Found<'_> {
    fn emit(&self, outcome: Outcome) -> Emitted {
        Emitted {
            file: self.file,
            pos: self.pos,
            outcome,
            raw: self.raw.clone(),
        }
    }
}

struct User {
    identity_id: Option<String>,
    user_name: Option<String>,
    created: Option<String>,
}

struct Group {
    /// The grant ids' part: `id`, else `displayName`.
    key: Option<String>,
    name: Option<String>,
    created: Option<String>,
}

fn enterprise(v: &Value, field: &str) -> Option<String> {
    text(v.get(ENTERPRISE)?, field)
}

/// employeeNumber (enterprise extension), else externalId, else id (CONTRACT section 7).
fn identity_id(v: &Value) -> Option<String> {
    enterprise(v, "employeeNumber").or_else(|| first_text(v, &["externalId", "id"]))
}

fn user(v: &Value) -> User {
    User {
        identity_id: identity_id(v),
        user_name: text(v, "userName"),
        created: text(v, "meta.created"),
    }
}

fn group(v: &Value) -> Group {
    Group {
        key: first_text(v, &["id", "displayName"]),
        name: text(v, "displayName"),
        created: text(v, "meta.created"),
    }
}

/// The primary address, else the first one listed.
fn email(v: &Value) -> Option<String> {
    let emails = array(v, "emails");
    let primary = emails
        .iter()
        .find(|e| boolean(e, "primary") == Some(true))
        .and_then(|e| text(e, "value"));
    primary.or_else(|| emails.iter().find_map(|e| text(e, "value")))
}

fn display_name(v: &Value) -> Option<String> {
    first_text(v, &["displayName", "name.formatted"]).or_else(|| {
        let parts: Vec<String> = ["name.givenName", "name.familyName"]
            .iter()
            .filter_map(|p| text(v, p))
            .collect();
        (!parts.is_empty()).then(|| parts.join(" "))
    })
}

/// The later of the timestamps that parse; one that does not parse is passed on as it
/// is (ingest quarantines the grant with the value) only when none parses.
fn later(stamps: &[Option<&String>]) -> Option<String> {
    let given: Vec<&String> = stamps.iter().flatten().copied().collect();
    let parsed = given
        .iter()
        .filter_map(|s| DateTime::parse_from_rfc3339(s).ok().map(|d| (d, *s)))
        .max_by_key(|(d, _): &(DateTime<FixedOffset>, &String)| *d);
    parsed
        .map(|(_, s)| s.clone())
        .or_else(|| given.first().map(|s| (*s).clone()))
}

fn build(files: &[Export], cx: &SnapshotCx) -> Vec<Emitted> {
    let mut out = Vec::new();
    let (users, groups) = resources(files, &mut out);
    let mut scim = Scim {
        out,
        system: cx.system.resolve(&[]),
        // Members and managers name users by their SCIM `id`, in whichever file they are.
        by_id: users
            .iter()
            .filter_map(|u| Some((text(u.v, "id")?, user(u.v))))
            .collect(),
        group_by_id: groups
            .iter()
            .filter_map(|g| Some((text(g.v, "id")?, group(g.v))))
            .collect(),
        offered: HashSet::new(),
        granted: HashSet::new(),
    };
    for u in &users {
        scim.identity_and_account(u);
    }
    for g in &groups {
        scim.group_entitlement(g);
    }
    for g in &groups {
        scim.group_members(g);
    }
    for u in &users {
        scim.user_groups(u);
    }
    scim.out
}

/// Every record of every file as a User or a Group; anything else is emitted as skipped or
/// bad.
fn resources<'a>(files: &'a [Export], out: &mut Vec<Emitted>) -> (Vec<Found<'a>>, Vec<Found<'a>>) {
    let mut users: Vec<Found> = Vec::new();
    let mut groups: Vec<Found> = Vec::new();
    for (file, export) in files.iter().enumerate() {
        for (pos, item) in &export.items {
            match item {
                Item::Record(v) => {
                    let found = Found {
                        file,
                        pos: *pos,
                        v,
                        raw: v.to_string(),
                    };
                    match resource(v) {
                        Resource::User => users.push(found),
                        Resource::Group => groups.push(found),
                        Resource::Other => out.push(found.emit(Outcome::Skip(NOT_USER_OR_GROUP))),
                    }
                }
                Item::Bad { raw, reason } => out.push(Emitted {
                    file,
                    pos: *pos,
                    outcome: Outcome::Bad(KIND.tables[0], reason.clone()),
                    raw: raw.clone(),
                }),
            }
        }
    }
    (users, groups)
}

/// What the steps of [`build`] share: the rows so far, the source's system and the
/// resources by SCIM `id`.
struct Scim {
    out: Vec<Emitted>,
    system: Result<String, String>,
    by_id: HashMap<String, User>,
    group_by_id: HashMap<String, Group>,
    /// Entitlement ids already offered: groups first, then the groups that Users name in
    /// `groups[]` but no Group resource of the export describes.
    offered: HashSet<String>,
    /// Grant ids already emitted: a membership both sides list is one grant.
    granted: HashSet<String>,
}

impl Scim {
    /// A User's identity and its account on the source's system.
    fn identity_and_account(&mut self, u: &Found) {
        let me = user(u.v);
        let manager = enterprise(u.v, "manager.value").map(|m| {
            self.by_id
                .get(&m)
                .and_then(|mu| mu.identity_id.clone())
                .unwrap_or(m)
        });
        let status = match boolean(u.v, "active") {
            Some(false) => "leave",
            _ => "active",
        };
        self.out.push(
            u.emit(match &me.identity_id {
                None => Outcome::Bad(
                    Table::Identities,
                    "user without employeeNumber, externalId or id".into(),
                ),
                Some(id) => Outcome::Row(
                    Row::new(Table::Identities)
                        .set("identity_id", Some(id.clone()))
                        .set("display_name", display_name(u.v))
                        .set("email", email(u.v))
                        .set("department", enterprise(u.v, "department"))
                        .set("manager_id", manager)
                        .set("status", Some(status.into())),
                ),
            }),
        );
        let account_status = if boolean(u.v, "active") == Some(true) {
            "active"
        } else {
            "disabled"
        };
        self.out.push(
            u.emit(match (&self.system, &me.user_name) {
                (Err(e), _) => Outcome::Bad(Table::Accounts, e.clone()),
                (_, None) => Outcome::Bad(Table::Accounts, "user without userName".into()),
                (Ok(sys), Some(name)) => Outcome::Row(
                    Row::new(Table::Accounts)
                        .set("system_id", Some(sys.clone()))
                        .set("account_id", Some(name.clone()))
                        .set("identity_id", me.identity_id.clone())
                        .set("status", Some(account_status.into()))
                        .set("created_at", me.created.clone()),
                ),
            }),
        );
    }

    /// A Group as an entitlement.
    fn group_entitlement(&mut self, g: &Found) {
        let me = group(g.v);
        let outcome = match (&self.system, &me.name) {
            (Err(e), _) => Outcome::Bad(Table::Entitlements, e.clone()),
            (_, None) => Outcome::Bad(Table::Entitlements, "group without displayName".into()),
            (Ok(sys), Some(name)) => {
                self.offered.insert(name.clone());
                Outcome::Row(entitlement(sys, name))
            }
        };
        self.out.push(g.emit(outcome));
    }

    /// The grants a Group's `members` list; a member that is a group is skipped.
    fn group_members(&mut self, g: &Found) {
        let me = group(g.v);
        for m in array(g.v, "members") {
            let member = text(&m, "value");
            let is_group = text(&m, "type").as_deref() == Some("Group")
                || member
                    .as_ref()
                    .is_some_and(|id| self.group_by_id.contains_key(id));
            if is_group {
                self.out.push(g.emit(Outcome::Skip(NESTED_GROUP)));
                continue;
            }
            let outcome = match member
                .as_ref()
                .and_then(|id| self.by_id.get(id).map(|u| (id, u)))
            {
                None => Outcome::Bad(
                    Table::Grants,
                    format!(
                        "member {} of group {} is not a User of the export: no account to grant",
                        member.as_deref().unwrap_or("without value"),
                        me.name.as_deref().unwrap_or("without displayName"),
                    ),
                ),
                Some((uid, u)) => grant(&self.system, &me, uid, u, &mut self.granted),
            };
            self.out.push(g.emit(outcome));
        }
    }

    /// The grants a User's `groups` list, offering the groups no Group resource describes.
    fn user_groups(&mut self, u: &Found) {
        let me = user(u.v);
        let Some(uid) = text(u.v, "id") else {
            for _ in array(u.v, "groups") {
                self.out.push(u.emit(Outcome::Bad(
                    Table::Grants,
                    "user without id: its membership has no stable grant id".into(),
                )));
            }
            return;
        };
        for m in array(u.v, "groups") {
            let gid = text(&m, "value");
            let known = gid.as_ref().and_then(|id| self.group_by_id.get(id));
            let stand_in;
            let target = match known {
                Some(g) => g,
                None => {
                    // A `/Users` export alone: the entry's `display` is the group's
                    // displayName (RFC 7643 4.1.2), enough to name the entitlement.
                    stand_in = Group {
                        key: gid.clone(),
                        name: text(&m, "display"),
                        created: None,
                    };
                    if let (Ok(sys), Some(name)) = (&self.system, &stand_in.name) {
                        if self.offered.insert(name.clone()) {
                            self.out.push(u.emit(Outcome::Row(entitlement(sys, name))));
                        }
                    }
                    &stand_in
                }
            };
            let outcome = grant(&self.system, target, &uid, &me, &mut self.granted);
            self.out.push(u.emit(outcome));
        }
    }
}

fn entitlement(system: &str, name: &str) -> Row {
    Row::new(Table::Entitlements)
        .set("system_id", Some(system.to_string()))
        .set("entitlement_id", Some(name.to_string()))
        .set("kind", Some("permission".into()))
        .set("name", Some(name.to_string()))
}

fn grant(
    system: &Result<String, String>,
    g: &Group,
    uid: &str,
    u: &User,
    granted: &mut HashSet<String>,
) -> Outcome {
    let sys = match system {
        Ok(s) => s,
        Err(e) => return Outcome::Bad(Table::Grants, e.clone()),
    };
    let (Some(key), Some(name)) = (&g.key, &g.name) else {
        return Outcome::Bad(
            Table::Grants,
            "membership of a group without id and displayName".into(),
        );
    };
    let Some(account) = &u.user_name else {
        return Outcome::Bad(
            Table::Grants,
            format!("member {uid} has no userName: no account to grant"),
        );
    };
    let grant_id = format!("scim:{key}:{uid}");
    if !granted.insert(grant_id.clone()) {
        return Outcome::Skip(SEEN_TWICE);
    }
    let Some(at) = later(&[g.created.as_ref(), u.created.as_ref()]) else {
        return Outcome::Bad(
            Table::Grants,
            format!(
                "no timestamp for granted_at: neither group {name} nor user {account} has meta.created"
            ),
        );
    };
    Outcome::Row(
        Row::new(Table::Grants)
            .set("grant_id", Some(grant_id))
            .set("system_id", Some(sys.clone()))
            .set("account_id", Some(account.clone()))
            .set("entitlement_id", Some(name.clone()))
            .set("granted_at", Some(at)),
    )
}
