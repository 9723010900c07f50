#!/usr/bin/env python3
"""Generated exports for the source import benchmark (bench/sources.sh).

    gen_sources.py cloudtrail DIR N   # N CloudTrail records, S3 layout, 10,000 per .json.gz
    gen_sources.py okta DIR N         # N Okta System Log events, /api/v1/logs pages of 10,000

Deterministic (seeded), shaped like the real exports: CloudTrail's {"Records":[...]} in
gzip with ConsoleLogin, IAM and S3 calls by IAM users and assumed roles; Okta's JSON array
pages with sign-ins, MFA verifications and failures.
"""
import gzip
import json
import os
import random
import sys
import uuid
from datetime import datetime, timedelta, timezone

START = datetime(2026, 11, 1, tzinfo=timezone.utc)
PER_FILE = 10_000


def ts(rng, fmt):
    t = START + timedelta(seconds=rng.randrange(28 * 86400), microseconds=rng.randrange(1000) * 1000)
    return t.strftime(fmt)


def cloudtrail_record(rng, i):
    user = f"user{rng.randrange(20000):05d}"
    account = "111122223333"
    kind = rng.random()
    base = {
        "eventVersion": "1.08",
        "eventTime": ts(rng, "%Y-%m-%dT%H:%M:%SZ"),
        "awsRegion": "ap-east-1",
        "sourceIPAddress": f"203.0.{rng.randrange(256)}.{rng.randrange(256)}",
        "userAgent": "aws-cli/2.15.0 Python/3.11.6 Linux/6.1 exe/x86_64",
        "requestID": str(uuid.UUID(int=rng.getrandbits(128))),
        "eventID": str(uuid.UUID(int=rng.getrandbits(128))),
        "readOnly": False,
        "eventType": "AwsApiCall",
        "managementEvent": True,
        "recipientAccountId": account,
        "eventCategory": "Management",
    }
    iam_user = {
        "type": "IAMUser",
        "principalId": f"AIDA{i:016d}",
        "arn": f"arn:aws:iam::{account}:user/{user}",
        "accountId": account,
        "userName": user,
    }
    if kind < 0.2:
        base.update({
            "eventSource": "signin.amazonaws.com",
            "eventName": "ConsoleLogin",
            "eventType": "AwsConsoleSignIn",
            "userIdentity": iam_user,
            "requestParameters": None,
            "responseElements": {"ConsoleLogin": "Success" if rng.random() < 0.9 else "Failure"},
            "additionalEventData": {
                "LoginTo": "https://console.aws.amazon.com/console/home",
                "MobileVersion": "No",
                "MFAUsed": "Yes" if rng.random() < 0.8 else "No",
            },
        })
    elif kind < 0.5:
        target = f"user{rng.randrange(20000):05d}"
        base.update({
            "eventSource": "iam.amazonaws.com",
            "eventName": rng.choice(["AttachUserPolicy", "CreateUser", "AddUserToGroup"]),
            "userIdentity": dict(iam_user, sessionContext={
                "attributes": {"creationDate": base["eventTime"], "mfaAuthenticated": "true"}}),
            "requestParameters": {"userName": target,
                                  "policyArn": "arn:aws:iam::aws:policy/ReadOnlyAccess"},
            "responseElements": None,
        })
        if rng.random() < 0.05:
            base["errorCode"] = "AccessDenied"
            base["errorMessage"] = "User is not authorized to perform this action"
    else:
        base.update({
            "eventSource": "s3.amazonaws.com",
            "eventName": "GetObject",
            "readOnly": True,
            "userIdentity": {
                "type": "AssumedRole",
                "principalId": f"AROA{i:016d}:session-{user}",
                "arn": f"arn:aws:sts::{account}:assumed-role/Payouts/session-{user}",
                "accountId": account,
                "sessionContext": {
                    "sessionIssuer": {"type": "Role", "principalId": f"AROA{i:016d}",
                                      "arn": f"arn:aws:iam::{account}:role/Payouts",
                                      "accountId": account, "userName": "Payouts"},
                    "attributes": {"creationDate": base["eventTime"], "mfaAuthenticated": "false"},
                },
            },
            "requestParameters": {"bucketName": "payout-files", "key": f"batch/{i}.csv"},
            "responseElements": None,
            "resources": [{"type": "AWS::S3::Object", "ARN": f"arn:aws:s3:::payout-files/batch/{i}.csv"}],
        })
    return base


def okta_event(rng, i):
    user = f"user{rng.randrange(20000):05d}@example-pay.com"
    session = f"102{rng.randrange(10**9):09d}"
    r = rng.random()
    if r < 0.4:
        event_type, display = "user.session.start", "User login to Okta"
    elif r < 0.6:
        event_type, display = "user.authentication.auth_via_mfa", "Authentication of user via MFA"
    elif r < 0.7:
        event_type, display = "user.authentication.verify", "Verify user identity"
    else:
        event_type, display = "application.user_membership.add", "Add user to application membership"
    result = "SUCCESS" if rng.random() < 0.9 else "FAILURE"
    return {
        "actor": {"id": f"00u{i:017d}", "type": "User", "alternateId": user,
                  "displayName": user.split("@")[0], "detailEntry": None},
        "client": {
            "userAgent": {"rawUserAgent": "Mozilla/5.0 (Windows NT 10.0; Win64; x64)",
                          "os": "Windows 10", "browser": "CHROME"},
            "zone": "null",
            "device": "Computer",
            "id": None,
            "ipAddress": f"198.51.{rng.randrange(256)}.{rng.randrange(256)}",
            "geographicalContext": {"city": "Hong Kong", "state": None,
                                    "country": rng.choice(["Hong Kong", "Singapore", "United Kingdom"]),
                                    "postalCode": None,
                                    "geolocation": {"lat": 22.28, "lon": 114.15}},
        },
        "authenticationContext": {"authenticationProvider": None, "credentialProvider": None,
                                  "credentialType": None, "issuer": None, "interface": None,
                                  "authenticationStep": 0, "externalSessionId": session},
        "displayMessage": display,
        "eventType": event_type,
        "outcome": {"result": result, "reason": None if result == "SUCCESS" else "INVALID_CREDENTIALS"},
        "published": ts(rng, "%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z",
        "securityContext": {"asNumber": None, "asOrg": None, "isp": None, "domain": None, "isProxy": None},
        "severity": "INFO",
        "debugContext": {"debugData": {"requestId": f"Y{i:020d}", "requestUri": "/api/v1/authn",
                                       "url": "/api/v1/authn?"}},
        "legacyEventType": "core.user_auth.login_success",
        "transaction": {"type": "WEB", "id": f"Y{i:020d}", "detail": {}},
        "uuid": str(uuid.UUID(int=rng.getrandbits(128))),
        "version": "0",
        "request": {"ipChain": []},
        "target": [{"id": f"0oa{i:017d}", "type": "AppInstance", "alternateId": "Payout Console",
                    "displayName": "Payout Console", "detailEntry": None}],
    }


def main():
    kind, out, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
    rng = random.Random(1)
    files = (n + PER_FILE - 1) // PER_FILE
    for f in range(files):
        count = min(PER_FILE, n - f * PER_FILE)
        if kind == "cloudtrail":
            recs = [cloudtrail_record(rng, f * PER_FILE + j) for j in range(count)]
            day = 1 + f % 28
            d = os.path.join(out, "AWSLogs", "111122223333", "CloudTrail", "ap-east-1", "2026", "11", f"{day:02d}")
            os.makedirs(d, exist_ok=True)
            name = f"111122223333_CloudTrail_ap-east-1_202611{day:02d}T{f % 24:02d}00Z_{f:08x}.json.gz"
            with gzip.open(os.path.join(d, name), "wt") as fh:
                json.dump({"Records": recs}, fh, separators=(",", ":"))
        else:
            recs = [okta_event(rng, f * PER_FILE + j) for j in range(count)]
            os.makedirs(out, exist_ok=True)
            with open(os.path.join(out, f"okta-logs-{f:05d}.json"), "w") as fh:
                json.dump(recs, fh, separators=(",", ":"))


if __name__ == "__main__":
    main()
