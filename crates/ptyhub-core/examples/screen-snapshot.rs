//! Feeds byte streams to the server-side screen ([`ptyhub_core::Screen`])
//! and writes what a late joiner and `/screen` would get, for the
//! differential harness (`web/screen-diff/run.mjs`), which replays them in
//! xterm.js next to the raw streams.
//!
//! `screen-snapshot OUT_DIR FILE...`: for each `NAME[.COLSxROWS].bin`,
//! writes `OUT_DIR/NAME.snap` (the snapshot) and `OUT_DIR/NAME.txt`
//! (`cursor ROW COL`, `title TITLE`, then the `/screen` lines). The stream
//! is fed in chunks of varying sizes (1 byte to 64 KiB), so sequences split
//! across chunks and the plain-text skip of long runs are exercised too.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use ptyhub_core::Screen;
use ptyhub_pty::WindowSize;

/// `NAME.120x40.bin` → 120x40; anything else 80x24.
fn size_of(path: &Path) -> WindowSize {
    let stem = path
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or_default();
    let dims = stem.rsplit_once('.').and_then(|(_, d)| d.split_once('x'));
    match dims.and_then(|(c, r)| Some((c.parse().ok()?, r.parse().ok()?))) {
        Some((cols, rows)) => WindowSize { cols, rows },
        None => WindowSize { cols: 80, rows: 24 },
    }
}

fn run(out: &Path, file: &Path) -> std::io::Result<()> {
    let bytes = std::fs::read(file)?;
    let mut screen = Screen::new(size_of(file));
    const CHUNKS: [usize; 6] = [1, 7, 4096, 65536, 13, 300];
    let (mut at, mut k) = (0, bytes.len() % CHUNKS.len());
    while at < bytes.len() {
        let end = (at + CHUNKS[k % CHUNKS.len()]).min(bytes.len());
        screen.process(&bytes[at..end]);
        screen.offset = end as u64;
        at = end;
        k += 1;
    }
    let name = file
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or("stream");
    let name = name.split('.').next().unwrap_or(name);
    std::fs::write(out.join(format!("{name}.snap")), screen.snapshot_live())?;
    let (row, col) = screen.cursor();
    let mut text = format!("cursor {row} {col}\ntitle {}\n", screen.title());
    for line in screen.lines() {
        text.push_str(&line);
        text.push('\n');
    }
    std::fs::write(out.join(format!("{name}.txt")), text)
}

fn main() -> ExitCode {
    let mut args = std::env::args_os().skip(1);
    let Some(out) = args.next().map(PathBuf::from) else {
        eprintln!("usage: screen-snapshot OUT_DIR FILE...");
        return ExitCode::FAILURE;
    };
    for file in args.map(PathBuf::from) {
        if let Err(e) = run(&out, &file) {
            eprintln!("{}: {e}", file.display());
            return ExitCode::FAILURE;
        }
    }
    ExitCode::SUCCESS
}
