//! Plants [`crate::rules::log_hash_mismatch`]: about one record every three weeks per
//! hash-chained system altered after it was hashed, drawn on each day's chain stream.

use crate::generate::model::{Ev, World};
use crate::generate::rng::Rng;

/// Per system: the position among the day's events of the one to alter.
/// `counts`: the day's events per system.
pub(in crate::generate) fn tamper_at(
    w: &World,
    rng: &mut Rng,
    counts: &[usize],
) -> Vec<Option<usize>> {
    super::rare_position(w, rng, counts, |s| s.chained)
}

/// Alters the marked records once hashed: the stored record no longer matches its hash.
pub(in crate::generate) fn tamper(events: &mut [Ev]) {
    for e in events.iter_mut().filter(|e| e.tamper) {
        e.ok = !e.ok;
    }
}
