//! The static tables written as Parquet: systems, identities, accounts, the entitlement
//! catalogue, grants, SoD exceptions and security training.

use std::fmt::Write as _;
use std::fs::{self, File};
use std::io::BufWriter;
use std::path::Path;

use polars::prelude::*;

use super::catalogue::{JOBS, JURS, K_IAM, RISK};
use super::model::{AType, Account, Owner, Status, World};
use crate::error::{Error, Result};

pub(super) fn write_static(w: &World, input: &Path) -> Result<()> {
    write_systems(w, input)?;
    write_identities(w, input)?;
    write_accounts(w, input)?;
    write_catalogue(w, input)?;
    write_grants(w, input)?;
    write_exceptions(w, input)?;
    write_training(w, input)
}

/// The systems, each owned by its jurisdiction's platform owner.
fn write_systems(w: &World, input: &Path) -> Result<()> {
    let mut df = DataFrame::new_infer_height(vec![
        Series::new(
            "system_id".into(),
            w.systems.iter().map(|s| s.id.as_str()).collect::<Vec<_>>(),
        )
        .into(),
        Series::new(
            "name".into(),
            w.systems
                .iter()
                .map(|s| s.name.as_str())
                .collect::<Vec<_>>(),
        )
        .into(),
        Series::new(
            "jurisdiction".into(),
            w.systems
                .iter()
                .map(|s| JURS[s.jur].code)
                .collect::<Vec<_>>(),
        )
        .into(),
        Series::new(
            "legal_entity".into(),
            w.systems
                .iter()
                .map(|s| {
                    if s.kind == K_IAM {
                        "PayFront Holdings Ltd"
                    } else {
                        JURS[s.jur].entity
                    }
                })
                .collect::<Vec<_>>(),
        )
        .into(),
        Series::new(
            "owner_id".into(),
            w.systems
                .iter()
                .map(|s| w.ident_id(1 + s.jur))
                .collect::<Vec<_>>(),
        )
        .into(),
    ])?;
    write_parquet(&input.join("systems.parquet"), &mut df)
}

/// The identities.
fn write_identities(w: &World, input: &Path) -> Result<()> {
    let ids = &w.identities;
    let mut df = DataFrame::new_infer_height(vec![
        Series::new(
            "identity_id".into(),
            ids.iter().map(|i| i.id.as_str()).collect::<Vec<_>>(),
        )
        .into(),
        Series::new(
            "display_name".into(),
            ids.iter().map(|i| i.display.as_str()).collect::<Vec<_>>(),
        )
        .into(),
        Series::new(
            "email".into(),
            ids.iter().map(|i| i.email.as_str()).collect::<Vec<_>>(),
        )
        .into(),
        Series::new(
            "department".into(),
            ids.iter().map(|i| i.dept.as_str()).collect::<Vec<_>>(),
        )
        .into(),
        Series::new(
            "job_function".into(),
            ids.iter()
                .enumerate()
                .map(|(n, i)| match i.job {
                    Some(j) => JOBS[j].name,
                    None if n == 0 => "chief_executive",
                    None => "platform_owner",
                })
                .collect::<Vec<_>>(),
        )
        .into(),
        Series::new(
            "manager_id".into(),
            ids.iter()
                .map(|i| i.manager.map(|m| w.ident_id(m)))
                .collect::<Vec<_>>(),
        )
        .into(),
        Series::new(
            "status".into(),
            ids.iter()
                .map(|i| match i.status {
                    Status::Active => "active",
                    Status::Leave => "leave",
                    Status::Terminated => "terminated",
                })
                .collect::<Vec<_>>(),
        )
        .into(),
        ts_series(
            "terminated_at",
            ids.iter().map(|i| i.terminated_at).collect(),
        )
        .into(),
    ])?;
    write_parquet(&input.join("identities.parquet"), &mut df)
}

/// The accounts, except those planted as absent from the export.
fn write_accounts(w: &World, input: &Path) -> Result<()> {
    let accs: Vec<&Account> = w.accounts.iter().filter(|a| !a.ghost).collect();
    let mut df = DataFrame::new_infer_height(vec![
        Series::new(
            "system_id".into(),
            accs.iter()
                .map(|a| w.systems[a.sys].id.as_str())
                .collect::<Vec<_>>(),
        )
        .into(),
        Series::new(
            "account_id".into(),
            accs.iter().map(|a| a.name.as_str()).collect::<Vec<_>>(),
        )
        .into(),
        Series::new(
            "identity_id".into(),
            accs.iter()
                .map(|a| identity_name(w, &a.owner))
                .collect::<Vec<_>>(),
        )
        .into(),
        Series::new(
            "account_type".into(),
            accs.iter()
                .map(|a| match a.atype {
                    AType::Human => "human",
                    AType::Service => "service",
                    AType::Shared => "shared",
                    AType::Emergency => "emergency",
                })
                .collect::<Vec<_>>(),
        )
        .into(),
        Series::new(
            "status".into(),
            accs.iter().map(|a| a.status).collect::<Vec<_>>(),
        )
        .into(),
        ts_series("created_at", accs.iter().map(|a| a.created_at).collect()).into(),
    ])?;
    write_parquet(&input.join("accounts.parquet"), &mut df)
}

/// Entitlements, role memberships and the actions exercising each permission.
fn write_catalogue(w: &World, input: &Path) -> Result<()> {
    let (mut es, mut ee, mut ek, mut en, mut er, mut ep, mut eo) = (
        Vec::new(),
        Vec::new(),
        Vec::new(),
        Vec::new(),
        Vec::new(),
        Vec::new(),
        Vec::new(),
    );
    let (mut rs, mut rr, mut rm) = (Vec::new(), Vec::new(), Vec::new());
    let (mut as_, mut aa, mut ap) = (Vec::new(), Vec::new(), Vec::new());
    for s in &w.systems {
        for e in &s.ents {
            es.push(s.id.as_str());
            ee.push(e.id.as_str());
            ek.push(if e.is_role { "role" } else { "permission" });
            en.push(e.name.as_str());
            er.push(RISK[e.risk as usize]);
            ep.push(e.privileged);
            eo.push(w.ident_id(1 + s.jur));
        }
        for &(a, b) in &s.edges {
            rs.push(s.id.as_str());
            rr.push(s.ents[a].id.as_str());
            rm.push(s.ents[b].id.as_str());
        }
        for (name, perm) in &s.actions {
            if let Some(p) = perm {
                as_.push(s.id.as_str());
                aa.push(name.as_str());
                ap.push(s.ents[*p].id.as_str());
            }
        }
    }
    let mut df = DataFrame::new_infer_height(vec![
        Series::new("system_id".into(), es).into(),
        Series::new("entitlement_id".into(), ee).into(),
        Series::new("kind".into(), ek).into(),
        Series::new("name".into(), en).into(),
        Series::new("risk".into(), er).into(),
        Series::new("privileged".into(), ep).into(),
        Series::new("owner_id".into(), eo).into(),
    ])?;
    write_parquet(&input.join("entitlements.parquet"), &mut df)?;
    let mut df = DataFrame::new_infer_height(vec![
        Series::new("system_id".into(), rs).into(),
        Series::new("role_id".into(), rr).into(),
        Series::new("member_id".into(), rm).into(),
    ])?;
    write_parquet(&input.join("role_permissions.parquet"), &mut df)?;
    let mut df = DataFrame::new_infer_height(vec![
        Series::new("system_id".into(), as_).into(),
        Series::new("action".into(), aa).into(),
        Series::new("permission_id".into(), ap).into(),
    ])?;
    write_parquet(&input.join("action_permissions.parquet"), &mut df)
}

/// The grants, numbered in creation order.
fn write_grants(w: &World, input: &Path) -> Result<()> {
    let g = &w.grants;
    let mut gid = StringChunkedBuilder::new("grant_id".into(), g.len());
    let mut tickets = StringChunkedBuilder::new("ticket".into(), g.len());
    let mut buf = String::new();
    for (n, gr) in g.iter().enumerate() {
        buf.clear();
        let _ = write!(buf, "G{:09}", n + 1);
        gid.append_value(&buf);
        match gr.ticket {
            Some(t) => {
                buf.clear();
                let _ = write!(buf, "CHG-{t}");
                tickets.append_value(&buf);
            }
            None => tickets.append_null(),
        }
    }
    let mut df = DataFrame::new_infer_height(vec![
        gid.finish().into_series().into(),
        Series::new(
            "system_id".into(),
            g.iter()
                .map(|x| w.systems[w.accounts[x.account].sys].id.as_str())
                .collect::<Vec<_>>(),
        )
        .into(),
        Series::new(
            "account_id".into(),
            g.iter()
                .map(|x| w.accounts[x.account].name.as_str())
                .collect::<Vec<_>>(),
        )
        .into(),
        Series::new(
            "entitlement_id".into(),
            g.iter()
                .map(|x| w.systems[w.accounts[x.account].sys].ents[x.ent].id.as_str())
                .collect::<Vec<_>>(),
        )
        .into(),
        ts_series("granted_at", g.iter().map(|x| Some(x.granted_at)).collect()).into(),
        Series::new(
            "granted_by".into(),
            g.iter()
                .map(|x| x.granted_by.map(|i| w.ident_id(i)))
                .collect::<Vec<_>>(),
        )
        .into(),
        Series::new(
            "approved_by".into(),
            g.iter()
                .map(|x| x.approved_by.map(|i| w.ident_id(i)))
                .collect::<Vec<_>>(),
        )
        .into(),
        ts_series("expires_at", g.iter().map(|x| x.expires_at).collect()).into(),
        ts_series("revoked_at", g.iter().map(|x| x.revoked_at).collect()).into(),
        tickets.finish().into_series().into(),
    ])?;
    write_parquet(&input.join("grants.parquet"), &mut df)
}

/// The SoD exceptions.
fn write_exceptions(w: &World, input: &Path) -> Result<()> {
    let x = &w.exceptions;
    let mut df = DataFrame::new_infer_height(vec![
        Series::new(
            "exception_id".into(),
            (0..x.len())
                .map(|n| format!("EXC-{:05}", n + 1))
                .collect::<Vec<_>>(),
        )
        .into(),
        Series::new(
            "sod_rule_id".into(),
            x.iter().map(|e| e.rule).collect::<Vec<_>>(),
        )
        .into(),
        Series::new(
            "identity_id".into(),
            x.iter().map(|e| w.ident_id(e.identity)).collect::<Vec<_>>(),
        )
        .into(),
        Series::new(
            "approved_by".into(),
            x.iter()
                .map(|e| w.ident_id(e.approved_by))
                .collect::<Vec<_>>(),
        )
        .into(),
        ts_series(
            "approved_at",
            x.iter().map(|e| Some(e.approved_at)).collect(),
        )
        .into(),
        ts_series("expires_at", x.iter().map(|e| Some(e.expires_at)).collect()).into(),
        Series::new(
            "control".into(),
            x.iter().map(|e| e.control).collect::<Vec<_>>(),
        )
        .into(),
    ])?;
    write_parquet(&input.join("exceptions.parquet"), &mut df)
}

/// The security training completions.
fn write_training(w: &World, input: &Path) -> Result<()> {
    let t = &w.training;
    let mut df = DataFrame::new_infer_height(vec![
        Series::new(
            "identity_id".into(),
            t.iter().map(|x| x.identity.as_str()).collect::<Vec<_>>(),
        )
        .into(),
        Series::new(
            "course".into(),
            t.iter().map(|x| x.course).collect::<Vec<_>>(),
        )
        .into(),
        ts_series(
            "completed_at",
            t.iter().map(|x| Some(x.completed_at)).collect(),
        )
        .into(),
    ])?;
    write_parquet(&input.join("training.parquet"), &mut df)
}

pub(super) fn ts_series(name: &str, v: Vec<Option<i64>>) -> Series {
    Int64Chunked::from_iter_options(name.into(), v.into_iter())
        .into_datetime(TimeUnit::Microseconds, Some(polars::prelude::TimeZone::UTC))
        .into_series()
}

pub(super) fn write_parquet(path: &Path, df: &mut DataFrame) -> Result<()> {
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent).map_err(|e| Error::io(parent, e))?;
    }
    let file = File::create(path).map_err(|e| Error::io(path, e))?;
    ParquetWriter::new(BufWriter::new(file))
        .with_compression(ParquetCompression::Zstd(None))
        .finish(df)?;
    Ok(())
}

fn identity_name(w: &World, o: &Owner) -> Option<String> {
    match o {
        Owner::Identity(i) => Some(w.identities[*i].id.clone()),
        Owner::None => None,
        Owner::Unknown(s) => Some(s.clone()),
    }
}

impl World {
    fn ident_id(&self, i: usize) -> &str {
        self.identities[i].id.as_str()
    }
}
