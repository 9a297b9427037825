//! The server's own descriptors: how many are left under the open-files
//! limit, so that creating a session answers 503 (`out_of_descriptors`)
//! while some are still kept in reserve for answering, never a 500 from
//! a half-made session.

/// Descriptors a new session must leave free (for answering requests and
/// the accept loop's reserve). A session takes about eight while it
/// starts.
pub const RESERVE: u64 = 32;

/// Descriptors left under the soft open-files limit; `None` when that
/// cannot be read (then nothing is refused for it).
pub fn descriptors_left() -> Option<u64> {
    let limit = rustix::process::getrlimit(rustix::process::Resource::Nofile).current?;
    let open = std::fs::read_dir("/proc/self/fd").ok()?.count() as u64;
    Some(limit.saturating_sub(open))
}

/// Whether an error message says the process or the system ran out of
/// descriptors (`EMFILE`, `ENFILE`: portable-pty and std fold the errno
/// into their messages).
pub fn says_out_of_descriptors(message: &str) -> bool {
    message.contains("os error 24")
        || message.contains("os error 23")
        || message.contains("Too many open files")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn descriptors_are_counted() {
        let before = descriptors_left().unwrap();
        let files: Vec<_> = (0..5)
            .map(|_| std::fs::File::open("/dev/null").unwrap())
            .collect();
        // Other test threads open descriptors too: only a rough check.
        assert!(descriptors_left().unwrap() < before + 5);
        drop(files);
        assert!(says_out_of_descriptors(
            "openpty: Too many open files (os error 24)"
        ));
        assert!(!says_out_of_descriptors("no such file (os error 2)"));
    }
}
