//! The AWS IAM credential report (CSV) (CONTRACT section 7).

use super::{Accepts, Emitted, Export, Kind, Reader, SnapshotCx, Table};

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

fn build(_files: &[Export], _cx: &SnapshotCx) -> Vec<Emitted> {
    Vec::new()
}
