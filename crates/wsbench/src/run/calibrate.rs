//! The machine's speed, timed at the start and the end of every run (docs/method.md,
//! "Calibration"): a fixed CPU-bound kernel and a loopback TCP round trip.

use std::hint::black_box;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::time::Duration;

use wsbench_core::clock::thread_cpu_ns;
use wsbench_core::result::Calibration;

/// Timings of the kernel taken at the start and at the end; their median is kept.
const KERNEL_TRIES: usize = 9;
/// Round trips timed (after as many again to warm up); their median is kept.
const ROUND_TRIPS: usize = 500;

/// Adds one timing of each kind to `into` (a part that cannot run is left out).
pub fn measure(into: &mut Calibration) {
    into.cpu_kernel_ms.push(cpu_kernel_ms());
    if let Some(rtt) = loopback_rtt_us() {
        into.loopback_rtt_us.push(rtt);
    }
}

/// The CPU time (not wall time: a busy machine preempting it does not count) of a fixed
/// piece of work that mixes arithmetic, branches and memory traffic over 1 MiB, as a
/// server's delivery path does; median of [`KERNEL_TRIES`], ms.
fn cpu_kernel_ms() -> f64 {
    let mut times: Vec<f64> = (0..KERNEL_TRIES).map(|_| kernel_once_ms()).collect();
    median(&mut times)
}

/// One timing of the kernel, ms (about 2 ms on a current core): cheap enough to take at
/// every block boundary of the window, where it follows what neighbours do to the
/// machine's speed while the servers are measured.
pub fn kernel_once_ms() -> f64 {
    let mut buf = vec![0u64; 128 * 1024];
    let start = thread_cpu_ns();
    black_box(kernel(black_box(&mut buf)));
    (thread_cpu_ns() - start) as f64 / 1e6
}

/// The work itself: two passes of xorshift mixing, each word depending on the last.
fn kernel(buf: &mut [u64]) -> u64 {
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    for pass in 0..2u64 {
        for (i, w) in buf.iter_mut().enumerate() {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            *w = w.wrapping_add(x ^ pass);
            if *w & 1 == 0 {
                x = x.wrapping_add(i as u64);
            }
        }
    }
    x
}

/// Median round trip of one byte over loopback TCP between this thread and another, µs.
fn loopback_rtt_us() -> Option<f64> {
    let listener = TcpListener::bind("127.0.0.1:0").ok()?;
    let addr = listener.local_addr().ok()?;
    // Connected before the echo thread accepts, so that it never waits for a client that
    // could not connect: the kernel completes the handshake on its own.
    let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(5)).ok()?;
    let echo = std::thread::spawn(move || -> std::io::Result<()> {
        let (mut s, _) = listener.accept()?;
        s.set_nodelay(true)?;
        s.set_read_timeout(Some(Duration::from_secs(5)))?;
        let mut b = [0u8; 1];
        for _ in 0..2 * ROUND_TRIPS {
            s.read_exact(&mut b)?;
            s.write_all(&b)?;
        }
        Ok(())
    });
    let rtts = (|| -> std::io::Result<Vec<f64>> {
        s.set_nodelay(true)?;
        s.set_read_timeout(Some(Duration::from_secs(5)))?;
        let mut b = [7u8; 1];
        let mut out = Vec::with_capacity(ROUND_TRIPS);
        for i in 0..2 * ROUND_TRIPS {
            let t = std::time::Instant::now();
            s.write_all(&b)?;
            s.read_exact(&mut b)?;
            if i >= ROUND_TRIPS {
                out.push(t.elapsed().as_secs_f64() * 1e6);
            }
        }
        Ok(out)
    })();
    let echoed = echo.join().ok().and_then(|r| r.ok());
    let mut rtts = rtts.ok().filter(|_| echoed.is_some())?;
    Some(median(&mut rtts))
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_timings_are_taken_and_positive() {
        let mut c = Calibration::default();
        measure(&mut c);
        assert_eq!(c.cpu_kernel_ms.len(), 1);
        assert_eq!(c.loopback_rtt_us.len(), 1);
        assert!(
            c.cpu_kernel_ms[0] > 0.0 && c.loopback_rtt_us[0] > 0.0,
            "{c:?}"
        );
    }
}
