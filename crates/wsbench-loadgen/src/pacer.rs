//! A sender's clock: wakes at a send's intended time with microsecond precision.
//!
//! tokio's timers have a 1 ms granularity: a sender woken by them is late by up to a
//! millisecond, and that lateness lands in every latency figure (measured from the intended
//! time, as it must be). A `timerfd` armed at an absolute CLOCK_MONOTONIC time — the clock
//! the probes carry — wakes the runtime's epoll when the time comes instead.

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

use tokio::io::Interest;
use tokio::io::unix::AsyncFd;

/// A one-shot timer on CLOCK_MONOTONIC, re-armed for each send.
pub struct Pacer {
    /// `None` for a client that never sends: it needs no descriptor (thousands of
    /// receivers would otherwise double the file descriptors a run needs).
    fd: Option<AsyncFd<OwnedFd>>,
}

impl Pacer {
    /// A disarmed timer registered with the current runtime.
    pub fn new() -> io::Result<Pacer> {
        // SAFETY: timerfd_create has no pointer arguments; the result is checked.
        let raw = unsafe {
            libc::timerfd_create(
                libc::CLOCK_MONOTONIC,
                libc::TFD_NONBLOCK | libc::TFD_CLOEXEC,
            )
        };
        if raw < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: `raw` is a fresh descriptor that nothing else owns.
        let fd = unsafe { OwnedFd::from_raw_fd(raw) };
        // SAFETY: an OwnedFd keeps its descriptor open and unchanged for as long as the
        // AsyncFd owns it.
        let fd = unsafe { AsyncFd::register_with_interest(fd, Interest::READABLE) }
            .map_err(|e| e.into_parts().1)?;
        Ok(Pacer { fd: Some(fd) })
    }

    /// A pacer for one client: armed for `first_due_ns` if it sends, else left disarmed.
    pub fn start(sends: bool, first_due_ns: u64) -> io::Result<Pacer> {
        if !sends {
            return Ok(Pacer { fd: None });
        }
        let pacer = Pacer::new().inspect_err(|e| tracing::error!(%e, "no sender timer"))?;
        pacer.arm(first_due_ns)?;
        Ok(pacer)
    }

    /// Arms the timer for monotonic time `ns` (a time already past fires at once).
    pub fn arm(&self, ns: u64) -> io::Result<()> {
        let Some(fd) = &self.fd else {
            return Err(io::Error::other("a client that does not send has no timer"));
        };
        let spec = libc::itimerspec {
            it_interval: libc::timespec {
                tv_sec: 0,
                tv_nsec: 0,
            },
            it_value: libc::timespec {
                tv_sec: (ns / 1_000_000_000) as libc::time_t,
                // Zero would disarm the timer: a time of exactly 0 ns is never due anyway.
                tv_nsec: (ns % 1_000_000_000).max(u64::from(ns == 0)) as libc::c_long,
            },
        };
        // SAFETY: valid descriptor, valid itimerspec, null old value.
        let rc = unsafe {
            libc::timerfd_settime(
                fd.as_raw_fd(),
                libc::TFD_TIMER_ABSTIME,
                &spec,
                std::ptr::null_mut(),
            )
        };
        if rc < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(())
    }

    /// Completes when the armed time has come.
    pub async fn fired(&self) -> io::Result<()> {
        let Some(fd) = &self.fd else {
            return std::future::pending().await;
        };
        loop {
            let mut guard = fd.readable().await?;
            let mut expirations = [0u8; 8];
            // SAFETY: reading 8 bytes into an 8-byte buffer from our descriptor.
            let n = unsafe {
                libc::read(
                    fd.as_raw_fd(),
                    expirations.as_mut_ptr().cast(),
                    expirations.len(),
                )
            };
            if n == 8 {
                return Ok(());
            }
            let err = io::Error::last_os_error();
            if err.kind() != io::ErrorKind::WouldBlock {
                return Err(err);
            }
            guard.clear_ready();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use wsbench_core::clock::monotonic_ns;

    #[tokio::test]
    async fn fires_at_the_armed_time_not_before() {
        let pacer = Pacer::new().unwrap();
        for delay_us in [0u64, 300, 2_500] {
            let due = monotonic_ns() + delay_us * 1_000;
            pacer.arm(due).unwrap();
            tokio::time::timeout(std::time::Duration::from_secs(5), pacer.fired())
                .await
                .expect("timer never fired")
                .unwrap();
            assert!(monotonic_ns() >= due);
        }
    }
}
