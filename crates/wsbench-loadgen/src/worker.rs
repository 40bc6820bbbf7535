//! A worker thread: a current-thread runtime driving its share of the clients.
//!
//! Clients of one worker share its [`LoadReport`] through a `RefCell`: one thread, so no lock
//! and no atomic per message; workers merge their reports when they end (oha's model).

use std::cell::RefCell;
use std::rc::Rc;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use wsbench_core::clock::monotonic_ns;
use wsbench_core::io_path::IoPath;
use wsbench_core::probe::Probe;

use crate::accounting::account;
use crate::clients::ConnectFailure;
use crate::ledger::Ledger;
use crate::live::WorkerLive;
use crate::plan::{LoadPlan, Timeline};
use crate::receiver::Receiver;
use crate::report::{LoadReport, Reconnection, add_to_bucket};

/// Everything a worker's clients share.
pub(crate) struct WorkerCtx {
    pub(crate) plan: Arc<LoadPlan>,
    pub(crate) live: Arc<WorkerLive>,
    pub(crate) report: RefCell<LoadReport>,
    pub(crate) timeline: watch::Receiver<Option<Timeline>>,
    pub(crate) abort: CancellationToken,
    /// The same instant on both clocks, to turn monotonic ns into timer deadlines.
    base: (Instant, u64),
    pub(crate) connect_start_ns: u64,
    /// The batched receiver that reads for this worker's clients (`None`: each client
    /// reads for itself).
    pub(crate) receiver: Option<Rc<Receiver>>,
}

impl WorkerCtx {
    /// Records a failed connection; a sender's whole measured schedule is then unsent.
    pub(crate) async fn connect_failed(&self, id: u64, kind: ConnectFailure) {
        self.live.failed(kind);
        self.report.borrow_mut().counts.failed(kind.as_str());
        if id < self.plan.senders
            && let Some(timeline) = wait_timeline(self).await
        {
            count_unsent(self, &timeline, id, 0);
        }
    }

    /// Records how long a client's TCP connect, TLS handshake and upgrade took, and
    /// whether the server took the compression it offered.
    pub(crate) fn handshook(&self, phases: crate::clients::Phases) {
        let counts = &mut self.report.borrow_mut().counts;
        counts.compressed += u64::from(phases.compressed);
        counts.tls_resumed += u64::from(phases.tls_resumed);
        counts.connect_tcp.record_ns(phases.tcp_ns);
        counts.connect_upgrade.record_ns(phases.upgrade_ns);
        if let Some(tls) = phases.tls_ns {
            counts.connect_tls.record_ns(tls);
        }
    }

    /// Records a client ready, `started_ns` being when its connection attempt began.
    pub(crate) fn connected(&self, started_ns: u64) {
        let mut report = self.report.borrow_mut();
        let now = monotonic_ns();
        report.counts.connect_time.record_ns(now - started_ns);
        report.counts.connected += 1;
        report.counts.connect_span_ns = report
            .counts
            .connect_span_ns
            .max(now.saturating_sub(self.connect_start_ns));
        self.live.connected();
    }

    /// Accounts a payload received now by the client owning `ledger`.
    pub(crate) fn receive(
        &self,
        receiver: u64,
        ledger: &mut Ledger,
        bytes: &[u8],
        timeline: &Timeline,
    ) {
        let now = monotonic_ns();
        let plan = &self.plan;
        let lane = |sender: u32| plan.lane(receiver, u64::from(sender));
        // The schedule says when a probe was due, whichever process sent it; its latency is
        // measured only if this process sent it (one monotonic clock).
        let clustered = plan.endpoints.len() > 1;
        let origin = |p: &Probe| {
            let sender = u64::from(p.sender);
            let sent_here = plan.sent_here(sender);
            // A probe sent here carries its due time on this clock; only another shard's
            // needs the schedule worked out.
            let due_ns = if sent_here {
                p.intended_ns
            } else {
                plan.due_ns(timeline.t0_ns, sender, p.seq)
            };
            let cross_node = clustered && plan.node_of(sender) != plan.node_of(receiver);
            if sent_here {
                // The live view's latency (any probe, warm-up too): one relaxed increment.
                self.live.latency(now.saturating_sub(p.intended_ns));
            }
            (due_ns, sent_here, cross_node)
        };
        if account(
            ledger,
            &mut self.report.borrow_mut(),
            now,
            bytes,
            timeline,
            &lane,
            &origin,
        ) {
            self.live.probe_received();
        }
    }

    /// Records a probe of `sender` written, due at `due_ns`, and the deliveries it is owed.
    pub(crate) fn sent(&self, sender: u64, due_ns: u64, timeline: &Timeline) {
        let mut report = self.report.borrow_mut();
        if wrote(&mut report, due_ns, timeline) {
            self.owe(&mut report, sender, due_ns, timeline);
        }
    }

    /// Records a probe the application sent while its client was disconnected: discarded
    /// (raw WebSocket) or buffered for the reconnection (Socket.IO). Either way its
    /// deliveries are owed from now on, as the application believes it sent it.
    pub(crate) fn sent_while_disconnected(
        &self,
        sender: u64,
        due_ns: u64,
        timeline: &Timeline,
        buffered: bool,
    ) {
        if !timeline.is_measured(due_ns) {
            return;
        }
        let mut report = self.report.borrow_mut();
        if buffered {
            report.buffered += 1;
        } else {
            report.discarded += 1;
        }
        self.owe(&mut report, sender, due_ns, timeline);
    }

    fn owe(&self, report: &mut LoadReport, sender: u64, due_ns: u64, timeline: &Timeline) {
        let n = self.plan.recipients(sender);
        report.counts.owed += n;
        add_to_bucket(&mut report.owed_by_bucket, timeline.bucket_of(due_ns), n);
    }

    /// Records a connection lost during traffic; returns its record's index.
    pub(crate) fn lost_connection(&self) -> usize {
        self.live.disconnected();
        let mut report = self.report.borrow_mut();
        report.reconnections.push(Reconnection {
            lost_ns: monotonic_ns(),
            back_ns: None,
        });
        report.reconnections.len() - 1
    }

    /// Records the client of reconnection record `record` ready again.
    pub(crate) fn reconnected(&self, record: usize) {
        self.live.connected();
        self.report.borrow_mut().reconnections[record].back_ns = Some(monotonic_ns());
    }

    /// Records a buffered probe written after a reconnection (its deliveries were owed when
    /// the application sent it).
    pub(crate) fn written_late(&self, due_ns: u64, timeline: &Timeline) {
        wrote(&mut self.report.borrow_mut(), due_ns, timeline);
    }

    pub(crate) fn instant_of(&self, ns: u64) -> Instant {
        self.base.0 + Duration::from_nanos(ns.saturating_sub(self.base.1))
    }
}

/// Records a probe due at `due_ns` written now; returns whether it is in the measured window.
fn wrote(report: &mut LoadReport, due_ns: u64, timeline: &Timeline) -> bool {
    report
        .counts
        .send_lag
        .record_ns(monotonic_ns().saturating_sub(due_ns));
    let measured = timeline.is_measured(due_ns);
    if measured {
        report.counts.sent += 1;
    }
    measured
}

/// Runs worker `index` of `plan` on the current thread until its clients are done.
pub(crate) fn run_worker(
    index: usize,
    plan: Arc<LoadPlan>,
    live: Arc<WorkerLive>,
    timeline: watch::Receiver<Option<Timeline>>,
    abort: CancellationToken,
    connect_start_ns: u64,
) -> LoadReport {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a current-thread runtime always builds");
    let local = tokio::task::LocalSet::new();
    local.block_on(&runtime, async move {
        let (receiver, io_error) = receiver_for(&plan);
        let ctx = Rc::new(WorkerCtx {
            plan: plan.clone(),
            live,
            report: RefCell::default(),
            timeline,
            abort,
            base: (Instant::now(), monotonic_ns()),
            connect_start_ns,
            receiver: receiver.clone(),
        });
        {
            let mut report = ctx.report.borrow_mut();
            let path = receiver.as_ref().map(|r| r.path());
            report.io.uring_workers = u64::from(path == Some(IoPath::Uring));
            report.io.epoll_workers = u64::from(path == Some(IoPath::Epoll));
            report.io.workers = 1;
            report.io.uring_error = io_error;
        }
        if let Some(receiver) = receiver {
            tokio::task::spawn_local(receiver.drive(ctx.clone()));
        }
        // This shard's clients, dealt round robin over the workers.
        let workers = plan.workers.max(1);
        let tasks: Vec<_> = (0..plan.clients)
            .filter(|&id| plan.shard.owns(id))
            .enumerate()
            .filter(|(k, _)| k % workers == index)
            .map(|(_, id)| tokio::task::spawn_local(crate::clients::run(id, ctx.clone())))
            .collect();
        // Each client's task ends once it is connected, handing on to the task that runs
        // the connected client (see `crate::client::run`).
        for task in tasks {
            if let Ok(Some(connected)) = task.await {
                let _ = connected.await;
            }
        }
        ctx.report.take()
    })
}

/// The worker's batched receiver, where its plan asks for one and its clients can use it
/// (epoll where io_uring was asked for and the kernel refused a ring: the refusal comes
/// with it); else none.
fn receiver_for(plan: &LoadPlan) -> (Option<Rc<Receiver>>, Option<String>) {
    if plan.io == IoPath::Tokio || plan.batchable().is_err() {
        return (None, None);
    }
    let mut refused = None;
    let receiver = Receiver::new(plan.io).or_else(|e| {
        if plan.io == IoPath::Uring {
            refused = Some(format!("cannot set up io_uring: {e}"));
        }
        Receiver::new(IoPath::Epoll)
    });
    match receiver {
        Ok(r) => (Some(Rc::new(r)), refused),
        Err(e) => {
            tracing::error!("no batched receiver: {e}");
            (None, refused)
        }
    }
}

/// Waits for the runner to publish the traffic timeline, or for an abort.
pub(crate) async fn wait_timeline(ctx: &WorkerCtx) -> Option<Timeline> {
    let mut rx = ctx.timeline.clone();
    tokio::select! {
        _ = ctx.abort.cancelled() => None,
        tl = rx.wait_for(Option::is_some) => tl.ok().and_then(|tl| *tl),
    }
}

/// Counts the measured-window probes from `k` on that `sender` will never write.
pub(crate) fn count_unsent(ctx: &WorkerCtx, timeline: &Timeline, sender: u64, k: u64) {
    let plan = &ctx.plan;
    let unsent = (k..plan.messages_per_sender)
        .filter(|&k| timeline.is_measured(plan.due_ns(timeline.t0_ns, sender, k)))
        .count() as u64;
    ctx.report.borrow_mut().counts.unsent += unsent;
}
