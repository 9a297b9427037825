//! Skips asked for by name. A test that needs a tool gets it or fails; the
//! one way out is `PTYHUB_SKIP` (comma- or space-separated names, e.g.
//! `PTYHUB_SKIP=ai-cli`), honoured only outside CI (`CI` not `true`). Each
//! skip is written to stderr past libtest's capture and appended to the file
//! in `PTYHUB_SKIP_LOG`, which `tests/run-all.sh` prints in its closing
//! summary.

use std::io::Write;

/// Whether the skip `name` was asked for; `test` names the test for the
/// record. Panics when it was asked for under `CI=true`.
pub fn skip_requested(name: &str, test: &str) -> bool {
    let asked = std::env::var("PTYHUB_SKIP").unwrap_or_default();
    if !asked
        .split([',', ' '])
        .any(|w| w.trim().eq_ignore_ascii_case(name))
    {
        return false;
    }
    assert!(
        std::env::var("CI").as_deref() != Ok("true"),
        "PTYHUB_SKIP={asked} is not honoured under CI=true: {test} needs {name}"
    );
    let line = format!("SKIPPED {test}: PTYHUB_SKIP={asked}\n");
    // Past libtest's capture, which only takes the print macros.
    let _ = std::io::stderr().write_all(line.as_bytes());
    if let Some(path) = std::env::var_os("PTYHUB_SKIP_LOG") {
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .unwrap_or_else(|e| panic!("PTYHUB_SKIP_LOG {path:?}: {e}"));
        file.write_all(line.as_bytes())
            .unwrap_or_else(|e| panic!("PTYHUB_SKIP_LOG {path:?}: {e}"));
    }
    true
}
