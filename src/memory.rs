//! This process's resident memory, for the run log: where a run's memory goes is the
//! question a large first run asks (Linux `/proc`; elsewhere the fields are absent).

/// Resident set size now, in MiB.
pub fn rss_mib() -> Option<u64> {
    status_mib("VmRSS:")
}

/// The largest resident set size so far, in MiB.
pub fn peak_mib() -> Option<u64> {
    status_mib("VmHWM:")
}

fn status_mib(field: &str) -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with(field))?;
    let kib: u64 = line[field.len()..]
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()?;
    Some(kib / 1024)
}
