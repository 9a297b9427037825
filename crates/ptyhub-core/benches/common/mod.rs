//! What the core's benches read of their own process.
#![allow(dead_code)]

/// CPU seconds (user + system) of this whole process so far.
pub fn cpu_seconds() -> f64 {
    let stat = procfs::process::Process::myself()
        .and_then(|p| p.stat())
        .expect("own stat");
    (stat.utime + stat.stime) as f64 / procfs::ticks_per_second() as f64
}

/// This process's resident set, KiB.
pub fn rss_kib() -> u64 {
    procfs::process::Process::myself()
        .and_then(|p| p.status())
        .expect("own status")
        .vmrss
        .expect("VmRSS")
}
