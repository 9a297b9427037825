//! Builds the small standalone session guard (`ptyhub-guard`, from the
//! `ptyhub-pty` crate, always optimised) for the `ptyhub` binary to embed.
//!
//! Why: every session has a guard process. Started as `ptyhub __guard`, a
//! guard is this whole position-independent executable, whose ~0.5 MiB of
//! relocated read-only data (`.data.rel.ro`, `.got`) the loader writes in
//! every process: ~600 KiB PSS per guard. The standalone guard links only
//! the guard's code and is a fraction of that (BENCHMARKS.md, "Where the
//! guard's memory goes"). Embedding it keeps `cargo run --release -- serve`
//! one binary that needs nothing next to it, and guard and server always of
//! the same build (no protocol skew).
//!
//! The guard is built by a nested `cargo build --offline --locked` into a
//! target directory of its own beside this build's (shared by the debug and
//! release builds). Should that fail, a warning says why and an empty file
//! is embedded: the server then starts its guards as `ptyhub __guard`, as
//! before (correct, only bigger).

use std::path::{Path, PathBuf};
use std::process::Command;

fn main() {
    let out_dir = PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    let manifest_dir =
        PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets it"));
    let workspace = manifest_dir
        .parent()
        .and_then(Path::parent)
        .expect("crates/ptyhub is two levels below the workspace")
        .to_path_buf();
    for watched in ["crates/ptyhub-pty", "Cargo.lock"] {
        println!(
            "cargo:rerun-if-changed={}",
            workspace.join(watched).display()
        );
    }
    println!("cargo:rerun-if-env-changed=PTYHUB_EMBED_GUARD");

    let embedded = out_dir.join("ptyhub-guard");
    let built = if std::env::var_os("PTYHUB_EMBED_GUARD").is_some_and(|v| v == "0") {
        Err("PTYHUB_EMBED_GUARD=0".to_owned())
    } else {
        build_guard(&workspace, &guard_target_dir(&out_dir, &workspace))
    };
    let bytes = match built.and_then(|path| std::fs::read(&path).map_err(|e| e.to_string())) {
        Ok(bytes) => bytes,
        Err(why) => {
            println!(
                "cargo:warning=the small session guard was not built ({why}); \
                 guards will run as `ptyhub __guard` (more memory per session)"
            );
            Vec::new()
        }
    };
    std::fs::write(&embedded, bytes).expect("OUT_DIR is writable");
}

/// `<target>/ptyhub-guard-build`, `<target>` being this build's target
/// directory (`OUT_DIR` is `<target>[/<triple>]/<profile>/build/<pkg>/out`).
fn guard_target_dir(out_dir: &Path, workspace: &Path) -> PathBuf {
    out_dir
        .ancestors()
        .find(|p| p.file_name().is_some_and(|n| n == "build"))
        .and_then(Path::parent)
        .and_then(Path::parent)
        .map_or_else(|| workspace.join("target"), Path::to_path_buf)
        .join("ptyhub-guard-build")
}

/// Runs the nested build; the path of the built guard.
fn build_guard(workspace: &Path, target_dir: &Path) -> Result<PathBuf, String> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut command = Command::new(cargo);
    command
        .current_dir(workspace)
        .args([
            "build",
            "--release",
            "--offline",
            "--locked",
            "--quiet",
            "-p",
            "ptyhub-pty",
            "--bin",
            "ptyhub-guard",
            "--target-dir",
        ])
        .arg(target_dir)
        // Carried inside `ptyhub` and written to memory at each start:
        // small, no debug information.
        .env("CARGO_PROFILE_RELEASE_DEBUG", "false")
        .env("CARGO_PROFILE_RELEASE_STRIP", "true");
    // What the outer cargo set for this build script, or a wrapper such as
    // clippy's, is not for the nested build (the jobserver, CARGO_MAKEFLAGS,
    // is kept: the nested build shares the outer one's job slots).
    for (key, _) in std::env::vars_os() {
        let Some(key) = key.to_str() else { continue };
        let outer = key.starts_with("CARGO_PKG_")
            || key.starts_with("CARGO_CFG_")
            || key.starts_with("CARGO_FEATURE_")
            || key.starts_with("__CARGO")
            || matches!(
                key,
                "CARGO_MANIFEST_DIR"
                    | "CARGO_MANIFEST_PATH"
                    | "CARGO_TARGET_DIR"
                    | "CARGO_ENCODED_RUSTFLAGS"
                    | "CARGO_PRIMARY_PACKAGE"
                    | "RUSTC_WRAPPER"
                    | "RUSTC_WORKSPACE_WRAPPER"
                    | "CLIPPY_ARGS"
                    | "CLIPPY_CONF_DIR"
                    | "OUT_DIR"
                    | "TARGET"
                    | "HOST"
                    | "NUM_JOBS"
                    | "OPT_LEVEL"
                    | "PROFILE"
                    | "DEBUG"
                    | "RUSTDOC"
            );
        if outer {
            command.env_remove(key);
        }
    }
    let output = command
        .output()
        .map_err(|e| format!("cannot run cargo: {e}"))?;
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        let last = stderr.lines().rev().take(3).collect::<Vec<_>>();
        return Err(format!("cargo build failed: {}", last.join(" / ")));
    }
    Ok(target_dir.join("release").join("ptyhub-guard"))
}
