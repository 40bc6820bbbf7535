//! How a run is described in its result, for readers of the report: the method of
//! docs/method.md, told for this run's systems and CPU placement.

use wsbench_core::scenario::{Scenario, TlsTrust};
use wsbench_core::system::{ServerSpec, System};

use super::procfs::CpuSource;

/// A shard's method line about its server figures; `wsbench merge` leaves it out, since the
/// merged result counts each server once.
pub const SHARD_SERVER_FIGURES: &str = "This is one shard: a server it shares with other shards served them all, so its server figures here (memory per connection, CPU per delivery) divide the whole server's by this shard's counts alone; `wsbench merge` counts each server once (docs/method.md, \"Sharding\").";

/// The method lines of a run of `scenario`.
pub fn lines(scenario: &Scenario) -> Vec<String> {
    let mut lines = servers(scenario);
    lines.extend([
        "Open loop: message k of a sender is due at t0 + k/rate; latency = receive time - intended send time (CLOCK_MONOTONIC), so a stalled sender shows as latency.".to_owned(),
        "Only probes due in the measured window are counted; every sent probe is owed to every other client asked for (loss is never hidden).".to_owned(),
        "Latency: HdrHistogram 1 µs - 60 s, 3 significant digits, one per load-generator worker, merged; serialized histograms are kept.".to_owned(),
        "Server memory: VmRSS from /proc of the server's whole process tree, sampled at 10 Hz; baseline before clients, idle after all connected and settled (1 s), peak during load; per connection = (idle - baseline) / connected.".to_owned(),
        format!(
            "CPU: {} from /proc over the measured window, for the server (its whole process tree) and the load generator; a load generator above 90% of its cores is marked load-generator bound.",
            CpuSource::here().describe()
        ),
        "Wire: bytes read and written at the client TCP sockets over the measured window; bytes per delivery = bytes read / probes received.".to_owned(),
        "Uncertainty: the measured window is cut into blocks (0.5 s or longer, at most 30); each block's deliveries, latency p50/p99 and server CPU are kept, and claims' confidence intervals are bootstrapped from them, repeats first.".to_owned(),
        "Calibration: a fixed CPU kernel and a loopback round trip are timed at the start and the end of the run, and the kernel again at the end of every block; `wsbench compare` divides CPU times by it. Each block also records the share of the machine's CPU that went to other work (steal time from /proc/stat, and processes other than the run's own); `wsbench compare` judges no timing from a block above 10%.".to_owned(),
        placement(scenario),
    ]);
    lines.extend(handicap());
    lines.extend(adapters(scenario));
    lines.extend(tls(scenario));
    lines.extend(compression(scenario));
    lines.extend(scenario.proxy.as_ref().map(|p| {
        format!(
            "Proxy: each system's clients reached its server through nginx (the \
             distribution's), started by wsbench in front of it on another loopback port, \
             HTTP/1.1 to the server, buffering off; it {} the WebSocket upgrade on. Its CPU \
             and memory are measured as a server's and reported apart.",
            if p.upgrade { "passed" } else { "did NOT pass" }
        )
    }));
    lines.extend(scenario.network.as_ref().map(|n| {
        format!(
            "Network: every packet between the clients and the servers crossed an emulated \
             link, Linux netem on the loopback of a network namespace made for the run: {}. \
             Latencies include it (a broadcast crosses it twice, sender to server to \
             receiver; a TCP handshake three times), and TCP retransmits what it drops.",
            n.describe()
        )
    }));
    lines.extend(remote_hosts(scenario).iter().map(|(name, host)| {
        format!("{name}'s target {host} is not on this machine: allowed with --allow-remote; its figures include a real network between the load generator and the server.")
    }));
    lines
}

/// How the systems spoken to over TLS were, and what their clients trusted.
fn tls(scenario: &Scenario) -> Option<String> {
    let systems: Vec<System> = scenario.systems().into_iter().filter(|s| s.tls).collect();
    if systems.is_empty() {
        return None;
    }
    let names: Vec<&str> = systems.iter().map(|s| s.name.as_str()).collect();
    let started = systems
        .iter()
        .any(|s| !matches!(s.server, ServerSpec::Target { .. }));
    let mut line = format!(
        "TLS: {} spoken to over TLS (wss://) by rustls 0.23 clients (ring; the version and \
         cipher the server picks; each client its own session, none resumed); bytes on the \
         wire are counted below TLS, records, headers and handshakes included.",
        names.join(", ")
    );
    if started {
        line.push_str(
            " The servers wsbench started were given an ECDSA P-256 certificate for \
             127.0.0.1 and localhost, signed by a CA made for the run (tls/ beside the \
             result), which their clients trusted.",
        );
    }
    let targets = systems
        .iter()
        .any(|s| matches!(s.server, ServerSpec::Target { .. }));
    if targets {
        line.push_str(match &scenario.tls_trust {
            TlsTrust::System => " Targets were trusted through this machine's root certificates.",
            TlsTrust::CaFile(_) => " Targets were trusted through tls_ca_file's certificates.",
            TlsTrust::Insecure => {
                " tls_insecure: targets' certificates were NOT checked (chain and name); the \
                 figures are the same, the trust is not."
            }
        });
    }
    Some(line)
}

/// What the clients offered for compression, to which systems, and what filled the
/// payloads.
fn compression(scenario: &Scenario) -> Option<String> {
    use wsbench_core::scenario::PayloadKind;
    let names: Vec<String> = scenario
        .systems()
        .into_iter()
        .filter(|s| s.compression)
        .map(|s| s.name.to_string())
        .collect();
    let payload = match scenario.payload_kind {
        PayloadKind::Padded => "the probe padded with dots (compresses to almost nothing)",
        PayloadKind::Random => "the probe and random letters and digits (incompressible)",
        PayloadKind::Json => {
            "a chat message as a JSON object around the probe (a Socket.IO \
                               event's object argument)"
        }
    };
    if names.is_empty() {
        return (scenario.payload_kind != PayloadKind::Padded)
            .then(|| format!("Payloads: {payload}."));
    }
    Some(format!(
        "Compression: the clients of {} offered permessage-deflate (`{}`) and inflated what \
         the server compressed (flate2); they send uncompressed (RFC 7692 leaves that to each \
         sender). Each run records the connections the server accepted it on. Payloads: \
         {payload}.",
        names.join(", "),
        scenario.deflate.header()
    ))
}

/// The targets of `scenario` that are not loopback addresses, as (system, host).
pub fn remote_hosts(scenario: &Scenario) -> Vec<(String, String)> {
    scenario
        .target
        .iter()
        .filter_map(|(name, url)| {
            let url = url::Url::parse(url).ok()?;
            let host = url.host_str()?.trim_matches(['[', ']']).to_owned();
            (!wsbench_core::net::is_loopback_url(&url)).then(|| (name.to_string(), host))
        })
        .collect()
}

/// What each adapter changed in how the clients speak, for readers of the result.
fn adapters(scenario: &Scenario) -> Vec<String> {
    scenario
        .adapter
        .iter()
        .filter(|(_, a)| a.is_set())
        .map(|(name, a)| {
            let mut told = Vec::new();
            if let Some(t) = &a.template {
                told.push(format!(
                    "message template `{t}`, the probe found anywhere in what is received"
                ));
            }
            if a.event.is_some() || a.receive_event.is_some() {
                told.push(format!(
                    "emits `{}`, counts `{}`",
                    a.event(),
                    a.receive_event()
                ));
            }
            if a.namespace.is_some() || a.path.is_some() {
                told.push(format!(
                    "namespace `{}` at `{}`",
                    a.namespace(),
                    a.engine_path()
                ));
            }
            if !a.subprotocols.is_empty() {
                told.push(format!("subprotocols {}", a.subprotocols.join(", ")));
            }
            if !a.headers.is_empty() || a.auth.is_some() || !a.query.is_empty() {
                told.push("extra headers, query or auth".to_owned());
            }
            if !a.on_connect.is_empty() {
                told.push(format!(
                    "{} message(s) after connecting",
                    a.on_connect.len()
                ));
            }
            format!(
                "{name}'s clients spoke through an adapter: {}.",
                told.join("; ")
            )
        })
        .collect()
}

/// The test aid's handicap the servers inherit from this process's environment, if any:
/// a result measured with it must say so.
fn handicap() -> Option<String> {
    use wsbench_core::handicap::{ENV_BURN_US, ENV_WIRE_BYTES, Handicap};
    let var = |name| {
        std::env::var(name)
            .ok()
            .and_then(|v| v.trim().parse::<f64>().ok())
    };
    let h = Handicap::new(
        var(ENV_BURN_US).unwrap_or(0.0),
        var(ENV_WIRE_BYTES).unwrap_or(0.0) as usize,
    );
    (!h.is_none()).then(|| h.describe())
}

/// Where each system's server came from, and so which server figures exist.
fn servers(scenario: &Scenario) -> Vec<String> {
    let systems = scenario.systems();
    let mut lines = Vec::new();
    if systems
        .iter()
        .any(|s| matches!(s.server, ServerSpec::Builtin(_)))
    {
        lines.push(
            "Each built-in server runs in its own child process (`wsbench serve`); the load generator runs in the `wsbench run` process."
                .to_owned(),
        );
    }
    for s in &systems {
        match &s.server {
            ServerSpec::Builtin(server) => lines.push(format!(
                "{}'s server, per delivery (docs/cost-breakdown.md): {}",
                s.name,
                server.delivery_path()
            )),
            ServerSpec::Command(spec) => lines.push(format!(
                "{} ran `{}` in a process group of its own on a free loopback port; its memory and CPU are its whole process tree's.",
                s.name,
                spec.command.join(" ")
            )),
            ServerSpec::Target { url, pid: Some(pid) } => lines.push(format!(
                "{} was an already-running server at {url} (pid {pid}), sampled like the others.",
                s.name
            )),
            ServerSpec::Target { url, pid: None } => lines.push(format!(
                "{} was an already-running server at {url}, not wsbench's: its memory and CPU were not measured (give its pid with --target-pid to measure them).",
                s.name
            )),
        }
    }
    lines
}

/// Whether the servers and the load generator had cores of their own.
fn placement(scenario: &Scenario) -> String {
    match (&scenario.server_cpus, &scenario.loadgen_cpus) {
        (Some(server), Some(loadgen)) if !server.overlaps(loadgen) => format!(
            "Servers ran on CPUs {server}, the load generator on CPUs {loadgen}: apart."
        ),
        _ => "Servers and the load generator shared the machine's cores: latencies include the load generator's own share of the CPU (pin them apart with server_cpus and loadgen_cpus where cores allow).".to_owned(),
    }
}
