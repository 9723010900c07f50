//! Plants [`crate::rules::log_sequence_gap`]: about one gap every three weeks per sequenced
//! system, drawn on each day's chain stream.

use crate::generate::model::World;
use crate::generate::rng::Rng;

/// Per system: the position among the day's events of its first event after a gap.
/// `counts`: the day's events per system.
pub(in crate::generate) fn gap_at(
    w: &World,
    rng: &mut Rng,
    counts: &[usize],
) -> Vec<Option<usize>> {
    super::rare_position(w, rng, counts, |s| s.sequenced)
}
