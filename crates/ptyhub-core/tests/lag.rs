//! A client that stops reading during a flood: the others keep every byte,
//! it is lagged within the stall timeout, then resynchronised; memory stays
//! within the queue and ring sizes. Alone in its test binary so that the
//! process's memory is this test's.

mod common;

use std::time::{Duration, Instant};

use common::{Collector, config, start};
use ptyhub_core::{AttachOptions, ClientEvent, Supervisor};

fn vmrss_kib() -> u64 {
    procfs::process::Process::myself()
        .unwrap()
        .status()
        .unwrap()
        .vmrss
        .expect("VmRSS in /proc/self/status: the memory bound below needs it")
}

#[tokio::test]
async fn a_stuck_client_is_lagged_and_holds_nobody_back() {
    let mut cfg = config();
    let stall = Duration::from_millis(500);
    cfg.stall_timeout = stall;
    cfg.client_queue_bytes = 1 << 20;
    cfg.scrollback_bytes = 1 << 20;
    let supervisor = Supervisor::new(cfg);
    const TOTAL: usize = 50_000_000;
    let session = start(
        &supervisor,
        &["sh", "-c", "head -c 50000000 /dev/zero | tr '\\0' y"],
    )
    .await;
    let from_zero = AttachOptions {
        since: Some(0),
        snapshot: true,
        ..Default::default()
    };
    let (mut fast, _) = session.attach(from_zero).unwrap();
    let mut stuck = Collector::attach(&session, from_zero);
    let rss_before = vmrss_kib();
    let started = Instant::now();
    let (mut received, mut max_rss, mut lag_seen_at, mut exited) = (0usize, 0u64, None, false);
    let mut next_sample = 0;
    while !exited {
        let event = tokio::time::timeout(Duration::from_secs(60), fast.next())
            .await
            .expect("output keeps coming");
        match event {
            Some(ClientEvent::Output(bytes)) => {
                assert!(bytes.iter().all(|&b| b == b'y'), "in order, uncorrupted");
                received += bytes.len();
            }
            Some(ClientEvent::Exit(_)) | None => exited = true,
            Some(ClientEvent::Lagged { .. }) => panic!("the fast client was lagged"),
            Some(_) => {}
        }
        if received >= next_sample {
            next_sample += 1 << 20;
            max_rss = max_rss.max(vmrss_kib());
            if lag_seen_at.is_none() && session.lag_events() > 0 {
                lag_seen_at = Some(started.elapsed());
            }
        }
    }
    assert_eq!(received, TOTAL, "the fast client got every byte");
    let lagged_after = lag_seen_at.expect("the stuck client was lagged");
    assert!(
        lagged_after < stall + Duration::from_secs(2),
        "lagged after {lagged_after:?}"
    );
    // The stuck client reads now: a lag notice with a snapshot, then live.
    stuck.until_exit(Duration::from_secs(30)).await;
    let lag = stuck.events.iter().find_map(|e| match e {
        ClientEvent::Lagged {
            dropped_bytes,
            offset,
            snapshot,
        } => Some((*dropped_bytes, *offset, snapshot.len())),
        _ => None,
    });
    let (dropped, offset, snapshot_len) = lag.expect("a lagged event");
    assert!(dropped > 0 && offset > 0 && snapshot_len > 0);
    assert_eq!(
        offset as usize + stuck.bytes.len(),
        TOTAL,
        "live from the lag offset on"
    );
    // Ring (1 MiB) + the stuck client's queue (1 MiB) + slack for the
    // allocator and the screen.
    let grown_kib = max_rss.saturating_sub(rss_before);
    println!("VmRSS grew by {grown_kib} KiB during the 50 MB flood");
    assert!(grown_kib < 16 * 1024, "RSS grew by {grown_kib} KiB");
}
