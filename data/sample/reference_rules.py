#!/usr/bin/env python3
"""Independent, deliberately plain reference implementation of the permaudit detection
rules (CONTRACT.md section 5), used to compute data/sample/expected_findings.csv.

It reads the sample input CSVs and policy TOML files (stdlib only: csv, tomllib,
zoneinfo) and returns the findings as a list of dicts with the key columns of
findings.csv.  One function per rule.  It assumes clean input (the sample has no
quarantined rows) and does not implement ingest checks.

Usage:  python3 data/sample/reference_rules.py [AS_OF] [--lookback DAYS]
prints the findings as CSV on stdout.
"""
from __future__ import annotations

import csv
import hashlib
import sys
import tomllib
from collections import defaultdict
from datetime import date, datetime, time, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

HERE = Path(__file__).resolve().parent
COLUMNS = ["rule", "severity", "status", "jurisdiction", "identity_id", "system_id",
           "account_id", "grant_id", "entitlement_id", "sod_rule_id", "target_id", "seq"]
RISK_ORDER = {"low": 0, "medium": 1, "high": 2, "critical": 3}
DAY_NAMES = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
JUR_DEFAULTS = dict(stale_grant_days=90, dormant_account_days=90, termination_grace_hours=24,
                    review_interval_days=180, privileged_review_interval_days=90,
                    mfa_required_for_privileged=True, disabled_rules=[],
                    allowed_login_countries=[], business_hours="08:00-20:00",
                    business_days=["mon", "tue", "wed", "thu", "fri"],
                    failed_login_threshold=10, failed_login_window_minutes=15,
                    travel_hours=2, max_silence_hours=48)

# v4 rules' policy keys (contract section 5, "Contract v4 rules")
JUR_DEFAULTS.update(security_training_interval_days=365, security_training_courses=[],
                    allowed_mfa_methods_for_privileged=[], log_review_days=90)

# --------------------------------------------------------------------------- loading
def ts(value):
    """RFC 3339 with offset -> aware UTC datetime; empty -> None."""
    if value is None or value == "":
        return None
    dt = datetime.fromisoformat(value.replace(" ", "T", 1))
    if dt.tzinfo is None:
        raise ValueError(f"naive timestamp {value!r}")
    return dt.astimezone(timezone.utc)


def boolean(value):
    if value is None or value == "":
        return None
    return value.strip().lower() in ("true", "1")


def opt(value):
    return None if value is None or value.strip() == "" else value


def read_csv(path):
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


class Data:
    def __init__(self, input_dir, policy_dir, as_of: date, lookback_days=30):
        self.T = datetime.combine(as_of + timedelta(days=1), time(0), tzinfo=timezone.utc)
        self.W = self.T - timedelta(days=lookback_days)
        inp = Path(input_dir)
        pol = Path(policy_dir)
        self.input_dir = inp
        with open(pol / "jurisdictions.toml", "rb") as f:
            self.jur = {}
            for j in tomllib.load(f)["jurisdiction"]:
                full = dict(JUR_DEFAULTS)
                full.update(j)
                self.jur[j["code"]] = full
        with open(pol / "sod_rules.toml", "rb") as f:
            self.sod = tomllib.load(f)["rule"]
        grading_path = pol / "grading.toml"
        self.grading = {}
        self.peer_min, self.peer_share = 10, 0.10
        if grading_path.exists():
            with open(grading_path, "rb") as f:
                g = tomllib.load(f)
            self.grading = {jf["name"]: jf["max_risk"] for jf in g.get("job_function", [])}
            self.peer_min = g.get("peer_groups", {}).get("min_size", 10)
            self.peer_share = g.get("peer_groups", {}).get("max_share", 0.10)

        self.systems = {r["system_id"]: r for r in read_csv(inp / "systems.csv")}
        self.identities = {}
        for r in read_csv(inp / "identities.csv"):
            r["terminated_at"] = ts(r.get("terminated_at"))
            self.identities[r["identity_id"]] = r
        self.accounts = {}
        for r in read_csv(inp / "accounts.csv"):
            r["identity_id"] = opt(r.get("identity_id"))
            r["account_type"] = opt(r.get("account_type")) or "human"
            r["created_at"] = ts(r.get("created_at"))
            self.accounts[(r["system_id"], r["account_id"])] = r
        self.ents = {}
        for r in read_csv(inp / "entitlements.csv"):
            r["risk"] = opt(r.get("risk"))
            r["privileged"] = bool(boolean(r.get("privileged")))
            self.ents[(r["system_id"], r["entitlement_id"])] = r
        self.edges = defaultdict(set)
        for r in read_csv(inp / "role_permissions.csv"):
            self.edges[(r["system_id"], r["role_id"])].add(r["member_id"])
        self.grants = []
        for r in read_csv(inp / "grants.csv"):
            for c in ("granted_at", "expires_at", "revoked_at"):
                r[c] = ts(r.get(c))
            for c in ("granted_by", "approved_by"):
                r[c] = opt(r.get(c))
            self.grants.append(r)
        self.action_perms = defaultdict(set)
        for r in read_csv(inp / "action_permissions.csv"):
            self.action_perms[(r["system_id"], r["action"])].add(r["permission_id"])
        self.events = []
        for r in read_csv(inp / "audit_events.csv"):
            r["ts"] = ts(r["ts"])
            r["target_id"] = opt(r.get("target_id"))
            r["mfa"] = boolean(r.get("mfa"))
            r["src_country"] = opt(r.get("src_country"))
            r["seq"] = int(r["seq"]) if opt(r.get("seq")) else None
            r["prev_hash"] = opt(r.get("prev_hash"))
            r["hash"] = opt(r.get("hash"))
            self.events.append(r)
        self.exceptions = []
        if (inp / "exceptions.csv").exists():
            for r in read_csv(inp / "exceptions.csv"):
                r["approved_at"] = ts(r["approved_at"])
                r["expires_at"] = ts(r["expires_at"])
                self.exceptions.append(r)
        self.waivers = []
        if (inp / "waivers.csv").exists():
            for r in read_csv(inp / "waivers.csv"):
                r["approved_at"] = ts(r["approved_at"])
                r["expires_at"] = ts(r["expires_at"])
                self.waivers.append(r)

        # events known at T
        self.known_events = [e for e in self.events if e["ts"] < self.T]
        self.window_events = [e for e in self.known_events if e["ts"] >= self.W]

    # ----------------------------------------------------------------- helpers
    def sys_jur(self, system_id):
        return self.systems[system_id]["jurisdiction"]

    def J(self, system_id):
        return self.jur[self.sys_jur(system_id)]

    def enabled(self, rule, jurisdiction):
        return rule not in self.jur[jurisdiction]["disabled_rules"]

    def reach(self, system_id, ent_id):
        seen, stack = {ent_id}, [ent_id]
        while stack:
            for m in self.edges.get((system_id, stack.pop()), ()):
                if m not in seen:
                    seen.add(m)
                    stack.append(m)
        return seen

    def closure(self, system_id, ent_id):
        return {e for e in self.reach(system_id, ent_id)
                if self.ents[(system_id, e)]["kind"] == "permission"}

    def is_privileged(self, system_id, ent_id):
        return any(self.ents[(system_id, e)]["privileged"] for e in self.reach(system_id, ent_id))

    def identity_of(self, account):
        iid = account["identity_id"] if account else None
        return iid if iid in self.identities else None

    def terminated_at_T(self, identity_id):
        i = self.identities[identity_id]
        return i["status"] == "terminated" and i["terminated_at"] < self.T

    def not_terminated_identity(self, account):
        iid = self.identity_of(account)
        return iid is not None and not self.terminated_at_T(iid)

    def active_grant(self, g):
        return g["granted_at"] < self.T and (g["revoked_at"] is None or g["revoked_at"] >= self.T)

    def effective_grant(self, g):
        acc = self.accounts.get((g["system_id"], g["account_id"]))
        return self.active_grant(g) and acc is not None and acc["status"] == "active"

    def effective_grants(self):
        return [g for g in self.grants if self.effective_grant(g)]

    def privileged_access(self, system_id, account_id):
        return any(g["system_id"] == system_id and g["account_id"] == account_id
                   and self.is_privileged(g["system_id"], g["entitlement_id"])
                   for g in self.effective_grants())

    def held_permissions(self):
        """identity_id -> set of (system_id, permission_id) through effective grants."""
        held = defaultdict(set)
        for g in self.effective_grants():
            acc = self.accounts[(g["system_id"], g["account_id"])]
            iid = self.identity_of(acc)
            if iid is None:
                continue
            for p in self.closure(g["system_id"], g["entitlement_id"]):
                held[iid].add((g["system_id"], p))
        return held

    def exercises(self, event):
        return self.action_perms.get((event["system_id"], event["action"]), set())

    def days(self, n):
        return timedelta(days=n)

    def finding(self, rule, severity, jurisdiction, status="open", **keys):
        row = {c: "" for c in COLUMNS}
        row.update(rule=rule, severity=severity, status=status, jurisdiction=jurisdiction)
        for k, v in keys.items():
            row[k] = "" if v is None else str(v)
        return row

    def grant_keys(self, g):
        acc = self.accounts.get((g["system_id"], g["account_id"]))
        return dict(grant_id=g["grant_id"], system_id=g["system_id"], account_id=g["account_id"],
                    entitlement_id=g["entitlement_id"], identity_id=self.identity_of(acc))

    def account_keys(self, system_id, account_id):
        acc = self.accounts.get((system_id, account_id))
        return dict(system_id=system_id, account_id=account_id, identity_id=self.identity_of(acc))


def pattern_match(pattern, system_id, name):
    psys, pname = pattern.split(":", 1)
    return (psys == "*" or psys == system_id) and pname == name


# --------------------------------------------------------------------------- rules
def sod_conflict(d: Data):
    out = []
    held = d.held_permissions()
    for rule in d.sod:
        if rule["kind"] != "static":
            continue
        funcs = [f["permissions"] for f in rule["function"]]
        for iid in sorted(held):
            perms = held[iid]

            def satisfied(pset):
                return all(any(pattern_match(p, s, n) for p in f for (s, n) in pset) for f in funcs)

            jurs = set()
            if rule["scope"] == "global":
                if satisfied(perms):
                    jurs = {d.sys_jur(s) for (s, n) in perms
                            if any(pattern_match(p, s, n) for f in funcs for p in f)}
            else:
                for j in {d.sys_jur(s) for (s, _) in perms}:
                    if satisfied({(s, n) for (s, n) in perms if d.sys_jur(s) == j}):
                        jurs.add(j)
            valid_exc = any(x["sod_rule_id"] == rule["id"] and x["identity_id"] == iid
                            and x["approved_at"] < d.T <= x["expires_at"]
                            and x["approved_by"] != x["identity_id"] for x in d.exceptions)
            for j in sorted(jurs):
                if d.enabled("SOD_CONFLICT", j):
                    out.append(d.finding("SOD_CONFLICT", rule["risk"], j,
                                         status="mitigated" if valid_exc else "open",
                                         sod_rule_id=rule["id"], identity_id=iid))
    return out


def sod_transaction(d: Data):
    out = []
    for rule in d.sod:
        if rule["kind"] != "transaction":
            continue
        funcs = [f["actions"] for f in rule["function"]]
        groups = defaultdict(list)  # (identity, target) -> matching events
        for e in d.window_events:
            if e["outcome"] != "success" or e["target_id"] is None:
                continue
            iid = d.identity_of(d.accounts.get((e["system_id"], e["account_id"])))
            if iid is None:
                continue
            if any(pattern_match(p, e["system_id"], e["action"]) for f in funcs for p in f):
                groups[(iid, e["target_id"])].append(e)
        for (iid, target), evs in sorted(groups.items()):
            if all(any(pattern_match(p, e["system_id"], e["action"]) for p in f for e in evs)
                   for f in funcs):
                for j in sorted({d.sys_jur(e["system_id"]) for e in evs}):
                    if d.enabled("SOD_TRANSACTION", j):
                        out.append(d.finding("SOD_TRANSACTION", "critical", j, sod_rule_id=rule["id"],
                                             identity_id=iid, target_id=target))
    return out


def stale_grant(d: Data):
    out = []
    for g in d.effective_grants():
        acc = d.accounts[(g["system_id"], g["account_id"])]
        if not d.not_terminated_identity(acc):
            continue
        j = d.sys_jur(g["system_id"])
        n = d.days(d.jur[j]["stale_grant_days"])
        if not g["granted_at"] < d.T - n:
            continue
        clo = d.closure(g["system_id"], g["entitlement_id"])
        used = any(e["system_id"] == g["system_id"] and e["account_id"] == g["account_id"]
                   and e["outcome"] == "success" and e["ts"] >= g["granted_at"]
                   and e["ts"] >= d.T - n and d.exercises(e) & clo
                   for e in d.known_events)
        if not used and d.enabled("STALE_GRANT", j):
            sev = "medium" if d.is_privileged(g["system_id"], g["entitlement_id"]) else "low"
            out.append(d.finding("STALE_GRANT", sev, j, **d.grant_keys(g)))
    return out


def dormant_account(d: Data):
    out = []
    for (sid, aid), acc in d.accounts.items():
        if acc["status"] != "active" or acc["account_type"] not in ("human", "shared"):
            continue
        if not d.not_terminated_identity(acc):
            continue
        j = d.sys_jur(sid)
        n = d.days(d.jur[j]["dormant_account_days"])
        if acc["created_at"] is not None and not acc["created_at"] < d.T - n:
            continue
        logged_in = any(e["system_id"] == sid and e["account_id"] == aid and e["action"] == "login"
                        and e["outcome"] == "success" and e["ts"] >= d.T - n for e in d.known_events)
        if not logged_in and d.enabled("DORMANT_ACCOUNT", j):
            sev = "medium" if d.privileged_access(sid, aid) else "low"
            out.append(d.finding("DORMANT_ACCOUNT", sev, j, **d.account_keys(sid, aid)))
    return out


def terminated_access(d: Data):
    out = []
    for (sid, aid), acc in d.accounts.items():
        iid = d.identity_of(acc)
        if acc["status"] != "active" or iid is None:
            continue
        ident = d.identities[iid]
        j = d.sys_jur(sid)
        grace = timedelta(hours=d.jur[j]["termination_grace_hours"])
        if ident["status"] == "terminated" and ident["terminated_at"] < d.T - grace \
                and d.enabled("TERMINATED_ACCESS", j):
            out.append(d.finding("TERMINATED_ACCESS", "high", j, **d.account_keys(sid, aid)))
    return out


def post_termination_activity(d: Data):
    out, seen = [], set()
    for e in d.window_events:
        acc = d.accounts.get((e["system_id"], e["account_id"]))
        iid = d.identity_of(acc)
        if e["outcome"] != "success" or iid is None or not d.terminated_at_T(iid):
            continue
        if e["ts"] > d.identities[iid]["terminated_at"]:
            key = (e["system_id"], e["account_id"])
            j = d.sys_jur(e["system_id"])
            if key not in seen and d.enabled("POST_TERMINATION_ACTIVITY", j):
                seen.add(key)
                out.append(d.finding("POST_TERMINATION_ACTIVITY", "critical", j, **d.account_keys(*key)))
    return out


def orphan_account(d: Data):
    out = []
    for (sid, aid), acc in d.accounts.items():
        if acc["status"] == "active" and d.identity_of(acc) is None:
            j = d.sys_jur(sid)
            if d.enabled("ORPHAN_ACCOUNT", j):
                sev = "high" if d.privileged_access(sid, aid) else "medium"
                out.append(d.finding("ORPHAN_ACCOUNT", sev, j, **d.account_keys(sid, aid)))
    return out


def unmanaged_account_activity(d: Data):
    keys = sorted({(e["system_id"], e["account_id"]) for e in d.window_events
                   if e["outcome"] == "success" and (e["system_id"], e["account_id"]) not in d.accounts})
    return [d.finding("UNMANAGED_ACCOUNT_ACTIVITY", "high", d.sys_jur(s), system_id=s, account_id=a)
            for (s, a) in keys if d.enabled("UNMANAGED_ACCOUNT_ACTIVITY", d.sys_jur(s))]


def expired_grant(d: Data):
    out = []
    for g in d.grants:
        if d.active_grant(g) and g["expires_at"] is not None and g["expires_at"] < d.T:
            j = d.sys_jur(g["system_id"])
            if d.enabled("EXPIRED_GRANT", j):
                sev = "high" if d.is_privileged(g["system_id"], g["entitlement_id"]) else "medium"
                out.append(d.finding("EXPIRED_GRANT", sev, j, **d.grant_keys(g)))
    return out


def self_approved_grant(d: Data):
    out = []
    for g in d.grants:
        iid = d.identity_of(d.accounts.get((g["system_id"], g["account_id"])))
        if d.active_grant(g) and iid is not None and iid in (g["granted_by"], g["approved_by"]):
            j = d.sys_jur(g["system_id"])
            if d.enabled("SELF_APPROVED_GRANT", j):
                out.append(d.finding("SELF_APPROVED_GRANT", "high", j, **d.grant_keys(g)))
    return out


def unapproved_privileged_grant(d: Data):
    out = []
    for g in d.grants:
        if d.active_grant(g) and g["approved_by"] is None \
                and d.is_privileged(g["system_id"], g["entitlement_id"]):
            j = d.sys_jur(g["system_id"])
            if d.enabled("UNAPPROVED_PRIVILEGED_GRANT", j):
                out.append(d.finding("UNAPPROVED_PRIVILEGED_GRANT", "high", j, **d.grant_keys(g)))
    return out


def privileged_no_mfa(d: Data):
    out = []
    for (sid, aid) in sorted(d.accounts):
        j = d.sys_jur(sid)
        if not d.jur[j]["mfa_required_for_privileged"] or not d.privileged_access(sid, aid):
            continue
        if any(e["system_id"] == sid and e["account_id"] == aid and e["action"] == "login"
               and e["outcome"] == "success" and e["mfa"] is not True for e in d.window_events):
            if d.enabled("PRIVILEGED_NO_MFA", j):
                out.append(d.finding("PRIVILEGED_NO_MFA", "high", j, **d.account_keys(sid, aid)))
    return out


def shared_privileged_account(d: Data):
    out = []
    for (sid, aid), acc in sorted(d.accounts.items()):
        if acc["status"] == "active" and acc["account_type"] == "shared" and d.privileged_access(sid, aid):
            j = d.sys_jur(sid)
            if d.enabled("SHARED_PRIVILEGED_ACCOUNT", j):
                out.append(d.finding("SHARED_PRIVILEGED_ACCOUNT", "high", j, **d.account_keys(sid, aid)))
    return out


def log_sequence_gap(d: Data):
    out = []
    by_sys = defaultdict(set)
    for e in d.known_events:
        if e["seq"] is not None:
            by_sys[e["system_id"]].add(e["seq"])
    for sid, seqs in sorted(by_sys.items()):
        ordered = sorted(seqs)
        for a, b in zip(ordered, ordered[1:]):
            if b - a > 1 and d.enabled("LOG_SEQUENCE_GAP", d.sys_jur(sid)):
                out.append(d.finding("LOG_SEQUENCE_GAP", "critical", d.sys_jur(sid), system_id=sid, seq=a + 1))
    return out


def record_hash(e):
    micros = (e["ts"] - datetime(1970, 1, 1, tzinfo=timezone.utc)) // timedelta(microseconds=1)
    payload = (e["prev_hash"] or "") + "\n" + "|".join([
        e["event_id"], e["system_id"], str(e["seq"]), e["account_id"], e["action"], e["outcome"],
        e["target_id"] or "", str(micros)])
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def log_hash_mismatch(d: Data):
    out = []
    by_sys = defaultdict(lambda: defaultdict(list))
    for e in d.known_events:
        if e["seq"] is not None and e["hash"] is not None:
            by_sys[e["system_id"]][e["seq"]].append(e)
    for sid, by_seq in sorted(by_sys.items()):
        j = d.sys_jur(sid)
        bad = set()
        for seq, evs in by_seq.items():
            if len(evs) > 1:
                bad.add(seq)           # replayed / forged duplicate
                continue
            e = evs[0]
            if record_hash(e) != e["hash"].lower():
                bad.add(seq)
            prev = by_seq.get(seq - 1)
            if prev is not None and len(prev) == 1:
                if (e["prev_hash"] or "").lower() != prev[0]["hash"].lower():
                    bad.add(seq)
        if d.enabled("LOG_HASH_MISMATCH", j):
            out.extend(d.finding("LOG_HASH_MISMATCH", "critical", j, system_id=sid, seq=s) for s in sorted(bad))
    return out


def failed_login_burst(d: Data):
    out = []
    fails, succ = defaultdict(list), defaultdict(list)
    for e in d.window_events:
        if e["action"] == "login":
            (succ if e["outcome"] == "success" else fails)[(e["system_id"], e["account_id"])].append(e["ts"])
    for key in sorted(fails):
        sid, aid = key
        j = d.jur[d.sys_jur(sid)]
        n, win = j["failed_login_threshold"], timedelta(minutes=j["failed_login_window_minutes"])
        f = sorted(fails[key])
        burst = set()
        for i in range(len(f) - n + 1):
            if f[i + n - 1] - f[i] < win:
                burst.update(f[i:i + n])
        if not burst:
            continue
        critical = any(timedelta(0) < s - b < win for s in succ.get(key, []) for b in burst)
        if d.enabled("FAILED_LOGIN_BURST", d.sys_jur(sid)):
            out.append(d.finding("FAILED_LOGIN_BURST", "critical" if critical else "high",
                                 d.sys_jur(sid), **d.account_keys(sid, aid)))
    return out


def login_from_unexpected_country(d: Data):
    keys = set()
    for e in d.window_events:
        allowed = d.J(e["system_id"])["allowed_login_countries"]
        if allowed and e["action"] == "login" and e["outcome"] == "success" \
                and e["src_country"] is not None and e["src_country"] not in allowed:
            keys.add((e["system_id"], e["account_id"]))
    return [d.finding("LOGIN_FROM_UNEXPECTED_COUNTRY", "high", d.sys_jur(s), **d.account_keys(s, a))
            for (s, a) in sorted(keys) if d.enabled("LOGIN_FROM_UNEXPECTED_COUNTRY", d.sys_jur(s))]


def impossible_travel(d: Data):
    per_identity = defaultdict(list)
    for e in d.window_events:
        if e["action"] == "login" and e["outcome"] == "success" and e["src_country"] is not None:
            iid = d.identity_of(d.accounts.get((e["system_id"], e["account_id"])))
            if iid is not None:
                per_identity[iid].append(e)
    keys = set()
    for iid, evs in per_identity.items():
        evs.sort(key=lambda e: (e["ts"], e["event_id"]))
        for a, b in zip(evs, evs[1:]):
            jb = d.sys_jur(b["system_id"])
            if a["src_country"] != b["src_country"] and \
                    b["ts"] - a["ts"] < timedelta(hours=d.jur[jb]["travel_hours"]):
                keys.add((iid, jb))
    return [d.finding("IMPOSSIBLE_TRAVEL", "high", j, identity_id=i)
            for (i, j) in sorted(keys) if d.enabled("IMPOSSIBLE_TRAVEL", j)]


def in_business_hours(d: Data, jcode, t_utc):
    j = d.jur[jcode]
    local = t_utc.astimezone(ZoneInfo(j["timezone"]))
    start_s, end_s = j["business_hours"].split("-")
    start = time.fromisoformat(start_s)
    end = time.fromisoformat(end_s)
    return DAY_NAMES[local.weekday()] in j["business_days"] and start <= local.time() < end


def off_hours_privileged_action(d: Data):
    keys = set()
    for e in d.window_events:
        if e["outcome"] != "success":
            continue
        if any(d.ents[(e["system_id"], p)]["privileged"] for p in d.exercises(e)) \
                and not in_business_hours(d, d.sys_jur(e["system_id"]), e["ts"]):
            keys.add((e["system_id"], e["account_id"]))
    return [d.finding("OFF_HOURS_PRIVILEGED_ACTION", "medium", d.sys_jur(s), **d.account_keys(s, a))
            for (s, a) in sorted(keys) if d.enabled("OFF_HOURS_PRIVILEGED_ACTION", d.sys_jur(s))]


def emergency_account_used(d: Data):
    keys = {(e["system_id"], e["account_id"]) for e in d.window_events if e["outcome"] == "success"
            and (e["system_id"], e["account_id"]) in d.accounts
            and d.accounts[(e["system_id"], e["account_id"])]["account_type"] == "emergency"}
    return [d.finding("EMERGENCY_ACCOUNT_USED", "high", d.sys_jur(s), **d.account_keys(s, a))
            for (s, a) in sorted(keys) if d.enabled("EMERGENCY_ACCOUNT_USED", d.sys_jur(s))]


def grade_exceeded(d: Data):
    out = []
    for g in d.effective_grants():
        acc = d.accounts[(g["system_id"], g["account_id"])]
        if not d.not_terminated_identity(acc):
            continue
        jf = d.identities[d.identity_of(acc)]["job_function"]
        if jf not in d.grading:
            continue
        limit = RISK_ORDER[d.grading[jf]]
        checked = {g["entitlement_id"]} | d.closure(g["system_id"], g["entitlement_id"])
        if any(RISK_ORDER[d.ents[(g["system_id"], e)]["risk"] or "medium"] > limit for e in checked):
            j = d.sys_jur(g["system_id"])
            if d.enabled("GRADE_EXCEEDED", j):
                sev = "high" if d.is_privileged(g["system_id"], g["entitlement_id"]) else "medium"
                out.append(d.finding("GRADE_EXCEEDED", sev, j, **d.grant_keys(g)))
    return out


def peer_outlier(d: Data):
    out = []
    held = d.held_permissions()
    groups = defaultdict(list)
    for iid, ident in d.identities.items():
        if d.terminated_at_T(iid) or not opt(ident.get("department")) or not opt(ident.get("job_function")):
            continue
        groups[(ident["department"], ident["job_function"])].append(iid)
    for members in groups.values():
        size = len(members)
        if size < d.peer_min:
            continue
        counts = defaultdict(int)
        for iid in members:
            for perm in held.get(iid, ()):
                counts[perm] += 1
        for iid in members:
            for (sid, pid) in held.get(iid, ()):
                if counts[(sid, pid)] <= d.peer_share * size:
                    j = d.sys_jur(sid)
                    if d.enabled("PEER_OUTLIER", j):
                        out.append(d.finding("PEER_OUTLIER", "low", j, identity_id=iid,
                                             system_id=sid, entitlement_id=pid))
    return out


def log_feed_silent(d: Data):
    out = []
    latest = {}
    for e in d.known_events:
        latest[e["system_id"]] = max(latest.get(e["system_id"], e["ts"]), e["ts"])
    for sid, last in sorted(latest.items()):
        j = d.sys_jur(sid)
        if last < d.T - timedelta(hours=d.jur[j]["max_silence_hours"]) and d.enabled("LOG_FEED_SILENT", j):
            out.append(d.finding("LOG_FEED_SILENT", "high", j, system_id=sid))
    return out



# --------------------------------------------------------------------------- v4 rules
def training_overdue(d: Data):
    path = d.input_dir / "training.csv"
    if not path.exists():
        return []           # not evaluated without the table
    done = defaultdict(list)
    for r in read_csv(path):
        done[r["identity_id"]].append((r["course"], ts(r["completed_at"])))
    holders = {}
    for g in d.effective_grants():
        iid = d.identity_of(d.accounts[(g["system_id"], g["account_id"])])
        if iid is None or d.terminated_at_T(iid):
            continue
        key = (iid, d.sys_jur(g["system_id"]))
        holders[key] = holders.get(key, False) or d.is_privileged(g["system_id"], g["entitlement_id"])
    out = []
    for (iid, j), privileged in sorted(holders.items()):
        courses = d.jur[j]["security_training_courses"]
        times = [t for c, t in done.get(iid, []) if t < d.T and (not courses or c in courses)]
        due = d.T - timedelta(days=d.jur[j]["security_training_interval_days"])
        if (not times or max(times) < due) and d.enabled("TRAINING_OVERDUE", j):
            out.append(d.finding("TRAINING_OVERDUE", "high" if privileged else "medium", j, identity_id=iid))
    return out


def weak_mfa_privileged(d: Data):
    out = []
    for (sid, aid) in sorted(d.accounts):
        j = d.sys_jur(sid)
        allowed = d.jur[j]["allowed_mfa_methods_for_privileged"]
        if not allowed or not d.privileged_access(sid, aid):
            continue
        if any(e["system_id"] == sid and e["account_id"] == aid and e["action"] == "login"
               and e["outcome"] == "success" and e["mfa"] is True and opt(e.get("mfa_method")) is not None
               and e["mfa_method"] not in allowed for e in d.window_events):
            if d.enabled("WEAK_MFA_PRIVILEGED", j):
                out.append(d.finding("WEAK_MFA_PRIVILEGED", "high", j, **d.account_keys(sid, aid)))
    return out


def log_feed_gap(d: Data):
    out = []
    feeds = defaultdict(list)
    for e in d.known_events:
        feeds[e["system_id"]].append((e["ts"], e["event_id"]))
    for sid, feed in sorted(feeds.items()):
        j = d.sys_jur(sid)
        feed.sort()
        since = d.T - timedelta(days=d.jur[j]["log_review_days"])
        for (a, _), (b, _) in zip(feed, feed[1:]):
            if a >= since and b - a > timedelta(hours=d.jur[j]["max_silence_hours"]) \
                    and d.enabled("LOG_FEED_GAP", j):
                out.append(d.finding("LOG_FEED_GAP", "high", j, system_id=sid,
                                     target_id=a.strftime("%Y-%m-%dT%H:%M:%S.%fZ")))
    return out

RULES = [sod_conflict, sod_transaction, stale_grant, dormant_account, terminated_access,
         post_termination_activity, orphan_account, unmanaged_account_activity, expired_grant,
         self_approved_grant, unapproved_privileged_grant, privileged_no_mfa,
         shared_privileged_account, log_sequence_gap, log_hash_mismatch, failed_login_burst,
         login_from_unexpected_country, impossible_travel, off_hours_privileged_action,
         emergency_account_used, grade_exceeded, peer_outlier, log_feed_silent,
         training_overdue, weak_mfa_privileged, log_feed_gap]


WAIVER_SCOPE = ["identity_id", "system_id", "account_id", "grant_id", "entitlement_id", "sod_rule_id",
                "target_id"]


def apply_waivers(d: Data, rows):
    """CONTRACT section 8: an open finding covered by a valid waiver is waived.  A waiver covers
    a finding of its rule when every scope column it sets equals the finding's; it is valid
    when approved_at < T <= expires_at, its approver is not the finding's identity, and its
    approver is active at T (status active, or terminated at or after T; leave is not)."""
    def approver_active(iid):
        i = d.identities.get(iid)
        if i is None:
            return False
        return i["status"] == "active" or (i["status"] == "terminated" and i["terminated_at"] >= d.T)

    for r in rows:
        if r["status"] != "open":
            continue            # an SoD exception's mitigation takes precedence
        for w in d.waivers:
            covers = w["rule"] == r["rule"] and all(
                w.get(c, "") == "" or w[c] == r[c] for c in WAIVER_SCOPE)
            if (covers and w["approved_at"] < d.T <= w["expires_at"]
                    and w["approved_by"] != r["identity_id"] and approver_active(w["approved_by"])):
                r["status"] = "waived"
                break
    return rows


def sort_key(row):
    return tuple(int(row[c]) if c == "seq" and row[c] != "" else row[c]
                 for c in ["rule", "jurisdiction", "identity_id", "system_id", "account_id", "grant_id",
                           "entitlement_id", "sod_rule_id", "target_id", "seq"])


def evaluate(input_dir=HERE / "input", policy_dir=HERE / "policy", as_of=date(2026, 11, 24), lookback=30):
    d = Data(input_dir, policy_dir, as_of, lookback)
    rows = apply_waivers(d, [r for rule in RULES for r in rule(d)])
    keys = [tuple(r[c] for c in COLUMNS if c not in ("severity", "status")) for r in rows]
    assert len(keys) == len(set(keys)), "duplicate finding keys"
    return sorted(rows, key=sort_key)


def write_csv(rows, out):
    w = csv.DictWriter(out, fieldnames=COLUMNS, lineterminator="\n")
    w.writeheader()
    w.writerows(rows)


if __name__ == "__main__":
    args = sys.argv[1:]
    lookback = 30
    if "--lookback" in args:
        i = args.index("--lookback")
        lookback = int(args[i + 1])
        del args[i:i + 2]
    as_of = date.fromisoformat(args[0]) if args else date(2026, 11, 24)
    write_csv(evaluate(as_of=as_of, lookback=lookback), sys.stdout)
