//! `aws iam get-account-authorization-details` output (CONTRACT section 7).

use super::{Accepts, Emitted, Export, Kind, Reader, SnapshotCx, Table};

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

fn build(_files: &[Export], _cx: &SnapshotCx) -> Vec<Emitted> {
    Vec::new()
}
