//! A server started from a scenario's command (`[systems.NAME]`): a process group of its own
//! on a free loopback port, its output drained, ready when its port accepts a connection (or
//! its ready line appears), and stopped with everything it forked: SIGTERM, then SIGKILL.

use std::net::SocketAddr;
use std::process::Stdio;
use std::time::Duration;

use anyhow::{Context, bail};
use tokio::process::{Child, Command};
use wsbench_core::cpus::CpuSet;
use wsbench_core::system::{CommandSpec, TlsFiles};

use super::child::{Tail, exit_reason, prepare};
use super::procfs;

/// How long a stopped server may take to exit after SIGTERM before it is killed.
const STOP_TIMEOUT: Duration = Duration::from_secs(3);

/// A running server of a command.
pub struct CommandChild {
    child: Child,
    /// Its process id (and process group).
    pub pid: u32,
    /// Where it listens.
    pub addr: SocketAddr,
    tail: Tail,
}

/// Whether a server's failure to start says its address was in use (Node's `EADDRINUSE`,
/// Rust's and most others' "address already in use").
fn port_taken(e: &anyhow::Error) -> bool {
    let text = format!("{e:#}").to_lowercase();
    text.contains("eaddrinuse") || text.contains("address already in use")
}

/// Tries at starting a server whose port another process took first.
const PORT_TRIES: usize = 3;

impl CommandChild {
    /// Starts `spec` on a free loopback port and waits, at most `ready_timeout`, until it
    /// serves. The port is free when picked, but another process may take it before the
    /// server binds it: a server that dies saying its address is in use is started again
    /// on another port, up to [`PORT_TRIES`] times.
    pub async fn spawn(
        spec: &CommandSpec,
        cpus: Option<&CpuSet>,
        tls: Option<&TlsFiles>,
        ready_timeout: Duration,
    ) -> anyhow::Result<CommandChild> {
        let mut tries = 1;
        loop {
            match Self::spawn_once(spec, cpus, tls, ready_timeout).await {
                Err(e) if tries < PORT_TRIES && port_taken(&e) => {
                    tracing::warn!(
                        "the server's port was taken before it bound it: trying another ({e:#})"
                    );
                    tries += 1;
                }
                other => return other,
            }
        }
    }

    async fn spawn_once(
        spec: &CommandSpec,
        cpus: Option<&CpuSet>,
        tls: Option<&TlsFiles>,
        ready_timeout: Duration,
    ) -> anyhow::Result<CommandChild> {
        let port = free_port().context("cannot find a free loopback port")?;
        let argv = spec.argv(port, tls);
        let mut command = Command::new(&argv[0]);
        command
            .args(&argv[1..])
            .envs(spec.env(port, tls))
            .current_dir(&spec.dir)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        prepare(&mut command, cpus, true);
        let mut child = command.spawn().with_context(|| {
            format!(
                "cannot start `{}` (is it installed, and on PATH?)",
                argv.join(" ")
            )
        })?;
        let pid = child.id().context("the server exited at once")?;
        let tail = Tail::default();
        let (tx, mut ready) = tokio::sync::watch::channel(false);
        let ready_line = spec.ready.clone().map(|text| (text, tx));
        tail.follow(child.stdout.take().expect("piped"), ready_line.clone());
        tail.follow(child.stderr.take().expect("piped"), ready_line);
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        let mut server = CommandChild {
            child,
            pid,
            addr,
            tail,
        };
        let waited = tokio::time::timeout(ready_timeout, async {
            loop {
                if let Some(why) = server.exited() {
                    return Err(why);
                }
                let up = match spec.ready {
                    Some(_) => *ready.borrow_and_update(),
                    None => tokio::net::TcpStream::connect(addr).await.is_ok(),
                };
                if up {
                    return Ok(());
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        })
        .await;
        match waited {
            Ok(Ok(())) => Ok(server),
            Ok(Err(why)) => {
                // Let the readers catch up with what it said before dying.
                tokio::time::sleep(Duration::from_millis(50)).await;
                bail!("{why}{}", server.said())
            }
            Err(_) => {
                let said = server.said();
                server.stop().await;
                let what = match &spec.ready {
                    Some(text) => format!("printed no line with \"{text}\""),
                    None => format!("did not accept connections on {addr}"),
                };
                bail!("`{}` {what} within {ready_timeout:?}{said}", argv.join(" "))
            }
        }
    }

    /// Its last lines of output, for an error message.
    fn said(&self) -> String {
        let lines = self.tail.lines();
        if lines.is_empty() {
            String::new()
        } else {
            format!("; its last output:\n    {}", lines.join("\n    "))
        }
    }

    /// `Some(reason)` once it has exited.
    pub fn exited(&mut self) -> Option<String> {
        match self.child.try_wait() {
            Ok(Some(status)) => Some(exit_reason(Some(status), &self.tail)),
            Ok(None) => None,
            Err(e) => Some(format!("cannot watch the server process: {e}")),
        }
    }

    /// SIGTERM to its process group, SIGKILL to whatever is left after the grace period:
    /// nothing it started outlives the run.
    pub async fn stop(mut self) {
        // Taken first: once the leader exits, its children belong to someone else.
        let tree = procfs::tree(self.pid);
        signal_group(self.pid, libc::SIGTERM);
        if tokio::time::timeout(STOP_TIMEOUT, self.child.wait())
            .await
            .is_err()
        {
            tracing::warn!(pid = self.pid, "the server ignored SIGTERM: killed");
        }
        signal_group(self.pid, libc::SIGKILL);
        for pid in tree {
            // SAFETY: kill(2) has no memory effects; a pid gone since is ESRCH.
            unsafe { libc::kill(pid as i32, libc::SIGKILL) };
        }
        let _ = self.child.wait().await;
    }

    /// SIGKILL for the whole group, as a crash would end it.
    pub async fn kill(self) {
        let tree = procfs::tree(self.pid);
        signal_group(self.pid, libc::SIGKILL);
        for pid in tree {
            // SAFETY: as above.
            unsafe { libc::kill(pid as i32, libc::SIGKILL) };
        }
        let mut child = self.child;
        let _ = child.wait().await;
    }
}

fn signal_group(pgid: u32, signal: i32) {
    // SAFETY: kill(2) with a negative pid signals a process group; no memory effects.
    unsafe { libc::kill(-(pgid as i32), signal) };
}

/// A loopback port nothing listens on now (the server binds it a moment later).
fn free_port() -> std::io::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}
