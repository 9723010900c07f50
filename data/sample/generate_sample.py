#!/usr/bin/env python3
"""Deterministic generator of the permaudit sample data set (stdlib only).

Run from the repository root:   python3 data/sample/generate_sample.py

Writes data/sample/input/*.csv, data/sample/policy/*.toml, data/sample/README.md and
data/sample/expected_findings.csv.  The expected findings are computed by the independent
reference implementation in reference_rules.py (reading back the files written here) and
checked against the hand-written list of planted cases below: the script fails if the two
disagree, so the background data provably produces no finding except the planted ones.
"""
from __future__ import annotations

import csv
import hashlib
import io
import random
import sys
from datetime import date, datetime, time, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.dont_write_bytecode = True   # keep data/sample free of __pycache__
import reference_rules  # noqa: E402

SEED = 20261124
rng = random.Random(SEED)
UTC = timezone.utc
AS_OF = date(2026, 11, 24)
T = datetime(2026, 11, 25, tzinfo=UTC)            # evaluation instant
START = T - timedelta(days=120)                   # first day of the event history
LAST_LOCAL_DAY = AS_OF                            # background sessions end on as_of (local)
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def U(s):
    """Parse an RFC 3339 literal into an aware UTC datetime."""
    return datetime.fromisoformat(s).astimezone(UTC)


# ----------------------------------------------------------------------------- policy
JURISDICTIONS = {
    "HK": dict(name="Hong Kong", regulator="Hong Kong Monetary Authority (HKMA)", timezone="Asia/Hong_Kong"),
    "SG": dict(name="Singapore", regulator="Monetary Authority of Singapore (MAS)", timezone="Asia/Singapore"),
    "EU": dict(name="European Union (Germany)", regulator="BaFin (DORA competent authority)", timezone="Europe/Berlin"),
    "UK": dict(name="United Kingdom", regulator="Financial Conduct Authority (FCA)", timezone="Europe/London"),
    "US": dict(name="United States (New York)", regulator="New York State Department of Financial Services (NYDFS)",
               timezone="America/New_York"),
    "CN": dict(name="Mainland China", regulator="People's Bank of China (PBOC)", timezone="Asia/Shanghai"),
}
JUR_OVERRIDES = {
    "SG": dict(disabled_rules=["OFF_HOURS_PRIVILEGED_ACTION"], allowed_login_countries=["SG", "HK", "MY"]),
    "US": dict(travel_hours=3),
}
TZ = {j: ZoneInfo(v["timezone"]) for j, v in JURISDICTIONS.items()}

# --- v4 policy (contract v4 rules) -----------------------------------------------------------------
# HK accepts only phishing-resistant or app-based factors for privileged sign-ins; the US also
# accepts a voice call (a weak method allowed on purpose); the others keep the default [] (every
# method allowed). EU counts only its own awareness course as security training.
V4_OVERRIDES = {
    "HK": dict(allowed_mfa_methods_for_privileged=["fido2", "platform", "push", "smartcard", "totp"]),
    "US": dict(allowed_mfa_methods_for_privileged=["fido2", "push", "totp", "voice"]),
    "EU": dict(security_training_courses=["SEC-AWARE", "DORA-ICT-RISK"]),
}
for _code, _over in V4_OVERRIDES.items():
    JUR_OVERRIDES.setdefault(_code, {}).update(_over)
V4_KEYS = ["security_training_interval_days", "security_training_courses", "allowed_mfa_methods_for_privileged",
           "log_review_days"]
PCI_TRAIN = "PCI DSS v4.0.1 req. 12.6.1-12.6.3 (security awareness programme, training on hire and at least annually)"
V4_REFS = {"TRAINING_OVERDUE": lambda j: [PCI_TRAIN],
           "WEAK_MFA_PRIVILEGED": lambda j: [PCI_MFA] + ([SG_MFA] if j == "SG" else []),
           "LOG_FEED_GAP": lambda j: [PCI_LOG] + {"HK": [HK_MON], "UK": [UK_REC], "US": [US_SOX],
                                                 "CN": [CN_AUD, CN_LOG]}.get(j, [])}
# --- end v4 policy ---------------------------------------------------------------------------------

PCI_REVIEW = "PCI DSS v4.0.1 req. 7.2.4 (review of user accounts and access privileges at least once every six months)"
PCI_LP = "PCI DSS v4.0.1 req. 7.2.1, 7.2.2 (least privilege)"
PCI_DORMANT = "PCI DSS v4.0.1 req. 8.2.6 (inactive accounts removed or disabled within 90 days)"
PCI_TERM = "PCI DSS v4.0.1 req. 8.2.5 (access of terminated users revoked immediately)"
PCI_SHARED = "PCI DSS v4.0.1 req. 8.2.2 (shared/generic accounts only by exception)"
PCI_MFA = "PCI DSS v4.0.1 req. 8.4.1 (MFA for non-console administrative access into the CDE)"
PCI_LOG = "PCI DSS v4.0.1 req. 10.5.1 (audit log history retained at least 12 months)"

HK_AC = "HKMA SPM TM-G-1 3.2 (authentication and access control)"
HK_MON = "HKMA SPM TM-G-1 3.3 (security administration and monitoring)"
SG_AC = "MAS Technology Risk Management Guidelines (Jan 2021) ch. 9 Access Control"
SG_MFA = "MAS Cyber Hygiene Notices (MFA for administrative accounts on critical systems)"
EU_ID = "Commission Delegated Regulation (EU) 2024/1774 art. 20 (identity management)"
EU_AC = "Commission Delegated Regulation (EU) 2024/1774 art. 21 (access control)"
EU_SOD = "Commission Delegated Regulation (EU) 2024/1774 art. 21(b) (prevent combinations of access rights that circumvent controls)"
EU_SHARED = "Commission Delegated Regulation (EU) 2024/1774 art. 21(c) (generic and shared accounts limited)"
EU_TERM = "Commission Delegated Regulation (EU) 2024/1774 art. 21(e)(iii) (access withdrawn without undue delay on termination)"
UK_GOV = "FCA SYSC 4.1.1 (robust governance arrangements and internal control)"
UK_PSR = "Payment Services Regulations 2017 reg. 98 (management of operational and security risks)"
UK_REC = "FCA SYSC 9 (record keeping)"
UK_MLR = "Money Laundering Regulations 2017 reg. 40 (records kept for five years)"
US_SOX = "SOX section 404 IT general controls (PCAOB AS 2201)"
US_ACC = "NYDFS 23 NYCRR 500.7 (access privileges)"
CN_AC = "GB/T 22239-2019 (MLPS 2.0) level 3, 8.1.4.2 (access control)"
CN_AUD = "GB/T 22239-2019 (MLPS 2.0) level 3, 8.1.4.3 (security audit)"
CN_LOG = "Cybersecurity Law of the PRC art. 21 (network logs kept at least six months)"


def refs_for(j):
    ac = {"HK": HK_AC, "SG": SG_AC, "EU": EU_AC, "UK": UK_GOV, "US": US_ACC, "CN": CN_AC}[j]
    mon = {"HK": HK_MON, "SG": SG_AC, "EU": EU_AC, "UK": UK_PSR, "US": US_ACC, "CN": CN_AUD}[j]
    sod = {"HK": PCI_LP, "SG": SG_AC, "EU": EU_SOD, "UK": UK_GOV, "US": US_SOX, "CN": CN_AC}[j]
    ident = {"HK": HK_AC, "SG": SG_AC, "EU": EU_ID, "UK": UK_GOV, "US": US_ACC, "CN": CN_AC}[j]
    term = [PCI_TERM] + ([EU_TERM] if j == "EU" else [ac])
    shared = [PCI_SHARED] + ({"EU": [EU_SHARED], "CN": [CN_AC]}.get(j, []))
    mfa = [PCI_MFA] + ([SG_MFA] if j == "SG" else [])
    logs = [PCI_LOG] + {"HK": [HK_MON], "SG": [], "EU": [], "UK": [UK_REC, UK_MLR], "US": [US_SOX],
                        "CN": [CN_AUD, CN_LOG]}[j]
    grants = [PCI_REVIEW, ac] + ([US_SOX] if j == "US" else [])
    return {
        "SOD_CONFLICT": [sod], "SOD_TRANSACTION": [sod],
        "STALE_GRANT": [PCI_REVIEW, PCI_LP], "DORMANT_ACCOUNT": [PCI_DORMANT],
        "TERMINATED_ACCESS": term, "POST_TERMINATION_ACTIVITY": term,
        "ORPHAN_ACCOUNT": [ident], "UNMANAGED_ACCOUNT_ACTIVITY": [ident],
        "EXPIRED_GRANT": grants, "SELF_APPROVED_GRANT": grants, "UNAPPROVED_PRIVILEGED_GRANT": grants,
        "PRIVILEGED_NO_MFA": mfa, "SHARED_PRIVILEGED_ACCOUNT": shared,
        "LOG_SEQUENCE_GAP": logs, "LOG_HASH_MISMATCH": logs, "LOG_FEED_SILENT": logs,
        "FAILED_LOGIN_BURST": [mon], "LOGIN_FROM_UNEXPECTED_COUNTRY": [mon], "IMPOSSIBLE_TRAVEL": [mon],
        "OFF_HOURS_PRIVILEGED_ACTION": [mon], "EMERGENCY_ACCOUNT_USED": [mon, PCI_SHARED],
        "GRADE_EXCEEDED": [PCI_LP], "PEER_OUTLIER": [PCI_LP],
    }


def toml_str(s):
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


def toml_list(xs):
    return "[" + ", ".join(toml_str(x) if isinstance(x, str) else str(x) for x in xs) + "]"


def write_jurisdictions(path):
    out = ["# Sample jurisdiction policies for permaudit (contract section 4).",
           "# Citations come from shared/spec/regulations.md; clauses marked (verify) there are not cited.", ""]
    for code, meta in JURISDICTIONS.items():
        p = dict(reference_rules.JUR_DEFAULTS)
        p.update(JUR_OVERRIDES.get(code, {}))
        out += ["[[jurisdiction]]", f"code = {toml_str(code)}", f"name = {toml_str(meta['name'])}",
                f"regulator = {toml_str(meta['regulator'])}", f"timezone = {toml_str(meta['timezone'])}"]
        for k in ["stale_grant_days", "dormant_account_days", "termination_grace_hours", "review_interval_days",
                  "privileged_review_interval_days"]:
            out.append(f"{k} = {p[k]}")
        out.append(f"mfa_required_for_privileged = {'true' if p['mfa_required_for_privileged'] else 'false'}")
        out.append(f"disabled_rules = {toml_list(p['disabled_rules'])}")
        out.append(f"allowed_login_countries = {toml_list(p['allowed_login_countries'])}")
        out.append(f"business_hours = {toml_str(p['business_hours'])}")
        out.append(f"business_days = {toml_list(p['business_days'])}")
        for k in ["failed_login_threshold", "failed_login_window_minutes", "travel_hours", "max_silence_hours"]:
            out.append(f"{k} = {p[k]}")
        for k in V4_KEYS:  # v4 policy
            out.append(f"{k} = {toml_list(p[k]) if isinstance(p[k], list) else p[k]}")
        out.append("[jurisdiction.references]")
        for rule, cites in refs_for(code).items():
            out.append(f"{rule} = {toml_list(cites)}")
        for rule, cites in V4_REFS.items():  # v4 policy
            out.append(f"{rule} = {toml_list(cites(code))}")
        out.append("")
    path.write_text("\n".join(out), encoding="utf-8")


SOD_RULES_TOML = '''# Segregation-of-duties rules for a cross-border payment platform (contract section 4).

[[rule]]
id = "SOD-001"
name = "Beneficiary maintenance vs payout release"
kind = "static"
risk = "critical"
scope = "global"
description = "Whoever can create or edit beneficiaries must not be able to release payouts: together they allow paying an account one controls."
[[rule.function]]
name = "Maintain beneficiaries"
permissions = ["*:beneficiary.create", "*:beneficiary.edit"]
[[rule.function]]
name = "Release payouts"
permissions = ["*:payout.release"]

[[rule]]
id = "SOD-002"
name = "Limit changes vs settlement"
kind = "static"
risk = "high"
scope = "jurisdiction"
description = "Within one licensed entity, raising payout limits and running settlement must be held by different people."
[[rule.function]]
name = "Change limits"
permissions = ["*:limit.change"]
[[rule.function]]
name = "Run settlement"
permissions = ["*:settlement.run"]

[[rule]]
id = "SOD-003"
name = "User administration vs business roles"
kind = "static"
risk = "high"
scope = "global"
description = "IAM administrators must not hold business permissions they could grant themselves."
[[rule.function]]
name = "Administer users and roles"
permissions = ["iam-global:user.admin", "iam-global:role.assign"]
[[rule.function]]
name = "Business operations"
permissions = ["*:payout.create", "*:payout.release", "*:settlement.run", "*:limit.change", "*:fx.execute", "*:liquidity.transfer"]

[[rule]]
id = "SOD-004"
name = "Payout maker vs checker"
kind = "transaction"
risk = "critical"
scope = "global"
description = "The person who created a payout must not release the same payout (four-eyes principle)."
[[rule.function]]
name = "Create payout (maker)"
actions = ["*:payout.create"]
[[rule.function]]
name = "Release payout (checker)"
actions = ["*:payout.release"]
'''

GRADES = [("payments_operator", "high"), ("support_agent", "medium"), ("support_lead", "medium"),
          ("engineer", "medium"), ("risk_analyst", "medium"), ("treasury_analyst", "high"),
          ("finance_analyst", "medium"), ("internal_auditor", "low")]


def write_grading(path):
    out = ["# Permission grading by job function and peer-group settings (contract section 4).", ""]
    for name, risk in GRADES:
        out += ["[[job_function]]", f"name = {toml_str(name)}", f"max_risk = {toml_str(risk)}", ""]
    out += ["[peer_groups]", "min_size = 10", "max_share = 0.10", ""]
    path.write_text("\n".join(out), encoding="utf-8")


# ----------------------------------------------------------------------------- systems
SYSTEMS = [  # system_id, name, jurisdiction, legal entity, sequenced log
    ("pay-hk", "HK payout console", "HK", "PayFront Hong Kong Ltd", True),
    ("bene-hk", "HK beneficiary management", "HK", "PayFront Hong Kong Ltd", False),
    ("iam-global", "Group IAM administration", "HK", "PayFront Holdings Ltd", True),
    ("pay-sg", "SG payout console", "SG", "PayFront Singapore Pte Ltd", False),
    ("settle-sg", "SG settlement engine", "SG", "PayFront Singapore Pte Ltd", True),
    ("bene-sg", "SG beneficiary management", "SG", "PayFront Singapore Pte Ltd", False),
    ("treasury-eu", "EU treasury and FX desk", "EU", "PayFront Europe GmbH", False),
    ("pay-eu", "EU SEPA payout console", "EU", "PayFront Europe GmbH", False),
    ("merchant-uk", "UK merchant administration", "UK", "PayFront UK Ltd", False),
    ("ledger-uk", "UK general ledger", "UK", "PayFront UK Ltd", False),
    ("risk-us", "US fraud and risk engine", "US", "PayFront Inc.", False),
    ("pay-us", "US payout console", "US", "PayFront Inc.", False),
    ("reports-us", "US regulatory reporting", "US", "PayFront Inc.", False),
]
SYS_JUR = {s[0]: s[2] for s in SYSTEMS}
SEQUENCED = [s[0] for s in SYSTEMS if s[4]]
FEED_CUTOFF = {"ledger-uk": U("2026-11-21T06:00:00Z"),      # feed broke: LOG_FEED_SILENT
               "reports-us": U("2026-11-23T00:00:00Z")}     # last event exactly T - 48 h: near-miss

# (entitlement_id, kind, name, risk, privileged)
P = "permission"
R = "role"
PAYOUT_PERMS = [("payout.view", P, "View payouts", "low", False),
                ("payout.create", P, "Create payout (maker)", "medium", False),
                ("payout.release", P, "Release payout (checker)", "high", True)]
ENTITLEMENTS = {
    "pay-hk": PAYOUT_PERMS + [
        ("payout.cancel", P, "Cancel payout", "medium", False),
        ("limit.change", P, "Change payout limits", "critical", True),
        ("report.export", P, "Export payout reports", None, False),
        ("role.payout_maker", R, "Payout maker", "medium", False),
        ("role.payout_checker", R, "Payout checker", "high", False),
        ("role.payout_supervisor", R, "Payout supervisor", "high", False),
        ("role.ops_lead", R, "Payments ops lead", "high", False)],
    "bene-hk": [("beneficiary.view", P, "View beneficiaries", "low", False),
                ("beneficiary.create", P, "Create beneficiary", "high", False),
                ("beneficiary.edit", P, "Edit beneficiary bank details", "high", False),
                ("role.bene_maintainer", R, "Beneficiary maintainer", "high", False),
                ("role.support_desk", R, "Support desk (beneficiary lookups)", "low", False),
                ("role.bene_lookup", R, "Beneficiary lookup (legacy rating)", "critical", False)],
    "iam-global": [("access.request", P, "Request access", "low", False),
                   ("access.approve", P, "Approve access requests", "medium", False),
                   ("user.view", P, "View users", "low", False),
                   ("audit.view", P, "View IAM audit trail", "low", False),
                   ("user.admin", P, "Administer users", "critical", True),
                   ("role.assign", P, "Assign roles", "critical", True),
                   ("role.requester", R, "Self-service requester", "low", False),
                   ("role.approver", R, "Access approver", "medium", False),
                   ("role.iam_admin", R, "IAM administrator", "critical", False),
                   ("role.iam_auditor", R, "IAM auditor", "low", False)],
    "pay-sg": PAYOUT_PERMS + [
        ("limit.change", P, "Change payout limits", "critical", True),
        ("role.payout_maker", R, "Payout maker", "medium", False),
        ("role.payout_checker", R, "Payout checker", "high", False),
        ("role.ops_lead", R, "Payments ops lead", "high", False)],
    "settle-sg": [("settlement.view", P, "View settlement batches", "low", False),
                  ("settlement.reconcile", P, "Reconcile settlement", "medium", False),
                  ("settlement.run", P, "Run settlement", "high", True),
                  ("role.settlement_officer", R, "Settlement officer", "high", False)],
    "bene-sg": [("beneficiary.view", P, "View beneficiaries", "low", False),
                ("beneficiary.create", P, "Create beneficiary", "high", False),
                ("beneficiary.edit", P, "Edit beneficiary bank details", "high", False),
                ("role.bene_maintainer", R, "Beneficiary maintainer", "high", False),
                ("role.bene_viewer", R, "Beneficiary viewer", "low", False)],
    "treasury-eu": [("fx.view", P, "View FX positions", "low", False),
                    ("fx.execute", P, "Execute FX trades", "high", True),
                    ("liquidity.transfer", P, "Transfer liquidity between nostros", "critical", True),
                    ("treasury.report", P, "Treasury reports", "low", False),
                    ("role.treasury_desk", R, "Treasury desk", "high", False),
                    ("role.treasury_backoffice", R, "Treasury back office", "medium", False)],
    "pay-eu": PAYOUT_PERMS + [
        ("role.payout_maker", R, "Payout maker", "medium", False),
        ("role.payout_checker", R, "Payout checker", "high", False)],
    "merchant-uk": [("merchant.view", P, "View merchants", "low", False),
                    ("merchant.edit", P, "Edit merchant profile", "medium", False),
                    ("merchant.onboard", P, "Onboard merchant", "medium", False),
                    ("merchant.suspend", P, "Suspend merchant", "medium", False),
                    ("merchant.payout_override", P, "Override merchant payout hold", "high", False),
                    ("user.admin", P, "Administer merchant portal users", "high", True),
                    ("role.merchant_support", R, "Merchant support", "medium", False)],
    "ledger-uk": [("ledger.view", P, "View ledger", "low", False),
                  ("journal.post", P, "Post journal entries", "medium", False),
                  ("journal.approve", P, "Approve journal entries", "high", True),
                  ("role.ledger_clerk", R, "Ledger clerk", "medium", False)],
    "risk-us": [("rules.view", P, "View risk rules", "low", False),
                ("rules.edit", P, "Edit risk rules", "medium", False),
                ("rules.deploy", P, "Deploy risk rules to production", "high", True),
                ("case.review", P, "Review fraud cases", "medium", False),
                ("role.risk_analyst", R, "Risk analyst", "medium", False),
                ("role.risk_dev", R, "Risk rule developer", "medium", False),
                ("role.risk_engineer", R, "Risk engineer", "high", False)],
    "pay-us": PAYOUT_PERMS + [
        ("role.payout_maker", R, "Payout maker", "medium", False),
        ("role.payout_checker", R, "Payout checker", "high", False)],
    "reports-us": [("report.view", P, "View regulatory reports", "low", False),
                   ("report.submit", P, "Submit regulatory report", "high", True),
                   ("role.reporter", R, "Regulatory reporter", "high", False)],
}
ROLE_EDGES = {
    "pay-hk": [("role.payout_maker", "payout.view"), ("role.payout_maker", "payout.create"),
               ("role.payout_maker", "payout.cancel"),
               ("role.payout_checker", "payout.view"), ("role.payout_checker", "payout.release"),
               ("role.payout_supervisor", "role.payout_checker"), ("role.payout_supervisor", "role.payout_maker"),
               ("role.payout_supervisor", "report.export"),
               ("role.ops_lead", "role.payout_supervisor"), ("role.ops_lead", "limit.change")],
    "bene-hk": [("role.bene_maintainer", "beneficiary.view"), ("role.bene_maintainer", "beneficiary.create"),
                ("role.bene_maintainer", "beneficiary.edit"),
                ("role.support_desk", "role.bene_lookup"), ("role.bene_lookup", "beneficiary.view")],
    "iam-global": [("role.requester", "access.request"),
                   ("role.approver", "access.approve"), ("role.approver", "user.view"),
                   ("role.iam_admin", "user.view"), ("role.iam_admin", "user.admin"),
                   ("role.iam_admin", "role.assign"), ("role.iam_admin", "user.view"),  # duplicate edge: harmless
                   ("role.iam_auditor", "user.view"), ("role.iam_auditor", "audit.view")],
    "pay-sg": [("role.payout_maker", "payout.view"), ("role.payout_maker", "payout.create"),
               ("role.payout_checker", "payout.view"), ("role.payout_checker", "payout.release"),
               ("role.ops_lead", "role.payout_checker"), ("role.ops_lead", "limit.change")],
    "settle-sg": [("role.settlement_officer", "settlement.view"), ("role.settlement_officer", "settlement.reconcile"),
                  ("role.settlement_officer", "settlement.run")],
    "bene-sg": [("role.bene_maintainer", "beneficiary.view"), ("role.bene_maintainer", "beneficiary.create"),
                ("role.bene_maintainer", "beneficiary.edit"), ("role.bene_viewer", "beneficiary.view")],
    "treasury-eu": [("role.treasury_desk", "fx.view"), ("role.treasury_desk", "fx.execute"),
                    ("role.treasury_desk", "role.treasury_backoffice"),
                    ("role.treasury_backoffice", "treasury.report"),
                    ("role.treasury_backoffice", "role.treasury_desk")],          # role cycle
    "pay-eu": [("role.payout_maker", "payout.view"), ("role.payout_maker", "payout.create"),
               ("role.payout_checker", "payout.view"), ("role.payout_checker", "payout.release")],
    "merchant-uk": [("role.merchant_support", "merchant.view"), ("role.merchant_support", "merchant.edit")],
    "ledger-uk": [("role.ledger_clerk", "ledger.view"), ("role.ledger_clerk", "journal.post")],
    "risk-us": [("role.risk_analyst", "rules.view"), ("role.risk_analyst", "case.review"),
                ("role.risk_dev", "rules.view"), ("role.risk_dev", "rules.edit"),
                ("role.risk_engineer", "role.risk_dev"), ("role.risk_engineer", "rules.deploy")],
    "pay-us": [("role.payout_maker", "payout.view"), ("role.payout_maker", "payout.create"),
               ("role.payout_checker", "payout.view"), ("role.payout_checker", "payout.release")],
    "reports-us": [("role.reporter", "report.view"), ("role.reporter", "report.submit")],
}
ALIASES = {"payout.view": ["payout.search"], "user.admin": ["user.create", "user.disable"],
           "settlement.view": ["settlement.status"], "merchant.view": ["merchant.search"]}
TARGET_PREFIX = {"payout": "PO", "limit": "LIM", "report": "RPT", "beneficiary": "BEN", "access": "REQ",
                 "user": "USR", "audit": "AUD", "role": "USR", "settlement": "STL", "fx": "FX",
                 "liquidity": "LIQ", "treasury": "TRP", "merchant": "M", "ledger": "GL", "journal": "JE",
                 "rules": "RULE", "case": "CASE"}
SYS_CODE = {"pay-hk": "HK", "pay-sg": "SG", "pay-eu": "EU", "pay-us": "US"}

ENT_INFO = {(s, e[0]): e for s, es in ENTITLEMENTS.items() for e in es}


def closure(sys_id, ent):
    seen, stack = {ent}, [ent]
    while stack:
        x = stack.pop()
        for (r, m) in ROLE_EDGES.get(sys_id, []):
            if r == x and m not in seen:
                seen.add(m)
                stack.append(m)
    return sorted(e for e in seen if ENT_INFO[(sys_id, e)][1] == P)


# ----------------------------------------------------------------------------- people
FIRST = {"HK": ["Wing", "Ka Yan", "Chun", "Hoi", "Man Ki", "Siu Ming", "Tsz Ching", "Kwok", "Yuen", "Lok",
                "Pui", "Sze", "Chi Fai", "Hiu", "Wai"],
         "SG": ["Wei Ling", "Jun Jie", "Priya", "Hafiz", "Mei", "Arjun", "Siti", "Kai", "Xin Yi", "Ravi"],
         "DE": ["Lukas", "Anna", "Jonas", "Lea", "Felix", "Marie", "Paul", "Sophie", "Max", "Clara"],
         "GB": ["Oliver", "Amelia", "Harry", "Isla", "Jack", "Ava", "George", "Mia", "Noah", "Emily", "Leo", "Grace"],
         "US": ["James", "Olivia", "Liam", "Emma", "Ethan", "Sophia", "Mason", "Harper", "Lucas", "Ella", "Aiden",
                "Chloe"]}
LAST = {"HK": ["Chan", "Wong", "Lee", "Cheung", "Lau", "Ho", "Ng", "Leung", "Tang", "Yip", "Kwan", "Fung"],
        "SG": ["Tan", "Lim", "Ng", "Koh", "Goh", "Nair", "Rahman", "Teo", "Menon", "Chua"],
        "DE": ["Müller", "Schmidt", "Schneider", "Fischer", "Weber", "Meyer", "Wagner", "Becker", "Hoffmann"],
        "GB": ["Smith", "Jones", "Taylor", "Brown", "Williams", "Wilson", "Evans", "Thomas", "Roberts", "Walker"],
        "US": ["Johnson", "Miller", "Davis", "Garcia", "Rodriguez", "Martinez", "Anderson", "Moore", "Clark",
               "O'Brien", "Lewis"]}
IP_BASE = {"HK": "203.198.10.", "SG": "116.12.40.", "DE": "85.214.3.", "GB": "81.2.69.", "US": "74.125.20.",
           "RU": "95.173.136.", "FR": "90.84.10.", "JP": "126.0.0.", "MX": "187.141.2.", "TH": "1.46.12.",
           "CA": "24.114.3.", "MY": "175.139.1."}

identities = []
ID_BY = {}
usernames = set()
_next_id = [1000]


def ascii_user(s):
    return (s.lower().replace("ü", "ue").replace("ö", "oe").replace("ä", "ae").replace("'", "")
            .replace(" ", ""))


def new_identity(dept, job, loc, status="active", terminated_at=None, iid=None):
    if iid is None:
        iid = f"E{_next_id[0]}"
        _next_id[0] += 1
    first, last = rng.choice(FIRST[loc]), rng.choice(LAST[loc])
    base = f"{ascii_user(first)}.{ascii_user(last)}"
    user, n = base, 2
    while user in usernames:
        user, n = f"{base}{n}", n + 1
    usernames.add(user)
    display = f"{last}, {first}" if loc in ("HK", "SG") and rng.random() < 0.3 else f"{first} {last}"
    ident = dict(identity_id=iid, display_name=display, email=f"{user}@payfront.example", department=dept,
                 job_function=job, manager_id=None, status=status, terminated_at=terminated_at,
                 _loc=loc, _user=user, _ip=IP_BASE[loc] + str(rng.randint(10, 250)), _stop=None)
    identities.append(ident)
    ID_BY.setdefault((job, loc), []).append(ident)
    return ident


def pick(job, loc, i):
    return ID_BY[(job, loc)][i]


# ----------------------------------------------------------------------------- accounts & grants
accounts = []
ACC = {}
grants = []
_gid = [10000]


def add_account(ident, sys_id, account_id=None, account_type="human", status="active", created_at=None,
                identity_id="__same__", **opts):
    if account_id is None:
        account_id = ident["_user"] if ident else None
    if created_at is None:
        created_at = datetime(2022, 1, 3, tzinfo=UTC) + timedelta(days=rng.randint(0, 1300),
                                                                  hours=rng.randint(1, 9))
    acc = dict(system_id=sys_id, account_id=account_id,
               identity_id=(ident["identity_id"] if ident else None) if identity_id == "__same__" else identity_id,
               account_type=account_type, status=status, created_at=created_at, _ident=ident,
               _interval=opts.get("interval", (3, 9)),
               _stop=opts.get("stop", ident["_stop"] if ident else None), _start=opts.get("start"),
               _skip=set(opts.get("skip", ())), _sessions=opts.get("sessions", True),
               _block=set(opts.get("block", ())), _mfa=opts.get("mfa", True))
    assert (sys_id, account_id) not in ACC, (sys_id, account_id)
    accounts.append(acc)
    ACC[(sys_id, account_id)] = acc
    return acc


IAM_ADMINS = []


def manager_of(ident):
    return ID_INDEX.get(ident["manager_id"]) if ident and ident["manager_id"] else None


def add_grant(acc, ent, granted_at=None, granted_by="__auto__", approved_by="__auto__", expires_at=None,
              revoked_at=None, ticket="__auto__", use=True):
    ident = acc["_ident"]
    if granted_at is None:
        granted_at = acc["created_at"] + timedelta(days=rng.randint(0, 20), minutes=rng.randint(5, 600))
    if granted_by == "__auto__":
        choices = [a["identity_id"] for a in IAM_ADMINS if not ident or a["identity_id"] != ident["identity_id"]]
        granted_by = rng.choice(choices)
    if approved_by == "__auto__":
        m = manager_of(ident)
        approved_by = m["identity_id"] if m else ID_BY[("chief_financial_officer", "GB")][0]["identity_id"]
    if ticket == "__auto__":
        ticket = f"CHG-{rng.randint(10000, 99999)}"
    assert (acc["system_id"], ent) in ENT_INFO, (acc["system_id"], ent)
    g = dict(grant_id=f"G{_gid[0]}", system_id=acc["system_id"], account_id=acc["account_id"], entitlement_id=ent,
             granted_at=granted_at, granted_by=granted_by, approved_by=approved_by, expires_at=expires_at,
             revoked_at=revoked_at, ticket=ticket, _use=use)
    _gid[0] += 1
    grants.append(g)
    return g


# ----------------------------------------------------------------------------- build the organisation
ceo = new_identity("executive", "chief_executive", "HK")
heads = {
    "payments-ops": new_identity("payments-ops", "head_of_payments", "HK"),
    "treasury": new_identity("treasury", "head_of_treasury", "DE"),
    "finance": new_identity("finance", "chief_financial_officer", "GB"),
    "compliance": new_identity("compliance", "chief_compliance_officer", "US"),
    "support": new_identity("support", "head_of_support", "GB"),
    "engineering": new_identity("engineering", "chief_technology_officer", "US"),
    "risk": new_identity("risk", "chief_risk_officer", "US"),
    "it-security": new_identity("it-security", "chief_information_security_officer", "HK"),
}
for h in heads.values():
    h["manager_id"] = ceo["identity_id"]
ceo["manager_id"] = None
leads = {("payments-ops", "HK"): new_identity("payments-ops", "payments_ops_lead", "HK"),
         ("payments-ops", "SG"): new_identity("payments-ops", "payments_ops_lead", "SG"),
         ("treasury", "DE"): new_identity("treasury", "treasury_manager", "DE"),
         ("support", "GB"): new_identity("support", "support_lead", "GB"),
         ("support", "HK"): new_identity("support", "support_lead", "HK"),
         ("support", "SG"): new_identity("support", "support_lead", "SG")}
for (dept, loc), l in leads.items():
    l["manager_id"] = heads[dept]["identity_id"]

STAFF = [  # dept, job, {loc: count}
    ("payments-ops", "payments_operator", {"HK": 10, "SG": 8, "DE": 5, "US": 4}),
    ("payments-ops", "payments_supervisor", {"HK": 3, "SG": 2, "DE": 2, "US": 2}),
    ("treasury", "treasury_analyst", {"DE": 5}),
    ("finance", "finance_analyst", {"GB": 5}),
    ("finance", "settlement_officer", {"SG": 4}),
    ("compliance", "compliance_officer", {"HK": 2, "SG": 1, "GB": 2, "US": 3}),
    ("compliance", "internal_auditor", {"HK": 2, "GB": 2}),
    ("support", "support_agent", {"HK": 6, "SG": 4, "GB": 10}),
    ("engineering", "engineer", {"US": 8, "HK": 8, "DE": 4}),
    ("engineering", "sre", {"US": 4}),
    ("risk", "risk_analyst", {"US": 10}),
    ("it-security", "iam_admin", {"HK": 4}),
    ("it-security", "security_analyst", {"HK": 3}),
]
for dept, job, locs in STAFF:
    for loc, n in locs.items():
        for _ in range(n):
            i = new_identity(dept, job, loc)
            lead = leads.get((dept, loc))
            i["manager_id"] = (lead or heads[dept])["identity_id"]

# background leavers (terminated long ago, offboarded properly) and people on leave
BG_TERMINATED = []
for dept, job, loc, days_ago in [("payments-ops", "payments_operator", "HK", 200), ("support", "support_agent", "GB", 150),
                                 ("engineering", "engineer", "US", 95), ("treasury", "treasury_analyst", "DE", 70),
                                 ("compliance", "compliance_officer", "US", 55), ("risk", "risk_analyst", "US", 41)]:
    i = new_identity(dept, job, loc, status="terminated",
                     terminated_at=T - timedelta(days=days_ago, hours=rng.randint(1, 12)))
    i["manager_id"] = heads[dept]["identity_id"]
    i["_stop"] = i["terminated_at"] - timedelta(days=1)
    BG_TERMINATED.append(i)
    ID_BY[(job, loc)].remove(i)           # keep pick() indices for active staff only
    ID_BY.setdefault(("terminated", loc), []).append(i)
for (job, loc, idx, days) in [("payments_operator", "HK", 9, 45), ("engineer", "US", 7, 60), ("finance_analyst", "GB", 4, 30)]:
    i = pick(job, loc, idx)
    i["status"] = "leave"
    i["_stop"] = T - timedelta(days=days)

# planted identities
E2001 = new_identity("finance", "finance_analyst", "GB", "terminated", U("2026-11-14T17:00:00Z"), iid="E2001")
E2002 = new_identity("treasury", "treasury_analyst", "DE", "terminated", U("2026-11-20T12:00:00+01:00"), iid="E2002")
E2003 = new_identity("compliance", "compliance_officer", "HK", "terminated", U("2026-11-24T08:00:00+08:00"), iid="E2003")
E2004 = new_identity("treasury", "treasury_analyst", "DE", "terminated", U("2026-11-30T17:00:00+01:00"), iid="E2004")
E2005 = new_identity("risk", "risk_analyst", "US", "terminated", U("2026-10-30T21:00:00Z"), iid="E2005")
E2006 = new_identity("support", "support_agent", "GB", "terminated", U("2026-11-05T09:00:00Z"), iid="E2006")
E2007 = new_identity("engineering", "engineer", "US", "terminated", U("2026-09-15T22:00:00Z"), iid="E2007")
for i in (E2001, E2002, E2003, E2004, E2005, E2006, E2007):
    ID_BY[(i["job_function"], i["_loc"])].remove(i)
    i["manager_id"] = heads[i["department"]]["identity_id"]
    if i["terminated_at"] < T:
        i["_stop"] = i["terminated_at"] - timedelta(days=1)
ID_INDEX = {i["identity_id"]: i for i in identities}
IAM_ADMINS.extend(ID_BY[("iam_admin", "HK")])
CISO = heads["it-security"]
SREs = ID_BY[("sre", "US")]

# ----------------------------------------------------------------------------- background access
JOB_ACCESS = {  # (job, loc) -> [(system, [entitlements], session interval)]
    ("payments_operator", "HK"): [("pay-hk", ["role.payout_maker"]), ("bene-hk", ["role.bene_maintainer"])],
    ("payments_operator", "SG"): [("pay-sg", ["role.payout_maker"]), ("bene-sg", ["role.bene_maintainer"])],
    ("payments_operator", "DE"): [("pay-eu", ["role.payout_maker"])],
    ("payments_operator", "US"): [("pay-us", ["role.payout_maker"])],
    ("payments_supervisor", "HK"): [("pay-hk", ["role.payout_checker"])],
    ("payments_supervisor", "SG"): [("pay-sg", ["role.payout_checker"])],
    ("payments_supervisor", "DE"): [("pay-eu", ["role.payout_checker"])],
    ("payments_supervisor", "US"): [("pay-us", ["role.payout_checker"])],
    ("payments_ops_lead", "HK"): [("pay-hk", ["role.ops_lead"])],
    ("payments_ops_lead", "SG"): [("pay-sg", ["role.ops_lead"])],
    ("treasury_analyst", "DE"): [("treasury-eu", ["role.treasury_desk"])],
    ("treasury_manager", "DE"): [("treasury-eu", ["role.treasury_desk", "liquidity.transfer"])],
    ("finance_analyst", "GB"): [("ledger-uk", ["role.ledger_clerk"])],
    ("settlement_officer", "SG"): [("settle-sg", ["role.settlement_officer"])],
    ("compliance_officer", "HK"): [("pay-hk", ["payout.view"]), ("bene-hk", ["beneficiary.view"])],
    ("compliance_officer", "SG"): [("pay-sg", ["payout.view"])],
    ("compliance_officer", "GB"): [("merchant-uk", ["merchant.view"])],
    ("compliance_officer", "US"): [("reports-us", ["role.reporter"])],
    ("internal_auditor", "HK"): [("pay-hk", ["payout.view"])],
    ("internal_auditor", "GB"): [("ledger-uk", ["ledger.view"])],
    ("support_agent", "HK"): [("bene-hk", ["role.support_desk"]), ("pay-hk", ["payout.view"])],
    ("support_agent", "SG"): [("bene-sg", ["role.bene_viewer"]), ("pay-sg", ["payout.view"])],
    ("support_agent", "GB"): [("merchant-uk", ["role.merchant_support"])],
    ("support_lead", "GB"): [("merchant-uk", ["role.merchant_support", "merchant.suspend", "merchant.onboard"])],
    ("support_lead", "HK"): [("bene-hk", ["role.support_desk"]), ("pay-hk", ["payout.view"])],
    ("support_lead", "SG"): [("bene-sg", ["role.bene_viewer"]), ("pay-sg", ["payout.view"])],
    ("engineer", "US"): [("risk-us", ["role.risk_dev"])],
    ("engineer", "HK"): [("risk-us", ["role.risk_dev"])],
    ("engineer", "DE"): [("risk-us", ["role.risk_dev"])],
    ("sre", "US"): [("risk-us", ["role.risk_engineer"]), ("pay-us", ["payout.view"])],
    ("risk_analyst", "US"): [("risk-us", ["role.risk_analyst"])],
    ("iam_admin", "HK"): [("iam-global", ["role.iam_admin"])],
    ("security_analyst", "HK"): [("iam-global", ["role.iam_auditor"])],
}
APPROVERS = set(h["identity_id"] for h in heads.values()) | {l["identity_id"] for l in leads.values()} | {ceo["identity_id"]}

for ident in identities:
    terminated_long_ago = ident["status"] == "terminated" and ident["terminated_at"] < T and \
        ident["identity_id"] not in ("E2001", "E2002", "E2003")
    status = "disabled" if terminated_long_ago else "active"
    revoke = None
    if terminated_long_ago and ident in BG_TERMINATED[:4]:
        revoke = ident["terminated_at"] + timedelta(hours=3)
    # IAM self-service account for everyone (requester birthright, no approval needed)
    iam_acc = add_account(ident, "iam-global", status="disabled" if ident["identity_id"] in ("E2001", "E2002") else status,
                          interval=(9, 18), stop=ident["_stop"])
    add_grant(iam_acc, "role.requester", approved_by=None, ticket=None, revoked_at=revoke)
    if ident["identity_id"] in APPROVERS:
        add_grant(iam_acc, "role.approver", revoked_at=revoke)
    planted_identity = ident["identity_id"].startswith("E2")
    for sys_id, ents in ([] if planted_identity else JOB_ACCESS.get((ident["job_function"], ident["_loc"]), [])):
        if ident["job_function"] == "iam_admin" or ident["job_function"] == "security_analyst":
            acc = iam_acc
            acc["_interval"] = (3, 9)
        else:
            acc = add_account(ident, sys_id, status=status, stop=ident["_stop"])
        for e in ents:
            exp = None
            if rng.random() < 0.08:
                exp = datetime(2027, rng.randint(1, 12), rng.randint(1, 28), tzinfo=UTC)
            add_grant(acc, e, expires_at=exp, revoked_at=revoke)

# service accounts (owned by SREs), one per system; the daily job keeps every feed alive
SVC = {"pay-hk": ("svc-payout-sync", "payout.view"), "bene-hk": ("svc-bene-screening", "beneficiary.view"),
       "iam-global": ("svc-scim", "user.view"), "pay-sg": ("svc-payout-sync", "payout.view"),
       "settle-sg": ("svc-settlement", "settlement.run"), "bene-sg": ("svc-bene-screening", "beneficiary.view"),
       "treasury-eu": ("svc-fx-rates", "fx.view"), "pay-eu": ("svc-payout-sync", "payout.view"),
       "merchant-uk": ("svc-merchant-sync", "merchant.view"), "ledger-uk": ("svc-ledger-export", "ledger.view"),
       "risk-us": ("svc-risk-scoring", "case.review"), "pay-us": ("svc-payout-sync", "payout.view"),
       "reports-us": ("svc-regrep", "report.view")}
for n, (sys_id, (aid, ent)) in enumerate(SVC.items()):
    acc = add_account(SREs[n % 4], sys_id, aid, account_type="service", sessions=False)
    acc["_daily"] = ent
    add_grant(acc, ent, approved_by=heads["engineering"]["identity_id"])

# shared and emergency accounts
support_lead_gb = leads[("support", "GB")]
acc = add_account(support_lead_gb, "merchant-uk", "support-shared", account_type="shared")
add_grant(acc, "role.merchant_support")
for sys_id, aid, ents in [("pay-hk", "breakglass-hk", ["role.ops_lead"]),
                          ("treasury-eu", "breakglass-eu", ["role.treasury_desk", "liquidity.transfer"]),
                          ("pay-us", "breakglass-us", ["role.payout_checker"])]:
    acc = add_account(CISO, sys_id, aid, account_type="emergency", status="disabled", sessions=False)
    for e in ents:
        add_grant(acc, e, approved_by=ceo["identity_id"])

# ----------------------------------------------------------------------------- planted cases
PLANTED = []      # (rule, severity, status, jurisdiction, keys-dict, why)
NEAR = []         # (what, why no finding)
EVENTS_PLANTED = []
EXCEPTIONS = []


def expect(rule, sev, jur, why, status="open", **keys):
    PLANTED.append((rule, sev, status, jur, keys, why))


def near(what, why):
    NEAR.append((what, why))


def gkeys(g):
    acc = ACC[(g["system_id"], g["account_id"])]
    iid = acc["identity_id"] if acc["identity_id"] in ID_INDEX else None
    return dict(grant_id=g["grant_id"], system_id=g["system_id"], account_id=g["account_id"],
                entitlement_id=g["entitlement_id"], identity_id=iid)


def akeys(acc):
    iid = acc["identity_id"] if acc["identity_id"] in ID_INDEX else None
    return dict(system_id=acc["system_id"], account_id=acc["account_id"], identity_id=iid)


def ev(ts, sys_id, account_id, action, outcome="success", target=None, mfa=None, country="__home__",
       ip=None, fmt="Z"):
    acc = ACC.get((sys_id, account_id))
    ident = acc["_ident"] if acc else None
    if country == "__home__":
        country = ident["_loc"] if ident and action == "login" else None
    if ip is None:
        ip = (IP_BASE[country] + "77") if country and (not ident or country != ident["_loc"]) else \
            (ident["_ip"] if ident else "45.83.220.14")
    if action == "login" and mfa is None and outcome == "success":
        mfa = True
    e = dict(ts=U(ts) if isinstance(ts, str) else ts, system_id=sys_id, account_id=account_id, action=action,
             outcome=outcome, target_id=target, mfa=mfa, src_ip=ip, src_country=country, _fmt=fmt, _planted=True)
    EVENTS_PLANTED.append(e)
    return e


def acc_of(ident, sys_id):
    return ACC[(sys_id, ident["_user"])]


def block(ident, *days):
    """No background session for any account of the identity on these UTC dates (+/- 1 day)."""
    for d in days:
        dd = date.fromisoformat(d)
        ident.setdefault("_blockdates", set()).update({dd - timedelta(days=1), dd, dd + timedelta(days=1)})


def gid_of(acc, ent):
    return [g for g in grants if g["system_id"] == acc["system_id"] and g["account_id"] == acc["account_id"]
            and g["entitlement_id"] == ent][0]


hk_sup = ID_BY[("payments_supervisor", "HK")]
sg_sup = ID_BY[("payments_supervisor", "SG")]
de_sup = ID_BY[("payments_supervisor", "DE")]
us_sup = ID_BY[("payments_supervisor", "US")]
hk_lead, sg_lead = leads[("payments-ops", "HK")], leads[("payments-ops", "SG")]
head_pay = heads["payments-ops"]

# --- SOD_CONFLICT -----------------------------------------------------------------
a = add_account(hk_sup[0], "bene-hk")
add_grant(a, "role.bene_maintainer")
expect("SOD_CONFLICT", "critical", "HK", "HK supervisor holds pay-hk payout.release (role.payout_checker) and bene-hk "
       "beneficiary.create/edit (role.bene_maintainer); no exception", sod_rule_id="SOD-001",
       identity_id=hk_sup[0]["identity_id"])

a = add_account(hk_sup[1], "bene-sg")
add_grant(a, "beneficiary.edit")
EXCEPTIONS.append(dict(exception_id="EXC-004", sod_rule_id="SOD-001", identity_id=hk_sup[1]["identity_id"],
                       approved_by=head_pay["identity_id"], approved_at=U("2026-05-02T09:00:00Z"),
                       expires_at=U("2026-10-31T16:00:00Z"), control="Temporary cover during SG migration"))
for j in ("HK", "SG"):
    expect("SOD_CONFLICT", "critical", j, "Global rule satisfied across jurisdictions: pay-hk payout.release (HK) + "
           "bene-sg beneficiary.edit (SG) -> one finding per jurisdiction whose permissions matched; exception "
           "EXC-004 expired 2026-10-31", sod_rule_id="SOD-001", identity_id=hk_sup[1]["identity_id"])

a = add_account(hk_sup[2], "bene-hk")
add_grant(a, "beneficiary.create")
EXCEPTIONS.append(dict(exception_id="EXC-003", sod_rule_id="SOD-001", identity_id=hk_sup[2]["identity_id"],
                       approved_by=hk_sup[2]["identity_id"], approved_at=U("2026-09-01T02:00:00Z"),
                       expires_at=U("2027-02-28T16:00:00Z"), control="Self-declared \"manual\" review"))
expect("SOD_CONFLICT", "critical", "HK", "pay-hk payout.release + bene-hk beneficiary.create; the exception "
       "EXC-003 is self-approved, hence invalid", sod_rule_id="SOD-001", identity_id=hk_sup[2]["identity_id"])

a = add_account(hk_lead, "bene-hk")
add_grant(a, "role.bene_maintainer")
EXCEPTIONS.append(dict(exception_id="EXC-001", sod_rule_id="SOD-001", identity_id=hk_lead["identity_id"],
                       approved_by=CISO["identity_id"], approved_at=U("2026-06-01T01:30:00Z"),
                       expires_at=U("2027-03-31T15:59:59Z"),
                       control="Dual release enforced in the pay-hk workflow; weekly review of ops-lead releases, "
                               "signed off by the CISO"))
expect("SOD_CONFLICT", "critical", "HK", "Ops lead reaches payout.release through a 3-level role nesting "
       "(role.ops_lead -> role.payout_supervisor -> role.payout_checker -> payout.release) and holds "
       "role.bene_maintainer; valid exception EXC-001", status="mitigated", sod_rule_id="SOD-001",
       identity_id=hk_lead["identity_id"])

a = add_account(sg_sup[0], "bene-sg")
add_grant(a, "role.bene_maintainer")
EXCEPTIONS.append(dict(exception_id="EXC-002", sod_rule_id="SOD-001", identity_id=sg_sup[0]["identity_id"],
                       approved_by=head_pay["identity_id"], approved_at=U("2026-05-25T03:00:00Z"),
                       expires_at=U("2026-11-25T08:00:00+08:00"), control="Second-line sample check of releases"))
expect("SOD_CONFLICT", "critical", "SG", "pay-sg payout.release + bene-sg role.bene_maintainer; exception EXC-002 "
       "expires exactly at T (2026-11-25T08:00:00+08:00) and T <= expires_at, so it is still valid",
       status="mitigated", sod_rule_id="SOD-001", identity_id=sg_sup[0]["identity_id"])

a = add_account(sg_lead, "settle-sg")
add_grant(a, "role.settlement_officer")
EXCEPTIONS.append(dict(exception_id="EXC-005", sod_rule_id="SOD-002", identity_id=sg_lead["identity_id"],
                       approved_by=head_pay["identity_id"], approved_at=T, expires_at=U("2027-05-31T00:00:00Z"),
                       control="Approved on the evaluation instant itself (not yet known at T)"))
expect("SOD_CONFLICT", "high", "SG", "Jurisdiction-scope rule: pay-sg limit.change (via role.ops_lead) and "
       "settle-sg settlement.run, both SG; exception EXC-005 approved exactly at T is not valid (approved_at < T "
       "required)", sod_rule_id="SOD-002", identity_id=sg_lead["identity_id"])

a = add_account(hk_lead, "settle-sg")
add_grant(a, "role.settlement_officer")
near("HK ops lead holds pay-hk limit.change (HK) and settle-sg settlement.run (SG)",
     "SOD-002 has scope jurisdiction: neither HK nor SG alone satisfies both functions")

iam1 = ID_BY[("iam_admin", "HK")][1]
a = add_account(iam1, "pay-us", f"{iam1['_user']}@payfront.example")
add_grant(a, "role.payout_maker")
for j in ("HK", "US"):
    expect("SOD_CONFLICT", "high", j, "IAM admin (iam-global user.admin/role.assign, HK) also holds pay-us "
           "payout.create (US): findings in both jurisdictions", sod_rule_id="SOD-003", identity_id=iam1["identity_id"])
EXCEPTIONS.append(dict(exception_id="EXC-006", sod_rule_id="SOD-003", identity_id=ID_BY[("iam_admin", "HK")][0]["identity_id"],
                       approved_by=CISO["identity_id"], approved_at=U("2026-03-01T00:00:00Z"),
                       expires_at=U("2027-03-01T00:00:00Z"), control="Pre-approved for a conflict that does not exist"))
near("Exception EXC-006 for an IAM admin without any conflict", "an exception alone never creates a finding")

# --- SOD_TRANSACTION ----------------------------------------------------------------
ev("2026-11-10T10:05:12+08:00", "pay-hk", hk_lead["_user"], "payout.create", target="PO-HK-900001", fmt="keep")
ev("2026-11-10T10:41:40+08:00", "pay-hk", hk_lead["_user"], "payout.release", target="PO-HK-900001", fmt="keep")
expect("SOD_TRANSACTION", "critical", "HK", "HK ops lead created and released the same payout PO-HK-900001",
       sod_rule_id="SOD-004", identity_id=hk_lead["identity_id"], target_id="PO-HK-900001")
a = add_account(sg_lead, "pay-hk")
add_grant(a, "role.payout_maker")
ev("2026-11-12T02:10:00Z", "pay-hk", sg_lead["_user"], "payout.create", target="PO-XB-000042")
ev("2026-11-12T03:02:00Z", "pay-sg", sg_lead["_user"], "payout.release", target="PO-XB-000042")
for j in ("HK", "SG"):
    expect("SOD_TRANSACTION", "critical", j, "SG ops lead created PO-XB-000042 on pay-hk and released the same "
           "target on pay-sg: target_id compared across systems, one finding per jurisdiction of the events",
           sod_rule_id="SOD-004", identity_id=sg_lead["identity_id"], target_id="PO-XB-000042")
ev("2026-10-23T13:00:00+02:00", "pay-eu", de_sup[0]["_user"], "payout.create", target="PO-EU-800001", fmt="keep")
ev("2026-10-27T10:00:00+01:00", "pay-eu", de_sup[0]["_user"], "payout.release", target="PO-EU-800001", fmt="keep")
near("DE supervisor created PO-EU-800001 on 2026-10-23 (before the activity window) and released it on 2026-10-27",
     "only the release is inside the window [2026-10-26, T)")
ev("2026-11-17T11:00:00+08:00", "pay-hk", hk_sup[2]["_user"], "payout.create", target="PO-HK-900002", fmt="keep")
ev("2026-11-17T11:20:00+08:00", "pay-hk", hk_sup[2]["_user"], "payout.release", outcome="failure",
   target="PO-HK-900002", fmt="keep")
near("HK supervisor created PO-HK-900002 and tried to release it", "the release failed; only successful events count")

# --- STALE_GRANT ----------------------------------------------------------------------
tm = leads[("treasury", "DE")]
g = gid_of(acc_of(tm, "treasury-eu"), "liquidity.transfer")
g["_use"] = False
ev("2026-08-17T10:30:00+02:00", "treasury-eu", tm["_user"], "liquidity.transfer", target="LIQ-2026-0817", fmt="keep")
expect("STALE_GRANT", "medium", "EU", "Treasury manager's direct liquidity.transfer grant (privileged) last used "
       "2026-08-17, more than 90 days before T", **gkeys(g))
fa0 = ID_BY[("finance_analyst", "GB")][0]
a = add_account(fa0, "merchant-uk")
g = add_grant(a, "merchant.view", use=False)
expect("STALE_GRANT", "low", "UK", "Finance analyst logs in to merchant-uk but never views a merchant", **gkeys(g))
co_us = ID_BY[("compliance_officer", "US")]
a = add_account(co_us[0], "risk-us")
add_grant(a, "case.review", granted_at=T - timedelta(days=90), use=False)
near("risk-us case.review granted exactly 90 days before T (2026-08-27T00:00:00Z) and never used",
     "granted_at is not older than stale_grant_days")
a = add_account(co_us[1], "risk-us")
g = add_grant(a, "rules.view", granted_at=T - timedelta(days=200), use=False)
ev(T - timedelta(days=90), "risk-us", co_us[1]["_user"], "rules.view", target="RULE-0042")
near("risk-us rules.view granted 200 days ago, last used exactly 90 days before T (2026-08-27T00:00:00Z)",
     "a use exactly N days before T is 'newer than N days'")
near("Use of a grant before its granted_at", "cannot change the outcome: for a grant older than N days every event "
     "newer than N days is after granted_at, so `ts >= granted_at` is implied (documented, not planted)")

# --- EXPIRED_GRANT ----------------------------------------------------------------------
ta = ID_BY[("treasury_analyst", "DE")]
g = add_grant(acc_of(ta[1], "treasury-eu"), "fx.execute", granted_at=U("2026-09-01T08:00:00Z"),
              expires_at=U("2026-11-15T23:00:00Z"))
expect("EXPIRED_GRANT", "high", "EU", "Temporary fx.execute uplift expired 2026-11-15 but was never revoked", **gkeys(g))
g = add_grant(acc_of(ID_BY[("finance_analyst", "GB")][1], "ledger-uk"), "ledger.view",
              granted_at=U("2026-07-01T09:00:00Z"), expires_at=U("2026-10-01T00:00:00+01:00"))
expect("EXPIRED_GRANT", "medium", "UK", "Finance analyst's temporary ledger.view grant expired 2026-10-01, not revoked", **gkeys(g))
a = acc_of(co_us[2], "reports-us")
g = add_grant(a, "report.view", granted_at=U("2026-08-03T14:00:00Z"), expires_at=U("2026-11-20T00:00:00Z"),
              revoked_at=U("2026-11-24T19:00:00-05:00"))
expect("EXPIRED_GRANT", "medium", "US", "Expired 2026-11-20; revoked_at == T (2026-11-24T19:00:00-05:00) so the "
       "grant is still active at T", **gkeys(g))
so = ID_BY[("settlement_officer", "SG")]
add_grant(acc_of(so[1], "settle-sg"), "settlement.view", granted_at=U("2026-06-01T02:00:00Z"),
          expires_at=U("2026-11-25T08:00:00+08:00"))
near("settle-sg settlement.view grant expiring exactly at T", "expires_at < T is false")
add_grant(acc_of(so[2], "settle-sg"), "settlement.view", granted_at=U("2026-06-01T02:00:00Z"),
          expires_at=U("2026-11-01T00:00:00Z"), revoked_at=U("2026-11-24T23:59:59Z"))
near("Expired settle-sg grant revoked one second before T", "not active at T")
add_grant(acc_of(so[3], "settle-sg"), "settlement.run", granted_at=T, granted_by=so[3]["identity_id"],
          approved_by=None, ticket=None)
near("Privileged settlement.run grant with granted_at == T, self-granted and unapproved",
     "not known at T (granted_at < T required): no SELF_APPROVED / UNAPPROVED / SoD finding")

# --- SELF_APPROVED_GRANT ------------------------------------------------------------------
iam2 = ID_BY[("iam_admin", "HK")][2]
g = add_grant(acc_of(iam2, "iam-global"), "role.iam_auditor", granted_at=U("2026-09-14T03:00:00Z"),
              granted_by=iam2["identity_id"], approved_by=CISO["identity_id"])
expect("SELF_APPROVED_GRANT", "high", "HK", "IAM admin granted a role to their own account", **gkeys(g))
g = add_grant(acc_of(de_sup[0], "pay-eu"), "payout.view", granted_at=U("2026-07-20T08:00:00Z"),
              approved_by=de_sup[0]["identity_id"])
expect("SELF_APPROVED_GRANT", "high", "EU", "Grant approved by the account's own identity", **gkeys(g))

# --- UNAPPROVED_PRIVILEGED_GRANT ------------------------------------------------------------
g = gid_of(acc_of(us_sup[1], "pay-us"), "role.payout_checker")
g["approved_by"] = None
expect("UNAPPROVED_PRIVILEGED_GRANT", "high", "US", "role.payout_checker is not flagged privileged itself but "
       "reaches payout.release, which is; approved_by is empty", **gkeys(g))
add_grant(acc_of(us_sup[0], "pay-us"), "payout.release", granted_at=U("2025-11-03T15:00:00Z"), approved_by=None,
          revoked_at=U("2026-06-01T15:00:00Z"))
near("Unapproved payout.release grant revoked in June 2026", "not active")
near("role.requester birthright grants without approved_by (every identity)", "not privileged")

# --- DORMANT_ACCOUNT -------------------------------------------------------------------------
co_hk = ID_BY[("compliance_officer", "HK")]
a = acc_of(co_hk[0], "bene-hk")
a["_stop"] = U("2026-08-14T00:00:00Z")
expect("DORMANT_ACCOUNT", "low", "HK", "No successful login since mid-August (more than 90 days)", **akeys(a))
expect("STALE_GRANT", "low", "HK", "The dormant bene-hk account's beneficiary.view grant is unused for more than 90 days",
       **gkeys(gid_of(a, "beneficiary.view")))
a = acc_of(de_sup[1], "pay-eu")
a["_stop"] = U("2026-08-20T00:00:00Z")
expect("DORMANT_ACCOUNT", "medium", "EU", "Supervisor's pay-eu account: last login before 2026-08-20, more than 90 days "
       "before T; holds privileged role.payout_checker", **akeys(a))
expect("STALE_GRANT", "medium", "EU", "The dormant pay-eu account's privileged role.payout_checker grant is unused for more than 90 days",
       **gkeys(gid_of(a, "role.payout_checker")))
ra0 = ID_BY[("risk_analyst", "US")][0]
add_account(ra0, "pay-us", created_at=T - timedelta(days=90), sessions=False)
near("pay-us account created exactly 90 days before T, never logged in", "created_at not older than N")
add_account(co_hk[1], "merchant-uk", created_at=U("2026-11-10T09:00:00Z"), sessions=False)
near("New merchant-uk account created 2026-11-10, no login yet", "created_at newer than dormant_account_days")
aud_gb = ID_BY[("internal_auditor", "GB")][0]
a = acc_of(aud_gb, "ledger-uk")
a["_stop"] = T - timedelta(days=95)
ev(T - timedelta(days=90), "ledger-uk", aud_gb["_user"], "login")
ev(T - timedelta(days=90), "ledger-uk", aud_gb["_user"], "ledger.view", target="GL-2026-08")
near("Auditor's ledger-uk login and ledger.view exactly 90 days before T, nothing later",
     "newer than N days: neither DORMANT_ACCOUNT nor STALE_GRANT")
near("Service accounts (svc-*) never log in interactively", "DORMANT_ACCOUNT only covers human and shared accounts")
near("Identities on leave (no activity for 30-60 days)", "still within 90 days")

# --- TERMINATED_ACCESS / POST_TERMINATION_ACTIVITY --------------------------------------------
a = add_account(E2001, "ledger-uk")
add_grant(a, "role.ledger_clerk")
ev("2026-11-18T10:12:00Z", "ledger-uk", E2001["_user"], "login")
ev("2026-11-18T10:20:00Z", "ledger-uk", E2001["_user"], "journal.post", target="JE-77120")
expect("TERMINATED_ACCESS", "high", "UK", "Leaver terminated 2026-11-14, ledger-uk account still active", **akeys(a))
expect("POST_TERMINATION_ACTIVITY", "critical", "UK", "Leaver terminated 2026-11-14 logged in and posted a journal on 2026-11-18", **akeys(a))
a = add_account(E2002, "treasury-eu")
add_grant(a, "role.treasury_desk")
expect("TERMINATED_ACCESS", "high", "EU", "Leaver terminated 2026-11-20T12:00+01:00 (> 24 h before T), account "
       "active, no activity since", **akeys(a))
a = add_account(E2003, "pay-hk")
add_grant(a, "payout.view")
near("HK leaver terminated exactly 24 h before T (2026-11-24T08:00:00+08:00), pay-hk account still active",
     "terminated_at < T - termination_grace_hours is false")
for s, ents in [("treasury-eu", ["role.treasury_desk"])]:
    add_grant(add_account(E2004, s), ents[0])
near("Treasury analyst with status terminated and terminated_at 2026-11-30 (after T), still working",
     "treated as employed: no TERMINATED_ACCESS, no POST_TERMINATION_ACTIVITY, counted in peer groups")
a = add_account(E2005, "risk-us", status="disabled")
add_grant(a, "role.risk_analyst")
ev("2026-11-03T15:00:00Z", "risk-us", E2005["_user"], "case.review", target="CASE-55102")
expect("POST_TERMINATION_ACTIVITY", "critical", "US", "Disabled account of a leaver (terminated 2026-10-30) "
       "still reviewed a case on 2026-11-03 via an API token (any account status)", **akeys(a))
a = add_account(E2006, "merchant-uk", status="disabled")
add_grant(a, "role.merchant_support")
ev(E2006["terminated_at"], "merchant-uk", E2006["_user"], "merchant.view", target="M-20931")
ev("2026-11-06T10:00:00Z", "merchant-uk", E2006["_user"], "login", outcome="failure")
near("Leaver's event exactly at terminated_at, and a failed login afterwards",
     "ts > terminated_at is required, and only successful events count")
a = add_account(E2007, "risk-us", status="disabled")
add_grant(a, "role.risk_dev")
ev("2026-10-01T14:00:00Z", "risk-us", E2007["_user"], "login")
near("Leaver (terminated 2026-09-15) logged in successfully on 2026-10-01", "before the activity window")

# --- ORPHAN_ACCOUNT --------------------------------------------------------------------------
a = add_account(None, "merchant-uk", "temp.ops", identity_id=None)
add_grant(a, "role.merchant_support", approved_by=support_lead_gb["identity_id"])
expect("ORPHAN_ACCOUNT", "medium", "UK", "Active merchant-uk account with no identity_id", **akeys(a))
a = add_account(None, "pay-sg", "jlim", identity_id="E0999", sessions=False)
add_grant(a, "role.payout_checker", approved_by=sg_lead["identity_id"])
expect("ORPHAN_ACCOUNT", "high", "SG", "pay-sg account names E0999, who is not in identities; it holds the "
       "privileged role.payout_checker", **akeys(a))
add_account(None, "pay-hk", "old.batch", identity_id=None, status="disabled", sessions=False)
near("Disabled pay-hk account old.batch without identity", "ORPHAN_ACCOUNT needs an active account")

# --- UNMANAGED_ACCOUNT_ACTIVITY -------------------------------------------------------------------
ev("2026-11-20T15:05:00Z", "pay-us", "tmp_vendor01", "login", mfa=True, country="US")
ev("2026-11-20T15:09:00Z", "pay-us", "tmp_vendor01", "payout.view", target="PO-US-000311")
expect("UNMANAGED_ACCOUNT_ACTIVITY", "high", "US", "Successful events by tmp_vendor01, which is not in accounts",
       system_id="pay-us", account_id="tmp_vendor01")
for k in range(3):
    ev(U("2026-11-10T11:00:00Z") + timedelta(minutes=2 * k), "merchant-uk", "ghost.user", "login",
       outcome="failure", country="GB")
near("Three failed logins by unknown account ghost.user on merchant-uk", "UNMANAGED needs successful events")
ev("2026-10-10T15:00:00Z", "risk-us", "qa.tester", "login", mfa=True, country="US")
near("Unknown account qa.tester logged in on 2026-10-10", "before the activity window")

# --- PRIVILEGED_NO_MFA -------------------------------------------------------------------------------
block(sg_sup[1], "2026-11-16")
ev("2026-11-16T02:00:00Z", "pay-sg", sg_sup[1]["_user"], "login", mfa=False)
expect("PRIVILEGED_NO_MFA", "high", "SG", "Privileged pay-sg account signed in with mfa=false",
       **akeys(acc_of(sg_sup[1], "pay-sg")))
block(ta[2], "2026-11-11")
e = ev("2026-11-11T09:00:00Z", "treasury-eu", ta[2]["_user"], "login")
e["mfa"] = None
expect("PRIVILEGED_NO_MFA", "high", "EU", "Privileged treasury-eu account signed in with mfa empty (not true)",
       **akeys(acc_of(ta[2], "treasury-eu")))
sa_hk = ID_BY[("support_agent", "HK")]
block(sa_hk[0], "2026-11-05")
ev("2026-11-05T02:00:00Z", "pay-hk", sa_hk[0]["_user"], "login", mfa=False)
near("Support agent's pay-hk login without MFA", "the account has no privileged access")
ev("2026-11-09T15:00:00Z", "pay-us", us_sup[0]["_user"], "login", outcome="failure", mfa=False)
near("Failed login without MFA on a privileged pay-us account", "only successful logins count")
ev("2026-10-20T08:00:00Z", "pay-eu", de_sup[0]["_user"], "login", mfa=False)
near("Privileged pay-eu login without MFA on 2026-10-20", "before the activity window")

# --- SHARED_PRIVILEGED_ACCOUNT ----------------------------------------------------------------------
a = add_account(so[0], "settle-sg", "ops-shared", account_type="shared")
add_grant(a, "role.settlement_officer")
expect("SHARED_PRIVILEGED_ACCOUNT", "high", "SG", "Shared settle-sg account holds settlement.run", **akeys(a))
a = add_account(hk_lead, "pay-hk", "ops-shared-old", account_type="shared", status="disabled", sessions=False)
add_grant(a, "role.payout_checker")
near("Disabled shared pay-hk account with role.payout_checker", "needs an active account")
near("Shared merchant-uk account support-shared", "not privileged")

# --- EMERGENCY_ACCOUNT_USED -------------------------------------------------------------------------
ev("2026-11-12T11:10:00+08:00", "pay-hk", "breakglass-hk", "login", fmt="keep")
ev("2026-11-12T11:16:30+08:00", "pay-hk", "breakglass-hk", "payout.release", target="PO-HK-900003", fmt="keep")
expect("EMERGENCY_ACCOUNT_USED", "high", "HK", "Break-glass account (disabled) used to release a payout on "
       "2026-11-12", **akeys(ACC[("pay-hk", "breakglass-hk")]))
ev("2026-11-15T09:00:00Z", "treasury-eu", "breakglass-eu", "login", outcome="failure", mfa=False)
ev("2026-10-01T09:00:00Z", "treasury-eu", "breakglass-eu", "login")
near("breakglass-eu: failed login in the window, successful one on 2026-10-01", "failure / before the window")
ev(T, "pay-us", "breakglass-us", "login")
near("breakglass-us login exactly at T (2026-11-25T00:00:00Z)", "events at or after T are ignored")

# --- FAILED_LOGIN_BURST ------------------------------------------------------------------------------
for k in range(12):
    ev(U("2026-11-08T03:00:00Z") + timedelta(seconds=30 * k), "pay-hk", "admin", "login", outcome="failure",
       country="RU")
expect("FAILED_LOGIN_BURST", "high", "HK", "12 failed logins in 5.5 minutes for unknown account 'admin' (rule "
       "applies to accounts absent from accounts); no success", system_id="pay-hk", account_id="admin")
op_sg = ID_BY[("payments_operator", "SG")]
block(op_sg[0], "2026-11-18")
base = U("2026-11-18T06:00:00Z")
for k in range(10):
    ev(base + timedelta(seconds=int(k * 13 * 60 / 9)), "pay-sg", op_sg[0]["_user"], "login", outcome="failure")
ev(base + timedelta(minutes=17), "pay-sg", op_sg[0]["_user"], "login")
expect("FAILED_LOGIN_BURST", "critical", "SG", "10 failures within 13 minutes, then a successful login 4 minutes "
       "after the last failure", **akeys(acc_of(op_sg[0], "pay-sg")))
op_de = ID_BY[("payments_operator", "DE")]
block(op_de[0], "2026-11-10")
base = U("2026-11-10T10:00:00Z")
for k in range(10):
    ev(base + timedelta(minutes=k), "pay-eu", op_de[0]["_user"], "login", outcome="failure")
ev(base + timedelta(minutes=9 + 15), "pay-eu", op_de[0]["_user"], "login")
expect("FAILED_LOGIN_BURST", "high", "EU", "10 failures within 9 minutes; the next success is exactly 15 minutes "
       "(one window) after the last failure, so not critical", **akeys(acc_of(op_de[0], "pay-eu")))
sa_gb = ID_BY[("support_agent", "GB")]
block(sa_gb[3], "2026-11-13")
for k in range(9):
    ev(U("2026-11-13T09:00:00Z") + timedelta(seconds=40 * k), "merchant-uk", sa_gb[3]["_user"], "login",
       outcome="failure")
near("9 failed logins in 6 minutes on merchant-uk", "one short of failed_login_threshold = 10")
op_us = ID_BY[("payments_operator", "US")]
block(op_us[0], "2026-11-19")
for k in range(10):
    ev(U("2026-11-19T15:00:00Z") + timedelta(seconds=100 * k), "pay-us", op_us[0]["_user"], "login",
       outcome="failure")
near("10 failed logins whose first and last are exactly 15 minutes apart", "must be less than the window")

# --- LOGIN_FROM_UNEXPECTED_COUNTRY --------------------------------------------------------------------
block(op_sg[1], "2026-11-05")
ev("2026-11-05T03:00:00Z", "pay-sg", op_sg[1]["_user"], "login", country="RU")
expect("LOGIN_FROM_UNEXPECTED_COUNTRY", "high", "SG", "Successful pay-sg login from RU; SG allows SG, HK, MY",
       **akeys(acc_of(op_sg[1], "pay-sg")))
block(op_sg[2], "2026-11-06")
ev("2026-11-06T03:00:00Z", "pay-sg", op_sg[2]["_user"], "login", outcome="failure", country="RU")
ev("2026-11-06T03:05:00Z", "pay-sg", op_sg[2]["_user"], "login", country=None)
near("pay-sg: failed login from RU, then a success without src_country", "failures and null countries never fire")
block(op_sg[3], "2026-11-09")
ev("2026-11-09T03:00:00Z", "pay-sg", op_sg[3]["_user"], "login", country="MY")
near("pay-sg login from MY", "MY is in SG's allowed_login_countries")
block(op_us[1], "2026-11-12")
ev("2026-11-12T16:00:00Z", "pay-us", op_us[1]["_user"], "login", country="CA")
near("pay-us login from CA", "US sets no allowed_login_countries")

# --- IMPOSSIBLE_TRAVEL --------------------------------------------------------------------------------
block(co_us[0], "2026-11-03")
ev("2026-11-03T15:00:00Z", "reports-us", co_us[0]["_user"], "login")
ev("2026-11-03T17:30:00Z", "risk-us", co_us[0]["_user"], "login", country="GB")
expect("IMPOSSIBLE_TRAVEL", "high", "US", "US -> GB logins 2.5 h apart; the later login is on a US system, whose "
       "travel_hours is 3", identity_id=co_us[0]["identity_id"])
co_gb = ID_BY[("compliance_officer", "GB")]
block(co_gb[1], "2026-11-09")
ev("2026-11-09T10:00:00Z", "merchant-uk", co_gb[1]["_user"], "login")
ev("2026-11-09T12:00:00Z", "iam-global", co_gb[1]["_user"], "login", country="FR")
near("GB -> FR logins exactly 2 h apart (later login on iam-global, HK travel_hours 2)", "must be less than travel_hours")
eng_hk = ID_BY[("engineer", "HK")]
block(eng_hk[1], "2026-11-17")
ev("2026-11-17T01:00:00Z", "iam-global", eng_hk[1]["_user"], "login")
ev("2026-11-17T01:20:00Z", "risk-us", eng_hk[1]["_user"], "login", country=None)
ev("2026-11-17T02:10:00Z", "iam-global", eng_hk[1]["_user"], "login", country="JP")
expect("IMPOSSIBLE_TRAVEL", "high", "HK", "HK -> JP within 70 minutes; the login in between has no src_country "
       "and is skipped", identity_id=eng_hk[1]["identity_id"])
eng_us = ID_BY[("engineer", "US")]
block(eng_us[2], "2026-11-19")
ev("2026-11-19T14:00:00Z", "risk-us", eng_us[2]["_user"], "login")
ev("2026-11-19T16:30:00Z", "iam-global", eng_us[2]["_user"], "login", country="MX")
near("US -> MX logins 2.5 h apart, later login on iam-global (HK)", "the later login's jurisdiction (HK, 2 h) sets "
     "the threshold, not the earlier one's (US, 3 h)")

# --- OFF_HOURS_PRIVILEGED_ACTION ---------------------------------------------------------------------
block(hk_sup[0], "2026-11-13")
ev("2026-11-13T20:00:00+08:00", "pay-hk", hk_sup[0]["_user"], "payout.release", target="PO-HK-900004", fmt="keep")
expect("OFF_HOURS_PRIVILEGED_ACTION", "medium", "HK", "payout.release at exactly 20:00 HKT on a Friday: "
       "business hours exclude their end", **akeys(acc_of(hk_sup[0], "pay-hk")))
block(hk_sup[1], "2026-11-16")
ev("2026-11-16T08:00:00+08:00", "pay-hk", hk_sup[1]["_user"], "payout.release", target="PO-HK-900005", fmt="keep")
near("payout.release at exactly 08:00 HKT on a Monday", "business hours include their start")
ev("2026-11-20T22:00:00+08:00", "pay-hk", hk_sup[2]["_user"], "payout.release", outcome="failure",
   target="PO-HK-900006", fmt="keep")
near("Failed payout.release at 22:00 HKT", "only successful events count")
op_hk = ID_BY[("payments_operator", "HK")]
ev("2026-11-18T23:00:00+08:00", "pay-hk", op_hk[3]["_user"], "payout.create", target="PO-HK-900007", fmt="keep")
near("payout.create at 23:00 HKT", "payout.create is not privileged")
ev("2026-11-21T00:30:00Z", "pay-us", us_sup[0]["_user"], "payout.release", target="PO-US-900008")
near("pay-us payout.release at 2026-11-21T00:30Z (Saturday in UTC)", "local time is Friday 19:30 EST: in business hours")
sre = SREs
ev("2026-11-21T11:00:00-05:00", "risk-us", sre[0]["_user"], "rules.deploy", target="RULE-0107", fmt="keep")
expect("OFF_HOURS_PRIVILEGED_ACTION", "medium", "US", "rules.deploy on a Saturday", **akeys(acc_of(sre[0], "risk-us")))
ev("2026-11-04T12:30:00Z", "risk-us", sre[1]["_user"], "rules.deploy", target="RULE-0108")
expect("OFF_HOURS_PRIVILEGED_ACTION", "medium", "US", "rules.deploy at 12:30Z on 2026-11-04 = 07:30 EST (after the "
       "DST change)", **akeys(acc_of(sre[1], "risk-us")))
ev("2026-10-28T12:30:00Z", "risk-us", sre[2]["_user"], "rules.deploy", target="RULE-0109")
near("rules.deploy at 12:30Z on 2026-10-28 = 08:30 EDT", "in business hours (New York still on daylight time)")
ev("2026-11-14T10:00:00+08:00", "settle-sg", sg_lead["_user"], "settlement.run", target="STL-20261114", fmt="keep")
near("SG ops lead ran settlement.run on Saturday 2026-11-14 10:00 SGT",
     "SG lists OFF_HOURS_PRIVILEGED_ACTION in disabled_rules")
near("svc-settlement runs settlement.run nightly at 23:30 SGT (privileged, off-hours)",
     "SG lists OFF_HOURS_PRIVILEGED_ACTION in disabled_rules")

# --- GRADE_EXCEEDED / PEER_OUTLIER -----------------------------------------------------------------
g = add_grant(acc_of(sa_gb[4], "merchant-uk"), "merchant.payout_override", granted_at=U("2026-10-02T10:00:00Z"))
expect("GRADE_EXCEEDED", "medium", "UK", "support_agent (max medium) holds merchant.payout_override (high)", **gkeys(g))
expect("PEER_OUTLIER", "low", "UK", "Only 1 of 20 support agents holds merchant.payout_override",
       identity_id=sa_gb[4]["identity_id"], system_id="merchant-uk", entitlement_id="merchant.payout_override")
g = add_grant(acc_of(sa_hk[1], "pay-hk"), "role.payout_checker", granted_at=U("2026-09-21T02:00:00Z"))
expect("GRADE_EXCEEDED", "high", "HK", "support_agent holds role.payout_checker whose closure has payout.release "
       "(high) and which is privileged by reach", **gkeys(g))
expect("PEER_OUTLIER", "low", "HK", "Only 1 of 20 support agents holds pay-hk payout.release",
       identity_id=sa_hk[1]["identity_id"], system_id="pay-hk", entitlement_id="payout.release")
aud_hk = ID_BY[("internal_auditor", "HK")][0]
g = add_grant(acc_of(aud_hk, "pay-hk"), "report.export", granted_at=U("2026-08-03T02:00:00Z"))
expect("GRADE_EXCEEDED", "medium", "HK", "internal_auditor (max low) holds report.export whose risk is empty, "
       "i.e. medium", **gkeys(g))
g = add_grant(acc_of(op_hk[2], "pay-hk"), "limit.change", granted_at=U("2026-10-01T03:00:00Z"))
expect("GRADE_EXCEEDED", "high", "HK", "payments_operator (max high) holds limit.change (critical, privileged)", **gkeys(g))
expect("PEER_OUTLIER", "low", "HK", "Only 1 of 27 payments operators holds pay-hk limit.change",
       identity_id=op_hk[2]["identity_id"], system_id="pay-hk", entitlement_id="limit.change")
near("HK support agents hold role.support_desk (low) -> role.bene_lookup (critical) -> beneficiary.view (low)",
     "GRADE_EXCEEDED checks the granted entitlement and its permissions, not the roles in between")
near("Ops leads hold limit.change (critical)", "payments_ops_lead is not graded in grading.toml")
for k in (5, 6):
    add_grant(acc_of(sa_gb[k], "merchant-uk"), "merchant.onboard", granted_at=U("2026-03-02T10:00:00Z"))
    expect("PEER_OUTLIER", "low", "UK", "2 of 20 support agents hold merchant.onboard: 2 <= 0.10 x 20 (boundary)",
           identity_id=sa_gb[k]["identity_id"], system_id="merchant-uk", entitlement_id="merchant.onboard")
for k in (7, 8, 9):
    add_grant(acc_of(sa_gb[k], "merchant-uk"), "merchant.suspend", granted_at=U("2026-03-02T10:00:00Z"))
near("3 of 20 support agents hold merchant.suspend", "3 > 0.10 x 20")
ra = ID_BY[("risk_analyst", "US")]
add_grant(acc_of(ra[0], "risk-us"), "role.risk_dev", granted_at=U("2026-04-14T14:00:00Z"))
expect("PEER_OUTLIER", "low", "US", "Risk analyst group has exactly min_size = 10 members; only 1 holds rules.edit "
       "(1 <= 1.0); rules.view from the same role is held by all", identity_id=ra[0]["identity_id"],
       system_id="risk-us", entitlement_id="rules.edit")
near("Compliance officers (group of 8) with location-specific permissions", "peer group below min_size")
near("Terminated risk analysts E2005 and a background leaver", "excluded from the peer group, which stays at 10")

# --- LOG_FEED_SILENT ----------------------------------------------------------------------------------
expect("LOG_FEED_SILENT", "high", "UK", "ledger-uk's last event is on 2026-11-21 (> 48 h before T)", system_id="ledger-uk")
ev(T, "ledger-uk", "svc-ledger-export", "ledger.view", target="GL-EXPORT")
near("ledger-uk event exactly at T", "ignored: it does not make the feed fresh")
near("reports-us's last event is exactly 48 h before T (2026-11-23T00:00:00Z)", "not older than max_silence_hours")
near("CN has no systems", "no finding; its report says so")

# ----------------------------------------------------------------------------- background events
events = []
EVENT_TZ_STYLE = {"pay-hk": 0.3, "treasury-eu": 0.3}


def local_dt(sys_id, day, hh, mm, ss):
    return datetime.combine(day, time(hh, mm, ss), tzinfo=TZ[SYS_JUR[sys_id]]).astimezone(UTC)


def exercised_perms(acc):
    perms = set()
    for g in grants:
        if g["system_id"] == acc["system_id"] and g["account_id"] == acc["account_id"] and g["_use"] \
                and g["granted_at"] < T and (g["revoked_at"] is None or g["revoked_at"] >= T):
            perms.update(closure(g["system_id"], g["entitlement_id"]))
    return sorted(perms - acc["_skip"])


def grant_start(acc, perm):
    starts = [g["granted_at"] for g in grants if g["system_id"] == acc["system_id"]
              and g["account_id"] == acc["account_id"] and perm in closure(g["system_id"], g["entitlement_id"])]
    return min(starts)


def gen_sessions(acc):
    ident = acc["_ident"]
    perms = exercised_perms(acc)
    lo, hi = acc["_interval"]
    day = START.date() + timedelta(days=rng.randint(0, hi))
    created = acc["created_at"].date() if acc["created_at"] else START.date()
    rr = rng.randint(0, 10)
    while True:
        day += timedelta(days=rng.randint(lo, hi))
        if day > LAST_LOCAL_DAY:
            break
        while day.weekday() >= 5:
            day += timedelta(days=1)
        if day > LAST_LOCAL_DAY:
            break
        blocked = acc["_block"] | ident.get("_blockdates", set())
        if day <= created or day in blocked:
            continue
        login = local_dt(acc["system_id"], day, rng.randint(9, 16), rng.randint(0, 59), rng.randint(0, 59))
        if acc["_stop"] and login >= acc["_stop"]:
            break
        if acc["_start"] and login < acc["_start"]:
            continue
        if login.date() in blocked:
            continue
        if rng.random() < 0.04:
            events.append(dict(ts=login - timedelta(seconds=rng.randint(20, 90)), system_id=acc["system_id"],
                               account_id=acc["account_id"], action="login", outcome="failure", target_id=None,
                               mfa=None, src_ip=ident["_ip"], src_country=ident["_loc"]))
        events.append(dict(ts=login, system_id=acc["system_id"], account_id=acc["account_id"], action="login",
                           outcome="success", target_id=None, mfa=acc["_mfa"], src_ip=ident["_ip"],
                           src_country=ident["_loc"]))
        t = login
        for _ in range(min(len(perms), 2)):
            perm = perms[rr % len(perms)]
            rr += 1
            t = t + timedelta(minutes=rng.randint(1, 12), seconds=rng.randint(0, 59))
            if t <= grant_start(acc, perm):
                continue
            action = perm
            if perm in ALIASES and rng.random() < 0.3:
                action = rng.choice(ALIASES[perm])
            events.append(dict(ts=t, system_id=acc["system_id"], account_id=acc["account_id"], action=action,
                               outcome="success", target_id="__auto__:" + perm, mfa=None, src_ip=ident["_ip"],
                               src_country=ident["_loc"], _perm=perm, _ident=ident["identity_id"]))


for acc in accounts:
    if acc["_sessions"] and acc["_ident"] is not None and acc["status"] == "active" or \
            (acc["_sessions"] and acc["_ident"] is not None and acc["_stop"] is not None):
        gen_sessions(acc)
    elif acc["_sessions"] and acc["_ident"] is None and acc["status"] == "active":
        # orphan account in use by someone: logs in from GB with MFA
        acc["_ident"] = dict(_ip="81.2.69.201", _loc="GB", identity_id=None)
        gen_sessions(acc)
        acc["_ident"] = None
    if acc.get("_daily"):
        sys_id = acc["system_id"]
        d = START.date()
        while d <= LAST_LOCAL_DAY:
            if sys_id == "settle-sg":
                t = local_dt(sys_id, d, 23, 30, 0)
            elif sys_id == "reports-us":
                t = local_dt(sys_id, d, 19, 0, 0)
            else:
                t = local_dt(sys_id, d, 2, rng.randint(10, 20), rng.randint(0, 59))
            if t < T:
                events.append(dict(ts=t, system_id=sys_id, account_id=acc["account_id"], action=acc["_daily"],
                                   outcome="success", target_id="__auto__:" + acc["_daily"], mfa=None,
                                   src_ip="10.20.%d.%d" % (SEQUENCED.index(sys_id) if sys_id in SEQUENCED else 9,
                                                            rng.randint(2, 250)), src_country=None))
            d += timedelta(days=1)

# feed cut-offs
events = [e for e in events if not (e["system_id"] in FEED_CUTOFF and e["ts"] > FEED_CUTOFF[e["system_id"]])]

# --- v4 rules: MFA methods, feed gaps, security training ----------------------------------------------
# Kept apart from the rest (and from `rng`, whose sequence the background depends on): every choice
# below is derived from the data already built.
MFA_METHODS_BG = ["push", "totp", "fido2"]
for e in events:  # background sign-ins with MFA name their factor (app push, TOTP or a FIDO2 key)
    if e["action"] == "login" and e["outcome"] == "success" and e["mfa"]:
        e["mfa_method"] = MFA_METHODS_BG[sum(map(ord, e["account_id"])) % 3]


def v4_reach(sys_id, ent):
    seen, stack = {ent}, [ent]
    while stack:
        x = stack.pop()
        for (r, m) in ROLE_EDGES.get(sys_id, []):
            if r == x and m not in seen:
                seen.add(m)
                stack.append(m)
    return seen


def v4_effective(g):
    a = ACC[(g["system_id"], g["account_id"])]
    return g["granted_at"] < T and (g["revoked_at"] is None or g["revoked_at"] >= T) and a["status"] == "active"


def v4_priv_grant(g):
    return any(ENT_INFO[(g["system_id"], e)][4] for e in v4_reach(g["system_id"], g["entitlement_id"]))


def v4_priv_account(acc):
    return any(v4_effective(g) and v4_priv_grant(g) for g in grants
               if (g["system_id"], g["account_id"]) == (acc["system_id"], acc["account_id"]))


def v4_holdings(ident):
    """jurisdiction -> whether one of the identity's effective grants there is privileged."""
    out = {}
    for g in grants:
        a = ACC[(g["system_id"], g["account_id"])]
        if a["identity_id"] == ident["identity_id"] and v4_effective(g):
            j = SYS_JUR[g["system_id"]]
            out[j] = out.get(j, False) or v4_priv_grant(g)
    return out


# WEAK_MFA_PRIVILEGED (not on pay-hk, whose background draws one random number per event)
hk_weak = IAM_ADMINS[-1]
a = acc_of(hk_weak, "iam-global")
assert v4_priv_account(a)
for when, method in [("2026-11-18T02:30:00Z", "sms"), ("2026-11-19T03:10:00Z", "email")]:
    ev(when, "iam-global", hk_weak["_user"], "login", mfa=True)["mfa_method"] = method
expect("WEAK_MFA_PRIVILEGED", "high", "HK", "IAM administrator signed in to iam-global with an SMS code and an "
       "e-mailed code; HK allows only fido2, platform, push, smartcard and totp for privileged access", **akeys(a))
ev("2026-11-06T02:00:00Z", "bene-hk", sa_hk[0]["_user"], "login", mfa=True)["mfa_method"] = "sms"
assert not v4_priv_account(acc_of(sa_hk[0], "bene-hk"))
near("Support agent's bene-hk login with an SMS code", "the account has no privileged access")
assert v4_priv_account(acc_of(us_sup[0], "pay-us"))
ev("2026-11-17T15:00:00Z", "pay-us", us_sup[0]["_user"], "login", mfa=True)["mfa_method"] = "voice"
near("Privileged pay-us login with a voice call", "US lists voice among the allowed methods")
assert v4_priv_account(acc_of(so[0], "settle-sg"))
ev("2026-11-17T01:00:00Z", "settle-sg", so[0]["_user"], "login", mfa=True)["mfa_method"] = "sms"
near("Privileged settle-sg login with an SMS code", "SG lists no allowed methods (the default []: every method allowed)")

# LOG_FEED_GAP: an outage is the removal of every background event of the system in an interval
# (done just before writing, so that the random draws of the background stay as they were), with
# the events at its edges placed exactly.
V4_OUTAGES = []


def v4_outage(sys_id, lo, hi, edges):
    lo, hi = U(lo), U(hi)
    assert not any(e["system_id"] == sys_id and lo <= e["ts"] <= hi for e in EVENTS_PLANTED), sys_id
    V4_OUTAGES.append((sys_id, lo, hi))
    svc = [x for x in accounts if x["system_id"] == sys_id and x.get("_daily")][0]
    for when in edges:
        ev(when, sys_id, svc["account_id"], svc["_daily"], target="FEED-CHECK")


v4_outage("bene-hk", "2026-11-02T00:00:00Z", "2026-11-05T00:00:00Z",
          ["2026-11-02T03:00:00Z", "2026-11-04T03:00:00.000001Z"])
expect("LOG_FEED_GAP", "high", "HK", "bene-hk logged nothing from 2026-11-02T03:00Z to 2026-11-04T03:00:00.000001Z: "
       "48 h and 1 microsecond, more than max_silence_hours", system_id="bene-hk",
       target_id="2026-11-02T03:00:00.000000Z")
v4_outage("merchant-uk", "2026-10-14T00:00:00Z", "2026-10-16T06:00:00Z",
          ["2026-10-14T01:00:00Z", "2026-10-16T01:00:00Z"])
near("merchant-uk logged nothing from 2026-10-14T01:00Z to 2026-10-16T01:00Z", "exactly 48 h: not more than "
     "max_silence_hours")
v4_outage("risk-us", "2026-08-10T00:00:00Z", "2026-08-14T00:00:00Z", [])
near("risk-us logged nothing from 2026-08-09 to 2026-08-14", "the gap starts before log_review_days (90) before T")

# TRAINING_OVERDUE: everyone completed SEC-AWARE within the last year, except the planted cases.
TRAINING = []
for i in identities:
    n = int(i["identity_id"][1:])
    TRAINING.append(dict(identity_id=i["identity_id"], course="SEC-AWARE",
                         completed_at=T - timedelta(days=20 + (n * 37) % 300, hours=n % 9 + 1)))


def v4_trained(ident, course, *whens):
    global TRAINING
    TRAINING = [r for r in TRAINING if r["identity_id"] != ident["identity_id"]]
    TRAINING.extend(dict(identity_id=ident["identity_id"], course=c, completed_at=U(w)) for c, w in
                    zip([course] * len(whens) if isinstance(course, str) else course, whens))


def v4_overdue(ident, why):
    for j, priv in sorted(v4_holdings(ident).items()):
        expect("TRAINING_OVERDUE", "high" if priv else "medium", j, why, identity_id=ident["identity_id"])


late, exact = hk_sup[-1], hk_sup[-2]
v4_trained(late, "SEC-AWARE", "2025-11-24T23:59:59.999999Z")
v4_overdue(late, "Last security training 2025-11-24T23:59:59.999999Z: 365 days and 1 microsecond before T")
v4_trained(exact, "SEC-AWARE", "2025-11-25T08:00:00+08:00")
near("Supervisor trained at 2025-11-25T00:00:00Z", "exactly 365 days before T: not older")
never = sa_hk[-1]
v4_trained(never, "SEC-AWARE")
v4_overdue(never, "No security training on record")
de_ta = ta[0]
v4_trained(de_ta, ["SEC-AWARE", "PHISHING-101"], "2025-06-02T09:00:00+02:00", "2026-10-05T09:00:00+02:00")
assert set(v4_holdings(de_ta)) == {"EU", "HK"}, v4_holdings(de_ta)
expect("TRAINING_OVERDUE", "high" if v4_holdings(de_ta)["EU"] else "medium", "EU", "Only PHISHING-101 in the "
       "last year, which EU does not list; its SEC-AWARE dates from 2025-06-02", identity_id=de_ta["identity_id"])
near("The same treasury analyst in HK", "HK lists no courses (the default []): PHISHING-101 counts")
TRAINING.append(dict(identity_id="E9999", course="SEC-AWARE", completed_at=U("2026-01-05T00:00:00Z")))
near("Training record of E9999", "no such identity: loaded, matches nobody")
# --- end v4 rules ----------------------------------------------------------------------------------

# targets: payouts flow maker -> checker; other actions get plausible object ids
events.sort(key=lambda e: (e["ts"], e["system_id"], e["account_id"], e["action"]))
pool = {}
counter = {}
for e in events:
    if not (e["target_id"] or "").startswith("__auto__:"):
        continue
    perm = e["target_id"].split(":", 1)[1]
    sys_id = e["system_id"]
    prefix = TARGET_PREFIX[perm.split(".")[0]]
    counter[(sys_id, prefix)] = counter.get((sys_id, prefix), 0) + 1
    n = counter[(sys_id, prefix)]
    code = SYS_CODE.get(sys_id, sys_id.split("-")[-1].upper())
    if perm == "payout.create":
        tid = f"PO-{code}-{n:06d}"
        pool.setdefault(sys_id, []).append((tid, e.get("_ident")))
    elif perm in ("payout.release", "payout.cancel"):
        cands = [p for p in pool.get(sys_id, []) if p[1] != e.get("_ident")]
        if cands:
            tid = cands[0][0]
            pool[sys_id].remove(cands[0])
        else:
            tid = f"PO-{code}-EXT{n:05d}"
    elif perm in ("payout.view",):
        tid = f"PO-{code}-{rng.randint(1, max(1, counter.get((sys_id, 'PO'), 1))):06d}" if rng.random() < 0.7 else None
    elif perm in ("access.request",):
        tid = f"REQ-{rng.randint(100000, 999999)}"
    elif perm in ("user.view", "user.admin", "role.assign", "access.approve"):
        tid = f"USR-{rng.choice(identities)['identity_id']}" if perm != "access.approve" else f"REQ-{rng.randint(100000, 999999)}"
    elif perm == "settlement.run" or perm == "settlement.view" or perm == "settlement.reconcile":
        tid = f"STL-{e['ts'].astimezone(TZ['SG']).strftime('%Y%m%d')}"
    else:
        tid = f"{prefix}-{rng.randint(1000, 99999)}"
    e["target_id"] = tid

for e in EVENTS_PLANTED:
    events.append(e)

# ----------------------------------------------------------------------------- ids, sequence numbers, hashes
events.sort(key=lambda e: (e["ts"], e["system_id"], e["account_id"], e["action"], e["outcome"], e["target_id"] or ""))
for n, e in enumerate(events, 1):
    e["event_id"] = f"EV{n:07d}"
    e.setdefault("_fmt", None)
    if e["_fmt"] is None:
        share = EVENT_TZ_STYLE.get(e["system_id"], 0)
        e["_fmt"] = "local" if rng.random() < share else "Z"
    if e["system_id"] == "pay-hk" and rng.random() < 0.03 and not e.get("_planted"):
        e["ts"] = e["ts"] + timedelta(microseconds=rng.choice([250000, 500000, 125000]))  # fractional seconds


def micros(dt):
    return (dt - EPOCH) // timedelta(microseconds=1)


def rec_hash(e):
    payload = (e["prev_hash"] or "") + "\n" + "|".join([e["event_id"], e["system_id"], str(e["seq"]), e["account_id"],
                                                          e["action"], e["outcome"], e["target_id"] or "",
                                                          str(micros(e["ts"]))])
    return hashlib.sha256(payload.encode()).hexdigest()


SEQ_START = {"pay-hk": 1, "settle-sg": 1, "iam-global": 500001}
chains = {}
for sys_id in SEQUENCED:
    chain = [e for e in events if e["system_id"] == sys_id]
    prev = hashlib.sha256(b"iam-global log rotated 2026-07-27").hexdigest() if sys_id == "iam-global" else None
    for k, e in enumerate(chain):
        e["seq"] = SEQ_START[sys_id] + k
        e["prev_hash"] = prev
        e["hash"] = rec_hash(e)
        prev = e["hash"]
    chains[sys_id] = chain
near("iam-global's lowest loaded seq (500001) has a prev_hash pointing into a rotated log",
     "the link is not checked for the lowest loaded seq")


def svc_event(sys_id, month_day):
    """First daily service-account event of a system on a given date (UTC)."""
    return [e for e in chains[sys_id] if e["account_id"].startswith("svc-") and e["ts"].date() == month_day][0]


# pay-hk: a gap of one, an altered record, an event at T with a bogus hash
e_gap = svc_event("pay-hk", date(2026, 9, 8))
events.remove(e_gap)
expect("LOG_SEQUENCE_GAP", "critical", "HK", "pay-hk record deleted: gap of exactly one seq", system_id="pay-hk",
       seq=e_gap["seq"])
near("The pay-hk record after the deleted one keeps the deleted record's hash as prev_hash",
     "links are not checked across a gap")
e_alt = svc_event("pay-hk", date(2026, 10, 14))
e_alt["target_id"] = "PO-HK-999999"
expect("LOG_HASH_MISMATCH", "critical", "HK", "pay-hk record altered after hashing (target_id changed); its "
       "successor still links correctly", system_id="pay-hk", seq=e_alt["seq"])
last_hk = chains["pay-hk"][-1]
e_t = dict(ts=T, system_id="pay-hk", account_id="svc-payout-sync", action="payout.view", outcome="success",
           target_id=None, mfa=None, src_ip="10.20.0.9", src_country=None, event_id="EV9000001", _fmt="Z",
           seq=last_hk["seq"] + 5, prev_hash="0" * 64, hash="f" * 64)
events.append(e_t)
near("pay-hk event at exactly T with seq max+5 and a bogus hash", "log rules use only events with ts < T")

# settle-sg: a gap of five, a forged record whose hash was recomputed (successor's link breaks)
e0 = svc_event("settle-sg", date(2026, 8, 10))
run = [e for e in chains["settle-sg"] if e0["seq"] <= e["seq"] < e0["seq"] + 5]
for e in run:
    events.remove(e)
expect("LOG_SEQUENCE_GAP", "critical", "SG", "settle-sg: five consecutive records deleted, one finding keyed by "
       "the first missing seq", system_id="settle-sg", seq=e0["seq"])
e_f = svc_event("settle-sg", date(2026, 9, 22))
e_f["target_id"] = "STL-20260921-REDO"
e_f["hash"] = rec_hash(e_f)
succ = [e for e in chains["settle-sg"] if e["seq"] == e_f["seq"] + 1][0]
expect("LOG_HASH_MISMATCH", "critical", "SG", "settle-sg record forged with a recomputed hash: the successor's "
       "prev_hash no longer matches", system_id="settle-sg", seq=succ["seq"])

# iam-global: an upper-case hash (fine) and a replayed/forged duplicate seq
e_up = svc_event("iam-global", date(2026, 10, 5))
e_up["hash"] = e_up["hash"].upper()
near("iam-global record stored with an upper-case hash", "hashes compare case-insensitively")
e_d = svc_event("iam-global", date(2026, 11, 2))
dup = dict(e_d)
dup["event_id"] = "EV9000002"
dup["target_id"] = "USR-E1000"
dup["ts"] = e_d["ts"] + timedelta(seconds=7)
dup["hash"] = rec_hash(dup)
events.append(dup)
expect("LOG_HASH_MISMATCH", "critical", "HK", "iam-global: two records carry the same seq (a forged insert with "
       "its own valid hash): one finding for that seq; the successor is not link-checked", system_id="iam-global",
       seq=e_d["seq"])

# ----------------------------------------------------------------------------- writing
INPUT = HERE / "input"
POLICY = HERE / "policy"
INPUT.mkdir(exist_ok=True)
POLICY.mkdir(exist_ok=True)


def fmt_ts(dt, style="Z", sys_id=None):
    if dt is None:
        return ""
    if isinstance(style, str) and style == "keep":
        style = "local"
    if style == "local" and sys_id is not None:
        return dt.astimezone(TZ[SYS_JUR[sys_id]]).isoformat()
    s = dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S")
    if dt.microsecond:
        s += f".{dt.microsecond:06d}"
    return s + "Z"


def fmt_local(dt, jur):
    return dt.astimezone(TZ[jur]).isoformat()


# --- WAIVERS (CONTRACT section 8) ---------------------------------------------------------------
# One waiver of each kind. A valid waiver turns its planted findings' status to "waived";
# the others leave them open (the report lists them under "Not valid, and why").
WAIVERS = []


def waiver(wid, rule, approved_by, approved_at, expires_at, reason, ticket=None, waives=True, **scope):
    WAIVERS.append(dict(waiver_id=wid, rule=rule, approved_by=approved_by["identity_id"],
                        approved_at=U(approved_at), expires_at=U(expires_at), reason=reason, ticket=ticket,
                        **scope))
    if not waives:
        return
    hits = 0
    for k, (r, sev, status, jur, keys, why) in enumerate(PLANTED):
        if r == rule and status == "open" and all(keys.get(c) == v for c, v in scope.items()):
            PLANTED[k] = (r, sev, "waived", jur, keys, f"{why}; waived by {wid}")
            hits += 1
    assert hits, f"waiver {wid} waives no planted finding"


a = acc_of(E2001, "ledger-uk")
waiver("WVR-001", "TERMINATED_ACCESS", heads["finance"], "2026-11-16T09:00:00Z", "2026-12-15T18:00:00Z",
       "Leaver's ledger-uk account kept until the November close is signed off; no posting allowed",
       ticket="CHG-4471", system_id=a["system_id"], account_id=a["account_id"])
a = acc_of(co_hk[0], "bene-hk")
waiver("WVR-002", "DORMANT_ACCOUNT", heads["compliance"], "2026-05-01T02:00:00Z", "2026-10-31T15:59:59Z",
       "Seasonal screening account, accepted until the end of October", ticket="RISK-2026-031",
       waives=False, system_id=a["system_id"], account_id=a["account_id"])
near("WVR-002 on the dormant bene-hk account expired 2026-10-31", "an expired waiver waives nothing")
waiver("WVR-003", "DORMANT_ACCOUNT", de_sup[1], "2026-10-01T08:00:00Z", "2027-03-31T22:00:00Z",
       "Approved by the account holder herself", waives=False, identity_id=de_sup[1]["identity_id"])
near("WVR-003 on the dormant pay-eu supervisor account is approved by its holder", "a self-approved waiver is not valid")
a = ACC[("merchant-uk", "temp.ops")]
waiver("WVR-004", "ORPHAN_ACCOUNT", BG_TERMINATED[1], "2026-05-04T09:00:00Z", "2027-05-01T09:00:00Z",
       "Temporary operations account for the merchant migration", ticket="CHG-3902", waives=False,
       system_id=a["system_id"], account_id=a["account_id"])
near("WVR-004 on the orphan merchant-uk account was approved by a support agent who left in June",
     "the approver is not active at T, so the waiver is not valid")
waiver("WVR-005", "PEER_OUTLIER", CISO, "2026-10-01T01:00:00Z", "2027-03-31T15:59:59Z",
       "Peer groups are re-cut in the Q1 2027 role redesign; outliers accepted until then", ticket="RISK-2026-114")
waiver("WVR-006", "SOD_CONFLICT", head_pay, "2026-11-02T01:00:00Z", "2027-02-28T15:59:59Z",
       "Ops lead covers releases during the HK hiring freeze", ticket="RISK-2026-120", waives=False,
       sod_rule_id="SOD-001", identity_id=hk_lead["identity_id"])
near("WVR-006 covers the ops lead's SoD conflict, which EXC-001 already mitigates",
     "a valid SoD exception takes precedence: the status stays mitigated")


def b(v):
    return "" if v is None else ("true" if v else "false")


def write(name, header, rows):
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(header)
    for r in rows:
        w.writerow(["" if v is None else v for v in r])
    (INPUT / f"{name}.csv").write_text(buf.getvalue(), encoding="utf-8")


OWNERS = {"pay-hk": head_pay, "bene-hk": head_pay, "iam-global": CISO, "pay-sg": sg_lead, "settle-sg": heads["finance"],
          "bene-sg": sg_lead, "treasury-eu": heads["treasury"], "pay-eu": head_pay, "merchant-uk": heads["support"],
          "ledger-uk": heads["finance"], "risk-us": heads["risk"], "pay-us": head_pay, "reports-us": heads["compliance"]}
write("systems", ["system_id", "name", "jurisdiction", "legal_entity", "owner_id"],
      [(s, n, j, le, OWNERS[s]["identity_id"]) for (s, n, j, le, _) in SYSTEMS])
write("identities", ["identity_id", "display_name", "email", "department", "job_function", "manager_id", "status",
                     "terminated_at"],
      [(i["identity_id"], i["display_name"], i["email"], i["department"], i["job_function"], i["manager_id"],
        i["status"], fmt_local(i["terminated_at"], {"HK": "HK", "SG": "SG", "DE": "EU", "GB": "UK", "US": "US"}[i["_loc"]])
        if i["terminated_at"] and i["identity_id"].startswith("E2") else fmt_ts(i["terminated_at"]))
       for i in sorted(identities, key=lambda i: i["identity_id"])])
write("accounts", ["system_id", "account_id", "identity_id", "account_type", "status", "created_at"],
      [(a["system_id"], a["account_id"], a["identity_id"],
        "" if a["account_type"] == "human" and rng.random() < 0.1 else a["account_type"],  # empty = human
        a["status"], "" if a["account_type"] == "service" and rng.random() < 0.5 else fmt_ts(a["created_at"]))
       for a in sorted(accounts, key=lambda a: (a["system_id"], a["account_id"]))])
ent_rows = []
ENT_OWNER = {s: OWNERS[s]["identity_id"] for s in OWNERS}
for s, es in ENTITLEMENTS.items():
    for (eid, kind, name, risk, priv) in es:
        ent_rows.append((s, eid, kind, name, risk, "true" if priv else ("false" if kind == P else None), ENT_OWNER[s]))
write("entitlements", ["system_id", "entitlement_id", "kind", "name", "risk", "privileged", "owner_id"], ent_rows)
write("role_permissions", ["system_id", "role_id", "member_id"],
      [(s, r, m) for s, edges in ROLE_EDGES.items() for (r, m) in edges])
ap_rows = []
for s, es in ENTITLEMENTS.items():
    for (eid, kind, *_rest) in es:
        if kind == P:
            ap_rows.append((s, eid, eid))
            for alias in ALIASES.get(eid, []):
                ap_rows.append((s, alias, eid))
write("action_permissions", ["system_id", "action", "permission_id"], ap_rows)
write("grants", ["grant_id", "system_id", "account_id", "entitlement_id", "granted_at", "granted_by", "approved_by",
                 "expires_at", "revoked_at", "ticket"],
      [(g["grant_id"], g["system_id"], g["account_id"], g["entitlement_id"], fmt_ts(g["granted_at"]), g["granted_by"],
        g["approved_by"],
        fmt_local(g["expires_at"], SYS_JUR[g["system_id"]]) if g["expires_at"] and g["expires_at"] == T else fmt_ts(g["expires_at"]),
        fmt_local(g["revoked_at"], SYS_JUR[g["system_id"]]) if g["revoked_at"] == T else fmt_ts(g["revoked_at"]),
        g["ticket"]) for g in grants])
events = [e for e in events if e.get("_planted") or not any(  # v4: the feed outages
    e["system_id"] == sys_id and lo <= e["ts"] <= hi for (sys_id, lo, hi) in V4_OUTAGES)]
events.sort(key=lambda e: e["event_id"])
write("audit_events", ["event_id", "ts", "system_id", "account_id", "action", "outcome", "target_id", "mfa", "src_ip",
                       "src_country", "seq", "prev_hash", "hash", "mfa_method"],
      [(e["event_id"], fmt_ts(e["ts"], e["_fmt"], e["system_id"]), e["system_id"], e["account_id"], e["action"],
        e["outcome"], e["target_id"], b(e["mfa"]), e["src_ip"], e["src_country"], e.get("seq"), e.get("prev_hash"),
        e.get("hash"), e.get("mfa_method")) for e in events])
# v4: security training completions
write("training", ["identity_id", "course", "completed_at"],
      [(r["identity_id"], r["course"], fmt_ts(r["completed_at"]))
       for r in sorted(TRAINING, key=lambda r: (r["identity_id"], r["completed_at"]))])
write("exceptions", ["exception_id", "sod_rule_id", "identity_id", "approved_by", "approved_at", "expires_at", "control"],
      [(x["exception_id"], x["sod_rule_id"], x["identity_id"], x["approved_by"], fmt_ts(x["approved_at"]),
        fmt_local(x["expires_at"], "SG") if x["exception_id"] == "EXC-002" else fmt_ts(x["expires_at"]), x["control"])
       for x in sorted(EXCEPTIONS, key=lambda x: x["exception_id"])])
write("waivers", ["waiver_id", "rule", "identity_id", "system_id", "account_id", "grant_id", "entitlement_id",
                  "sod_rule_id", "target_id", "approved_by", "approved_at", "expires_at", "reason", "ticket"],
      [(w["waiver_id"], w["rule"], w.get("identity_id"), w.get("system_id"), w.get("account_id"), w.get("grant_id"),
        w.get("entitlement_id"), w.get("sod_rule_id"), w.get("target_id"), w["approved_by"], fmt_ts(w["approved_at"]),
        fmt_ts(w["expires_at"]), w["reason"], w["ticket"]) for w in WAIVERS])
write_jurisdictions(POLICY / "jurisdictions.toml")
(POLICY / "sod_rules.toml").write_text(SOD_RULES_TOML, encoding="utf-8")
write_grading(POLICY / "grading.toml")

# ----------------------------------------------------------------------------- expected findings
found = reference_rules.evaluate(INPUT, POLICY, AS_OF, 30)
planted_rows = []
for (rule, sev, status, jur, keys, why) in PLANTED:
    row = {c: "" for c in reference_rules.COLUMNS}
    row.update(rule=rule, severity=sev, status=status, jurisdiction=jur)
    for k, v in keys.items():
        row[k] = "" if v is None else str(v)
    planted_rows.append(row)
as_set = lambda rows: {tuple(r[c] for c in reference_rules.COLUMNS) for r in rows}  # noqa: E731
extra, missing = as_set(found) - as_set(planted_rows), as_set(planted_rows) - as_set(found)
if extra or missing:
    for x in sorted(extra):
        print("UNPLANTED finding from reference:", x, file=sys.stderr)
    for x in sorted(missing):
        print("PLANTED but not found by reference:", x, file=sys.stderr)
    sys.exit(1)
with open(HERE / "expected_findings.csv", "w", newline="", encoding="utf-8") as f:
    reference_rules.write_csv(found, f)

# ----------------------------------------------------------------------------- README
counts = {}
for r in found:
    counts[r["rule"]] = counts.get(r["rule"], 0) + 1


def md(s):
    return str(s).replace("|", "\\|")


def keystr(keys):
    return ", ".join(f"{k}={v}" for k, v in keys.items() if v not in (None, ""))


tables = {"identities": len(identities), "accounts": len(accounts), "grants": len(grants), "events": len(events),
          "exceptions": len(EXCEPTIONS), "entitlements": len(ent_rows)}
readme = [
    "# permaudit sample data set",
    "",
    "Generated by `python3 data/sample/generate_sample.py` (deterministic, stdlib only, seed "
    f"{SEED}); do not edit the generated files by hand.",
    "",
    "## The story",
    "",
    "PayFront is a cross-border payment platform with licensed entities in Hong Kong (group HQ and IAM), "
    "Singapore, Germany (EU), the UK and New York, and a Mainland China policy prepared ahead of a licence "
    "(no systems yet, so the CN report must say it has no systems). Payments operators create payouts "
    "(makers), supervisors release them (checkers), support agents look up beneficiaries and merchants, "
    "treasury trades FX, finance runs settlement and the ledger, engineers and SREs run the risk engine, and "
    "a small IT-security team administers identities in `iam-global`. Every employee has an `iam-global` "
    "self-service account; service accounts (`svc-*`, owned by SREs) run a daily job on every system, which "
    "keeps every log feed alive; break-glass accounts exist on pay-hk, treasury-eu and pay-us (disabled).",
    "",
    f"* as_of = **{AS_OF}**, evaluation instant T = **{T.isoformat().replace('+00:00', 'Z')}**, "
    "activity_lookback_days = 30, so the activity window is [2026-10-26T00:00:00Z, T).",
    f"* Event history: 120 days ({START.date()} .. {AS_OF}), {len(events)} events; {len(identities)} identities, "
    f"{len(accounts)} accounts, {len(grants)} grants, {len(ent_rows)} entitlements, {len(EXCEPTIONS)} SoD "
    f"exceptions, {len(WAIVERS)} waivers (one of each kind: valid, expired, self-approved, approver gone, blanket, "
    "and one behind an SoD exception). No row is meant to be quarantined (`rows_quarantined = 0` for every table).",
    "* pay-hk, settle-sg and iam-global number their logs (`seq`, `prev_hash`, `hash` per the LOG_HASH_MISMATCH "
    "formula); iam-global's log starts at seq 500001 after a rotation.",
    "* Timestamps are mostly `Z`; a share of pay-hk (`+08:00`) and treasury-eu (`+01:00`/`+02:00`) events, the "
    "planted events with local times, some terminations, expiries and revocations are written with offsets; a "
    "few pay-hk events carry fractional seconds. Display names like `Chan, Wei` and exception controls "
    "containing quotes exercise RFC 4180 quoting.",
    "* Policy: SG disables OFF_HOURS_PRIVILEGED_ACTION (settlement runs overnight) and allows logins only from "
    "SG, HK and MY; US uses travel_hours = 3; everything else uses the contract defaults.",
    "* Contract v4 (separate blocks of the generator): `training.csv` records everyone's SEC-AWARE course within "
    "the last year, except the planted cases; every background sign-in with MFA names its factor (`mfa_method` "
    "push, totp or fido2); HK allows only fido2, platform, push, smartcard and totp for privileged sign-ins, the "
    "US also voice, EU counts only SEC-AWARE and DORA-ICT-RISK as training; three feeds have outages (bene-hk, "
    "merchant-uk, risk-us), one of them a gap.",
    "",
    "Background data is clean by construction: every human or shared account of an employed identity logs in "
    "with MFA from its home country during local business hours every few business days and exercises its "
    "granted permissions; all grants are approved by the line manager (birthright `role.requester` grants "
    "are not privileged and carry no approval) and granted by an IAM admin other than the grantee; no expiry "
    "is in the past; peer groups with at least 10 members hold uniform permissions; leavers' accounts are "
    "disabled. `generate_sample.py` fails if the reference implementation (`reference_rules.py`) finds "
    "anything other than the planted list below.",
    "",
    "## Planted findings",
    "",
    f"`expected_findings.csv` holds all {len(found)} findings (columns rule, severity, status, jurisdiction, "
    "identity_id, system_id, account_id, grant_id, entitlement_id, sod_rule_id, target_id, seq; sorted by rule, "
    "jurisdiction, then identity_id, system_id, account_id, grant_id, entitlement_id, sod_rule_id, target_id, "
    "seq numerically).",
    "",
    "| rule | count |",
    "|---|---|",
] + [f"| {r} | {counts.get(r, 0)} |" for r in [f.__name__.upper() for f in reference_rules.RULES]] + [
    "",
    "| rule | severity / status | jurisdiction | key | why it fires |",
    "|---|---|---|---|---|",
] + [f"| {rule} | {sev} / {status} | {jur} | {md(keystr(keys))} | {md(why)} |"
     for (rule, sev, status, jur, keys, why) in sorted(PLANTED, key=lambda p: (p[0], p[3]))] + [
    "",
    "## Near-misses (must NOT produce a finding)",
    "",
    "| case | why there is no finding |",
    "|---|---|",
] + [f"| {md(w)} | {md(y)} |" for (w, y) in NEAR] + [
    "",
    "## Readings of the contract taken here",
    "",
    "* SOD_TRANSACTION: \"one finding per jurisdiction of those events\" is read as the jurisdictions of the "
    "identity's events on that target that match any function of the rule.",
    "* FAILED_LOGIN_BURST: a failure belongs to a burst if it is one of `failed_login_threshold` consecutive "
    "failures whose first and last are less than the window apart; the success that makes it critical may be "
    "on any later instant before T.",
    "* SOD_CONFLICT counts the holdings of every identity, terminated or not (the contract does not exclude "
    "leavers); the sample has no leaver with a conflict, so both readings give the same answer.",
    "* STALE_GRANT's `ts >= granted_at` condition is implied by the other two for every grant old enough to be "
    "judged, so no data can show it; it is listed as a near-miss for completeness.",
    "* PRIVILEGED_NO_MFA: an empty `mfa` on a successful login is \"not true\" and fires (planted on treasury-eu).",
    "* PEER_OUTLIER boundaries are chosen so that `holders <= max_share x size` is exact in binary floating "
    "point (0.10 x 20 = 2.0, 0.10 x 10 = 1.0).",
    "* The transaction rule SOD-004 carries `scope = \"global\"` only because `scope` is a known key; the "
    "contract says it is ignored for transaction rules.",
    "* `expected_findings.csv` sorts seq numerically.",
    "",
]
(HERE / "README.md").write_text("\n".join(readme), encoding="utf-8")
print(f"wrote {len(events)} events, {len(found)} expected findings", file=sys.stderr)
