//! Plants [`crate::rules::log_feed_gap`]: the SG merchant portal's feed stops for two whole
//! days and comes back, a gap whose edges lie in the day partitions before and after it.

use crate::generate::catalogue::{JUR_SG, K_MERCHANT};
use crate::generate::world::Builder;

pub(super) fn plant(b: &mut Builder) {
    if b.days >= 15 {
        let sys = b.w.sys_index(K_MERCHANT, JUR_SG);
        let from = b.days as i64 - 12;
        b.w.outage = Some((sys, from, from + 2));
    }
}
