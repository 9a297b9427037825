//! The server-side screen's costs (BENCHMARKS.md, "Screen model"): parser
//! throughput on plain, coloured and full-screen-TUI streams for the
//! patched vt100 (`Screen::process`, with its plain-text skip, and the bare
//! parser) against upstream vt100 0.18.1 in the same run; the snapshot of a
//! full 200x50 screen (a colour per word, and every cell different); the
//! cell size behind an idle 80x24 session's grid.
//!
//! `cargo bench -p ptyhub-core --bench screen`

use std::hint::black_box;
use std::num::NonZeroU16;
use std::time::Instant;

use ptyhub_core::Screen;
use ptyhub_pty::WindowSize;

fn nz(v: u16) -> NonZeroU16 {
    NonZeroU16::new(v).expect("non-zero")
}

/// A small deterministic generator (xorshift).
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

fn plain(total: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(total);
    let mut i = 0u64;
    while out.len() < total {
        out.extend_from_slice(
            format!("line {i:>8} the quick brown fox jumps over the lazy dog\r\n").as_bytes(),
        );
        i += 1;
    }
    out
}

fn coloured(total: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(total);
    let mut r = Rng(7);
    while out.len() < total {
        for _ in 0..8 {
            let c = r.next() % 256;
            out.extend_from_slice(format!("\x1b[38;5;{c}mword{c:03} \x1b[0m").as_bytes());
        }
        out.extend_from_slice(b"\r\n");
    }
    out
}

fn tui(total: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(total);
    let mut r = Rng(11);
    while out.len() < total {
        out.extend_from_slice(b"\x1b[?2026h\x1b[H");
        for row in 1..=24 {
            let c = r.next() % 8;
            out.extend_from_slice(
                format!("\x1b[{row};1H\x1b[4{c};1m\x1b(0lqqk\x1b(B status {row:02} \x1b[0m\x1b[K")
                    .as_bytes(),
            );
        }
        out.extend_from_slice(b"\x1b[?2026l");
    }
    out
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// MB/s, median of 5, feeding 64 KiB chunks.
fn throughput(data: &[u8], mut feed: impl FnMut(&[u8])) -> f64 {
    let runs = (0..5)
        .map(|_| {
            let t = Instant::now();
            for chunk in data.chunks(64 << 10) {
                feed(chunk);
            }
            data.len() as f64 / t.elapsed().as_secs_f64() / 1e6
        })
        .collect();
    median(runs)
}

fn main() {
    let size = WindowSize { cols: 80, rows: 24 };
    println!(
        "| stream | Screen::process (patched, skip) MB/s | patched vt100 parser MB/s | upstream vt100 0.18.1 MB/s | patched / upstream |"
    );
    println!("| --- | --- | --- | --- | --- |");
    // SCREEN_BENCH=snapshot: the snapshot table only (for profiling).
    let throughput_too = std::env::var("SCREEN_BENCH").map_or(true, |v| v != "snapshot");
    for (name, data) in [
        ("plain lines", plain(32 << 20)),
        ("coloured words", coloured(32 << 20)),
        ("full-screen TUI", tui(16 << 20)),
    ]
    .into_iter()
    .filter(|_| throughput_too)
    {
        let mut s = Screen::new(size);
        let screen_cont = throughput(&data, |c| s.process(c));
        let mut p = vt100::Parser::new(nz(24), nz(80), 0);
        let patched = throughput(&data, |c| p.process(c));
        let mut u = vt100_upstream::Parser::new(nz(24), nz(80), 0);
        let upstream = throughput(&data, |c| u.process(c));
        println!(
            "| {name} | {screen_cont:.0} | {patched:.0} | {upstream:.0} | {:.2} |",
            patched / upstream
        );
    }

    let big = WindowSize {
        cols: 200,
        rows: 50,
    };
    let mut words = Screen::new(big);
    words.process(&coloured(200 * 50 * 3)[..]);
    let mut every = Screen::new(big);
    let mut r = Rng(3);
    let mut cells = Vec::new();
    for row in 1..=50 {
        cells.extend_from_slice(format!("\x1b[{row};1H").as_bytes());
        for _ in 0..200 {
            let (a, b, c) = (r.next() % 256, r.next() % 256, r.next() % 9 + 1);
            cells.extend_from_slice(
                format!(
                    "\x1b[0;{c};38:2::{a}:{b}:{c};48;5;{a};4:{}m{}",
                    c % 6,
                    char::from(b'!' + (a % 90) as u8)
                )
                .as_bytes(),
            );
        }
    }
    every.process(&cells);
    println!();
    println!("| snapshot of a full 200x50 screen | bytes | median ms (200 runs) |");
    println!("| --- | --- | --- |");
    for (name, s) in [
        ("a colour per word", &words),
        (
            "every cell different (colour, underline style, flags)",
            &every,
        ),
    ] {
        let bytes = s.snapshot_live().len();
        let runs = std::env::var("SCREEN_BENCH_RUNS")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(200);
        let times = (0..runs)
            .map(|_| {
                let t = Instant::now();
                black_box(s.snapshot_live());
                t.elapsed().as_secs_f64() * 1e3
            })
            .collect();
        println!("| {name} | {bytes} | {:.3} |", median(times));
    }
    println!();
    println!(
        "cell: {} bytes patched (upstream 32); an idle 80x24 session's grid: {} KiB (the alternate grid is allocated on first use)",
        std::mem::size_of::<vt100::Cell>(),
        80 * 24 * std::mem::size_of::<vt100::Cell>() / 1024
    );
}
