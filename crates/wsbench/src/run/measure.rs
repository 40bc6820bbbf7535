//! One measurement of one system: plan → servers → phases → figures → status. Never fails:
//! what went wrong is recorded in the result.

use std::time::SystemTime;

use anyhow::Context;
use indicatif::ProgressBar;
use tokio_util::sync::CancellationToken;
use wsbench_core::histogram::LatencyHistogram;
use wsbench_core::result::{
    Connections, DeliveryTimeline, LoadGenFigures, Messages, Status, SystemRun, Window, WireFigures,
};
use wsbench_core::scenario::Scenario;
use wsbench_core::shard::Shard;
use wsbench_core::system::System;
use wsbench_loadgen::LoadGen;

use super::phases::{self, Stop};
use super::plan::load_plan;
use super::proxy::FrontProxy;
use super::servers::Servers;
use super::{figures, heap};
use wsbench_core::result::validity;

/// What a measurement needs from the run around it.
pub struct RunCtx<'a> {
    /// The scenario (one sweep point) as run.
    pub scenario: &'a Scenario,
    /// Load-generator threads.
    pub workers: super::plan::Workers,
    /// The part of the clients this process opens.
    pub shard: Shard,
    /// Wall-clock instant at which senders begin (sharded runs); `None`: once connected.
    pub start_at: Option<SystemTime>,
    /// Cancelled on Ctrl-C.
    pub interrupt: &'a CancellationToken,
    /// Progress display (hidden when stderr is not a terminal).
    pub progress: &'a ProgressBar,
    /// The clients this process opens at this point (its shard's part), worked out once.
    pub own_clients: u64,
    /// The run's certificate for the servers it starts over TLS.
    pub tls: Option<&'a wsbench_core::system::TlsFiles>,
    /// Where the proxies' files go (`[proxy]`).
    pub proxy_dir: Option<&'a std::path::Path>,
    /// How the clients read (`--io`).
    pub io: wsbench_core::io_path::IoChoice,
    /// How the built-in ws server writes broadcasts (`--server-io`).
    pub server_io: wsbench_core::io_path::SendChoice,
}

impl<'a> RunCtx<'a> {
    /// The context of measurements at one point (or step) as checked, `scenario`.
    pub fn new(
        scenario: &'a Scenario,
        plan: &'a super::RunPlan,
        interrupt: &'a CancellationToken,
        progress: &'a ProgressBar,
    ) -> Self {
        RunCtx {
            scenario,
            workers: plan.workers,
            shard: plan.shard,
            start_at: plan.start_at,
            interrupt,
            progress,
            own_clients: plan.shard.clients_of(scenario.clients),
            tls: plan.tls.as_ref(),
            proxy_dir: plan.proxy_dir.as_deref(),
            io: plan.io,
            server_io: plan.server_io,
        }
    }
}

/// Measures `system` once (repeat number `repeat`).
pub async fn measure(ctx: &RunCtx<'_>, system: &System, repeat: u64) -> SystemRun {
    let mut run = empty_run(ctx, system, repeat);
    if let Err(e) = measure_into(ctx, system, &mut run).await {
        run.status = if ctx.interrupt.is_cancelled() {
            Status::Interrupted
        } else {
            Status::Failed
        };
        run.error = Some(format!("{}: {e:#}", system.name));
    }
    run
}

/// A run with nothing measured yet.
fn empty_run(ctx: &RunCtx<'_>, system: &System, repeat: u64) -> SystemRun {
    let s = ctx.scenario;
    SystemRun {
        system: system.name.clone(),
        protocol: Some(system.protocol),
        tls: system.tls,
        tls_resumption: system.tls && s.tls_resumption,
        compression: system.compression,
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
            requested: ctx.own_clients,
            ..Default::default()
        },
        messages: Messages::default(),
        latency: LatencyHistogram::default().figures(),
        send_lag: LatencyHistogram::default().figures(),
        server: None,
        loadgen: LoadGenFigures::default(),
        wire: WireFigures::default(),
        timeline: DeliveryTimeline::default(),
        blocks: Vec::new(),
        validity: Default::default(),
        backlog: None,
        outage: None,
        cluster: None,
        proxy: None,
    }
}

async fn measure_into(
    ctx: &RunCtx<'_>,
    system: &System,
    run: &mut SystemRun,
) -> anyhow::Result<()> {
    let s = ctx.scenario;
    ctx.progress
        .set_prefix(format!("{}#{}", system.name, run.repeat + 1));
    ctx.progress.set_message("starting the server");
    let mut servers = Servers::start(s, system, ctx.tls, ctx.server_io).await?;
    run.server_url = servers.url().to_owned();
    if let (Some(spec), Some(dir)) = (&s.proxy, ctx.proxy_dir) {
        let backends: Vec<_> = servers.endpoints().iter().map(|e| e.addr).collect();
        let dir = dir.join(system.name.as_str());
        let cpus = s.server_cpus.as_ref();
        let tls = ctx.tls.filter(|_| system.tls);
        let proxy = FrontProxy::start(spec, &backends, ctx.own_clients, &dir, cpus, tls).await?;
        servers.front_with(proxy);
    }
    let memory_before = heap::footprint();
    let plan = load_plan(ctx, system, servers.endpoints())?;
    run.loadgen.workers = plan.workers as u64;
    let batchable = plan.batchable();
    let load = LoadGen::start(plan).context("cannot start the load generator")?;

    let (seen, stop) = phases::run(ctx, &load, &mut servers).await;
    // Whatever happened, collect what the workers measured.
    if stop.is_some() {
        load.abort();
    }
    let report = tokio::task::spawn_blocking(move || load.finish())
        .await
        .context("the load generator panicked")?;
    let send_path = servers.send_path();
    let mut stopped = servers.stop(s.clients).await;
    run.proxy = stopped.proxy.take().map(|mut p| {
        let delivered = report.counts.delivered.max(1) as f64;
        p.cpu_us_per_delivery = p.cpu_s * 1e6 / delivered;
        p
    });
    if stop.is_some() && seen.window_s > 0.0 {
        // Cut short: the window measured is the part that ran.
        run.window.measured_s = seen.window_s.min(run.window.measured_s);
    }
    (run.loadgen.io, run.loadgen.io_note) = super::plan::io_used(ctx.io, batchable, &report.io);
    figures::fill(
        run,
        system,
        &report,
        &seen,
        stopped,
        s.payload,
        memory_before,
    );
    if let (Some(server), Some((io, note))) = (run.server.as_mut(), send_path) {
        (server.io, server.io_note) = (io, note);
    }
    (run.status, run.error) = judge(system, run, stop, seen.phase);
    // A shard may own no sender: only a whole run must have been owed something.
    if run.status == Status::Complete
        && ctx.shard.is_whole()
        && let Some(why) = measured_nothing(s, run)
    {
        (run.status, run.error) = (Status::Failed, Some(format!("{}: {why}", system.name)));
    }
    run.validity = validity::judge(run);
    if !ctx.shard.is_whole() {
        // A shard's own counts do not add up on their own (merge judges the whole).
        run.validity = std::mem::take(&mut run.validity).only(|k| k.is_conditions());
    }
    run.status = run.status.judged(&run.validity);
    Ok(())
}

/// Why a run that went as planned still measured nothing a verdict could rest on: nothing
/// owed, or senders gone before the window ended (not by a planned outage).
fn measured_nothing(s: &Scenario, run: &SystemRun) -> Option<String> {
    let m = &run.messages;
    let planned_loss = s.outage.is_some() || s.kill_node_at.is_some();
    let lost = run.connections.disconnected;
    if s.senders > 0 && m.expected == 0 {
        return Some(format!(
            "nothing was owed: no probe due in the window was written ({} unsent, {lost} \
             client(s) lost after connecting): the server closed or refused the senders",
            m.unsent
        ));
    }
    if m.unsent > 0 && !planned_loss {
        return Some(format!(
            "{} probe(s) due in the window could not be written: senders' connections were \
             lost before the window ended ({lost} client(s) lost after connecting)",
            m.unsent
        ));
    }
    None
}

/// How the measurement ended, and why if not as planned.
fn judge(
    system: &System,
    run: &SystemRun,
    stop: Option<Stop>,
    phase: &str,
) -> (Status, Option<String>) {
    let name = &system.name;
    match stop {
        None if run.messages.misrouted > 0 => (
            Status::Failed,
            Some(format!(
                "{name}: {} messages reached clients outside their scope (room isolation or \
                 echo broken)",
                run.messages.misrouted
            )),
        ),
        None if nothing_relayed(run) => (
            Status::Failed,
            Some(format!(
                "{name}: 0 of {} delivered: the server relayed no message containing the probe{} \
                 — check the template and event names (adapter.{name})",
                run.messages.expected,
                match run.messages.foreign {
                    0 => String::new(),
                    n => format!(" ({n} messages without one were received)"),
                }
            )),
        ),
        None => (Status::Complete, None),
        Some(Stop::Interrupted) => (
            Status::Interrupted,
            Some(format!("{name}: interrupted during {phase}")),
        ),
        Some(Stop::ServerDied(why) | Stop::Failed(why)) => (
            Status::Failed,
            Some(format!("{name}: {why} during {phase}")),
        ),
    }
}

/// Every client connected and probes were owed, yet none came back: the server does not
/// speak the way the clients were told (a template, an event name), not a loss to report.
fn nothing_relayed(run: &SystemRun) -> bool {
    let m = &run.messages;
    m.expected > 0 && m.delivered == 0 && run.connections.connected == run.connections.requested
}
