//! permaudit: nightly access-control and audit-log compliance for payment platforms.
//! Flow: ingest -> resolve -> rules -> findings -> report, see ARCHITECTURE.md.

pub mod config;
pub mod error;
pub mod findings;
pub mod ingest;
pub mod pipeline;
pub mod policy;
pub mod resolve;
pub mod rules;
