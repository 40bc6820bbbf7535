//! One transport's measurement: server up, clients connected, warm-up, measured window,
//! drain, figures. Every phase watches for a dead server and for Ctrl-C.

use std::time::{Duration, Instant, SystemTime};

use anyhow::Context;
use indicatif::ProgressBar;
use tokio_util::sync::CancellationToken;
use wsbench_core::CountersSnapshot;
use wsbench_core::clock::monotonic_ns;
use wsbench_core::histogram::LatencyHistogram;
use wsbench_core::result::{
    Connections, DeliveryTimeline, LoadGenFigures, Messages, OutageFigures, ServerFigures, Status,
    TransportRun, WIRE_COUNTED_AT_SERVER, WIRE_COUNTED_AT_SOCKETS, Window, WireFigures,
};
use wsbench_core::scenario::{Mode, Scenario, SocketioClient, Transport};
use wsbench_core::shard::Shard;
use wsbench_loadgen::{
    Backoff, Endpoint, LiveSnapshot, LoadGen, LoadPlan, LoadReport, Protocol, RustSioTransport,
    Scope, Timeline,
};

use super::child::ServerChild;
use super::cluster::Cluster;
use super::procfs::{self, Sampler};

/// Time between all clients being connected and the idle memory reading.
const SETTLE: Duration = Duration::from_secs(1);
/// Longest one connection attempt may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Above this share of its CPU, the load generator, not the server, is what was measured.
const BOUND_THRESHOLD: f64 = 0.9;

/// Why a phase stopped early.
enum Stop {
    ServerDied(String),
    /// The run could not go on as planned (a start time already passed).
    Failed(String),
    Interrupted,
}

/// What a transport run needs from the run around it.
pub struct RunCtx<'a> {
    /// The scenario as run.
    pub scenario: &'a Scenario,
    /// Load-generator threads.
    pub workers: usize,
    /// The part of the clients this process opens.
    pub shard: Shard,
    /// Wall-clock instant at which senders begin (sharded runs); `None`: once connected.
    pub start_at: Option<SystemTime>,
    /// Cancelled on Ctrl-C.
    pub interrupt: &'a CancellationToken,
    /// Progress display (hidden when stderr is not a terminal).
    pub progress: &'a ProgressBar,
}

/// Measures `transport` once. Never fails: what went wrong is recorded in the result.
pub async fn measure(ctx: &RunCtx<'_>, transport: Transport, repeat: u64) -> TransportRun {
    let s = ctx.scenario;
    let mut run = TransportRun {
        transport,
        repeat,
        point: Default::default(),
        status: Status::Failed,
        error: None,
        server_url: String::new(),
        window: Window {
            warmup_s: s.warmup.0.as_secs_f64(),
            measured_s: s.duration.0.as_secs_f64(),
            drain_s: s.drain.0.as_secs_f64(),
        },
        connections: Connections {
            requested: ctx.shard.clients_of(s.clients),
            ..Default::default()
        },
        messages: Messages::default(),
        latency: LatencyHistogram::default().figures(),
        send_lag: LatencyHistogram::default().figures(),
        server: None,
        loadgen: LoadGenFigures {
            workers: ctx.workers as u64,
            ..Default::default()
        },
        wire: WireFigures::default(),
        timeline: DeliveryTimeline::default(),
        outage: None,
        cluster: None,
    };
    if let Err(e) = measure_into(ctx, &mut run).await {
        run.status = if ctx.interrupt.is_cancelled() {
            Status::Interrupted
        } else {
            Status::Failed
        };
        run.error = Some(format!("{transport}: {e:#}"));
    }
    run
}

async fn measure_into(ctx: &RunCtx<'_>, run: &mut TransportRun) -> anyhow::Result<()> {
    let s = ctx.scenario;
    let transport = run.transport;
    let (protocol, rust_socketio) = match transport {
        Transport::Ws => (Protocol::RawWs, None),
        Transport::Socketio => (
            Protocol::SocketIo,
            (s.socketio_client == SocketioClient::RustSocketio)
                .then_some(RustSioTransport::Websocket),
        ),
        Transport::SocketioPolling => (Protocol::SocketIo, Some(RustSioTransport::Polling)),
    };
    let progress = ctx.progress;
    progress.set_prefix(format!("{transport}#{}", run.repeat + 1));
    progress.set_message("starting the server");

    // The server: built-in child (with more nodes and a Redis for a cluster), or a target of
    // the user's.
    let (mut cluster, mut args) = match s.target.get(&transport) {
        Some(_) => (Cluster::default(), Vec::new()),
        None => Cluster::redis(s.nodes)?,
    };
    args.extend(server_args(s));
    let spawn = || async {
        ServerChild::spawn(transport.server(), "127.0.0.1:0", &args)
            .await
            .with_context(|| format!("the {} server did not start", transport.server()))
    };
    let mut child = match s.target.get(&transport) {
        Some(_) => None,
        None => Some(spawn().await?),
    };
    if cluster.is_cluster() {
        for _ in 1..s.nodes {
            cluster.add(spawn().await?);
        }
    }
    let endpoint = match (&child, s.target.get(&transport)) {
        (Some(c), _) => endpoint_for(protocol, &format!("ws://{}/", c.addr))?,
        (None, Some(url)) => endpoint_for(protocol, url)?,
        (None, None) => unreachable!("either a child or a target"),
    };
    run.server_url = endpoint.url.clone();
    let mut endpoints = vec![endpoint];
    for addr in cluster.addrs() {
        endpoints.push(endpoint_for(protocol, &format!("ws://{addr}/"))?);
    }
    let sampler = child.as_ref().map(|c| Sampler::start(c.pid));
    let server_pid = child.as_ref().map_or(0, |c| c.pid);
    let baseline_rss = child
        .as_ref()
        .and_then(|c| procfs::rss_bytes(c.pid))
        .unwrap_or(0);

    if rust_socketio.is_some() && s.mode != Mode::Broadcast {
        anyhow::bail!(
            "the rust_socketio clients only broadcast; mode = \"{:?}\" needs the lean client \
             (socketio_client = \"lean\", transport socketio)",
            s.mode
        );
    }
    if rust_socketio.is_some() && s.outage.is_some() {
        anyhow::bail!(
            "an outage needs the lean clients, which reconnect the way socket.io-client does; \
             rust_socketio clients (and so socketio-polling) are not supported there"
        );
    }
    if rust_socketio.is_some() && s.stalled > 0 {
        anyhow::bail!(
            "slow consumers (stalled = {}) need the lean clients: rust_socketio reads on its own",
            s.stalled
        );
    }
    let scope = match s.mode {
        Mode::Broadcast => Scope::Broadcast,
        Mode::Echo => Scope::Echo,
        Mode::Rooms => Scope::Rooms { rooms: s.rooms() },
    };
    let plan = LoadPlan {
        protocol,
        endpoints,
        scope,
        encoding: s.encoding,
        clients: s.clients,
        senders: s.senders,
        stalled: s.stalled,
        rate: s.rate,
        payload: s.payload as usize,
        messages_per_sender: s.messages_per_sender(),
        ramp_interval: s.ramp.interval(s.clients),
        workers: ctx.workers,
        connect_timeout: CONNECT_TIMEOUT,
        rust_socketio,
        reconnect: s
            .outage
            .map(|o| Backoff::new(o.reconnect_delay.0, o.reconnect_delay_max.0)),
        shard: ctx.shard,
    };
    let ramp_total = plan.ramp_interval * s.clients as u32;
    let loadgen_rss_before = procfs::rss_bytes(0).unwrap_or(0);
    let load = LoadGen::start(plan).context("cannot start the load generator")?;

    let outcome = drive(
        ctx,
        run,
        &load,
        &mut child,
        sampler.as_ref(),
        &mut cluster,
        ramp_total,
    )
    .await;
    // Whatever happened, collect what the workers measured.
    if outcome.is_err() {
        load.abort();
    }
    let report = tokio::task::spawn_blocking(move || load.finish())
        .await
        .context("the load generator panicked")?;
    let (phase, stop) = match outcome {
        Ok(phase) => (phase, None),
        Err((phase, stop)) => (phase, Some(stop)),
    };

    let counters = match &mut child {
        Some(c) => match c.exited() {
            None => c.counters().await.ok(),
            Some(_) => None,
        },
        None => None,
    };
    if let Some(c) = child {
        c.stop().await;
    }
    cluster.stop().await;
    let samples = sampler.map(Sampler::finish).unwrap_or_default();

    if stop.is_some() && phase.window_s > 0.0 {
        // Cut short: the window measured is the part that ran.
        run.window.measured_s = phase.window_s.min(run.window.measured_s);
    }
    fill_figures(run, &report, &phase, s.payload);
    if let Some(timeline) = &phase.timeline {
        run.timeline = DeliveryTimeline {
            bucket_s: timeline.bucket_ns() as f64 / 1e9,
            owed: report.owed_by_bucket.clone(),
            delivered: report.delivered_by_bucket.clone(),
        };
        if let Some(record) = &phase.outage {
            run.outage = Some(outage_figures(
                record,
                &report,
                timeline,
                &run.timeline,
                protocol,
            ));
        }
    }
    run.loadgen.memory_per_client_bytes = phase.loadgen_idle_rss.saturating_sub(loadgen_rss_before)
        as f64
        / report.connected.max(1) as f64;
    if server_pid != 0 {
        let connected = report.connected.max(1) as f64;
        let cpu_s = phase.server_cpu_s;
        run.server = Some(ServerFigures {
            pid: server_pid,
            rss_baseline_bytes: baseline_rss,
            rss_idle_bytes: phase.idle_rss,
            rss_peak_bytes: phase.peak_rss,
            memory_per_connection_bytes: phase.idle_rss.saturating_sub(baseline_rss) as f64
                / connected,
            cpu_s,
            cpu_us_per_delivery: per(cpu_s * 1e6, run.messages.delivered),
            counters,
            counters_window_end: phase.server_end,
            rss_samples: samples.iter().map(|s| (s.t_s, s.rss_bytes)).collect(),
        });
    }
    run.cluster = cluster.figures(
        run.server.as_ref(),
        s.clients,
        phase.load_start.unwrap_or_else(Instant::now),
        report.cross_node_latency.figures(),
    );
    // A cluster's server figures are the whole cluster's: every node's memory and CPU
    // (Redis's own are reported apart).
    if let (Some(server), Some(cluster)) = (run.server.as_mut(), run.cluster.as_ref()) {
        let grown: u64 = cluster
            .nodes
            .iter()
            .map(|n| n.rss_idle_bytes.saturating_sub(n.rss_baseline_bytes))
            .sum();
        server.memory_per_connection_bytes = grown as f64 / report.connected.max(1) as f64;
        server.cpu_s = cluster.nodes.iter().map(|n| n.cpu_s).sum();
        server.cpu_us_per_delivery = per(server.cpu_s * 1e6, run.messages.delivered);
    }
    match stop {
        None if run.messages.misrouted > 0 => {
            run.status = Status::Failed;
            run.error = Some(format!(
                "{transport}: {} messages reached clients outside their scope (room isolation \
                 or echo broken)",
                run.messages.misrouted
            ));
            Ok(())
        }
        None => {
            run.status = Status::Complete;
            Ok(())
        }
        Some(Stop::Interrupted) => {
            run.status = Status::Interrupted;
            run.error = Some(format!("{transport}: interrupted during {}", phase.name));
            Ok(())
        }
        Some(Stop::ServerDied(why) | Stop::Failed(why)) => {
            run.status = Status::Failed;
            run.error = Some(format!("{transport}: {why} during {}", phase.name));
            Ok(())
        }
    }
}

/// What the phases observed, whether or not they all ran.
#[derive(Debug, Default)]
struct Phase {
    name: &'static str,
    idle_rss: u64,
    loadgen_idle_rss: u64,
    peak_rss: u64,
    server_cpu_s: f64,
    loadgen_cpu_s: f64,
    window_s: f64,
    live_start: LiveSnapshot,
    live_end: LiveSnapshot,
    /// The traffic's timeline, once published.
    timeline: Option<Timeline>,
    /// When traffic began, for peak memory.
    load_start: Option<Instant>,
    /// The planned outage, once the server was killed and restarted.
    outage: Option<OutageRecord>,
    /// The server's counters when the measured window began and ended (built-in servers).
    server_start: Option<CountersSnapshot>,
    server_end: Option<CountersSnapshot>,
}

/// Connect, settle, warm up, measure, drain; returns the phase reached and why it stopped.
async fn drive(
    ctx: &RunCtx<'_>,
    run: &TransportRun,
    load: &LoadGen,
    child: &mut Option<ServerChild>,
    sampler: Option<&Sampler>,
    cluster: &mut Cluster,
    ramp_total: Duration,
) -> Result<Phase, (Phase, Stop)> {
    let s = ctx.scenario;
    let progress = ctx.progress;
    let mut phase = Phase {
        name: "connect",
        ..Default::default()
    };
    let mut server_pid = child.as_ref().map(|c| c.pid);

    // Connect: until every client connected or failed, or the ramp plus one attempt is over.
    let deadline =
        monotonic_ns() + (ramp_total + CONNECT_TIMEOUT + Duration::from_secs(5)).as_nanos() as u64;
    let own_clients = ctx.shard.clients_of(s.clients);
    loop {
        let live = load.live();
        progress.set_message(format!(
            "connecting {}/{own_clients} ({} failed)",
            live.connected, live.failed
        ));
        if live.connected + live.failed >= own_clients || monotonic_ns() >= deadline {
            break;
        }
        if let Err(stop) = tick(ctx, child).await {
            return Err((phase, stop));
        }
    }
    if load.live().connected == 0 {
        let why = format!("no client could connect to {}", run.server_url);
        return Err((phase, Stop::ServerDied(why)));
    }

    // Settle, then read idle memory.
    phase.name = "settle";
    progress.set_message("settling");
    if let Err(stop) = wait_until(
        ctx,
        child,
        monotonic_ns() + SETTLE.as_nanos() as u64,
        |_| {},
    )
    .await
    {
        return Err((phase, stop));
    }
    phase.idle_rss = server_pid.and_then(procfs::rss_bytes).unwrap_or(0);
    cluster.settled();
    phase.loadgen_idle_rss = procfs::rss_bytes(0).unwrap_or(0);

    // Traffic: at once, or at the wall-clock instant every shard was given.
    let t0 = match ctx.start_at {
        None => monotonic_ns() + 100_000_000,
        Some(at) => match at.duration_since(SystemTime::now()) {
            Ok(wait) => monotonic_ns() + wait.as_nanos() as u64,
            Err(late) => {
                let why = format!(
                    "--start-at was {:.1} s in the past once the clients were ready: give a later time",
                    late.duration().as_secs_f64()
                );
                return Err((phase, Stop::Failed(why)));
            }
        },
    };
    let timeline = Timeline {
        t0_ns: t0,
        measure_start_ns: t0 + s.warmup.0.as_nanos() as u64,
        measure_end_ns: t0 + (s.warmup.0 + s.duration.0).as_nanos() as u64,
        drain_end_ns: t0 + (s.warmup.0 + s.duration.0 + s.drain.0).as_nanos() as u64,
    };
    load.begin(timeline);
    phase.timeline = Some(timeline);
    phase.load_start = Some(Instant::now());
    let load_start_s = sampler.map_or(0.0, Sampler::now_s);

    let rate = |load: &LoadGen, last: &mut (u64, u64)| {
        let now = monotonic_ns();
        let received = load.live().probes_received;
        let per_s = (received - last.1) as f64 / ((now - last.0) as f64 / 1e9).max(1e-3);
        *last = (now, received);
        per_s
    };
    let mut last = (monotonic_ns(), 0);
    phase.name = "warm-up";
    if let Err(stop) = wait_until(ctx, child, timeline.measure_start_ns, |left| {
        progress.set_message(format!(
            "warm-up, {left:.0}s left, {:.0} delivered/s",
            rate(load, &mut last)
        ))
    })
    .await
    {
        return Err((phase, stop));
    }

    phase.name = "measured window";
    let start_server_cpu = server_pid.and_then(procfs::cpu_seconds).unwrap_or(0.0);
    let start_self_cpu = procfs::cpu_seconds(0).unwrap_or(0.0);
    phase.server_start = server_counters(child).await;
    cluster.window_started();
    let start_ns = monotonic_ns();
    phase.live_start = load.live();
    let mut show = |left: f64| {
        progress.set_message(format!(
            "measuring, {left:.0}s left, {:.0} delivered/s",
            rate(load, &mut last)
        ))
    };
    // With a planned outage: the killed server's CPU up to its death, and the new server's
    // from its start.
    let (mut cpu_before_kill, mut start_server_cpu) = (0.0, start_server_cpu);
    let measured = match s.outage {
        None if s.kill_node_at.is_some() && cluster.is_cluster() => {
            let at = s.kill_node_at.expect("checked").0;
            let kill_ns = timeline.measure_start_ns + at.as_nanos() as u64;
            match wait_until(ctx, child, kill_ns, &mut show).await {
                Err(stop) => Err(stop),
                Ok(()) => {
                    if let Some(node) = cluster.kill_last(at.as_secs_f64()).await {
                        progress.suspend(|| eprintln!("node {node} killed"));
                    }
                    wait_until(ctx, child, timeline.measure_end_ns, &mut show).await
                }
            }
        }
        None => wait_until(ctx, child, timeline.measure_end_ns, &mut show).await,
        Some(outage) => {
            let kill_ns = timeline.measure_start_ns + outage.at.0.as_nanos() as u64;
            match wait_until(ctx, child, kill_ns, &mut show).await {
                Err(stop) => Err(stop),
                Ok(()) => {
                    cpu_before_kill = server_pid
                        .and_then(procfs::cpu_seconds)
                        .map_or(0.0, |c| c - start_server_cpu);
                    match kill_and_restart(ctx, child, sampler, load, run.transport).await {
                        Err(stop) => Err(stop),
                        Ok(record) => {
                            phase.outage = Some(record);
                            server_pid = child.as_ref().map(|c| c.pid);
                            start_server_cpu = 0.0;
                            wait_until(ctx, child, timeline.measure_end_ns, &mut show).await
                        }
                    }
                }
            }
        }
    };
    phase.window_s = (monotonic_ns() - start_ns) as f64 / 1e9;
    cluster.window_ended();
    phase.server_cpu_s = cpu_before_kill
        + server_pid
            .and_then(procfs::cpu_seconds)
            .map_or(0.0, |c| c - start_server_cpu);
    phase.loadgen_cpu_s = procfs::cpu_seconds(0).unwrap_or(0.0) - start_self_cpu;
    phase.live_end = load.live();
    phase.server_end = server_counters(child).await;
    if let Err(stop) = measured {
        phase.peak_rss = sampler.map_or(0, |s| s.peak_since(load_start_s));
        return Err((phase, stop));
    }

    phase.name = "drain";
    let drained = wait_until(ctx, child, timeline.drain_end_ns, |left| {
        progress.set_message(format!("draining, {left:.0}s left"))
    })
    .await;
    phase.peak_rss = sampler.map_or(0, |s| s.peak_since(load_start_s));
    match drained {
        Ok(()) => Ok(phase),
        Err(stop) => Err((phase, stop)),
    }
}

/// `wsbench serve` options a scenario sets.
fn server_args(s: &Scenario) -> Vec<String> {
    let mut args = vec!["--overflow".to_owned(), s.overflow.to_string()];
    if let Some(q) = s.queue_capacity {
        args.extend(["--queue-capacity".to_owned(), q.to_string()]);
    }
    args
}

/// When a planned outage happened.
#[derive(Debug, Clone, Copy)]
struct OutageRecord {
    kill_ns: u64,
    ready_ns: u64,
    clients_at_kill: u64,
}

/// Kills the server (SIGKILL), keeps it down for the scenario's `down`, and starts a new one
/// on the same port; the clients find it by themselves.
async fn kill_and_restart(
    ctx: &RunCtx<'_>,
    child: &mut Option<ServerChild>,
    sampler: Option<&Sampler>,
    load: &LoadGen,
    transport: Transport,
) -> Result<OutageRecord, Stop> {
    let outage = ctx.scenario.outage.expect("called for an outage");
    let Some(old) = child.take() else {
        return Err(Stop::ServerDied("no built-in server to kill".to_owned()));
    };
    let addr = old.addr;
    let live = load.live();
    let clients_at_kill = live.connected.saturating_sub(live.disconnected);
    let kill_ns = monotonic_ns();
    old.kill().await;
    ctx.progress.set_message("server killed");
    // No child to watch while it is down: only Ctrl-C ends this wait.
    wait_until(
        ctx,
        &mut None,
        kill_ns + outage.down.0.as_nanos() as u64,
        |left| {
            ctx.progress
                .set_message(format!("server down, restart in {left:.1}s"))
        },
    )
    .await?;
    let new = ServerChild::spawn(
        transport.server(),
        &addr.to_string(),
        &server_args(ctx.scenario),
    )
    .await
    .map_err(|e| Stop::ServerDied(format!("the restarted server did not start: {e:#}")))?;
    if let Some(sampler) = sampler {
        sampler.follow(new.pid);
    }
    let ready_ns = monotonic_ns();
    *child = Some(new);
    Ok(OutageRecord {
        kill_ns,
        ready_ns,
        clients_at_kill,
    })
}

/// The built-in server's counters now, if it answers.
async fn server_counters(child: &mut Option<ServerChild>) -> Option<CountersSnapshot> {
    let c = child.as_mut()?;
    if c.exited().is_some() {
        return None;
    }
    c.counters().await.ok()
}

/// One 100 ms step of a phase: fails if the server died or the user interrupted.
async fn tick(ctx: &RunCtx<'_>, child: &mut Option<ServerChild>) -> Result<(), Stop> {
    tokio::select! {
        _ = ctx.interrupt.cancelled() => return Err(Stop::Interrupted),
        _ = tokio::time::sleep(Duration::from_millis(100)) => {}
    }
    match child.as_mut().and_then(ServerChild::exited) {
        Some(why) => Err(Stop::ServerDied(why)),
        None => Ok(()),
    }
}

/// Ticks until monotonic time `until_ns`, calling `show` with the seconds left.
async fn wait_until(
    ctx: &RunCtx<'_>,
    child: &mut Option<ServerChild>,
    until_ns: u64,
    mut show: impl FnMut(f64),
) -> Result<(), Stop> {
    loop {
        let now = monotonic_ns();
        if now >= until_ns {
            return Ok(());
        }
        show((until_ns - now) as f64 / 1e9);
        let step = Duration::from_nanos((until_ns - now).min(100_000_000));
        tokio::select! {
            _ = ctx.interrupt.cancelled() => return Err(Stop::Interrupted),
            _ = tokio::time::sleep(step) => {}
        }
        if let Some(why) = child.as_mut().and_then(ServerChild::exited) {
            return Err(Stop::ServerDied(why));
        }
    }
}

fn per(total: f64, n: u64) -> f64 {
    if n == 0 { 0.0 } else { total / n as f64 }
}

/// Accounting, latency, wire and load-generator figures from the merged report.
fn fill_figures(run: &mut TransportRun, report: &LoadReport, phase: &Phase, payload: u64) {
    run.connections.connected = report.connected;
    run.connections.disconnected = report.disconnected;
    run.connections.failures = report
        .failures
        .iter()
        .map(|(k, n)| (k.as_str().to_owned(), *n))
        .collect();
    run.connections.connect_time = report.connect_time.figures();
    run.connections.connect_span_s = report.connect_span_ns as f64 / 1e9;
    run.connections.connects_per_s = if report.connect_span_ns == 0 {
        0.0
    } else {
        report.connected as f64 / run.connections.connect_span_s
    };

    // Every sent probe is owed to every client of its scope asked for, connected or not.
    let expected = report.owed;
    let measured_s = run.window.measured_s;
    run.messages = Messages {
        sent: report.sent,
        unsent: report.unsent,
        expected,
        delivered: report.delivered,
        lost: expected.saturating_sub(report.delivered),
        duplicated: report.duplicated,
        out_of_order: report.out_of_order,
        foreign: report.foreign,
        misrouted: report.misrouted,
        delivered_per_s: report.delivered as f64 / measured_s,
    };
    run.latency = report.latency.figures();
    run.send_lag = report.send_lag.figures();

    let received = phase
        .live_end
        .probes_received
        .saturating_sub(phase.live_start.probes_received);
    let (mut bytes_read, mut bytes_written) = (
        phase
            .live_end
            .bytes_read
            .saturating_sub(phase.live_start.bytes_read),
        phase
            .live_end
            .bytes_written
            .saturating_sub(phase.live_start.bytes_written),
    );
    let mut source = WIRE_COUNTED_AT_SOCKETS;
    if bytes_read == 0 && bytes_written == 0 && received > 0 {
        // rust_socketio clients own their sockets: count at the server's end instead.
        match (&phase.server_start, &phase.server_end) {
            (Some(a), Some(b)) => {
                bytes_read = b.bytes_written.saturating_sub(a.bytes_written);
                bytes_written = b.bytes_read.saturating_sub(a.bytes_read);
                source = WIRE_COUNTED_AT_SERVER;
            }
            _ => source = "not measured: rust_socketio clients own their sockets",
        }
    }
    let per_delivery = per(bytes_read as f64, received);
    run.wire = WireFigures {
        bytes_read,
        bytes_written,
        bytes_per_delivery: per_delivery,
        overhead_ratio: per_delivery / payload as f64,
        source: source.to_owned(),
    };

    let cores = std::thread::available_parallelism().map_or(1, |n| n.get()) as f64;
    let usable = (run.loadgen.workers as f64).min(cores).max(1.0);
    let utilisation = if phase.window_s > 0.0 {
        phase.loadgen_cpu_s / (phase.window_s * usable)
    } else {
        0.0
    };
    run.loadgen.cpu_s = phase.loadgen_cpu_s;
    run.loadgen.cpu_utilisation = utilisation;
    run.loadgen.cpu_us_per_received = per(phase.loadgen_cpu_s * 1e6, received);
    run.loadgen.bound = utilisation > BOUND_THRESHOLD;
}

/// Recovery from a planned outage: when the clients were back, what was lost meanwhile.
fn outage_figures(
    record: &OutageRecord,
    report: &LoadReport,
    timeline: &Timeline,
    deliveries: &DeliveryTimeline,
    protocol: Protocol,
) -> OutageFigures {
    let secs = |ns: u64| ns as f64 / 1e9;
    let mut back: Vec<f64> = report
        .reconnections
        .iter()
        .filter(|r| r.lost_ns >= record.kill_ns)
        .filter_map(|r| r.back_ns.map(|b| secs(b.saturating_sub(record.kill_ns))))
        .collect();
    back.sort_by(f64::total_cmp);
    let n = record.clients_at_kill;
    // Time until a share of the clients connected at the kill were back: the k-th return.
    let until = |share: f64| {
        let k = ((share * n as f64).ceil() as usize).max(1);
        back.get(k - 1).copied()
    };
    let killed_at_s = secs(record.kill_ns.saturating_sub(timeline.measure_start_ns));
    let window_s = secs(timeline.measure_end_ns - timeline.measure_start_ns);
    let back_all_s = until(1.0);
    let (owed_during, delivered_during) = deliveries.between(
        killed_at_s,
        back_all_s.map_or(window_s, |b| (killed_at_s + b).min(window_s)),
    );
    OutageFigures {
        killed_at_s,
        down_s: secs(record.ready_ns - record.kill_ns),
        clients_at_kill: n,
        reconnected: back.len() as u64,
        back_p50_s: until(0.5),
        back_p99_s: until(0.99),
        back_all_s,
        failed_attempts: report.failed_reconnects,
        owed_during,
        delivered_during,
        discarded: report.discarded,
        buffered: report.buffered,
        reconnection: match protocol {
            Protocol::RawWs => "wsbench's own reconnection loop for raw WebSocket (the library \
                has none): jittered exponential backoff with socket.io-client's schedule; \
                messages sent while disconnected are discarded, as there is no send buffer"
                .to_owned(),
            Protocol::SocketIo => "socket.io-client's reconnection, as the lean client \
                reproduces it: jittered exponential backoff (the Manager's defaults unless the \
                scenario sets them) and its send buffer, flushed on reconnect"
                .to_owned(),
        },
    }
}

/// The WebSocket endpoint of a server URL for `protocol`.
fn endpoint_for(protocol: Protocol, url: &str) -> anyhow::Result<Endpoint> {
    let mut url = url::Url::parse(url).with_context(|| format!("'{url}' is not a URL"))?;
    if url.scheme() == "http" {
        url.set_scheme("ws").expect("http to ws is allowed");
    }
    if protocol == Protocol::SocketIo {
        url.set_path("/socket.io/");
        url.set_query(Some("EIO=4&transport=websocket"));
    }
    let addr = url
        .socket_addrs(|| Some(80))
        .with_context(|| format!("cannot resolve {url}"))?
        .into_iter()
        .find(|a| a.ip().is_loopback())
        .with_context(|| format!("{url} does not resolve to a loopback address"))?;
    Ok(Endpoint {
        addr,
        url: url.to_string(),
    })
}
