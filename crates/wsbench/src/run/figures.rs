//! What one measurement counted, turned into the result's figures. Every formula is core's
//! ([`wsbench_core::result::figures`]); this only gathers the counts.

use wsbench_core::result::blocks::{BoundaryReadings, blocks};
use wsbench_core::result::figures::{Tally, server_figures, utilisation};
use wsbench_core::result::{
    Backlog, DeliveryTimeline, OutageFigures, OutageInputs, SystemRun, WIRE_COUNTED_AT_SERVER,
    WIRE_COUNTED_AT_SOCKETS,
};
use wsbench_core::system::System;
use wsbench_loadgen::{LoadReport, Timeline};

use super::phases::{Observed, OutageRecord};
use super::servers::Stopped;

/// Fills `run`'s figures from the load generator's `report`, what the phases `seen`, and
/// the `stopped` servers; `memory_before` is this process's memory
/// ([`super::heap::footprint`]) before the clients existed.
pub fn fill(
    run: &mut SystemRun,
    system: &System,
    report: &LoadReport,
    seen: &Observed,
    stopped: Stopped,
    payload: u64,
    memory_before: u64,
) {
    tally(run, report, seen, payload, memory_before).apply(run);
    run.loadgen.cpus = super::procfs::cpus_allowed(0);
    if let Some(timeline) = &seen.timeline {
        run.timeline = DeliveryTimeline {
            bucket_s: timeline.bucket_ns() as f64 / 1e9,
            owed: report.owed_by_bucket.clone(),
            delivered: report.delivered_by_bucket.clone(),
        };
        let latency: Vec<_> = report
            .latency_by_block
            .iter()
            .map(|h| h.summary())
            .collect();
        let stolen: Vec<_> = seen.block_interference.iter().map(|i| i.stolen).collect();
        let foreign: Vec<_> = seen.block_interference.iter().map(|i| i.foreign).collect();
        let loadgen_wait: Vec<_> = seen.block_wait.iter().map(|w| w.0).collect();
        let server_wait: Vec<_> = seen.block_wait.iter().map(|w| w.1).collect();
        run.blocks = blocks(
            run.window.measured_s,
            timeline.block_ns() as f64 / 1e9,
            &run.timeline,
            &latency,
            BoundaryReadings {
                cpu: &seen.block_cpu,
                kernel: &seen.block_kernel,
                stolen: &stolen,
                foreign: &foreign,
                loadgen_wait: &loadgen_wait,
                server_wait: &server_wait,
            },
        );
        if let Some(record) = &seen.outage {
            let mut figures = outage_figures(record, report, timeline, &run.timeline);
            figures.reconnection = system.spec().reconnection.to_owned();
            run.outage = Some(figures);
        }
    }
    run.backlog = backlog(seen);
    run.server = server_figures(
        &stopped.nodes,
        report.counts.connected,
        report.counts.delivered,
    );
    run.cluster = stopped.cluster.map(|mut c| {
        c.cross_node_latency = report.cross_node_latency.figures();
        c
    });
}

/// Where what was not delivered by the drain's end was: the servers' drops by policy since
/// the window began, and the bytes each side had written that the other had not read.
fn backlog(seen: &Observed) -> Option<Backlog> {
    if seen.outage.is_some() {
        // The restarted server counts from zero: the two sides' counts no longer meet.
        return None;
    }
    let (start, server) = (seen.server_start?, seen.server_drained?);
    let clients = seen
        .live_drained
        .filter(|l| l.bytes_read + l.bytes_written > 0);
    Some(Backlog {
        server_dropped: Some(
            server
                .deliveries_dropped
                .saturating_sub(start.deliveries_dropped),
        ),
        server_kicked: Some(
            server
                .slow_clients_disconnected
                .saturating_sub(start.slow_clients_disconnected),
        ),
        server_unread_bytes: clients.map(|c| c.bytes_written.saturating_sub(server.bytes_read)),
        clients_unread_bytes: clients.map(|c| server.bytes_written.saturating_sub(c.bytes_read)),
    })
}

/// What this process counted over the measured window.
fn tally(
    run: &SystemRun,
    report: &LoadReport,
    seen: &Observed,
    payload: u64,
    memory_before: u64,
) -> Tally {
    let (start, end) = (&seen.live_start, &seen.live_end);
    let mut bytes_read = end.bytes_read.saturating_sub(start.bytes_read);
    let mut bytes_written = end.bytes_written.saturating_sub(start.bytes_written);
    let received = end.probes_received.saturating_sub(start.probes_received);
    let mut source = WIRE_COUNTED_AT_SOCKETS;
    if bytes_read == 0 && bytes_written == 0 && received > 0 {
        // rust_socketio clients own their sockets: count at the servers' end instead.
        match (&seen.server_start, &seen.server_end) {
            (Some(a), Some(b)) => {
                bytes_read = b.bytes_written.saturating_sub(a.bytes_written);
                bytes_written = b.bytes_read.saturating_sub(a.bytes_read);
                source = WIRE_COUNTED_AT_SERVER;
            }
            _ => source = "not measured: rust_socketio clients own their sockets",
        }
    }
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get()) as f64;
    let usable = (run.loadgen.workers as f64).min(cores);
    Tally {
        requested: run.connections.requested,
        counts: report.counts.clone(),
        measured_s: run.window.measured_s,
        received,
        bytes_read,
        bytes_written,
        wire_source: source.to_owned(),
        payload,
        workers: run.loadgen.workers,
        loadgen_cpu_s: seen.loadgen_cpu_s,
        loadgen_utilisation: utilisation(seen.loadgen_cpu_s, seen.window_s, usable),
        loadgen_memory_growth: seen.loadgen_idle_memory.saturating_sub(memory_before) as f64,
        io: run.loadgen.io,
    }
}

/// Recovery from a planned outage: what the runner and the clients recorded, for core to
/// derive the figures from ([`OutageFigures::derive`]).
fn outage_figures(
    record: &OutageRecord,
    report: &LoadReport,
    timeline: &Timeline,
    deliveries: &DeliveryTimeline,
) -> OutageFigures {
    let returns = report
        .reconnections
        .iter()
        .filter(|r| r.lost_ns >= record.kill_ns)
        .map(|r| r.back_ns)
        .collect();
    let inputs = OutageInputs {
        kill_ns: record.kill_ns,
        ready_ns: record.ready_ns,
        clients_at_kill: record.clients_at_kill,
        returns,
        window_ns: (timeline.measure_start_ns, timeline.measure_end_ns),
        failed_attempts: report.failed_reconnects,
        discarded: report.discarded,
        buffered: report.buffered,
    };
    OutageFigures::derive(&inputs, deliveries)
}
