//! What this process holds on its heap, for the load generator's memory per client
//! (docs/method.md, "The load generator's own cost").
//!
//! RSS growth was the first measure, and it depends on the run's history: memory freed by
//! an earlier repeat is reused without growing RSS (0.5 KB per client on a second repeat
//! against 20-25 KB on the first), and what a connect phase allocates and frees again
//! (handshake buffers) stays in RSS. The allocator's count of bytes in use is neither: it
//! is what the clients hold, whatever ran before.

/// Bytes the allocator has handed out and not taken back (glibc's `mallinfo2`: in-use
/// chunks of every arena plus mmapped ones), or `None` where the C library has no such
/// count (the caller falls back to RSS).
#[cfg(all(target_os = "linux", target_env = "gnu"))]
pub fn in_use_bytes() -> Option<u64> {
    // SAFETY: mallinfo2 takes no arguments and only reads the allocator's statistics.
    let info = unsafe { libc::mallinfo2() };
    Some((info.uordblks + info.hblkhd) as u64)
}

/// See the glibc version: no count here.
#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
pub fn in_use_bytes() -> Option<u64> {
    None
}

/// This process's memory as the load generator's per-client figure counts it: bytes in
/// use on the heap, or RSS where the allocator keeps no count.
pub fn footprint() -> u64 {
    in_use_bytes()
        .or_else(|| super::procfs::rss_bytes(0))
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_allocation_held_is_counted_and_one_freed_is_not() {
        let before = in_use_bytes().expect("glibc");
        let held: Vec<Vec<u8>> = (0..64).map(|_| vec![0u8; 1 << 20]).collect();
        let during = in_use_bytes().unwrap();
        drop(held);
        let after = in_use_bytes().unwrap();
        // Other test threads allocate and free too, far less than this: bounds with room.
        const MIB: u64 = 1 << 20;
        assert!(during >= before + 48 * MIB, "{before} -> {during}");
        assert!(after + 48 * MIB <= during, "{during} -> {after}");
    }
}
