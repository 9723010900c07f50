//! Plants [`crate::rules::login_from_unexpected_country`]: Singapore logins from outside
//! the countries its jurisdiction allows (SG, HK, MY).

use crate::generate::catalogue::JUR_SG;
use crate::generate::world::Builder;
use crate::generate::MIN_US;

/// `humans`: accounts of active staff that stay in use.
pub(super) fn plant(b: &mut Builder, humans: &[usize]) {
    let sg: Vec<usize> = humans
        .iter()
        .copied()
        .filter(|&a| b.w.acc_jur(a) == JUR_SG)
        .collect();
    if sg.is_empty() {
        return;
    }
    for _ in 0..b.n1() {
        let a = *b.rng.pick(&sg);
        let d = b.window_day();
        let ts = b.w.day_start(d) + b.rng.range(0, 23 * 60) * MIN_US;
        let ev = b.w.login_ev(a, ts, true, true, 6 + b.rng.below(4) as u8);
        b.w.planted[d as usize].push(ev);
    }
}
