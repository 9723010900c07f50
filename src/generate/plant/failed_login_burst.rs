//! Plants [`crate::rules::failed_login_burst`]: password spraying; half end in a successful
//! login.

use crate::generate::world::Builder;
use crate::generate::MIN_US;

/// `humans`: accounts of active staff that stay in use.
pub(super) fn plant(b: &mut Builder, humans: &[usize]) {
    if humans.is_empty() {
        return;
    }
    for n in 0..b.n1() {
        let a = *b.rng.pick(humans);
        let d = b.window_day();
        let t0 = b.w.day_start(d) + b.rng.range(0, 22 * 60) * MIN_US;
        let c = b.w.home_country(a);
        let mut ts = t0;
        for _ in 0..b.rng.range(10, 16) {
            ts += b.rng.range(5, 25) * 1_000_000;
            let ev = b.w.login_ev(a, ts, false, false, c);
            b.w.planted[d as usize].push(ev);
        }
        if n % 2 == 0 {
            let ev = b.w.login_ev(a, ts + 2 * MIN_US, true, true, c);
            b.w.planted[d as usize].push(ev);
        }
    }
}
