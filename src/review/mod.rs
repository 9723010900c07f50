//! Access review campaigns: periodic sign-off of every effective grant by the
//! holder's manager or the entitlement's owner, run offline from the same tables as the
//! nightly pipeline. One module per concern:
//!
//! - [`model`]: the campaign, its items and decisions, and their storage under
//!   `OUT/reviews/<campaign_id>/` (JSON, written atomically);
//! - [`open`]: the population (grants that are due), reviewer assignment with fallbacks,
//!   the evidence shown on each item;
//! - [`packets`]: per-reviewer CSV and XLSX packets, and reading returned ones;
//! - [`ingest`]: validating returned packets and recording decisions, all or nothing;
//! - [`status`]: completion, overdue items, rubber-stamp signals;
//! - [`close`]: on_no_response, `revocations.csv`, `signoff.json`;
//! - [`remediation`]: the revocations of closed campaigns, for the nightly run's rules;
//! - [`report`]: the campaign report (HTML + Markdown).
//!
//! Decisions and their reasons are in docs/reviews.md.

pub mod close;
pub mod ingest;
pub mod model;
pub mod open;
pub mod packets;
pub mod remediation;
pub mod report;
pub mod status;

pub use model::{OnNoResponse, Stored};
