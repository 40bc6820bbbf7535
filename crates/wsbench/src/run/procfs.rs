//! Memory and CPU of a process, from `/proc`, sampled at 10 Hz (docs/method.md, "Memory
//! and CPU").

use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// Sampling period: 10 Hz.
pub const SAMPLE_PERIOD: Duration = Duration::from_millis(100);

/// `VmRSS` of `pid` in bytes (`pid` 0 means this process).
pub fn rss_bytes(pid: u32) -> Option<u64> {
    status_kb(pid, "VmRSS:").map(|kb| kb * 1024)
}

fn status_kb(pid: u32, key: &str) -> Option<u64> {
    let status = std::fs::read_to_string(proc_path(pid, "status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix(key))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

/// User + system CPU time of `pid` in seconds (`pid` 0 means this process).
pub fn cpu_seconds(pid: u32) -> Option<f64> {
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

fn proc_path(pid: u32, file: &str) -> String {
    if pid == 0 {
        format!("/proc/self/{file}")
    } else {
        format!("/proc/{pid}/{file}")
    }
}

/// One sample of a process.
#[derive(Debug, Clone, Copy)]
pub struct Sample {
    /// Seconds since sampling began.
    pub t_s: f64,
    /// Resident set size, bytes.
    pub rss_bytes: u64,
}

/// Samples a process's RSS on a thread of its own until stopped.
pub struct Sampler {
    pid: Arc<AtomicU32>,
    samples: Arc<Mutex<Vec<Sample>>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
    started: Instant,
}

impl Sampler {
    /// Starts sampling `pid`.
    pub fn start(pid: u32) -> Sampler {
        let pid = Arc::new(AtomicU32::new(pid));
        let samples = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let started = Instant::now();
        let thread = {
            let (samples, stop, pid) = (samples.clone(), stop.clone(), pid.clone());
            std::thread::Builder::new()
                .name("rss-sampler".into())
                .spawn(move || {
                    while !stop.load(Ordering::Relaxed) {
                        // A gap while the process is gone (a planned outage), not an end.
                        if let Some(rss) = rss_bytes(pid.load(Ordering::Relaxed)) {
                            samples.lock().unwrap().push(Sample {
                                t_s: started.elapsed().as_secs_f64(),
                                rss_bytes: rss,
                            });
                        }
                        std::thread::sleep(SAMPLE_PERIOD);
                    }
                })
                .ok()
        };
        Sampler {
            pid,
            samples,
            stop,
            thread,
            started,
        }
    }

    /// Samples `pid` from now on: the server that replaced the one killed.
    pub fn follow(&self, pid: u32) {
        self.pid.store(pid, Ordering::Relaxed);
    }

    /// Highest RSS sampled from the instant `from` up to the instant `to`.
    pub fn peak_between(&self, from: Instant, to: Instant) -> u64 {
        let at = |i: Instant| i.saturating_duration_since(self.started).as_secs_f64();
        let (from, to) = (at(from), at(to));
        self.samples
            .lock()
            .unwrap()
            .iter()
            .filter(|s| s.t_s >= from && s.t_s <= to)
            .map(|s| s.rss_bytes)
            .max()
            .unwrap_or(0)
    }

    /// Stops sampling and returns every sample.
    pub fn finish(mut self) -> Vec<Sample> {
        self.halt();
        std::mem::take(&mut *self.samples.lock().unwrap())
    }

    fn halt(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for Sampler {
    /// A sampler dropped without [`Sampler::finish`] stops its thread too.
    fn drop(&mut self) {
        self.halt();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn this_process_has_memory_and_cpu() {
        assert!(rss_bytes(0).unwrap() > 1024 * 1024);
        let start = cpu_seconds(0).unwrap();
        let t = Instant::now();
        let mut x = 0u64;
        while t.elapsed() < Duration::from_millis(50) {
            x = x.wrapping_add(std::hint::black_box(1));
        }
        assert!(x > 0);
        assert!(cpu_seconds(0).unwrap() >= start);
    }
}
