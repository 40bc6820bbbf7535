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
    fn this_process_has_memory_and_cpu() {
        assert!(rss_bytes(0).unwrap() > 1024 * 1024);
        let start = cpu_seconds(0).unwrap();
        burn(Duration::from_millis(50));
        assert!(cpu_seconds(0).unwrap() >= start);
        assert!(cpus_allowed(0).is_some_and(|c| !c.is_empty()));
    }

    #[test]
    fn schedstat_sums_every_thread() {
        if CpuSource::here() != CpuSource::Schedstat {
            eprintln!("skipped: this kernel has no schedstat");
            return;
        }
        let start = schedstat_seconds(0).unwrap();
        // Two threads, each on the CPU for at least 150 ms of its own clock.
        let threads: Vec<_> = (0..2)
            .map(|_| {
                std::thread::spawn(|| {
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
                    // Still alive when the total is read: schedstat counts live threads.
                    std::thread::park_timeout(Duration::from_secs(5));
                })
            })
            .collect();
        // Wait until both threads have burned (their CPU shows up), bounded.
        let deadline = Instant::now() + Duration::from_secs(20);
        let mut total = 0.0;
        while Instant::now() < deadline {
            total = schedstat_seconds(0).unwrap() - start;
            if total >= 0.3 {
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        assert!(total >= 0.3, "two threads of 150 ms each, summed: {total}");
        for t in threads {
            t.thread().unpark();
            t.join().unwrap();
        }
    }
}
