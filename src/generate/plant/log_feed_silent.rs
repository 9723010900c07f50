//! Plants [`crate::rules::log_feed_silent`]: the UK ledger's feed breaks three days before
//! the end.

use crate::generate::catalogue::{JUR_UK, K_LEDGER};
use crate::generate::world::Builder;

pub(super) fn plant(b: &mut Builder) {
    if b.days >= 5 {
        let sys = b.w.sys_index(K_LEDGER, JUR_UK);
        b.w.silent = Some((sys, b.days as i64 - 3));
    }
}
