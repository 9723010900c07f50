//! SCIM 2.0 User and Group resources (CONTRACT section 7).

use super::{Accepts, Emitted, Export, Kind, Reader, SnapshotCx, Table};

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

fn build(_files: &[Export], _cx: &SnapshotCx) -> Vec<Emitted> {
    Vec::new()
}
