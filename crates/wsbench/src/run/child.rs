//! The built-in server under test as a child process: `wsbench serve`, this same binary;
//! and what every server child shares (its setup, the tail of its output).

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::process::{ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{Context, anyhow, bail};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader, Lines};
use tokio::process::{Child, ChildStdin, ChildStdout, Command};
use wsbench_core::CountersSnapshot;
use wsbench_core::control::{REQUEST_COUNTERS, ServeEvent};
use wsbench_core::cpus::CpuSet;
use wsbench_core::io_path::SendPath;

/// How long a starting server may take to print its ready line.
const READY_TIMEOUT: Duration = Duration::from_secs(15);
/// How long a server may take to exit after SIGTERM before it is killed.
const STOP_TIMEOUT: Duration = Duration::from_secs(3);
/// Lines of the child's stderr kept to explain a failure.
const STDERR_LINES: usize = 20;

/// A running `wsbench serve` child.
pub struct ServerChild {
    child: Child,
    stdin: ChildStdin,
    stdout: Lines<BufReader<ChildStdout>>,
    stderr_tail: Tail,
    /// Where it listens.
    pub addr: SocketAddr,
    /// Its process id, for `/proc` sampling.
    pub pid: u32,
    /// How it writes broadcasts and why not the way asked for, where its ready line says.
    pub send_path: Option<(SendPath, Option<String>)>,
}

impl ServerChild {
    /// Starts `wsbench serve <server> --listen <listen>` (e.g. `127.0.0.1:0`) and waits for
    /// its ready line.
    pub async fn spawn(
        server: &str,
        listen: &str,
        extra_args: &[String],
        cpus: Option<&CpuSet>,
    ) -> anyhow::Result<ServerChild> {
        let exe = std::env::current_exe().context("cannot find the wsbench executable")?;
        let mut command = Command::new(exe);
        command
            .args(["serve", server, "--listen", listen])
            .args(extra_args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        prepare(&mut command, cpus, false);
        let mut child = command.spawn().context("cannot start the server process")?;
        let stdin = child.stdin.take().expect("piped");
        let mut stdout = BufReader::new(child.stdout.take().expect("piped")).lines();
        let stderr_tail = Tail::default();
        stderr_tail.follow(child.stderr.take().expect("piped"), None);

        let line = match tokio::time::timeout(READY_TIMEOUT, stdout.next_line()).await {
            Err(_) => bail!("no ready line within {READY_TIMEOUT:?}"),
            Ok(Err(e)) => bail!("cannot read its stdout: {e}"),
            Ok(Ok(None)) => {
                let status = child.wait().await.ok();
                // Let the stderr reader catch up with what the child said before dying.
                tokio::time::sleep(Duration::from_millis(50)).await;
                bail!("{}", exit_reason(status, &stderr_tail));
            }
            Ok(Ok(Some(line))) => line,
        };
        match ServeEvent::from_line(&line) {
            Ok(ServeEvent::Ready {
                addr,
                pid,
                io,
                io_note,
                ..
            }) => Ok(ServerChild {
                child,
                stdin,
                stdout,
                stderr_tail,
                addr,
                pid,
                send_path: io.map(|io| (io, io_note)),
            }),
            _ => Err(anyhow!("unexpected first line: {line}")),
        }
    }

    /// The child's live counters.
    pub async fn counters(&mut self) -> anyhow::Result<CountersSnapshot> {
        self.stdin
            .write_all(format!("{REQUEST_COUNTERS}\n").as_bytes())
            .await?;
        let line = tokio::time::timeout(Duration::from_secs(2), self.stdout.next_line())
            .await
            .context("no answer to a counters request")??
            .context("the server closed its stdout")?;
        match ServeEvent::from_line(&line)? {
            ServeEvent::Counters(c) => Ok(c),
            other => Err(anyhow!("unexpected answer {other:?}")),
        }
    }

    /// `Some(reason)` once the child has exited.
    pub fn exited(&mut self) -> Option<String> {
        match self.child.try_wait() {
            Ok(Some(status)) => Some(exit_reason(Some(status), &self.stderr_tail)),
            Ok(None) => None,
            Err(e) => Some(format!("cannot watch the server process: {e}")),
        }
    }

    /// SIGKILL, as a crash would end it, and waits until it is gone (its port free again).
    pub async fn kill(mut self) {
        let _ = self.child.kill().await;
    }

    /// SIGTERM, then SIGKILL if it has not exited in time.
    pub async fn stop(mut self) {
        if let Some(pid) = self.child.id() {
            // SAFETY: signalling our own child by pid has no memory effects.
            unsafe { libc::kill(pid as i32, libc::SIGTERM) };
        }
        if tokio::time::timeout(STOP_TIMEOUT, self.child.wait())
            .await
            .is_err()
        {
            let _ = self.child.kill().await;
        }
    }
}

/// Why a server process ended, with the last line it wrote.
pub fn exit_reason(status: Option<ExitStatus>, tail: &Tail) -> String {
    use std::os::unix::process::ExitStatusExt;
    let how = match status {
        Some(s) if s.signal().is_some() => format!("killed by signal {}", s.signal().unwrap()),
        Some(s) => format!("exited with {s}"),
        None => "exited".to_owned(),
    };
    match tail.last() {
        Some(last) => format!("server {how}: {last}"),
        None => format!("server {how}"),
    }
}

/// Sets up a server process before it runs: it dies with wsbench (SIGTERM when its parent
/// goes), runs on `cpus` if given (its runtime then sizes itself to them), and, for a
/// command that may fork, leads a process group of its own.
pub fn prepare(command: &mut Command, cpus: Option<&CpuSet>, own_group: bool) {
    let cpus = cpus.cloned();
    // SAFETY: the closure runs between fork and exec: it only calls async-signal-safe
    // functions (prctl, setpgid, sched_setaffinity) on memory it owns.
    unsafe {
        command.pre_exec(move || {
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM);
            if own_group && libc::setpgid(0, 0) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            if let Some(cpus) = &cpus {
                cpus.apply_to_this_thread()?;
            }
            Ok(())
        });
    }
}

/// The last lines a process wrote, kept to explain a failure; also tells when a line with
/// some text appears (a command's ready line).
#[derive(Clone, Default)]
pub struct Tail(Arc<Mutex<VecDeque<String>>>);

impl Tail {
    /// Reads `output` to its end on a task of its own (so that a chatty server never
    /// blocks on a full pipe), keeping the last lines; sends on `ready` when a line holds
    /// its text.
    pub fn follow(
        &self,
        output: impl tokio::io::AsyncRead + Unpin + Send + 'static,
        ready: Option<(String, tokio::sync::watch::Sender<bool>)>,
    ) {
        let tail = self.clone();
        tokio::spawn(async move {
            let mut lines = BufReader::new(output).lines();
            while let Ok(Some(line)) = lines.next_line().await {
                if let Some((text, tx)) = &ready
                    && line.contains(text.as_str())
                {
                    let _ = tx.send(true);
                }
                let mut kept = tail.0.lock().unwrap();
                if kept.len() == STDERR_LINES {
                    kept.pop_front();
                }
                kept.push_back(line);
            }
        });
    }

    /// The last line kept.
    pub fn last(&self) -> Option<String> {
        self.0.lock().unwrap().back().cloned()
    }

    /// Every line kept, oldest first.
    pub fn lines(&self) -> Vec<String> {
        self.0.lock().unwrap().iter().cloned().collect()
    }
}
