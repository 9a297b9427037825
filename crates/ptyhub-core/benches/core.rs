//! Benchmarks of the session core (issue 4), each against a baseline taken
//! by this process in the same run (the machine is small and noisy):
//!
//! - flood: 100 MB of `yes` output through a session (reader thread, ring,
//!   screen thread, one client task) and, alternately, from a bare
//!   portable-pty PTY read by this process: MB/s and CPU seconds of the
//!   whole process per 100 MB, the server-side screen included;
//! - fan-out: the same flood to many clients at once, each a task reading
//!   `client.next()`;
//! - snapshot: `session.attach` with a snapshot of a full 200x50 screen of
//!   coloured text;
//! - memory: VmRSS growth of this process per idle 80x24 session;
//! - echo (no target here, it splits the server's keystroke latency of the
//!   `load` bench): a keystroke into `cat` by `client.input` until its echo
//!   comes out of `client.next()`, against a bare PTY written and read by
//!   this process.
//!
//! `cargo build --release -p ptyhub-pty --bins && cargo bench -p ptyhub-core --bench core`
//! (env `CORE_RUNS`, `CORE_BYTES`, `CORE_CLIENTS`, `CORE_IDLE_SESSIONS`,
//! `CORE_SNAPSHOTS`, `CORE_KEYS`). Without `--bench` (as under `cargo test --all-targets`)
//! it only does a tiny smoke run.

#[path = "../../ptyhub-pty/benches/baseline/mod.rs"]
mod baseline;

use std::sync::Arc;
use std::time::{Duration, Instant};

use baseline::{
    GATE_ECHO, WARMUP_KEYS, bare_echo, bare_flood, cpu_seconds, env_or, flood_command, key, median,
    percentile, rss_kib, verdict,
};
use ptyhub_core::{
    AttachOptions, Client, ClientEvent, CoreConfig, Session, SessionSpec, Supervisor,
};
use ptyhub_protocol::api::{ExitReason, ResizePolicy};
use ptyhub_pty::{Environment, GuardProgram, WindowSize};

/// How much to do: the full benchmark, or the smoke run of `cargo test`.
struct Plan {
    runs: usize,
    bytes: u64,
    clients: usize,
    idle_sessions: usize,
    snapshots: usize,
    keys: usize,
}

impl Plan {
    fn from_env(smoke: bool) -> Plan {
        Plan {
            runs: env_or("CORE_RUNS", if smoke { 1 } else { 5 }),
            keys: env_or("CORE_KEYS", if smoke { 200 } else { 2000 }),
            bytes: env_or("CORE_BYTES", if smoke { 1_000_000 } else { 100_000_000 }),
            clients: env_or("CORE_CLIENTS", if smoke { 10 } else { 100 }),
            idle_sessions: env_or("CORE_IDLE_SESSIONS", if smoke { 10 } else { 200 }),
            snapshots: env_or("CORE_SNAPSHOTS", if smoke { 10 } else { 100 }),
        }
    }
}

/// One flood: bytes each reader got, wall time, CPU of the whole process.
struct Sample {
    bytes: u64,
    readers: usize,
    wall: Duration,
    cpu: f64,
}

impl Sample {
    /// The stream's rate: bytes per second each reader got.
    fn mb_per_s(&self) -> f64 {
        self.bytes as f64 / 1e6 / self.wall.as_secs_f64()
    }
    /// Bytes per second delivered to all readers together.
    fn aggregate_mb_per_s(&self) -> f64 {
        self.mb_per_s() * self.readers as f64
    }
    /// CPU seconds per 100 MB of the stream.
    fn cpu_per_100mb(&self) -> f64 {
        self.cpu * 100e6 / self.bytes as f64
    }
}

/// The baseline: the same flood read from a bare PTY by this process.
fn bare(bytes: u64) -> Sample {
    let flood = bare_flood(bytes);
    Sample {
        bytes: flood.bytes,
        readers: 1,
        wall: flood.wall,
        cpu: flood.cpu,
    }
}

fn spec(argv: &[&str], size: WindowSize) -> SessionSpec {
    SessionSpec {
        argv: argv.iter().map(|s| s.to_string()).collect(),
        cwd: std::env::temp_dir(),
        env: Environment::from_current_process(),
        size,
        name: None,
        labels: Default::default(),
        provider: None,
        resize_policy: ResizePolicy::Latest,
        limits: None,
        id: None,
        agent: Default::default(),
    }
}

/// Reads a client to its exit: (output bytes, whether it was lagged).
async fn drain(mut client: Client) -> (u64, bool) {
    let (mut n, mut lagged) = (0u64, false);
    while let Some(event) = client.next().await {
        match event {
            ClientEvent::Output(b) => n += b.len() as u64,
            ClientEvent::Lagged { .. } => lagged = true,
            ClientEvent::Exit(_) => break,
            ClientEvent::Resize(_) | ClientEvent::Title(_) => {}
        }
    }
    (n, lagged)
}

/// Waits until the screen thread has processed every output byte.
async fn screen_caught_up(session: &Session) {
    let live = session.bytes_in_out().1;
    session
        .subscribe_screen()
        .wait_for(|&at| at >= live)
        .await
        .expect("the screen thread follows the session");
}

/// The flood through a session to `readers` clients. The program waits for
/// a line until every client is attached from offset 0: no client misses a
/// byte however slowly this process gets scheduled. The time runs from
/// before the session is created, as the baseline's from before its spawn.
async fn session_flood(supervisor: &Arc<Supervisor>, bytes: u64, readers: usize) -> Sample {
    let script = format!("read go; {}", flood_command(bytes));
    let cpu0 = cpu_seconds();
    let start = Instant::now();
    let session = supervisor
        .create(spec(&["sh", "-c", &script], WindowSize::default()))
        .await
        .expect("create the flood session");
    let mut tasks = Vec::with_capacity(readers);
    let mut first = None;
    for _ in 0..readers {
        let (client, at) = session
            .attach(AttachOptions {
                since: Some(0),
                ..Default::default()
            })
            .expect("attach");
        assert!(at.resumed, "attached before any output");
        if first.is_none() {
            first = Some(client);
        } else {
            tasks.push(tokio::spawn(drain(client)));
        }
    }
    let first = first.expect("at least one reader");
    first.input("\n".into()).await.expect("start the flood");
    tasks.push(tokio::spawn(drain(first)));
    let mut got = Vec::with_capacity(readers);
    for task in tasks {
        got.push(task.await.expect("reader task"));
    }
    let wall = start.elapsed();
    // The server-side screen is part of the cost: count it to the end.
    screen_caught_up(&session).await;
    let cpu = cpu_seconds() - cpu0;
    let lagged = got.iter().filter(|(_, l)| *l).count();
    assert_eq!(lagged, 0, "{lagged} of {readers} clients were lagged");
    let stream = got[0].0;
    assert!(
        got.iter().all(|&(n, _)| n == stream),
        "every client gets the whole stream: {:?}",
        got.iter().map(|g| g.0).collect::<Vec<_>>()
    );
    supervisor.registry().remove(session.id());
    Sample {
        // The terminal turns each `\n` into `\r\n`: the stream is longer
        // than `bytes`, exactly as long as the baseline's.
        bytes: stream - GATE_ECHO,
        readers,
        wall,
        cpu,
    }
}

/// A 200x50 screen filled with coloured words (`per_cell`: a new colour
/// pair in every cell, the worst case for a snapshot), then the title
/// `filled`, then the program waits.
fn fill_script(per_cell: bool) -> String {
    format!(
        r#"
import sys
words = "lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod tempor".split()
out = []
i = 0
for r in range(50):
    out.append("\x1b[%d;1H" % (r + 1))
    col = 0
    while col < 200:
        text = (words[i % len(words)] + " ")[: 200 - col]
        cells = list(text) if {per_cell} else [text]
        for k, t in enumerate(cells):
            n = i * 7 + k
            out.append("\x1b[%d;38;5;%d;48;5;%dm%s" % (1 if n % 3 == 0 else 22, 16 + n % 216, 232 + n % 24, t))
        col += len(text)
        i += 1
out.append("\x1b[m\x1b[10;10H\x1b]2;filled\x07")
sys.stdout.write("".join(out))
sys.stdout.flush()
sys.stdin.read()
"#,
        per_cell = if per_cell { "True" } else { "False" }
    )
}

/// Times `n` attaches with a snapshot of a full 200x50 coloured screen:
/// (the times, the snapshot's size in bytes).
async fn snapshot_times(
    supervisor: &Arc<Supervisor>,
    n: usize,
    per_cell: bool,
) -> (Vec<f64>, usize) {
    let size = WindowSize::new(200, 50).expect("a valid size");
    let script = fill_script(per_cell);
    let session = supervisor
        .create(spec(&["python3", "-c", &script], size))
        .await
        .expect("create the screen session");
    let (mut watcher, _) = session.attach(AttachOptions::default()).expect("attach");
    // The title is the last thing written, and the screen thread publishes
    // it: once it arrives, the screen is full.
    while session.title() != "filled" {
        match tokio::time::timeout(Duration::from_secs(30), watcher.next()).await {
            Ok(Some(_)) => {}
            Ok(None) => panic!("the screen program ended early"),
            Err(_) => panic!("no full screen within 30 s: {:?}", session.screen_text().0),
        }
    }
    let mut times = Vec::with_capacity(n);
    let mut bytes = 0;
    for _ in 0..n {
        let start = Instant::now();
        let (client, at) = session
            .attach(AttachOptions {
                snapshot: true,
                readonly: true,
                ..Default::default()
            })
            .expect("attach");
        times.push(start.elapsed().as_secs_f64() * 1e3);
        bytes = at.snapshot.len();
        drop(client);
    }
    drop(watcher);
    end_all(supervisor, &[session]).await;
    (times, bytes)
}

/// Echo times of `keys` keystrokes into `cat` in a session, from
/// `client.input` to the echo out of `client.next()`, µs.
async fn session_echo(supervisor: &Arc<Supervisor>, keys: usize) -> Vec<f64> {
    let session = supervisor
        .create(spec(&["cat"], WindowSize::default()))
        .await
        .expect("create the echo session");
    let (mut client, _) = session
        .attach(AttachOptions {
            since: Some(0),
            ..Default::default()
        })
        .expect("attach");
    let mut times = Vec::with_capacity(keys);
    for i in 0..WARMUP_KEYS + keys {
        let start = Instant::now();
        client.input(vec![key(i)].into()).await.expect("type");
        let echo = loop {
            match tokio::time::timeout(Duration::from_secs(10), client.next()).await {
                Ok(Some(ClientEvent::Output(b))) => break b,
                Ok(Some(ClientEvent::Resize(_) | ClientEvent::Title(_))) => {}
                other => panic!("no echo: {other:?}"),
            }
        };
        let took = start.elapsed();
        assert_eq!(&echo[..], &[key(i)], "the echo, alone");
        if i >= WARMUP_KEYS {
            times.push(took.as_secs_f64() * 1e6);
        }
    }
    drop(client);
    end_all(supervisor, &[session]).await;
    times
}

/// Ends sessions and forgets them.
async fn end_all(supervisor: &Arc<Supervisor>, sessions: &[Arc<Session>]) {
    for s in sessions {
        s.terminate(ExitReason::Deleted).expect("terminate");
    }
    for s in sessions {
        tokio::time::timeout(Duration::from_secs(10), s.wait_ended())
            .await
            .expect("the session ends within 10 s");
        supervisor.registry().remove(s.id());
    }
}

/// RSS growth of this process per idle 80x24 `sleep 1000` session, KiB:
/// (before, after, sessions). Measured once, first: freed memory that the
/// allocator keeps (and glibc's cache of thread stacks) would make a second
/// measurement look smaller than the truth.
async fn idle_memory(supervisor: &Arc<Supervisor>, n: usize) -> (u64, u64) {
    let argv = ["sleep", "1000"];
    // One session first, so that what is made once (the runtime's blocking
    // threads, lazily initialised statics) is not counted per session.
    let warm = supervisor
        .create(spec(&argv, WindowSize::default()))
        .await
        .expect("create");
    end_all(supervisor, &[warm]).await;
    let before = rss_kib();
    let mut sessions = Vec::with_capacity(n);
    for _ in 0..n {
        sessions.push(
            supervisor
                .create(spec(&argv, WindowSize::default()))
                .await
                .expect("create an idle session"),
        );
    }
    let after = rss_kib();
    end_all(supervisor, &sessions).await;
    (before, after)
}

async fn bench(plan: Plan, guard: GuardProgram) {
    let mut config = CoreConfig::with_guard(guard);
    config.max_sessions = config.max_sessions.max(plan.idle_sessions + 8);
    config.max_clients_per_session = config.max_clients_per_session.max(plan.clients + 2);
    config.terminate_grace = Duration::from_secs(1);
    let supervisor = Supervisor::new(config);

    // Memory first, in a process that has not yet grown its heap.
    let (before, after) = idle_memory(&supervisor, plan.idle_sessions).await;
    let per_session = after.saturating_sub(before) as f64 / plan.idle_sessions as f64;
    println!(
        "idle sessions: {} | VmRSS {before} KiB -> {after} KiB: {per_session:.0} KiB per session",
        plan.idle_sessions
    );

    let mut snapshot_rows = Vec::new();
    for per_cell in [false, true] {
        let (times, bytes) = snapshot_times(&supervisor, plan.snapshots, per_cell).await;
        let row = (
            per_cell,
            median(times.clone()),
            percentile(times, 0.99),
            bytes,
        );
        println!(
            "snapshot ({}): median {:.3} ms, p99 {:.3} ms, {} bytes",
            if per_cell {
                "colour per cell"
            } else {
                "colour per word"
            },
            row.1,
            row.2,
            row.3
        );
        snapshot_rows.push(row);
    }

    let (mut echo_bare, mut echo_session) = (Vec::new(), Vec::new());
    for run in 0..plan.runs {
        let keys = plan.keys;
        let bare = || async move {
            let echo = tokio::task::spawn_blocking(move || bare_echo(keys));
            echo.await.expect("bare echo")
        };
        // Alternate the order so that neither side always runs on a warmer machine.
        let (b, h) = if run % 2 == 0 {
            let b = bare().await;
            (b, session_echo(&supervisor, keys).await)
        } else {
            let h = session_echo(&supervisor, keys).await;
            (bare().await, h)
        };
        let row = |t: &[f64]| (percentile(t.to_vec(), 0.5), percentile(t.to_vec(), 0.99));
        let (b, h) = (row(&b), row(&h));
        println!(
            "echo run {run}: bare p50 {:.1} p99 {:.1} µs | session p50 {:.1} p99 {:.1} µs",
            b.0, b.1, h.0, h.1
        );
        echo_bare.push(b);
        echo_session.push(h);
    }

    let (mut bare_runs, mut one_runs, mut many_runs) = (Vec::new(), Vec::new(), Vec::new());
    for run in 0..plan.runs {
        // Rotate the order so that no side always runs on a warmer machine.
        let (mut b, mut o, mut m) = (None, None, None);
        for k in 0..3 {
            match (run + k) % 3 {
                0 => {
                    let bytes = plan.bytes;
                    b = Some(
                        tokio::task::spawn_blocking(move || bare(bytes))
                            .await
                            .expect("bare flood"),
                    )
                }
                1 => o = Some(session_flood(&supervisor, plan.bytes, 1).await),
                _ => m = Some(session_flood(&supervisor, plan.bytes, plan.clients).await),
            }
        }
        let (b, o, m) = (b.expect("ran"), o.expect("ran"), m.expect("ran"));
        println!(
            "run {run}: bare {:.1} MB/s {:.2} s CPU/100MB | 1 client {:.1} MB/s {:.2} s CPU/100MB | {} clients {:.1} MB/s each ({:.0} MB/s in all) {:.2} s CPU/100MB",
            b.mb_per_s(),
            b.cpu_per_100mb(),
            o.mb_per_s(),
            o.cpu_per_100mb(),
            m.readers,
            m.mb_per_s(),
            m.aggregate_mb_per_s(),
            m.cpu_per_100mb()
        );
        assert_eq!(b.bytes, o.bytes, "both sides read the same stream");
        assert_eq!(b.bytes, m.bytes, "both sides read the same stream");
        bare_runs.push(b);
        one_runs.push(o);
        many_runs.push(m);
    }
    let med = |runs: &[Sample], f: fn(&Sample) -> f64| median(runs.iter().map(f).collect());
    let bare_mbs = med(&bare_runs, Sample::mb_per_s);
    let one_mbs = med(&one_runs, Sample::mb_per_s);
    let many_mbs = med(&many_runs, Sample::mb_per_s);
    let many_all = med(&many_runs, Sample::aggregate_mb_per_s);
    let (bare_cpu, one_cpu, many_cpu) = (
        med(&bare_runs, Sample::cpu_per_100mb),
        med(&one_runs, Sample::cpu_per_100mb),
        med(&many_runs, Sample::cpu_per_100mb),
    );
    let ratio = one_mbs / bare_mbs;
    let fan_ratio = many_mbs / one_mbs;
    println!();
    println!(
        "median of {} runs, {} bytes of output each:",
        plan.runs, plan.bytes
    );
    println!(
        "| what | MB/s per client | MB/s delivered in all | CPU s per 100 MB (whole process) |"
    );
    println!("| --- | --- | --- | --- |");
    println!("| bare PTY | {bare_mbs:.1} | {bare_mbs:.1} | {bare_cpu:.2} |");
    println!("| session, 1 client | {one_mbs:.1} | {one_mbs:.1} | {one_cpu:.2} |");
    println!(
        "| session, {} clients | {many_mbs:.1} | {many_all:.0} | {many_cpu:.2} |",
        plan.clients
    );
    println!();
    println!("| target | measured | |");
    println!("| --- | --- | --- |");
    println!(
        "| 1 client vs bare PTY >= 0.9x | {ratio:.2}x | {} |",
        verdict(ratio >= 0.9)
    );
    println!(
        "| CPU per 100 MB, screen included <= 0.6 s | {one_cpu:.2} s | {} |",
        verdict(one_cpu <= 0.6)
    );
    println!(
        "| {} clients vs 1 client (rate per client) >= 0.8x | {fan_ratio:.2}x ({:.0}x in all) | {} |",
        plan.clients,
        many_all / one_mbs,
        verdict(fan_ratio >= 0.8)
    );
    for (per_cell, med_ms, p99_ms, bytes) in snapshot_rows {
        println!(
            "| snapshot of a full 200x50 screen ({}, {bytes} bytes) < 1 ms | median {med_ms:.3} ms, p99 {p99_ms:.3} ms | {} |",
            if per_cell {
                "colour per cell"
            } else {
                "colour per word"
            },
            verdict(med_ms < 1.0)
        );
    }
    println!(
        "| memory per idle 80x24 session <= 256 KiB | {per_session:.0} KiB | {} |",
        verdict(per_session <= 256.0)
    );
    let med_of =
        |rows: &[(f64, f64)], f: fn(&(f64, f64)) -> f64| median(rows.iter().map(f).collect());
    println!();
    println!(
        "keystroke echo into `cat`, {} keystrokes, median of {} runs (no target: it splits the server's latency):",
        plan.keys, plan.runs
    );
    println!("| path | p50 µs | p99 µs |");
    println!("| --- | --- | --- |");
    println!(
        "| bare PTY | {:.1} | {:.1} |",
        med_of(&echo_bare, |r| r.0),
        med_of(&echo_bare, |r| r.1)
    );
    println!(
        "| session: client.input → client.next | {:.1} | {:.1} |",
        med_of(&echo_session, |r| r.0),
        med_of(&echo_session, |r| r.1)
    );
}

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --all-targets` runs us too:
    // then only a tiny smoke run.
    let smoke = !std::env::args().any(|a| a == "--bench");
    if smoke {
        println!("smoke run (no --bench): tiny sizes, the numbers mean nothing");
    }
    let guard = GuardProgram::locate().expect(
        "no guard binary next to this bench: run `cargo build --release -p ptyhub-pty --bins` first",
    );
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime");
    runtime.block_on(bench(Plan::from_env(smoke), guard));
}
