//! permaudit: nightly access-control and audit-log compliance for payment platforms.
//! Flow: ingest -> resolve -> rules -> findings -> report, see ARCHITECTURE.md.

pub mod codes;
pub mod config;
pub mod error;
pub mod files;
pub mod findings;
pub mod fs_guard;
pub mod generate;
pub mod hash;
pub mod history;
pub mod import;
pub mod ingest;
pub mod lock;
pub mod manifest;
pub mod memory;
pub mod minimise;
pub mod output;
pub mod parallel;
pub mod pipeline;
pub mod policy;
pub mod progress;
pub mod report;
pub mod resolve;
pub mod review;
pub mod rules;
pub mod run;
pub mod severity;
pub mod signing;
pub mod source;
pub mod time;
pub mod verify;
pub mod waivers;
pub mod whatif;
