"""A DuckDB baseline of three permaudit rules (issue 18), on the Parquet inputs that
`permaudit generate` writes: SOD_CONFLICT, STALE_GRANT and OFF_HOURS_PRIVILEGED_ACTION,
following CONTRACT.md section 5 and the policy files.

    python rules.py --config DATA/permaudit.toml --keys OUTDIR

Each rule is one SQL query straight from the Parquet files (its own scan included in its
time, as an independent pipeline would do it), timed on its own; the keys of its findings
go to OUTDIR/<RULE>.csv and one line per rule to stdout (rule, seconds, findings).

Scope: a benchmark baseline, not a second product. It assumes contract-clean input (no row
that permaudit would quarantine: bench/duckdb.sh checks `quarantined=0` in permaudit's run
line), Parquet tables and an `audit_events/` directory of Parquet files, as generated.
"""

import argparse
import csv
import datetime as dt
import pathlib
import sys
import time
import tomllib

import duckdb

DAYS = {"mon": 1, "tue": 2, "wed": 3, "thu": 4, "fri": 5, "sat": 6, "sun": 7}


def load_config(path):
    cfg = tomllib.loads(path.read_text())
    base = path.parent
    return {
        "input": base / cfg["input_dir"],
        "policy": base / cfg["policy_dir"],
        "as_of": dt.date.fromisoformat(cfg["as_of"]),
        "lookback": int(cfg.get("activity_lookback_days", 30)),
    }


def jurisdictions(policy):
    """One row per jurisdiction with the thresholds the three rules read (contract defaults)."""
    rows = []
    for j in tomllib.loads((policy / "jurisdictions.toml").read_text())["jurisdiction"]:
        start, end = j.get("business_hours", "08:00-20:00").split("-")
        days = [DAYS[d] for d in j.get("business_days", ["mon", "tue", "wed", "thu", "fri"])]
        rows.append(
            (
                j["code"],
                j.get("timezone", "UTC"),
                int(j.get("stale_grant_days", 90)),
                start + ":00",
                end + ":00",
                days,
                list(j.get("disabled_rules", [])),
            )
        )
    return rows


def sod_functions(policy):
    """(rule_id, scope, functions in the rule, function index, system pattern, name) of the
    static rules."""
    rows = []
    for r in tomllib.loads((policy / "sod_rules.toml").read_text()).get("rule", []):
        if r.get("kind") != "static":
            continue
        funcs = r["function"]
        for f, func in enumerate(funcs):
            for pat in func.get("permissions", []):
                sys_pat, _, name = pat.partition(":")
                rows.append((r["id"], r.get("scope", "global"), len(funcs), f, sys_pat, name))
    return rows


def setup(con, cfg):
    inp = cfg["input"]
    con.execute("SET TimeZone = 'UTC'")
    for t in ["systems", "identities", "accounts", "entitlements", "role_permissions",
              "grants", "action_permissions"]:
        con.execute(f"CREATE VIEW {t} AS SELECT * FROM read_parquet('{inp / (t + '.parquet')}')")
    con.execute(
        "CREATE VIEW audit_events AS SELECT * FROM read_parquet("
        f"'{inp / 'audit_events'}/**/*.parquet', hive_partitioning = false)"
    )
    con.execute(
        "CREATE TABLE jur (code VARCHAR, tz VARCHAR, stale_days INTEGER, bh_start TIME,"
        " bh_end TIME, bdays INTEGER[], disabled VARCHAR[])"
    )
    con.executemany("INSERT INTO jur VALUES (?, ?, ?, ?, ?, ?, ?)", jurisdictions(cfg["policy"]))
    con.execute(
        "CREATE TABLE sodfn (rule_id VARCHAR, scope VARCHAR, nfuncs INTEGER, func INTEGER,"
        " sys VARCHAR, name VARCHAR)"
    )
    rows = sod_functions(cfg["policy"])
    if rows:
        con.executemany("INSERT INTO sodfn VALUES (?, ?, ?, ?, ?, ?)", rows)


# Shared pieces of the queries. {T} is the evaluation instant, {L} the activity lookback.
REACH = """
reach(system_id, ent, member) AS (
    SELECT system_id, entitlement_id, entitlement_id FROM entitlements
    UNION
    SELECT r.system_id, r.ent, rp.member_id
    FROM reach r JOIN role_permissions rp ON rp.system_id = r.system_id AND rp.role_id = r.member
),
closure AS (
    SELECT r.system_id, r.ent, r.member AS perm
    FROM reach r JOIN entitlements e ON e.system_id = r.system_id AND e.entitlement_id = r.member
    WHERE e.kind = 'permission'
),
effective AS (
    SELECT g.grant_id, g.system_id, g.account_id, g.entitlement_id, g.granted_at, a.identity_id
    FROM grants g JOIN accounts a ON a.system_id = g.system_id AND a.account_id = g.account_id
    WHERE g.granted_at < {T} AND (g.revoked_at IS NULL OR g.revoked_at >= {T})
      AND a.status = 'active'
)"""

SOD_CONFLICT = """
WITH RECURSIVE """ + REACH + """,
held AS (
    SELECT DISTINCT e.identity_id, e.system_id, c.perm, s.jurisdiction
    FROM effective e
    JOIN identities i ON i.identity_id = e.identity_id
    JOIN closure c ON c.system_id = e.system_id AND c.ent = e.entitlement_id
    JOIN systems s ON s.system_id = e.system_id
),
matched AS (
    SELECT DISTINCT f.rule_id, f.scope, f.nfuncs, f.func, h.identity_id, h.jurisdiction
    FROM held h JOIN sodfn f ON (f.sys = '*' OR f.sys = h.system_id) AND f.name = h.perm
),
whole AS (
    -- global: every function matched anywhere; one finding per jurisdiction matched
    SELECT rule_id, identity_id FROM matched WHERE scope = 'global'
    GROUP BY rule_id, identity_id HAVING count(DISTINCT func) = any_value(nfuncs)
),
found AS (
    SELECT DISTINCT m.rule_id, m.identity_id, m.jurisdiction
    FROM matched m JOIN whole w ON w.rule_id = m.rule_id AND w.identity_id = m.identity_id
    WHERE m.scope = 'global'
    UNION
    -- jurisdiction: every function matched by that jurisdiction's systems alone
    SELECT rule_id, identity_id, jurisdiction FROM matched WHERE scope = 'jurisdiction'
    GROUP BY rule_id, identity_id, jurisdiction HAVING count(DISTINCT func) = any_value(nfuncs)
)
SELECT f.rule_id, f.identity_id, f.jurisdiction
FROM found f JOIN jur j ON j.code = f.jurisdiction
WHERE NOT list_contains(j.disabled, 'SOD_CONFLICT')
"""

STALE_GRANT = """
WITH RECURSIVE """ + REACH + """,
candidates AS (
    SELECT e.grant_id, e.system_id, e.account_id, e.entitlement_id,
           greatest(e.granted_at, {T} - j.stale_days * INTERVAL 1 DAY) AS since,
           s.jurisdiction
    FROM effective e
    JOIN identities i ON i.identity_id = e.identity_id
    JOIN systems s ON s.system_id = e.system_id
    JOIN jur j ON j.code = s.jurisdiction
    WHERE NOT (i.status = 'terminated' AND i.terminated_at < {T})
      AND e.granted_at < {T} - j.stale_days * INTERVAL 1 DAY
      AND NOT list_contains(j.disabled, 'STALE_GRANT')
),
last_use AS (
    -- the latest successful use of each (system, account, permission) in the longest window
    SELECT u.system_id, u.account_id, ap.permission_id AS perm, max(u.ts) AS ts
    FROM (
        SELECT system_id, account_id, action, max(ts) AS ts FROM audit_events
        WHERE outcome = 'success' AND ts < {T}
          AND ts >= {T} - (SELECT max(stale_days) FROM jur) * INTERVAL 1 DAY
        GROUP BY ALL
    ) u
    JOIN action_permissions ap ON ap.system_id = u.system_id AND ap.action = u.action
    GROUP BY ALL
),
used AS (
    SELECT DISTINCT c.grant_id
    FROM candidates c
    JOIN closure cl ON cl.system_id = c.system_id AND cl.ent = c.entitlement_id
    JOIN last_use u ON u.system_id = c.system_id AND u.account_id = c.account_id
                   AND u.perm = cl.perm
    WHERE u.ts >= c.since
)
SELECT c.grant_id, c.jurisdiction FROM candidates c ANTI JOIN used u ON u.grant_id = c.grant_id
"""

OFF_HOURS_PRIVILEGED_ACTION = """
WITH RECURSIVE reach(system_id, ent, member) AS (
    SELECT system_id, entitlement_id, entitlement_id FROM entitlements
    UNION
    SELECT r.system_id, r.ent, rp.member_id
    FROM reach r JOIN role_permissions rp ON rp.system_id = r.system_id AND rp.role_id = r.member
),
privileged AS (
    SELECT DISTINCT r.system_id, r.ent
    FROM reach r JOIN entitlements e ON e.system_id = r.system_id AND e.entitlement_id = r.member
    WHERE e.privileged
),
privileged_actions AS (
    SELECT DISTINCT ap.system_id, ap.action
    FROM action_permissions ap
    JOIN entitlements e ON e.system_id = ap.system_id AND e.entitlement_id = ap.permission_id
    JOIN privileged p ON p.system_id = ap.system_id AND p.ent = ap.permission_id
    WHERE e.kind = 'permission'
),
local AS (
    SELECT ev.system_id, ev.account_id, s.jurisdiction, j.bh_start, j.bh_end, j.bdays,
           timezone(j.tz, ev.ts) AS lt
    FROM audit_events ev
    JOIN privileged_actions pa ON pa.system_id = ev.system_id AND pa.action = ev.action
    JOIN systems s ON s.system_id = ev.system_id
    JOIN jur j ON j.code = s.jurisdiction
    WHERE ev.outcome = 'success' AND ev.ts >= {T} - {L} * INTERVAL 1 DAY AND ev.ts < {T}
      AND NOT list_contains(j.disabled, 'OFF_HOURS_PRIVILEGED_ACTION')
)
SELECT DISTINCT system_id, account_id, jurisdiction FROM local
WHERE NOT list_contains(bdays, isodow(lt))
   OR NOT CASE WHEN bh_start <= bh_end THEN lt::TIME >= bh_start AND lt::TIME < bh_end
               ELSE lt::TIME >= bh_start OR lt::TIME < bh_end END
"""

RULES = {
    "SOD_CONFLICT": (SOD_CONFLICT, ["sod_rule_id", "identity_id", "jurisdiction"]),
    "STALE_GRANT": (STALE_GRANT, ["grant_id", "jurisdiction"]),
    "OFF_HOURS_PRIVILEGED_ACTION": (
        OFF_HOURS_PRIVILEGED_ACTION, ["system_id", "account_id", "jurisdiction"]),
}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--config", type=pathlib.Path, required=True)
    ap.add_argument("--keys", type=pathlib.Path, required=True, help="directory for the keys")
    ap.add_argument("--rules", nargs="*", default=list(RULES))
    args = ap.parse_args()
    cfg = load_config(args.config)
    t = dt.datetime.combine(cfg["as_of"] + dt.timedelta(days=1), dt.time())
    params = {"T": f"TIMESTAMPTZ '{t.isoformat()}+00:00'", "L": cfg["lookback"]}
    args.keys.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect()
    setup(con, cfg)
    total = 0.0
    for rule in args.rules:
        sql, columns = RULES[rule]
        started = time.perf_counter()
        rows = con.execute(sql.format(**params)).fetchall()
        took = time.perf_counter() - started
        total += took
        with open(args.keys / f"{rule}.csv", "w", newline="") as f:
            w = csv.writer(f)
            w.writerow(columns)
            w.writerows(sorted(rows))
        print(f"duckdb\t{rule}\t{took:.3f}\t{len(rows)}", flush=True)
    print(f"duckdb\tTOTAL\t{total:.3f}\t", flush=True)


if __name__ == "__main__":
    sys.exit(main())
