//! The population: the CEO, one platform owner per jurisdiction, then identities sampled by
//! job function and jurisdiction; joiners, leavers and people on leave.

use std::collections::HashMap;

use super::catalogue::SPECIAL;
use super::catalogue::{FIRST, JOBS, JURS, J_IAM, LAST};
use super::model::{Identity, Status};
use super::world::Builder;
use super::{DAY_US, HOUR_US};

/// Samples every identity (names, job, jurisdiction, manager, activity) and notes the IAM
/// administrators.
pub(super) fn sample(b: &mut Builder) {
    let job_cum = cumulative(JOBS.iter().map(|j| j.share));
    let jur_cum = cumulative(JURS.iter().map(|j| j.share));
    let total_share = job_cum.last().copied().unwrap_or(1.0);
    // First member of each (department, jurisdiction) is its lead and everyone's manager.
    let mut leads: HashMap<(usize, usize), usize> = Default::default();
    let mut group_count: HashMap<(usize, usize), usize> = Default::default();
    let rng = &mut b.rng;
    for i in 0..b.n_ident {
        let name_a = *rng.pick(&FIRST);
        let name_b = *rng.pick(&LAST);
        let id = format!("E{:06}", 100_000 + i);
        let user = format!(
            "{}.{}{}",
            name_a.to_lowercase().replace(' ', ""),
            name_b.to_lowercase(),
            i
        );
        let (jur, job, dept) = if i == 0 {
            (0, None, "executive".to_string())
        } else if i < SPECIAL {
            let j = i - 1;
            (j, None, format!("platform-{}", JURS[j].code.to_lowercase()))
        } else {
            let x = rng.f64() * total_share;
            let job = job_cum.iter().position(|&c| x < c).unwrap_or(0);
            // IAM administration is a group function run from Hong Kong.
            let jur = if job == J_IAM {
                0
            } else {
                let y = rng.f64();
                jur_cum.iter().position(|&c| y < c).unwrap_or(0)
            };
            (
                jur,
                Some(job),
                format!("{}-{}", JOBS[job].dept, JURS[jur].code.to_lowercase()),
            )
        };
        let key = (job.map_or(usize::MAX, |j| j), jur);
        let rank = {
            let c = group_count.entry(key).or_insert(0);
            *c += 1;
            *c - 1
        };
        b.group_rank.push(rank);
        let manager = if i == 0 {
            None
        } else if let Some(job) = job {
            let lead = *leads.entry((job, jur)).or_insert(i);
            Some(if lead == i { 0 } else { lead })
        } else {
            Some(0)
        };
        let act = job.map_or(0.5, |j| JOBS[j].activity) * (rng.normal() * 0.9).exp();
        b.activity.push(act);
        b.w.identities.push(Identity {
            id,
            display: format!("{name_a} {name_b}"),
            email: format!("{user}@payfront.example"),
            dept,
            job,
            jur,
            manager,
            status: Status::Active,
            terminated_at: None,
            ip_host: rng.below(1 << 16) as u32,
        });
    }
    b.iam_admins = (SPECIAL..b.n_ident)
        .filter(|&i| b.w.identities[i].job == Some(J_IAM))
        .collect();
}

fn cumulative(shares: impl Iterator<Item = f64>) -> Vec<f64> {
    shares
        .scan(0.0, |acc, s| {
            *acc += s;
            Some(*acc)
        })
        .collect()
}

/// Joiners during the history, leavers (offboarded properly), people on leave. Leads and
/// special identities keep working so that approvals stay plausible.
pub(super) fn lifecycle(b: &mut Builder) {
    let (days, start_us) = (b.days as i64, b.w.start_us);
    let rng = &mut b.rng;
    for i in SPECIAL..b.n_ident {
        let ident = &mut b.w.identities[i];
        if ident.manager == Some(0) {
            b.planted[i] = true; // leads: never leavers or planted cases
            continue;
        }
        let x = rng.f64();
        if x < 0.03 && days > 1 {
            b.start_day[i] = rng.range(1, days);
        } else if x < 0.045 {
            let td = -rng.range(1, 400);
            ident.status = Status::Terminated;
            ident.terminated_at = Some(start_us + td * DAY_US + rng.range(9, 18) * HOUR_US);
            b.stop_day[i] = td;
        } else if x < 0.06 && days > 2 {
            let td = rng.range(1, days - 1);
            ident.status = Status::Terminated;
            ident.terminated_at = Some(start_us + td * DAY_US + rng.range(9, 18) * HOUR_US);
            b.stop_day[i] = td;
        } else if x < 0.07 && days > 3 {
            // On leave since a day in the later part of the history (inactive since).
            ident.status = Status::Leave;
            b.stop_day[i] = rng.range(days / 3, days);
        }
    }
}
