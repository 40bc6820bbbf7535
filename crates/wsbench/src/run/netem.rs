//! A run over an emulated link (`[network]`): wsbench makes a network namespace of its
//! own, gives its loopback the link's delay, jitter, loss and rate (netem), and runs the
//! same command again inside it, so that the load generator, every server and Redis talk
//! over that loopback and every packet crosses the link. The machine's own network is
//! never touched, and the namespace is removed when the run ends, however it ends
//! (docs/method.md, "An emulated link").

use std::process::{Command, ExitCode, Stdio};

use anyhow::{Context, bail};
use wsbench_core::scenario::Network;

/// Set in the run inside the namespace: its name.
const INSIDE: &str = "WSBENCH_NETNS";

/// Whether this process runs inside a run's namespace already.
pub fn inside() -> bool {
    std::env::var_os(INSIDE).is_some()
}

/// What this machine lacks to emulate a link (root, iproute2's ip and tc, namespaces), as
/// a sentence; `None` when it has it all.
pub fn missing() -> Option<String> {
    // SAFETY: geteuid has no preconditions and touches no memory.
    if unsafe { libc::geteuid() } != 0 {
        return Some("needs root, to make a network namespace (run wsbench as root)".to_owned());
    }
    for tool in ["ip", "tc"] {
        let ran = Command::new(tool)
            .arg("-V")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        if !ran.is_ok_and(|s| s.success()) {
            return Some(format!(
                "needs iproute2's `{tool}` (Debian: apt-get install iproute2)"
            ));
        }
    }
    None
}

/// Removes the namespace when dropped.
struct Namespace(String);

impl Drop for Namespace {
    fn drop(&mut self) {
        let _ = Command::new("ip")
            .args(["netns", "delete", &self.0])
            .stderr(Stdio::null())
            .status();
    }
}

/// Runs `cmd`, failing with its own error output.
fn must(cmd: &mut Command, what: &str) -> anyhow::Result<()> {
    let out = cmd
        .stderr(Stdio::piped())
        .output()
        .with_context(|| format!("cannot {what}"))?;
    if !out.status.success() {
        bail!(
            "cannot {what}: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(())
}

/// Runs this very command again inside a namespace whose loopback is `network`, and
/// returns its exit code.
pub fn run_inside(network: &Network, file: &std::path::Path) -> anyhow::Result<ExitCode> {
    let name = format!("wsbench-{}", std::process::id());
    must(
        Command::new("ip").args(["netns", "add", &name]),
        "make a network namespace",
    )?;
    let ns = Namespace(name);
    let exec = |args: &[&str]| {
        let mut c = Command::new("ip");
        c.args(["netns", "exec", &ns.0]).args(args);
        c
    };
    // A real link's frames (1,500 bytes), not loopback's 64 KiB ones.
    let lo = ["ip", "link", "set", "lo", "mtu", "1500", "up"];
    must(&mut exec(&lo), "bring up its loopback")?;
    let qdisc = network.qdisc_args();
    if !qdisc.is_empty() {
        let mut tc = exec(&["tc", "qdisc", "add", "dev", "lo", "root"]);
        tc.args(&qdisc);
        if let Err(e) = must(&mut tc, "give its loopback the link") {
            // Nothing has started yet: what this kernel cannot do is the scenario's to change.
            let why = if network.needs_netem() {
                "delay, jitter and loss need the kernel's netem (sch_netem, \
                 CONFIG_NET_SCH_NETEM), which this kernel lacks: a rate alone needs only tbf"
            } else {
                "the kernel's tbf is missing"
            };
            let file = file.display();
            return Err(crate::exit::Usage(format!("{file}: [network]: {why} ({e:#})")).into());
        }
    }
    eprintln!(
        "wsbench: emulated link: {} (tc qdisc {}, network namespace {})",
        network.describe(),
        qdisc.join(" "),
        ns.0
    );
    let program = std::env::current_exe().context("cannot find this program")?;
    let mut child = exec(&[]);
    child
        .arg(program)
        .args(std::env::args_os().skip(1))
        .env(INSIDE, &ns.0);
    // Ctrl-C reaches the run inside (same process group), which keeps what it measured
    // and ends; this process waits for it and then removes the namespace.
    // SAFETY: ignoring SIGINT changes no memory; the child restores it before exec below.
    unsafe { libc::signal(libc::SIGINT, libc::SIG_IGN) };
    // SAFETY: the closure runs between fork and exec and only calls signal(2).
    unsafe {
        std::os::unix::process::CommandExt::pre_exec(&mut child, || {
            libc::signal(libc::SIGINT, libc::SIG_DFL);
            Ok(())
        });
    }
    let status = child
        .status()
        .context("cannot run wsbench inside the namespace")?;
    drop(ns);
    Ok(match status.code() {
        Some(code) => ExitCode::from(u8::try_from(code).unwrap_or(1)),
        None => ExitCode::from(crate::exit::INTERRUPTED),
    })
}
