//! Audit events, one day at a time: the day's activity on its own stream (baseline
//! sessions, log agents, volume by account weight, the planted events), then seq numbers and
//! hash chains continuing the previous day, then the day's frame.

use std::fmt::Write as _;
use std::path::Path;

use chrono::{Datelike, NaiveDate};
use polars::prelude::*;
use rayon::prelude::*;
use sha2::{Digest, Sha256};

use super::catalogue::{COUNTRIES, IP_BASE, MFA_METHODS};
use super::model::{AType, Account, Ev, World, NO_METHOD};
use super::plant::{log_hash_mismatch, log_sequence_gap};
use super::rng::Rng;
use super::tables::{ts_series, write_parquet};
use super::{GenOptions, DAY_US, HOUR_US, MIN_US};
use crate::error::Result;

/// Writes the audit events, one partition per day; returns how many. Days go in batches of
/// a few per thread: generated in parallel, chained in order (the hash chain runs across
/// days), written in parallel, then dropped.
pub(super) fn write_events(w: &World, opts: &GenOptions, input: &Path) -> Result<u64> {
    let mut state = LogState::new(w.systems.len());
    let batch = rayon::current_num_threads().max(2);
    let mut total = 0u64;
    let all: Vec<i64> = (0..opts.days as i64).collect();
    for chunk in all.chunks(batch) {
        let mut days: Vec<Day> = chunk
            .par_iter()
            .map(|&d| gen_day(w, opts.seed, d, opts.events_per_day))
            .collect();
        for day in &mut days {
            sequence_day(w, opts.seed, day, &mut state);
            total += day.events.len() as u64;
        }
        days.into_par_iter().try_for_each(|day| -> Result<()> {
            let mut df = day_frame(w, &day)?;
            let date = w.date(day.d);
            drop(day);
            let path = input
                .join("audit_events")
                .join(format!("date={}", date.format("%Y-%m-%d")))
                .join("part-0.parquet");
            write_parquet(&path, &mut df)
        })?;
    }
    Ok(total)
}

struct Day {
    d: i64,
    events: Vec<Ev>,
    /// (prev_hash, hash) per chained event.
    hashes: Vec<(Option<[u8; 32]>, [u8; 32])>,
}

fn gen_day(w: &World, seed: u64, d: i64, events_per_day: usize) -> Day {
    let mut rng = Rng::new(seed, 1_000_000 + d as u64);
    let weekend = w.is_weekend(d);
    let factor = (if weekend { 0.4 } else { 1.0 }) * 7.0 / 5.8 * (1.0 + 0.05 * rng.normal());
    let target_total = (events_per_day as f64 * factor).max(0.0) as usize;
    let mut g = DayGen {
        w,
        d,
        weekend,
        rng,
        events: Vec::with_capacity(target_total + w.planted[d as usize].len() + 1024),
        target_counter: (d as u64 + 1) * 100_000_000,
    };
    if !weekend {
        g.baseline_sessions();
    }
    g.log_agent_checks();
    g.volume(target_total);
    let mut events = g.events;
    events.extend(w.planted[d as usize].iter().copied());
    events.retain(|e| !is_silent(w, d, w.accounts[e.acc as usize].sys));
    // Stable sort: ties keep generation order, which is itself deterministic.
    events.sort_by_key(|e| e.ts);
    Day {
        d,
        events,
        hashes: Vec::new(),
    }
}

/// Whether system `sys` sends nothing on day d: gone silent by then, or in an outage.
fn is_silent(w: &World, d: i64, sys: usize) -> bool {
    w.silent.is_some_and(|(s, from)| s == sys && d >= from)
        || w.outage
            .is_some_and(|(s, from, to)| s == sys && d >= from && d < to)
}

/// One day's generation on the day's own stream; the draws happen in the order of the
/// calls in [`gen_day`].
struct DayGen<'a> {
    w: &'a World,
    d: i64,
    weekend: bool,
    rng: Rng,
    events: Vec<Ev>,
    /// The day's target ids, numbered from a range of the day's own.
    target_counter: u64,
}

impl DayGen<'_> {
    fn alive(&self, a: &Account) -> bool {
        let d = self.d;
        !a.ghost
            && a.status == "active"
            && d >= a.start_day
            && d < a.stop_day
            && !is_silent(self.w, d, a.sys)
    }

    fn next_target(&mut self) -> u64 {
        self.target_counter += 1;
        self.target_counter
    }

    /// Weekly baseline session of every active human or shared account on one weekday: a
    /// login and four of its used actions in rotation, so that access in use is seen in use.
    fn baseline_sessions(&mut self) {
        let (w, d) = (self.w, self.d);
        let date = w.date(d);
        let week = date.num_days_from_ce() as i64 / 7;
        let wd = date.weekday().num_days_from_monday() as i64;
        for (a, acc) in w.accounts.iter().enumerate() {
            if !matches!(acc.atype, AType::Human | AType::Shared) || !self.alive(acc) {
                continue;
            }
            if (week + a as i64).rem_euclid(5) != wd {
                continue;
            }
            let sys = &w.systems[acc.sys];
            let j = sys.jur;
            let mut ts = w
                .business_ts(&mut self.rng, d, j)
                .min(w.day_start(d) + DAY_US - HOUR_US);
            let c = w.home_country(a);
            self.events.push(Ev {
                ts,
                acc: a as u32,
                action: sys.login,
                ok: true,
                mfa: if acc.no_mfa { 1 } else { 2 },
                method: 0,
                country: c,
                ip: w.ip_of(a),
                target: 0,
                seq: -1,
                hash: u32::MAX,
                tamper: false,
            });
            let n = acc.use_actions.len();
            for k in 0..n.min(4) {
                ts += self.rng.range(1, 8) * MIN_US;
                let action = acc.use_actions[((week * 4) as usize + k + a) % n];
                let target = if sys.action_target[action as usize].is_some() {
                    self.next_target()
                } else {
                    0
                };
                self.events.push(Ev {
                    ts,
                    acc: a as u32,
                    action,
                    ok: true,
                    mfa: 0,
                    method: 0,
                    country: c,
                    ip: w.ip_of(a),
                    target,
                    seq: -1,
                    hash: u32::MAX,
                    tamper: false,
                });
            }
        }
    }

    /// Four integrity checks a day by each log agent whose system still reports.
    fn log_agent_checks(&mut self) {
        let (w, d) = (self.w, self.d);
        for &a in &w.log_agents {
            let acc = &w.accounts[a];
            if is_silent(w, d, acc.sys) || acc.use_actions.is_empty() {
                continue;
            }
            for k in 0..4 {
                self.events.push(Ev {
                    ts: w.day_start(d) + k * 6 * HOUR_US + self.rng.range(0, 10 * MIN_US),
                    acc: a as u32,
                    action: acc.use_actions[0],
                    ok: true,
                    mfa: 0,
                    method: 0,
                    country: 255,
                    ip: a as u32 & 0xffff,
                    target: 0,
                    seq: -1,
                    hash: u32::MAX,
                    tamper: false,
                });
            }
        }
    }

    /// The rest of the day's volume up to `target_total`, by account weight: heavy users
    /// and service accounts dominate; on weekends only services and non-privileged staff
    /// work.
    fn volume(&mut self, target_total: usize) {
        let w = self.w;
        let mut cum: Vec<f64> = Vec::with_capacity(w.accounts.len());
        let mut total = 0.0;
        for acc in &w.accounts {
            let mut wt = if self.alive(acc) && !acc.use_actions.is_empty() {
                acc.weight
            } else {
                0.0
            };
            if self.weekend && acc.atype != AType::Service {
                wt *= if acc.privileged_access { 0.0 } else { 0.15 };
            }
            total += wt;
            cum.push(total);
        }
        let remaining = target_total.saturating_sub(self.events.len());
        if total > 0.0 {
            for _ in 0..remaining {
                let x = self.rng.f64() * total;
                let a = cum.partition_point(|&c| c <= x).min(w.accounts.len() - 1);
                if let Some(ev) = self.weighted_event(a) {
                    self.events.push(ev);
                }
            }
        }
    }

    /// One event of account a: a login or one of its used actions (skewed towards the
    /// first, as views dominate real logs), at a time that suits the account.
    fn weighted_event(&mut self, a: usize) -> Option<Ev> {
        let (w, d, weekend) = (self.w, self.d, self.weekend);
        let rng = &mut self.rng;
        let acc = &w.accounts[a];
        let sys = &w.systems[acc.sys];
        let j = sys.jur;
        let service = acc.atype == AType::Service;
        let c = w.home_country(a);
        let (action, mfa) = if !service && rng.chance(0.12) {
            (sys.login, if acc.no_mfa { 1 } else { 2 })
        } else {
            let n = acc.use_actions.len() as u64;
            let k = (rng.below(n) * rng.below(n + 1)) / n.max(1);
            (acc.use_actions[k as usize % n as usize], 0)
        };
        let privileged = sys.action_priv[action as usize];
        let ts = if service {
            w.day_start(d) + rng.range(0, DAY_US)
        } else if privileged || weekend || rng.chance(0.9) {
            if weekend && privileged {
                return None; // cannot happen (weight 0), kept as a guard
            }
            w.business_ts(rng, d, j)
        } else {
            let local = if rng.chance(0.5) {
                rng.range(7 * 60, 9 * 60)
            } else {
                rng.range(18 * 60, 22 * 60)
            };
            w.wrapped_ts(d, j, local * MIN_US + rng.range(0, MIN_US))
        };
        let ok = if action == sys.login {
            !rng.chance(0.02)
        } else {
            !rng.chance(0.01)
        };
        let target = if action != sys.login && sys.action_target[action as usize].is_some() {
            self.next_target()
        } else {
            0
        };
        Some(Ev {
            ts,
            acc: a as u32,
            action,
            ok,
            mfa,
            method: 0,
            country: if service { 255 } else { c },
            ip: if service {
                0x0a00_0000 | (a as u32 & 0xffff)
            } else {
                w.ip_of(a)
            },
            target,
            seq: -1,
            hash: u32::MAX,
            tamper: false,
        })
    }
}

/// One system's chain for one day: (system, (event, prev_hash, hash) per event, last hash).
type ChainResult = (
    usize,
    Vec<(usize, Option<[u8; 32]>, [u8; 32])>,
    Option<[u8; 32]>,
);

/// Per-system log state carried from day to day: next seq and last hash.
struct LogState {
    next_seq: Vec<i64>,
    last_hash: Vec<Option<[u8; 32]>>,
}

impl LogState {
    /// Each system's seq numbers start in a range of their own.
    fn new(n_sys: usize) -> Self {
        LogState {
            next_seq: (0..n_sys).map(|s| 1_000_000 * (s as i64 + 1)).collect(),
            last_hash: vec![None; n_sys],
        }
    }
}

fn event_id(buf: &mut String, date: NaiveDate, i: usize) {
    buf.clear();
    let _ = write!(buf, "ev-{}-{:07}", date.format("%Y%m%d"), i);
}

fn target_str(buf: &mut String, prefix: &str, n: u64) {
    buf.clear();
    let _ = write!(buf, "{prefix}-{n}");
}

/// Assigns seq numbers (with planted gaps) and hash chains (with planted tampering), in
/// event order, continuing yesterday's state.
fn sequence_day(w: &World, seed: u64, day: &mut Day, state: &mut LogState) {
    let chains = number(w, seed, day, state);
    hash_chains(w, day, state, chains);
    log_hash_mismatch::tamper(&mut day.events);
}

/// Seq numbers, with the planted gaps, on the sequenced systems; marks the records to
/// tamper with. Returns per system the positions of its chained events.
fn number(w: &World, seed: u64, day: &mut Day, state: &mut LogState) -> Vec<Vec<usize>> {
    let mut rng = Rng::new(seed, 2_000_000 + day.d as u64);
    let n_sys = w.systems.len();
    let mut counts = vec![0usize; n_sys];
    for e in &day.events {
        counts[w.accounts[e.acc as usize].sys] += 1;
    }
    // One gap about every three weeks per sequenced system.
    let gap_at = log_sequence_gap::gap_at(w, &mut rng, &counts);
    let tamper_at = log_hash_mismatch::tamper_at(w, &mut rng, &counts);
    let mut seen = vec![0usize; n_sys];
    let mut chains: Vec<Vec<usize>> = vec![Vec::new(); n_sys];
    for (i, e) in day.events.iter_mut().enumerate() {
        let s = w.accounts[e.acc as usize].sys;
        if !w.systems[s].sequenced {
            continue;
        }
        if gap_at[s] == Some(seen[s]) {
            state.next_seq[s] += 1 + rng.below(3) as i64;
        }
        if tamper_at[s] == Some(seen[s]) {
            e.tamper = true;
        }
        seen[s] += 1;
        e.seq = state.next_seq[s];
        state.next_seq[s] += 1;
        if w.systems[s].chained {
            chains[s].push(i);
        }
    }
    chains
}

/// Hashes each system's chained events in order, continuing its last hash.
fn hash_chains(w: &World, day: &mut Day, state: &mut LogState, chains: Vec<Vec<usize>>) {
    let date = w.date(day.d);
    let events = &day.events;
    // Each chain is sequential, different systems' chains are independent.
    let results: Vec<ChainResult> = chains
        .into_par_iter()
        .enumerate()
        .filter(|(_, c)| !c.is_empty())
        .map(|(s, chain)| {
            let mut prev = state.last_hash[s];
            let mut out = Vec::with_capacity(chain.len());
            let mut msg = String::with_capacity(256);
            let mut id = String::new();
            let mut tgt = String::new();
            let sys = &w.systems[s];
            for i in chain {
                let e = &events[i];
                event_id(&mut id, date, i);
                let action = e.action as usize;
                tgt.clear();
                if e.target != 0 {
                    if let Some(p) = sys.action_target[action] {
                        target_str(&mut tgt, p, e.target);
                    }
                }
                msg.clear();
                if let Some(p) = &prev {
                    msg.push_str(&hex::encode(p));
                }
                let _ = write!(
                    msg,
                    "\n{}|{}|{}|{}|{}|{}|{}|{}",
                    id,
                    sys.id,
                    e.seq,
                    w.accounts[e.acc as usize].name,
                    sys.actions[action].0,
                    if e.ok { "success" } else { "failure" },
                    tgt,
                    e.ts
                );
                let h: [u8; 32] = Sha256::digest(msg.as_bytes()).into();
                out.push((i, prev, h));
                prev = Some(h);
            }
            (s, out, prev)
        })
        .collect();
    for (s, out, last) in results {
        state.last_hash[s] = last;
        for (i, prev, h) in out {
            day.events[i].hash = day.hashes.len() as u32;
            day.hashes.push((prev, h));
        }
    }
}

fn day_frame(w: &World, day: &Day) -> Result<DataFrame> {
    let n = day.events.len();
    let date = w.date(day.d);
    let mut ids = StringChunkedBuilder::new("event_id".into(), n);
    let mut targets = StringChunkedBuilder::new("target_id".into(), n);
    let mut ips = StringChunkedBuilder::new("src_ip".into(), n);
    let mut prevs = StringChunkedBuilder::new("prev_hash".into(), n);
    let mut hashes = StringChunkedBuilder::new("hash".into(), n);
    let mut ts = Vec::with_capacity(n);
    let mut sys_col: Vec<&str> = Vec::with_capacity(n);
    let mut acc_col: Vec<&str> = Vec::with_capacity(n);
    let mut act_col: Vec<&str> = Vec::with_capacity(n);
    let mut out_col: Vec<&str> = Vec::with_capacity(n);
    let mut mfa_col: Vec<Option<bool>> = Vec::with_capacity(n);
    let mut method_col: Vec<Option<&str>> = Vec::with_capacity(n);
    let mut country_col: Vec<Option<&str>> = Vec::with_capacity(n);
    let mut seq_col: Vec<Option<i64>> = Vec::with_capacity(n);
    let mut buf = String::with_capacity(64);
    for (i, e) in day.events.iter().enumerate() {
        let acc = &w.accounts[e.acc as usize];
        let sys = &w.systems[acc.sys];
        event_id(&mut buf, date, i);
        ids.append_value(&buf);
        ts.push(e.ts);
        sys_col.push(&sys.id);
        acc_col.push(&acc.name);
        act_col.push(&sys.actions[e.action as usize].0);
        out_col.push(if e.ok { "success" } else { "failure" });
        match (e.target, sys.action_target[e.action as usize]) {
            (t, Some(p)) if t != 0 => {
                target_str(&mut buf, p, t);
                targets.append_value(&buf);
            }
            _ => targets.append_null(),
        }
        mfa_col.push(match e.mfa {
            1 => Some(false),
            2 => Some(true),
            _ => None,
        });
        method_col.push(match (e.mfa, e.method) {
            (2, 0) => method_name(acc.mfa_method),
            (2, m) if m != NO_METHOD => method_name(m),
            _ => None,
        });
        if e.country == 255 {
            country_col.push(None);
            buf.clear();
            let _ = write!(
                buf,
                "10.{}.{}.{}",
                (e.ip >> 16) & 0xff,
                (e.ip >> 8) & 0xff,
                e.ip & 0xff
            );
            ips.append_value(&buf);
        } else {
            let c = e.country as usize % COUNTRIES.len();
            country_col.push(Some(COUNTRIES[c]));
            buf.clear();
            let _ = write!(
                buf,
                "{}.{}.{}",
                IP_BASE[c],
                (e.ip >> 8) & 0xff,
                (e.ip & 0xff).max(1)
            );
            ips.append_value(&buf);
        }
        seq_col.push((e.seq >= 0).then_some(e.seq));
        if e.hash == u32::MAX {
            prevs.append_null();
            hashes.append_null();
        } else {
            let (prev, h) = &day.hashes[e.hash as usize];
            match prev {
                Some(p) => prevs.append_value(hex::encode(p)),
                None => prevs.append_null(),
            }
            hashes.append_value(hex::encode(h));
        }
    }
    let df = DataFrame::new_infer_height(vec![
        ids.finish().into_series().into(),
        ts_series("ts", ts.into_iter().map(Some).collect()).into(),
        Series::new("system_id".into(), sys_col).into(),
        Series::new("account_id".into(), acc_col).into(),
        Series::new("action".into(), act_col).into(),
        Series::new("outcome".into(), out_col).into(),
        targets.finish().into_series().into(),
        Series::new("mfa".into(), mfa_col).into(),
        Series::new("mfa_method".into(), method_col).into(),
        ips.finish().into_series().into(),
        Series::new("src_country".into(), country_col).into(),
        Series::new("seq".into(), seq_col).into(),
        prevs.finish().into_series().into(),
        hashes.finish().into_series().into(),
    ])?;
    Ok(df)
}

/// `mfa_method` of a factor numbered 1 + its index into `MFA_METHODS`; 0: none said.
fn method_name(m: u8) -> Option<&'static str> {
    (m as usize)
        .checked_sub(1)
        .and_then(|k| MFA_METHODS.get(k))
        .copied()
}
