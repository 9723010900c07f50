//! The integration suite, linked as one test binary: every test module below shares one copy
//! of polars, so a cold `cargo test` links it once instead of once per file (a debug test
//! binary is over 100 MB). `cargo test --test suite rules::` runs one module's tests.

mod common;

mod cli;
mod generate;
mod hostile_inputs;
mod hostile_out;
mod hostile_review;
mod incremental;
mod ingest;
mod layers;
mod minimise;
mod nightly;
mod partitions;
mod pinned;
mod policy;
mod report;
mod review;
mod rules;
mod sample;
mod shuffle;
mod signing;
mod sources;
mod summaries;
mod tidy;
mod waivers;
mod whatif;
