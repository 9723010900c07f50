//! Plants [`crate::rules::impossible_travel`]: a home login, then one abroad 40 minutes
//! later (on a system outside Singapore, whose country list would add a second finding).

use crate::generate::catalogue::JUR_SG;
use crate::generate::world::Builder;
use crate::generate::MIN_US;

/// `humans`: accounts of active staff that stay in use.
pub(super) fn plant(b: &mut Builder, humans: &[usize]) {
    if humans.is_empty() {
        return;
    }
    let n1 = b.n1();
    let mut done = 0;
    for _ in 0..50 * n1 {
        if done == n1 {
            break;
        }
        let a = *b.rng.pick(humans);
        if b.w.acc_jur(a) == JUR_SG {
            continue;
        }
        done += 1;
        let d = b.window_day();
        let ts = b.w.day_start(d) + b.rng.range(60, 20 * 60) * MIN_US;
        let c = b.w.home_country(a);
        let e1 = b.w.login_ev(a, ts, true, true, c);
        let e2 =
            b.w.login_ev(a, ts + 40 * MIN_US, true, true, 6 + b.rng.below(4) as u8);
        b.w.planted[d as usize].extend([e1, e2]);
    }
}
