//! A process tree's RSS, sampled at 10 Hz on a thread of its own (docs/method.md, "Memory
//! and CPU").

use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::procfs;

/// Sampling period: 10 Hz.
pub const SAMPLE_PERIOD: Duration = Duration::from_millis(100);

/// One sample of a process.
#[derive(Debug, Clone, Copy)]
pub struct Sample {
    /// Seconds since sampling began.
    pub t_s: f64,
    /// Resident set size, bytes.
    pub rss_bytes: u64,
}

/// Samples the RSS of a process and its descendants on a thread of its own until stopped.
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
                        if let Some(rss) = procfs::tree_rss(pid.load(Ordering::Relaxed)) {
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
