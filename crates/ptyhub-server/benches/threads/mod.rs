//! The scheduler's counters of every thread of a process, from
//! `/proc/<pid>/task/<tid>/schedstat` (nanosecond CPU time, not the 10 ms
//! ticks of `stat`): what a process spends per keystroke, how often each of
//! its threads was put on a CPU (each wake-up is one), and how long they
//! waited in a run queue first.

use procfs::process::Process;

/// One thread's counters (or their growth over an interval).
#[derive(Clone, Debug)]
pub struct Thread {
    pub tid: i32,
    /// Its name (`comm`, at most 15 bytes).
    pub name: String,
    /// Time on a CPU, ns.
    pub cpu_ns: u64,
    /// Time runnable but waiting for a CPU, ns.
    pub wait_ns: u64,
    /// Times it was put on a CPU.
    pub runs: u64,
}

/// The counters of a process's threads at one moment, by thread id; or
/// their growth since an earlier snapshot.
#[derive(Clone, Debug, Default)]
pub struct Threads(pub Vec<Thread>);

impl Threads {
    /// A snapshot of `process`'s threads (one that ends while it is read
    /// is left out).
    pub fn of(process: &Process) -> Threads {
        let mut threads: Vec<Thread> = process
            .tasks()
            .expect("the threads of a process")
            .flatten()
            .filter_map(|task| {
                let stat = task.stat().ok()?;
                let sched = task.schedstat().ok()?;
                Some(Thread {
                    tid: task.tid,
                    name: stat.comm,
                    cpu_ns: sched.sum_exec_runtime,
                    wait_ns: sched.run_delay,
                    runs: sched.pcount,
                })
            })
            .collect();
        threads.sort_by_key(|t| t.tid);
        Threads(threads)
    }

    /// What each thread did since `before` (a thread started since counts
    /// whole; one that ended since is missing).
    pub fn since(&self, before: &Threads) -> Threads {
        Threads(
            self.0
                .iter()
                .map(|now| match before.0.iter().find(|t| t.tid == now.tid) {
                    Some(then) => Thread {
                        cpu_ns: now.cpu_ns - then.cpu_ns,
                        wait_ns: now.wait_ns - then.wait_ns,
                        runs: now.runs - then.runs,
                        ..now.clone()
                    },
                    None => now.clone(),
                })
                .collect(),
        )
    }

    pub fn cpu_ns(&self) -> u64 {
        self.0.iter().map(|t| t.cpu_ns).sum()
    }

    pub fn wait_ns(&self) -> u64 {
        self.0.iter().map(|t| t.wait_ns).sum()
    }

    pub fn runs(&self) -> u64 {
        self.0.iter().map(|t| t.runs).sum()
    }

    /// Per step, over `steps` steps: `CPU µs, runs, run-queue wait µs`, then
    /// each thread that ran at least once every 20 steps as
    /// `tid:name runs/CPU µs`.
    pub fn per_step(&self, steps: usize) -> String {
        let n = steps as f64;
        let busy: Vec<String> = self
            .0
            .iter()
            .filter(|t| t.runs as f64 / n >= 0.05)
            .map(|t| {
                format!(
                    "{}:{} {:.2}/{:.1}",
                    t.tid,
                    t.name,
                    t.runs as f64 / n,
                    t.cpu_ns as f64 / 1e3 / n
                )
            })
            .collect();
        format!(
            "CPU {:.1} µs, {:.2} runs, wait {:.1} µs [{}]",
            self.cpu_ns() as f64 / 1e3 / n,
            self.runs() as f64 / n,
            self.wait_ns() as f64 / 1e3 / n,
            busy.join(", ")
        )
    }
}
