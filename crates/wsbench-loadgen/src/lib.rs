//! The load generator: thousands of WebSocket clients per transport, open-loop senders and
//! exact delivery accounting, as `docs/method.md` describes.
//!
//! Clients are spread over worker threads, each a current-thread tokio runtime; each
//! worker keeps its own histograms and counters and they are merged at the end, so the
//! receive path takes no lock and allocates nothing of its own. One client loop
//! (`client.rs`) drives every protocol through the [`clients`]' `Connection` trait: lean
//! clients on tokio-tungstenite over one byte-counting TCP stream for raw WebSocket and
//! Socket.IO's websocket transport (engine.io v4, socket.io v5), and rust_socketio where its
//! features are the point: long-polling, and as the library a Rust user would pick.

mod accounting;
mod backoff;
mod client;
pub mod clients;
mod ledger;
mod live;
mod pacer;
mod plan;
mod receiver;
mod report;
mod worker;

use std::sync::Arc;
use std::thread::JoinHandle;

use tokio::sync::watch;
use tokio_util::sync::CancellationToken;
use wsbench_core::clock::monotonic_ns;

pub use backoff::Backoff;
pub use clients::{ConnectFailure, Endpoint, Incoming, Role, Socket};
pub use ledger::{Delivery, Ledger};
pub use live::{LiveSnapshot, WorkerLive, quantile_us};
pub use plan::{ClientLibrary, LoadPlan, Scope, Timeline, read_buffer_for};
pub use report::{IoUse, LoadReport, Reconnection};

/// A running load: clients connecting, then traffic once [`LoadGen::begin`] is called.
pub struct LoadGen {
    lives: Vec<Arc<WorkerLive>>,
    timeline: watch::Sender<Option<Timeline>>,
    abort: CancellationToken,
    threads: Vec<JoinHandle<LoadReport>>,
}

impl LoadGen {
    /// Starts the workers; clients begin connecting at once, at the plan's ramp.
    pub fn start(plan: LoadPlan) -> std::io::Result<LoadGen> {
        let plan = Arc::new(plan);
        let (timeline, timeline_rx) = watch::channel(None);
        let abort = CancellationToken::new();
        let connect_start_ns = monotonic_ns();
        let mut lives = Vec::new();
        let mut threads = Vec::new();
        for index in 0..plan.workers.max(1) {
            let live = Arc::new(WorkerLive::default());
            lives.push(live.clone());
            let (plan, rx, abort) = (plan.clone(), timeline_rx.clone(), abort.clone());
            threads.push(
                std::thread::Builder::new()
                    .name(format!("loadgen-{index}"))
                    .spawn(move || {
                        worker::run_worker(index, plan, live, rx, abort, connect_start_ns)
                    })?,
            );
        }
        Ok(LoadGen {
            lives,
            timeline,
            abort,
            threads,
        })
    }

    /// Live totals, for progress and for measured-window boundaries.
    pub fn live(&self) -> LiveSnapshot {
        live::snapshot(&self.lives)
    }

    /// Live latency bucket counts so far (see [`quantile_us`]), for a live p99.
    pub fn live_latency(&self) -> Vec<u64> {
        live::latency_counts(&self.lives)
    }

    /// Publishes the traffic timeline: senders start at `t0_ns`.
    pub fn begin(&self, timeline: Timeline) {
        self.timeline.send_replace(Some(timeline));
    }

    /// Stops every client now (server gone, user interrupt).
    pub fn abort(&self) {
        self.abort.cancel();
    }

    /// Waits for the workers (they end after the drain, or on abort) and merges their
    /// figures. Blocks: call it from a blocking context.
    pub fn finish(self) -> LoadReport {
        let mut merged = LoadReport::default();
        for thread in self.threads {
            match thread.join() {
                Ok(report) => merged.merge(&report),
                Err(_) => tracing::error!("a load-generator worker panicked"),
            }
        }
        merged
    }
}
