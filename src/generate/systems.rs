//! Systems built from the catalogue: entitlements, role edges and closures, audit actions.

use super::catalogue::{FILLERS, FILLER_VERBS, JURS, KINDS, K_IAM};
use super::model::{Ent, System};

pub(super) fn build_systems() -> Vec<System> {
    let mut out = Vec::new();
    for (j, jur) in JURS.iter().enumerate() {
        for (k, kind) in KINDS.iter().enumerate() {
            if k == K_IAM {
                continue;
            }
            out.push(new_system(
                format!("{}-{}", kind.code, jur.code.to_lowercase()),
                format!("{} {}", jur.code, kind.name),
                j,
                k,
            ));
        }
    }
    out.push(new_system(
        "iam-global".to_string(),
        "Group IAM administration".to_string(),
        0,
        K_IAM,
    ));
    // Hash chains on the group IAM, every settlement engine and one payout console (a hot
    // one, so the chain logic is exercised at volume); sequence numbers on all of those
    // and the other payout consoles.
    for s in &mut out {
        if s.id == "pay-hk" {
            s.chained = true;
        }
    }
    out
}

fn new_system(id: String, name: String, jur: usize, k: usize) -> System {
    let kind = &KINDS[k];
    let mut ents: Vec<Ent> = kind
        .perms
        .iter()
        .map(|p| Ent {
            id: p.id.to_string(),
            name: p.name.to_string(),
            is_role: false,
            risk: p.risk,
            privileged: p.privileged,
        })
        .collect();
    for f in 0..FILLERS {
        let (verb, risk) = FILLER_VERBS[f % FILLER_VERBS.len()];
        ents.push(Ent {
            id: format!("{}.m{:02}.{}", kind.code, f, verb),
            name: format!("Module {f:02} {verb}"),
            is_role: false,
            risk,
            privileged: false,
        });
    }
    for role in kind.roles {
        ents.push(Ent {
            id: role.id.to_string(),
            name: role.name.to_string(),
            is_role: true,
            risk: role.risk,
            privileged: false,
        });
    }
    let idx = |id: &str| ents.iter().position(|e| e.id == id);
    let mut edges = Vec::new();
    for role in kind.roles {
        for m in role.members {
            if let (Some(a), Some(b)) = (idx(role.id), idx(m)) {
                edges.push((a, b));
            }
        }
    }
    let n = ents.len();
    let mut closure = Vec::with_capacity(n);
    let mut reach_priv = Vec::with_capacity(n);
    for e in 0..n {
        let mut seen = vec![false; n];
        let mut stack = vec![e];
        seen[e] = true;
        while let Some(x) = stack.pop() {
            for &(a, b) in &edges {
                if a == x && !seen[b] {
                    seen[b] = true;
                    stack.push(b);
                }
            }
        }
        let reached: Vec<usize> = (0..n).filter(|&i| seen[i]).collect();
        closure.push(
            reached
                .iter()
                .copied()
                .filter(|&i| !ents[i].is_role)
                .collect::<Vec<_>>(),
        );
        reach_priv.push(reached.iter().any(|&i| ents[i].privileged));
    }
    let mut actions: Vec<(String, Option<usize>)> = Vec::new();
    let mut action_of_perm = vec![None; n];
    for (i, e) in ents.iter().enumerate() {
        if !e.is_role {
            action_of_perm[i] = Some(actions.len() as u32);
            actions.push((e.id.clone(), Some(i)));
        }
    }
    for (alias, perm) in kind.aliases {
        actions.push((alias.to_string(), idx(perm)));
    }
    let login = actions.len() as u32;
    actions.push(("login".to_string(), None));
    actions.push(("logout".to_string(), None));
    let action_priv = actions
        .iter()
        .map(|(_, p)| p.is_some_and(|p| ents[p].privileged))
        .collect();
    let action_target = actions.iter().map(|(a, _)| target_prefix(a)).collect();
    System {
        id,
        name,
        jur,
        kind: k,
        ents,
        edges,
        closure,
        reach_priv,
        actions,
        action_of_perm,
        action_priv,
        action_target,
        login,
        sequenced: kind.sequenced,
        chained: kind.chained,
        hot: kind.hot,
    }
}

fn target_prefix(action: &str) -> Option<&'static str> {
    let obj = action.split('.').next().unwrap_or("");
    Some(match obj {
        "payout" => "PO",
        "beneficiary" => "BEN",
        "settlement" => "STL",
        "merchant" => "M",
        "ticket" => "TCK",
        "customer" => "CUS",
        "journal" => "JE",
        "rules" => "RULE",
        "case" => "CASE",
        "user" => "USR",
        "access" => "REQ",
        "limit" => "LIM",
        _ => return None,
    })
}
