//! Plants [`crate::rules::weak_mfa_privileged`] and gives every account the second factor
//! its logins report (`mfa_method`): strong ones (authenticator app, push, FIDO2 key,
//! platform authenticator, smart card) for privileged access and break-glass accounts, and
//! for a share of the other accounts codes by SMS, voice call or e-mail, which must not fire.
//! Planted: privileged staff enrolled with a code by SMS, voice or e-mail, and privileged
//! staff falling back to one for a login. Near misses that must not fire, on other
//! privileged accounts: a failed login with a weak code, a successful login that does not
//! say its factor, and (when the history is longer than the activity window) a weak login
//! the day before the window.

use crate::generate::catalogue::{MFA_WEAK, SPECIAL};
use crate::generate::model::{AType, Owner, NO_METHOD};
use crate::generate::rng::Rng;
use crate::generate::world::Builder;
use crate::rules::weak_mfa_privileged::META;

/// Of the accounts without privileged access: the share enrolled with a weak factor.
const WEAK_SHARE: f64 = 0.08;

/// A strong factor: 1 + index into `MFA_METHODS`.
fn strong(rng: &mut Rng) -> u8 {
    // totp, push, fido2, smartcard, platform
    let k = match rng.below(100) {
        0..=34 => 0,
        35..=69 => 1,
        70..=84 => 2,
        85..=89 => 3,
        _ => 4,
    };
    (1 + MFA_WEAK + k) as u8
}

/// A weak factor (sms, voice, email): 1 + index into `MFA_METHODS`.
fn weak(rng: &mut Rng) -> u8 {
    let k = match rng.below(10) {
        0..=6 => 0,
        7 => 1,
        _ => 2,
    };
    1 + k as u8
}

pub(super) fn plant(b: &mut Builder) {
    let privileged = b.privileged_at_t();
    for (a, &p) in privileged.iter().enumerate() {
        let acc = &b.w.accounts[a];
        let m = match acc.atype {
            AType::Service => 0,
            // Break-glass credentials are kept with a hardware token.
            AType::Emergency => (1 + MFA_WEAK + 2 + b.rng.below(2) as usize) as u8,
            AType::Human | AType::Shared if !p && b.rng.chance(WEAK_SHARE) => weak(&mut b.rng),
            AType::Human | AType::Shared => strong(&mut b.rng),
        };
        b.w.accounts[a].mfa_method = m;
    }

    // Privileged staff accounts that stay in use, on systems whose feed keeps reporting.
    let w = &b.w;
    let quiet_feed = |s: usize| {
        w.silent.is_some_and(|(x, _)| x == s) || w.outage.is_some_and(|(x, _, _)| x == s)
    };
    let mut pool: Vec<usize> = (0..w.accounts.len())
        .filter(|&a| {
            let acc = &w.accounts[a];
            privileged[a]
                && acc.atype == AType::Human
                && !acc.no_mfa
                && acc.stop_day == i64::MAX
                && matches!(acc.owner, Owner::Identity(i) if i >= SPECIAL)
                && !quiet_feed(acc.sys)
        })
        .collect();
    let mut draw = |b: &mut Builder| -> Option<usize> {
        (!pool.is_empty()).then(|| pool.swap_remove(b.rng.below(pool.len() as u64) as usize))
    };
    let mut planted = 0;
    for k in 0..b.n1() {
        let Some(a) = draw(b) else { break };
        let d = b.weekday_in_window();
        let ts = b.w.business_ts(&mut b.rng, d, b.w.acc_jur(a));
        let mut ev = b.w.login_ev(a, ts, true, true, b.w.home_country(a));
        if k % 2 == 0 {
            // Enrolled with a weak factor: every login with MFA reports it.
            b.w.accounts[a].mfa_method = weak(&mut b.rng);
        } else {
            // A strong factor, but one login by the weak fallback.
            ev.method = weak(&mut b.rng);
        }
        b.w.planted[d as usize].push(ev);
        planted += 1;
    }
    // Near misses on other privileged accounts.
    for kind in 0..3 {
        let Some(a) = draw(b) else { break };
        let lo = b.window_lo();
        let d = match kind {
            2 if lo > 0 => lo - 1,
            2 => continue,
            _ => b.weekday_in_window(),
        };
        let ts = b.w.business_ts(&mut b.rng, d, b.w.acc_jur(a));
        // A failed login, a login that says nothing of its factor, one before the window.
        let mut ev = b.w.login_ev(a, ts, kind != 0, true, b.w.home_country(a));
        ev.method = if kind == 1 {
            NO_METHOD
        } else {
            weak(&mut b.rng)
        };
        b.w.planted[d as usize].push(ev);
    }
    b.w.planted_findings.push((META.code, planted));
}
