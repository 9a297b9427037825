//! Failed spawns: typed errors that keep the reason, and nothing left behind
//! (no guard, no zombie, no descriptor). One test, so that counting this
//! process's children and descriptors is not disturbed by other tests.

mod common;

use std::os::unix::fs::PermissionsExt;

use common::options;
use ptyhub_pty::{Pty, SpawnError};

fn fd_count() -> usize {
    std::fs::read_dir("/proc/self/fd").unwrap().count()
}

fn children() -> Vec<i32> {
    let me = std::process::id() as i32;
    ptyhub_pty::procs::scan()
        .into_iter()
        .filter(|p| p.ppid == me)
        .map(|p| p.pid)
        .collect()
}

#[test]
fn failed_spawns_are_typed_and_leave_nothing() {
    // The PTY's reading runs on a tokio runtime.
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let _entered = runtime.enter();
    let dir = std::env::temp_dir().join(format!("ptyhub-spawn-errors-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let plain = dir.join("not-executable");
    std::fs::write(&plain, "#!/bin/sh\necho hi\n").unwrap();
    std::fs::set_permissions(&plain, std::fs::Permissions::from_mode(0o644)).unwrap();
    let bad_interp = dir.join("bad-interpreter");
    std::fs::write(&bad_interp, "#!/nonexistent/interpreter\n").unwrap();
    std::fs::set_permissions(&bad_interp, std::fs::Permissions::from_mode(0o755)).unwrap();

    // Warm up once so that lazily opened descriptors (if any) are counted.
    let (pty, mut events) = Pty::spawn(options(&["true"])).unwrap();
    while events.blocking_recv().is_some() {}
    drop(pty);
    assert!(common::wait_for(std::time::Duration::from_secs(5), || {
        children().is_empty()
    }));
    // The reading task closes its descriptors right after reaping the guard.
    let mut fds_before = fd_count();
    common::wait_for(std::time::Duration::from_secs(2), || {
        let now = fd_count();
        let settled = now == fds_before;
        fds_before = now;
        settled
    });

    let err = Pty::spawn(options(&["no-such-program-ptyhub"])).unwrap_err();
    assert!(matches!(err, SpawnError::ProgramNotFound { .. }), "{err:?}");

    let mut opts = options(&["sh"]);
    opts.cwd = dir.join("missing");
    let err = Pty::spawn(opts).unwrap_err();
    assert!(matches!(err, SpawnError::CwdMissing { .. }), "{err:?}");
    assert!(err.to_string().contains("missing"), "{err}");

    let mut opts = options(&["sh"]);
    opts.cwd = plain.clone();
    let err = Pty::spawn(opts).unwrap_err();
    assert!(matches!(err, SpawnError::CwdNotDirectory { .. }), "{err:?}");

    let err = Pty::spawn(options(&[plain.to_str().unwrap()])).unwrap_err();
    match &err {
        SpawnError::NotExecutable { source, .. } => {
            assert_eq!(source.raw_os_error(), Some(libc_eacces()))
        }
        other => panic!("{other:?}"),
    }

    // Passes the checks before the guard, fails at execve in the guard.
    let err = Pty::spawn(options(&[bad_interp.to_str().unwrap()])).unwrap_err();
    match &err {
        SpawnError::Exec { source, .. } => assert_eq!(source.kind(), std::io::ErrorKind::NotFound),
        other => panic!("{other:?}"),
    }

    let mut opts = options(&["sh"]);
    opts.argv.clear();
    assert!(matches!(
        Pty::spawn(opts).unwrap_err(),
        SpawnError::Invalid(_)
    ));

    let mut guard_missing = options(&["sh"]);
    guard_missing.guard = ptyhub_pty::GuardProgram::binary(dir.join("no-guard"));
    assert!(matches!(
        Pty::spawn(guard_missing).unwrap_err(),
        SpawnError::Guard(_)
    ));

    assert_eq!(fd_count(), fds_before, "descriptors leaked");
    assert!(children().is_empty(), "children left: {:?}", children());
    std::fs::remove_dir_all(&dir).unwrap();
}

fn libc_eacces() -> i32 {
    13
}
