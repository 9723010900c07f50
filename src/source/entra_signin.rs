//! Microsoft Entra ID sign-in logs (CONTRACT section 7): one audit event per record.

use serde_json::Value;

use super::{Accepts, Cx, Kind, Outcome, Reader, Table};

pub const KIND: Kind = Kind {
    name: "entra_signin",
    tables: &[Table::AuditEvents],
    accepts: Accepts {
        csv: false,
        parquet: false,
    },
    read: Reader::Records { map, prepass: None },
    version: 1,
};

fn map(_record: &Value, _cx: &Cx) -> Outcome {
    Outcome::Skip("not mapped yet")
}
