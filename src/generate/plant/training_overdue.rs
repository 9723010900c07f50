//! Plants [`crate::rules::training_overdue`] and writes the `training` table: everyone takes
//! the annual awareness course (joiners on their first day), some the phishing module too.
//! Planted among holders of access: people never trained, trained more than a year ago (one
//! of them by a microsecond), whose only recent completion is dated T itself (too late to
//! count), and EU staff whose recent course the EU does not accept. Near misses that must
//! not fire: a completion exactly `security_training_interval_days` before T (older means
//! strictly older), leavers still holding access who were never trained, and completions
//! of contractors the directory does not know.

use crate::generate::catalogue::{
    COURSE_ANNUAL, COURSE_PHISHING, JUR_EU, SPECIAL, TRAINING_INTERVAL_DAYS,
};
use crate::generate::model::Training;
use crate::generate::world::Builder;
use crate::generate::{DAY_US, HOUR_US};
use crate::rules::training_overdue::META;

/// What identity i's training history looks like.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Case {
    /// Yearly completions, the latest within the interval.
    Current,
    /// No completion at all.
    Never,
    /// Yearly completions, the latest at this instant.
    Latest(i64),
    /// An overdue completion, then one dated T.
    AtT(i64),
    /// An overdue annual course and a recent phishing module.
    OtherCourse(i64),
}

pub(super) fn plant(b: &mut Builder) {
    let (t, n1) = (b.t_us, b.n1());
    let interval = TRAINING_INTERVAL_DAYS * DAY_US;
    let held = b.held_jurisdictions();
    let mut case = vec![Case::Current; b.n_ident];
    let mut pool: Vec<usize> = (SPECIAL..b.n_ident)
        .filter(|&i| {
            held[i] != 0 && !b.planted[i] && b.start_day[i] == i64::MIN && !b.terminated_at_t(i)
        })
        .collect();
    let mut findings = 0;
    let jurs = |i: usize| held[i].count_ones() as usize;
    for i in b.take(&mut pool, n1) {
        case[i] = Case::Never;
        findings += jurs(i);
    }
    for i in b.take(&mut pool, n1) {
        case[i] = Case::Latest(days_ago(b, TRAINING_INTERVAL_DAYS + 1, 700));
        findings += jurs(i);
    }
    for i in b.take(&mut pool, n1) {
        case[i] = Case::Latest(t - interval - 1);
        findings += jurs(i);
    }
    for i in b.take(&mut pool, n1) {
        case[i] = Case::AtT(days_ago(b, TRAINING_INTERVAL_DAYS + 20, 500));
        findings += jurs(i);
    }
    // Not overdue: exactly the interval before T is not older than it.
    for i in b.take(&mut pool, n1) {
        case[i] = Case::Latest(t - interval);
    }
    // Fires in the EU only: elsewhere any course counts.
    let mut eu: Vec<usize> = pool
        .iter()
        .copied()
        .filter(|&i| held[i] & (1 << JUR_EU) != 0)
        .collect();
    for i in b.take(&mut eu, n1) {
        case[i] = Case::OtherCourse(days_ago(b, TRAINING_INTERVAL_DAYS + 10, 500));
        findings += 1;
    }
    // Leavers still holding access, never trained: terminated, so not judged.
    let mut leavers: Vec<usize> = (SPECIAL..b.n_ident)
        .filter(|&i| held[i] != 0 && b.terminated_at_t(i))
        .collect();
    for i in b.take(&mut leavers, n1) {
        case[i] = Case::Never;
    }

    let mut rows = Vec::with_capacity(b.n_ident * 2);
    for (i, &c) in case.iter().enumerate() {
        let id = b.w.identities[i].id.clone();
        // A joiner's first day, if recent enough that the course taken then still counts.
        let joined = (b.start_day[i] > i64::MIN)
            .then(|| b.w.day_start(b.start_day[i]) + 10 * HOUR_US)
            .filter(|&at| at > t - interval + DAY_US);
        let mut push = |course, at| {
            rows.push(Training {
                identity: id.clone(),
                course,
                completed_at: at,
            })
        };
        match (c, joined) {
            (Case::Never, _) => {}
            (Case::Current, Some(first)) => {
                push(COURSE_ANNUAL, first + b.rng.range(0, 6 * HOUR_US));
            }
            (Case::Current | Case::Latest(_), _) => {
                let latest = match c {
                    Case::Latest(at) => at,
                    _ => t - b.rng.range(DAY_US, (TRAINING_INTERVAL_DAYS - 1) * DAY_US),
                };
                for k in (0..=b.rng.range(0, 3)).rev() {
                    let drift = if k == 0 {
                        0
                    } else {
                        b.rng.range(-20, 20) * DAY_US
                    };
                    push(COURSE_ANNUAL, latest - k * interval + drift);
                }
                if c == Case::Current && b.rng.chance(0.15) {
                    push(COURSE_PHISHING, t - b.rng.range(DAY_US, 700 * DAY_US));
                }
            }
            (Case::AtT(overdue), _) => {
                push(COURSE_ANNUAL, overdue);
                push(COURSE_ANNUAL, t);
            }
            (Case::OtherCourse(overdue), _) => {
                push(COURSE_ANNUAL, overdue);
                push(COURSE_PHISHING, days_ago(b, 10, 200));
            }
        }
    }
    // Contractors the directory does not know: loaded, matching nobody.
    for k in 0..n1 {
        rows.push(Training {
            identity: format!("CTR-{:04}", k + 1),
            course: COURSE_ANNUAL,
            completed_at: days_ago(b, 400, 800),
        });
    }
    b.w.training = rows;
    b.w.planted_findings.push((META.code, findings));
}

/// During office hours on a day between `lo` and `hi` (excluded) days before T.
fn days_ago(b: &mut Builder, lo: i64, hi: i64) -> i64 {
    let day = b.rng.range(lo, hi);
    b.t_us - day * DAY_US + b.rng.range(8 * HOUR_US, 18 * HOUR_US)
}
