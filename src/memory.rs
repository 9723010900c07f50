//! This process's resident memory, for the run log: where a run's memory goes is the
//! question a large first run asks (Linux `/proc`; elsewhere the fields are absent).

/// Resident set size now and its peak so far, in MiB, from one read of the status file.
#[derive(Debug, Clone, Copy, Default)]
pub struct Resident {
    pub rss_mib: Option<u64>,
    pub peak_mib: Option<u64>,
}

pub fn resident() -> Resident {
    let Ok(status) = std::fs::read_to_string("/proc/self/status") else {
        return Resident::default();
    };
    let mib = |field: &str| -> Option<u64> {
        let line = status.lines().find(|l| l.starts_with(field))?;
        let kib: u64 = line[field.len()..]
            .trim()
            .trim_end_matches("kB")
            .trim()
            .parse()
            .ok()?;
        Some(kib / 1024)
    };
    Resident {
        rss_mib: mib("VmRSS:"),
        peak_mib: mib("VmHWM:"),
    }
}
