//! The one clock every probe timestamp is read from, and the CPU clock of a thread.

/// Nanoseconds of `CLOCK_MONOTONIC`.
///
/// Every process of one host reads the same monotonic clock, so a sender and a receiver in
/// different processes (shards, servers) agree on it; it never jumps with NTP. Across hosts
/// it is not comparable.
pub fn monotonic_ns() -> u64 {
    read(libc::CLOCK_MONOTONIC)
}

/// Nanoseconds of CPU time the calling thread has used (`CLOCK_THREAD_CPUTIME_ID`): time
/// it ran, not time it waited for a core.
pub fn thread_cpu_ns() -> u64 {
    read(libc::CLOCK_THREAD_CPUTIME_ID)
}

fn read(clock: libc::clockid_t) -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec; the clocks read here always exist on Linux.
    let rc = unsafe { libc::clock_gettime(clock, &mut ts) };
    debug_assert_eq!(rc, 0);
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn monotonic_clock_advances_with_std_instant() {
        let a = monotonic_ns();
        let start = std::time::Instant::now();
        while start.elapsed() < std::time::Duration::from_millis(2) {}
        let b = monotonic_ns();
        assert!(b - a >= 2_000_000, "{a} -> {b}");
    }
}
