//! Plants [`crate::rules::terminated_access`]: leavers not offboarded, terminated in the
//! activity window with their accounts left active.

use crate::generate::model::Status;
use crate::generate::world::Builder;
use crate::generate::{DAY_US, HOUR_US};

/// Returns the leavers and their termination days.
pub(super) fn plant(b: &mut Builder) -> Vec<(usize, i64)> {
    let mut pool = b.staff();
    let n = 2 * b.n1();
    let mut leavers = Vec::new();
    for i in b.take(&mut pool, n) {
        let td = b.window_day().min(b.days as i64 - 2).max(0);
        let ident = &mut b.w.identities[i];
        ident.status = Status::Terminated;
        ident.terminated_at = Some(b.w.start_us + td * DAY_US + b.rng.range(9, 18) * HOUR_US);
        leavers.push((i, td));
    }
    leavers
}
