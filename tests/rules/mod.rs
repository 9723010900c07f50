//! Every detection rule: a module per rule.

mod dormant_account;
mod emergency_account_used;
mod expired_grant;
mod failed_login_burst;
mod freeze_not_applied;
mod grade_exceeded;
mod impossible_travel;
mod log_feed_silent;
mod log_hash_mismatch;
mod log_sequence_gap;
mod login_from_unexpected_country;
mod metadata;
mod off_hours_privileged_action;
mod orphan_account;
mod peer_outlier;
mod post_termination_activity;
mod privileged_no_mfa;
mod revocation_not_applied;
mod self_approved_grant;
mod shared_privileged_account;
mod sod_conflict;
mod sod_transaction;
mod stale_grant;
mod terminated_access;
mod unapproved_privileged_grant;
mod unmanaged_account_activity;
