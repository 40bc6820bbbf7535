//! Memory and CPU of a process and its descendants, from `/proc` (docs/method.md, "Memory
//! and CPU").

/// `VmRSS` of `pid` in bytes (`pid` 0 means this process).
pub fn rss_bytes(pid: u32) -> Option<u64> {
    status_field(pid, "VmRSS:")
        .and_then(|v| v.trim_end_matches("kB").trim().parse::<u64>().ok())
        .map(|kb| kb * 1024)
}

fn status_field(pid: u32, key: &str) -> Option<String> {
    let status = std::fs::read_to_string(proc_path(pid, "status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix(key))
        .map(|v| v.trim().to_owned())
}

/// The CPUs `pid` may run on, as `/proc` lists them (`0-1`).
pub fn cpus_allowed(pid: u32) -> Option<String> {
    status_field(pid, "Cpus_allowed_list:")
}

/// Where CPU time comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CpuSource {
    /// `/proc/PID/task/*/schedstat`: nanoseconds on the CPU, per thread, summed.
    Schedstat,
    /// `/proc/PID/stat`: utime + stime in clock ticks (10 ms), where schedstat is absent.
    Stat,
}

impl CpuSource {
    /// The source this kernel offers.
    pub fn here() -> CpuSource {
        if std::path::Path::new("/proc/self/task")
            .join(std::process::id().to_string())
            .join("schedstat")
            .exists()
        {
            CpuSource::Schedstat
        } else {
            CpuSource::Stat
        }
    }

    /// How results name it.
    pub fn describe(self) -> &'static str {
        match self {
            CpuSource::Schedstat => "schedstat (ns, every thread summed)",
            CpuSource::Stat => "stat (utime + stime, 10 ms ticks)",
        }
    }
}

/// CPU time of `pid` (0: this process), all its threads, in seconds.
pub fn cpu_seconds(pid: u32) -> Option<f64> {
    if pid == 0 {
        // This process: getrusage counts threads that have ended too, to the microsecond
        // (the kernel's runtime sum), so the figure never goes back when one exits.
        return self_seconds();
    }
    match CpuSource::here() {
        CpuSource::Schedstat => schedstat_seconds(pid).or_else(|| stat_seconds(pid)),
        CpuSource::Stat => stat_seconds(pid),
    }
}

/// This process's user + system time, ended threads included.
fn self_seconds() -> Option<f64> {
    // SAFETY: `usage` is a valid, writable rusage; RUSAGE_SELF has no other precondition.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    if unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut usage) } != 0 {
        return None;
    }
    let secs = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    Some(secs(usage.ru_utime) + secs(usage.ru_stime))
}

/// The sum of every thread's time on the CPU (schedstat's first field, ns).
fn schedstat_seconds(pid: u32) -> Option<f64> {
    let tasks = std::fs::read_dir(proc_path(pid, "task")).ok()?;
    let mut ns: u64 = 0;
    for task in tasks.flatten() {
        // A thread that ended between the listing and the read had its time counted by
        // its process, not here: it is missed (short-lived threads only).
        if let Ok(text) = std::fs::read_to_string(task.path().join("schedstat")) {
            ns += text
                .split_whitespace()
                .next()
                .and_then(|v| v.parse::<u64>().ok())
                .unwrap_or(0);
        }
    }
    Some(ns as f64 / 1e9)
}

/// What a process's threads asked of the CPUs so far: time on one, and time ready to run
/// but waiting for one (schedstat's first two fields, every live thread summed).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Demand {
    /// On a CPU, seconds.
    pub run_s: f64,
    /// Runnable but waiting for a CPU (the run queue's delay), seconds.
    pub wait_s: f64,
}

impl Demand {
    /// Adds another process's demand.
    pub fn plus(self, o: Demand) -> Demand {
        Demand {
            run_s: self.run_s + o.run_s,
            wait_s: self.wait_s + o.wait_s,
        }
    }

    /// Of what the threads wanted from `self` to a later reading `to` (running or ready to
    /// run), the share they spent waiting; `None` where they wanted nothing (or a thread
    /// ended between, which makes the sums go back).
    pub fn wait_share(&self, to: &Demand) -> Option<f64> {
        let (run, wait) = (to.run_s - self.run_s, to.wait_s - self.wait_s);
        (run >= 0.0 && wait >= 0.0 && run + wait > 0.0).then(|| wait / (run + wait))
    }
}

/// The [`Demand`] of `pid` (0: this process); `None` where schedstat cannot be read.
pub fn demand(pid: u32) -> Option<Demand> {
    let tasks = std::fs::read_dir(proc_path(pid, "task")).ok()?;
    let mut ns = [0u64; 2];
    let mut any = false;
    for task in tasks.flatten() {
        let Ok(text) = std::fs::read_to_string(task.path().join("schedstat")) else {
            continue;
        };
        for (sum, field) in ns.iter_mut().zip(text.split_whitespace()) {
            *sum += field.parse::<u64>().unwrap_or(0);
        }
        any = true;
    }
    any.then(|| Demand {
        run_s: ns[0] as f64 / 1e9,
        wait_s: ns[1] as f64 / 1e9,
    })
}

/// The [`Demand`] of `pid`'s whole tree; `None` if `pid` itself cannot be read.
pub fn tree_demand(pid: u32) -> Option<Demand> {
    let own = demand(pid)?;
    Some(
        tree(pid)[1..]
            .iter()
            .filter_map(|p| demand(*p))
            .fold(own, Demand::plus),
    )
}

/// utime + stime, in clock ticks turned into seconds.
fn stat_seconds(pid: u32) -> Option<f64> {
    let stat = std::fs::read_to_string(proc_path(pid, "stat")).ok()?;
    // Fields after the parenthesised command name, which may itself hold spaces.
    let rest = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // utime and stime are fields 14 and 15 of the whole line: 11 and 12 after the name.
    let ticks: u64 = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    // SAFETY: sysconf has no preconditions.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as f64;
    Some(ticks as f64 / hz)
}

/// `pid` and every process below it (a server that forks workers counts in full).
pub fn tree(pid: u32) -> Vec<u32> {
    let mut all = vec![pid];
    let mut i = 0;
    // Bounded: a process appears once, and /proc lists finitely many.
    while i < all.len() && all.len() < 100_000 {
        let children = children(all[i]);
        for c in children {
            if !all.contains(&c) {
                all.push(c);
            }
        }
        i += 1;
    }
    all
}

/// The children of `pid`, from each thread's `children` list.
fn children(pid: u32) -> Vec<u32> {
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return Vec::new();
    };
    tasks
        .flatten()
        .filter_map(|t| std::fs::read_to_string(t.path().join("children")).ok())
        .flat_map(|text| {
            text.split_whitespace()
                .filter_map(|c| c.parse().ok())
                .collect::<Vec<u32>>()
        })
        .collect()
}

/// RSS of `pid`'s whole tree, bytes; `None` if `pid` itself is gone.
pub fn tree_rss(pid: u32) -> Option<u64> {
    let own = rss_bytes(pid)?;
    Some(
        own + tree(pid)[1..]
            .iter()
            .filter_map(|p| rss_bytes(*p))
            .sum::<u64>(),
    )
}

/// CPU of `pid`'s whole tree, seconds; `None` if `pid` itself is gone.
pub fn tree_cpu(pid: u32) -> Option<f64> {
    let own = cpu_seconds(pid)?;
    Some(
        own + tree(pid)[1..]
            .iter()
            .filter_map(|p| cpu_seconds(*p))
            .sum::<f64>(),
    )
}

/// What the machine's CPUs had done at one moment (docs/method.md, "Calibration").
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MachineReading {
    /// CPU time the whole machine ran so far (user, nice, system, irq, softirq), s.
    run_s: f64,
    /// All its CPUs' time so far, whatever they did (idle and steal included), s.
    total_s: f64,
    /// Time its CPUs were ready but the hypervisor ran another guest (steal), s.
    steal_s: f64,
    /// CPU time of this run's own processes (the load generator and the servers), s,
    /// where the servers' could be read.
    ours_s: Option<f64>,
}

/// How much of a stretch of time went to others, as shares of the machine's capacity (all
/// its CPUs over that time): to other guests of the host, and to other processes of this
/// machine. Capacity, not what the machine ran: at light load a few clock ticks of kernel
/// housekeeping would otherwise read as a large share.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Interference {
    /// Other guests' (steal).
    pub stolen: Option<f64>,
    /// Other processes' (the machine's CPU time less this run's own).
    pub foreign: Option<f64>,
}

impl MachineReading {
    /// Reads /proc/stat now; `servers_s` is the servers' CPU seconds read just before.
    pub fn now(servers_s: Option<f64>) -> Option<MachineReading> {
        let stat = std::fs::read_to_string("/proc/stat").ok()?;
        let (run, steal, total) = parse_machine_ticks(stat.lines().next()?)?;
        // SAFETY: sysconf has no precondition.
        let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as f64;
        Some(MachineReading {
            run_s: run as f64 / hz,
            total_s: total as f64 / hz,
            steal_s: steal as f64 / hz,
            ours_s: servers_s.zip(self_seconds()).map(|(a, b)| a + b),
        })
    }

    /// What went to others between `self` and a later reading `to`.
    pub fn interference(&self, to: &MachineReading) -> Interference {
        let (run, steal) = (to.run_s - self.run_s, to.steal_s - self.steal_s);
        let capacity = to.total_s - self.total_s;
        if capacity <= 0.0 || run < 0.0 || steal < 0.0 {
            return Interference::default();
        }
        let ours = to.ours_s.zip(self.ours_s).map(|(b, a)| b - a);
        Interference {
            stolen: Some(steal / capacity),
            // Ticks are coarser than the processes' nanoseconds: never below zero.
            foreign: ours.map(|ours| (run - ours).max(0.0) / capacity),
        }
    }
}

/// (run, steal, total) ticks of /proc/stat's first line: run is user, nice, system, irq
/// and softirq; total every field up to steal.
fn parse_machine_ticks(line: &str) -> Option<(u64, u64, u64)> {
    let mut fields = line.split_whitespace();
    if fields.next()? != "cpu" {
        return None;
    }
    let v: Vec<u64> = fields.map_while(|f| f.parse().ok()).collect();
    // user nice system idle iowait irq softirq steal ...
    let run = [0, 1, 2, 5, 6]
        .iter()
        .map(|i| v.get(*i))
        .sum::<Option<u64>>()?;
    let steal = v.get(7).copied().unwrap_or(0);
    let total = run + v.get(3)? + v.get(4)? + steal;
    Some((run, steal, total))
}

fn proc_path(pid: u32, file: &str) -> String {
    if pid == 0 {
        format!("/proc/self/{file}")
    } else {
        format!("/proc/{pid}/{file}")
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    use super::*;

    fn burn(for_: Duration) {
        let t = Instant::now();
        let mut x = 0u64;
        while t.elapsed() < for_ {
            x = x.wrapping_add(std::hint::black_box(1));
        }
        assert!(x > 0);
    }

    #[test]
    fn the_machine_line_gives_run_and_stolen_ticks() {
        let line = "cpu  100 5 50 9000 7 3 2 40 0 0";
        assert_eq!(parse_machine_ticks(line), Some((160, 40, 9207)));
        assert_eq!(parse_machine_ticks("cpu0 1 2 3 4 5 6 7 8"), None);
        assert_eq!(parse_machine_ticks("cpu 1 2"), None);
    }

    #[test]
    fn interference_is_steal_and_other_processes_over_what_the_machine_wanted() {
        // Readings of (run, steal, total) seconds and ours.
        let at = |run_s, steal_s, total_s, ours_s| MachineReading {
            run_s,
            total_s,
            steal_s,
            ours_s,
        };
        // Over 0.5 s of 2 CPUs (1 s of capacity): 0.2 s stolen, 0.6 s run, 0.3 s ours.
        let i = at(10.0, 1.0, 50.0, Some(2.0)).interference(&at(10.6, 1.2, 51.0, Some(2.3)));
        assert!((i.stolen.unwrap() - 0.2).abs() < 1e-9, "{i:?}");
        assert!((i.foreign.unwrap() - 0.3).abs() < 1e-9, "{i:?}");
        // Our own time read a little above the machine's ticks: none foreign.
        let i = at(10.0, 1.0, 50.0, Some(2.0)).interference(&at(10.5, 1.0, 51.0, Some(2.6)));
        assert_eq!(i.foreign, Some(0.0));
        // Servers unreadable: foreign unknown; no time passed: nothing known.
        let i = at(10.0, 1.0, 50.0, None).interference(&at(10.5, 1.0, 51.0, Some(2.6)));
        assert_eq!((i.stolen, i.foreign), (Some(0.0), None));
        let none = at(1.0, 1.0, 5.0, None);
        assert_eq!(none.interference(&none), Interference::default());
        // This machine, now: readable, and this test's own process counted as ours.
        let a = MachineReading::now(Some(0.0)).expect("Linux has /proc/stat");
        burn(Duration::from_millis(200));
        let i = a.interference(&MachineReading::now(Some(0.0)).unwrap());
        assert!(i.stolen.is_some() && i.foreign.is_some(), "{i:?}");
    }

    #[test]
    fn this_process_has_memory_and_cpu() {
        assert!(rss_bytes(0).unwrap() > 1024 * 1024);
        let start = cpu_seconds(0).unwrap();
        burn(Duration::from_millis(50));
        assert!(cpu_seconds(0).unwrap() >= start);
        assert!(cpus_allowed(0).is_some_and(|c| !c.is_empty()));
    }

    #[test]
    fn demand_counts_this_process_running_and_a_wait_share_follows() {
        // Other tests' threads of this process may end between the two readings, taking
        // their waits out of the sum (then no share, rightly): a few tries, bounded.
        let (a, b, share) = (0..5)
            .find_map(|_| {
                let a = demand(0).expect("Linux has schedstat");
                burn(Duration::from_millis(30));
                let b = demand(0).unwrap();
                a.wait_share(&b).map(|share| (a, b, share))
            })
            .expect("it ran");
        assert!(b.run_s - a.run_s >= 0.02, "{a:?} {b:?}");
        assert!((0.0..=1.0).contains(&share), "{share}");
        assert_eq!(b.wait_share(&b), None);
        let d = Demand {
            run_s: 1.0,
            wait_s: 3.0,
        };
        assert_eq!(Demand::default().wait_share(&d), Some(0.75));
    }

    #[test]
    fn schedstat_sums_every_thread() {
        if CpuSource::here() != CpuSource::Schedstat {
            eprintln!("skipped: this kernel has no schedstat");
            return;
        }
        // Two threads, each on the CPU for at least 150 ms of its own clock, then parked
        // (alive) after saying who they are.
        let (tx, rx) = std::sync::mpsc::channel();
        let threads: Vec<_> = (0..2)
            .map(|_| {
                let tx = tx.clone();
                std::thread::spawn(move || {
                    let clock = || {
                        let mut ts = libc::timespec {
                            tv_sec: 0,
                            tv_nsec: 0,
                        };
                        // SAFETY: `ts` is a valid timespec to write.
                        unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
                        ts.tv_sec as f64 + ts.tv_nsec as f64 / 1e9
                    };
                    let t0 = clock();
                    while clock() - t0 < 0.15 {
                        std::hint::black_box(0);
                    }
                    // SAFETY: gettid has no precondition.
                    tx.send(unsafe { libc::gettid() }).unwrap();
                    std::thread::park_timeout(Duration::from_secs(5));
                })
            })
            .collect();
        let tids: Vec<i32> = (0..2)
            .map(|_| {
                rx.recv_timeout(Duration::from_secs(20))
                    .expect("a thread burned")
            })
            .collect();
        let task = |tid: i32| -> f64 {
            let text = std::fs::read_to_string(format!("/proc/self/task/{tid}/schedstat")).unwrap();
            text.split_whitespace()
                .next()
                .unwrap()
                .parse::<f64>()
                .unwrap()
                / 1e9
        };
        let theirs: f64 = tids.iter().map(|t| task(*t)).sum();
        // Other tests' threads come and go in this process, so the total is compared with
        // the two threads' own figures, which it must include.
        let total = schedstat_seconds(0).unwrap();
        assert!(theirs >= 0.3, "two threads of 150 ms each: {theirs}");
        assert!(
            total >= theirs,
            "the sum {total} includes both threads' {theirs}"
        );
        for t in threads {
            t.thread().unpark();
            t.join().unwrap();
        }
    }
}
