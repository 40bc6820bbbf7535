//! `wsbench serve` in a child process, spoken to over its control lines: what serve.rs and
//! hostile.rs share.
#![allow(dead_code)]

use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader, Lines};
use tokio::process::{Child, ChildStdout, Command};
use wsbench_core::CountersSnapshot;
use wsbench_core::control::ServeEvent;

/// Every wait on the child is bounded by this.
pub const WAIT: Duration = Duration::from_secs(30);

/// A running `wsbench serve` and its ready line's address.
pub struct Served {
    pub child: Child,
    stdout: Lines<BufReader<ChildStdout>>,
    pub addr: std::net::SocketAddr,
    /// The ready line's note on the server's send path.
    pub io_note: Option<String>,
}

impl Served {
    /// `wsbench serve ARGS`, once it printed its ready line (checked: its own pid, a
    /// loopback address).
    pub async fn spawn(args: &[&str]) -> Served {
        let mut child = Command::new(env!("CARGO_BIN_EXE_wsbench"))
            .arg("serve")
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        let mut stdout = BufReader::new(child.stdout.take().unwrap()).lines();
        let line = tokio::time::timeout(WAIT, stdout.next_line())
            .await
            .expect("no ready line in time")
            .unwrap()
            .expect("stdout closed before the ready line");
        let ServeEvent::Ready {
            addr, pid, io_note, ..
        } = ServeEvent::from_line(&line).unwrap()
        else {
            panic!("first line is not a ready line: {line}");
        };
        assert_eq!(pid, child.id().unwrap());
        assert!(addr.ip().is_loopback());
        Served {
            child,
            stdout,
            addr,
            io_note,
        }
    }

    /// Writes one request line on the child's stdin.
    pub async fn request(&mut self, line: &str) {
        let stdin = self.child.stdin.as_mut().unwrap();
        stdin
            .write_all(format!("{line}\n").as_bytes())
            .await
            .unwrap();
    }

    /// The next line the child prints.
    pub async fn next_event(&mut self) -> ServeEvent {
        let line = tokio::time::timeout(WAIT, self.stdout.next_line())
            .await
            .expect("no line in time")
            .unwrap()
            .expect("stdout closed");
        ServeEvent::from_line(&line).unwrap()
    }

    /// Its counters now.
    pub async fn counters(&mut self) -> CountersSnapshot {
        self.request("counters").await;
        match self.next_event().await {
            ServeEvent::Counters(c) => c,
            other => panic!("expected counters, got {other:?}"),
        }
    }

    /// Sends SIGTERM and checks the child exits 0 within two seconds.
    pub async fn terminate(mut self) {
        let pid = self.child.id().unwrap() as i32;
        // SAFETY: kill(2) with a pid we own and a valid signal number has no memory effects.
        assert_eq!(unsafe { libc::kill(pid, libc::SIGTERM) }, 0);
        let status = tokio::time::timeout(Duration::from_secs(2), self.child.wait())
            .await
            .expect("did not exit within 2 s of SIGTERM")
            .unwrap();
        assert!(status.success(), "exit status {status}");
    }

    /// Asks for the counters until `cond` holds (bounded by [`WAIT`]).
    pub async fn until(&mut self, what: &str, cond: impl Fn(&CountersSnapshot) -> bool) {
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            let c = self.counters().await;
            if cond(&c) {
                return;
            }
            assert!(tokio::time::Instant::now() < deadline, "{what}: {c:?}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Waits until the server has stopped reading (its bytes read unchanged for a second;
    /// at most [`WAIT`]): what it holds then is what it took in.
    pub async fn settled(&mut self) {
        let mut last = self.counters().await.bytes_read;
        for _ in 0..WAIT.as_secs() {
            tokio::time::sleep(Duration::from_secs(1)).await;
            let now = self.counters().await.bytes_read;
            if now == last {
                return;
            }
            last = now;
        }
    }

    /// Resident memory, bytes.
    pub fn rss(&self) -> u64 {
        let pid = self.child.id().unwrap();
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
        let kib: u64 = status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap();
        kib * 1024
    }
}
