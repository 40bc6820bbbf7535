//! A `redis-server` child on a free loopback port, for clustered servers (the runner's and
//! the tests'): started from the system package, stopped when dropped.

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// How long redis-server may take to accept connections.
const READY_TIMEOUT: Duration = Duration::from_secs(10);

/// A running `redis-server`.
pub struct RedisServer {
    child: Child,
    /// Where it listens.
    pub addr: SocketAddr,
}

impl RedisServer {
    /// Starts `redis-server` (persistence off) on a free port of 127.0.0.1 and waits until it
    /// accepts connections. A port taken between choosing and binding is retried.
    pub fn start() -> std::io::Result<RedisServer> {
        let mut last_error = None;
        for _ in 0..5 {
            let port = TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
            let child = Command::new("redis-server")
                .args(["--bind", "127.0.0.1", "--port", &port.to_string()])
                .args(["--save", "", "--appendonly", "no", "--protected-mode", "yes"])
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .map_err(|e| {
                    std::io::Error::new(
                        e.kind(),
                        format!(
                            "cannot run redis-server ({e}): install it (Debian: apt-get install redis-server)"
                        ),
                    )
                })?;
            let mut server = RedisServer {
                child,
                addr: SocketAddr::from(([127, 0, 0, 1], port)),
            };
            match server.wait_ready() {
                Ok(()) => return Ok(server),
                Err(e) => last_error = Some(e),
            }
        }
        Err(last_error.unwrap_or_else(|| std::io::Error::other("redis-server did not start")))
    }

    /// For tests: a started server, or `None` (with a message) when `redis-server` is not
    /// installed on a developer's machine. Under CI (`CI` set) a missing `redis-server` is a
    /// failure, never a skip: `.ci/run` installs it.
    pub fn start_or_skip(test: &str) -> Option<RedisServer> {
        if !Self::installed() {
            crate::prerequisite::missing(
                test,
                "redis-server (apt-get install redis-server; .ci/run installs it)",
            );
            return None;
        }
        Some(RedisServer::start().expect("redis-server starts"))
    }

    /// Whether `redis-server` can be run here.
    pub fn installed() -> bool {
        Command::new("redis-server")
            .arg("--version")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    }

    /// The URL clients connect with (RESP3, which socketioxide-redis needs).
    pub fn url(&self) -> String {
        format!("redis://{}/?protocol=resp3", self.addr)
    }

    /// Its process id, for CPU and memory figures.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    fn wait_ready(&mut self) -> std::io::Result<()> {
        let start = Instant::now();
        while start.elapsed() < READY_TIMEOUT {
            if let Some(status) = self.child.try_wait()? {
                return Err(std::io::Error::other(format!(
                    "redis-server exited with {status}"
                )));
            }
            if TcpStream::connect_timeout(&self.addr, Duration::from_millis(200)).is_ok() {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Err(std::io::Error::other(format!(
            "redis-server did not accept connections within {READY_TIMEOUT:?}"
        )))
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
