//! The AWS IAM credential report (`aws iam generate-credential-report`, then
//! `get-credential-report`, its `Content` decoded: a CSV with one row per IAM user and one
//! for the account's root user) (CONTRACT section 7): each row becomes an account. The
//! fields used and what the report does not tell are in
//! `docs/sources.md` (section aws_iam_credential_report).

use serde_json::Value;

use super::json::text;
use super::{Accepts, Emitted, Export, Item, Kind, Outcome, Reader, Row, SnapshotCx, Table};

pub const KIND: Kind = Kind {
    name: "aws_iam_credential_report",
    tables: &[Table::Accounts],
    accepts: Accepts {
        csv: true,
        parquet: false,
    },
    read: Reader::Snapshot(build),
    version: 1,
};

/// The report's name for the account's root user.
const ROOT: &str = "<root_account>";

pub const NOT_A_ROW: &str = "not a credential report row";

/// A cell, with the report's words for "nothing here" as null (CONTRACT section 7).
fn cell(v: &Value, column: &str) -> Option<String> {
    text(v, column).filter(|s| !matches!(s.as_str(), "N/A" | "no_information" | "not_supported"))
}

fn yes(v: &Value, column: &str) -> bool {
    cell(v, column).is_some_and(|s| s.eq_ignore_ascii_case("true"))
}

/// The account id of `arn:aws:iam::<account>:user/<name>` (or `:root`).
pub fn arn_account(arn: &str) -> Option<&str> {
    let account = arn.split(':').nth(4)?;
    (!account.is_empty()).then_some(account)
}

fn build(files: &[Export], cx: &SnapshotCx) -> Vec<Emitted> {
    let mut out = Vec::new();
    for (file, export) in files.iter().enumerate() {
        for (pos, item) in &export.items {
            let (outcome, raw) = match item {
                Item::Record(v) => (account(v, cx), v.to_string()),
                Item::Bad { raw, reason } => {
                    (Outcome::Bad(KIND.tables[0], reason.clone()), raw.clone())
                }
            };
            out.push(Emitted {
                file,
                pos: *pos,
                outcome,
                raw,
            });
        }
    }
    out
}

fn account(v: &Value, cx: &SnapshotCx) -> Outcome {
    // A JSON record (the API's response envelope, a stray document) has no `arn` column.
    if v.get("user").is_none() && v.get("arn").is_none() {
        return Outcome::Skip(NOT_A_ROW);
    }
    let Some(user) = cell(v, "user") else {
        return Outcome::Bad(Table::Accounts, "row without user".into());
    };
    let arn = cell(v, "arn");
    let system = match cx
        .system
        .resolve(&[("account", arn.as_deref().and_then(arn_account))])
    {
        Ok(s) => s,
        Err(e) => return Outcome::Bad(Table::Accounts, e),
    };
    let root = user == ROOT;
    let active = yes(v, "password_enabled")
        || yes(v, "access_key_1_active")
        || yes(v, "access_key_2_active");
    Outcome::Row(
        Row::new(Table::Accounts)
            .set("system_id", Some(system))
            .set(
                "account_id",
                Some(if root { "root".to_string() } else { user }),
            )
            // The root user is the account's break-glass credential: any use of it is an
            // event worth a finding (the emergency-account rule).
            .set("account_type", root.then(|| "emergency".to_string()))
            .set(
                "status",
                Some(if active { "active" } else { "disabled" }.to_string()),
            )
            .set("created_at", cell(v, "user_creation_time")),
    )
}
