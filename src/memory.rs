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

/// Hands the memory freed so far back to the operating system now, on this thread and on
/// each of polars' workers, instead of when each thread next allocates; `after` names what
/// freed it, for the run log.
///
/// For the ends of the stages that free a large table just before another allocates as
/// much: the allocator keeps a thread's freed pages for that thread, so without this the
/// next stage takes fresh pages beside them and the peak counts both.
pub fn release(after: &str) {
    let before = resident();
    let collect = || {
        // SAFETY: mi_collect takes no pointer; it walks the allocator's own structures of
        // the calling thread and its arenas, and is safe to call from any thread at any
        // time (also when mimalloc is not the global allocator: then it has nothing to do).
        unsafe { libmimalloc_sys::mi_collect(true) }
    };
    polars_core::runtime::THREAD_POOL.broadcast(|_| collect());
    collect();
    tracing::debug!(
        after,
        rss_before_mib = before.rss_mib,
        rss_mib = resident().rss_mib,
        "memory released"
    );
}
