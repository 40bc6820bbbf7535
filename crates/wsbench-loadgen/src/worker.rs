//! A worker thread: a current-thread runtime driving its share of the clients.
//!
//! Clients of one worker share its [`LoadReport`] through a `RefCell`: one thread, so no lock
//! and no atomic per message; workers merge their reports when they end (oha's model).

use std::cell::RefCell;
use std::rc::Rc;
use std::sync::Arc;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use tokio::sync::watch;
use tokio::time::{Instant, sleep_until};
use tokio_tungstenite::tungstenite::Message;
use tokio_util::sync::CancellationToken;
use wsbench_core::clock::monotonic_ns;
use wsbench_core::probe::Probe;

use crate::ledger::{Delivery, Ledger};
use crate::live::WorkerLive;
use crate::pacer::Pacer;
use crate::plan::{LoadPlan, Timeline};
use crate::protocol::{ConnectFailure, Decoder, Incoming, Socket};
use crate::report::LoadReport;

/// Everything a worker's clients share.
pub(crate) struct WorkerCtx {
    pub(crate) plan: Arc<LoadPlan>,
    pub(crate) live: Arc<WorkerLive>,
    pub(crate) report: RefCell<LoadReport>,
    pub(crate) timeline: watch::Receiver<Option<Timeline>>,
    pub(crate) abort: CancellationToken,
    /// The same instant on both clocks, to turn monotonic ns into timer deadlines.
    base: (Instant, u64),
    connect_start_ns: u64,
}

impl WorkerCtx {
    /// Records a failed connection; a sender's whole measured schedule is then unsent.
    pub(crate) async fn connect_failed(&self, id: u64, kind: ConnectFailure) {
        self.live.failed();
        *self.report.borrow_mut().failures.entry(kind).or_default() += 1;
        if id < self.plan.senders
            && let Some(timeline) = wait_timeline(self).await
        {
            count_unsent(self, &timeline, id, 0);
        }
    }

    /// Records a client ready, `started_ns` being when its connection attempt began.
    pub(crate) fn connected(&self, started_ns: u64) {
        let mut report = self.report.borrow_mut();
        let now = monotonic_ns();
        report.connect_time.record_ns(now - started_ns);
        report.connected += 1;
        report.connect_span_ns = report
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
        let in_scope = |sender: u32| self.plan.in_scope(receiver, u64::from(sender));
        if account(
            ledger,
            &mut self.report.borrow_mut(),
            now,
            bytes,
            timeline,
            &in_scope,
        ) {
            self.live.probe_received();
        }
    }

    /// Records a probe of `sender` written, due at `due_ns`, and the deliveries it is owed.
    pub(crate) fn sent(&self, sender: u64, due_ns: u64, timeline: &Timeline) {
        let mut report = self.report.borrow_mut();
        report
            .send_lag
            .record_ns(monotonic_ns().saturating_sub(due_ns));
        if timeline.is_measured(due_ns) {
            report.sent += 1;
            report.owed += self.plan.recipients(sender);
        }
    }

    pub(crate) fn instant_of(&self, ns: u64) -> Instant {
        self.base.0 + Duration::from_nanos(ns.saturating_sub(self.base.1))
    }
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
        let ctx = Rc::new(WorkerCtx {
            plan: plan.clone(),
            live,
            report: RefCell::default(),
            timeline,
            abort,
            base: (Instant::now(), monotonic_ns()),
            connect_start_ns,
        });
        let mut tasks = Vec::new();
        let workers = plan.workers as u64;
        let mut client = index as u64;
        while client < plan.clients {
            tasks.push(tokio::task::spawn_local(client_task(client, ctx.clone())));
            client += workers;
        }
        for task in tasks {
            let _ = task.await;
        }
        ctx.report.take()
    })
}

/// One client, from its scheduled connect to its close.
async fn client_task(id: u64, ctx: Rc<WorkerCtx>) {
    let plan = &ctx.plan;
    let connect_at = ctx.instant_of(ctx.connect_start_ns) + plan.ramp_interval * id as u32;
    tokio::select! {
        _ = ctx.abort.cancelled() => return,
        _ = sleep_until(connect_at) => {}
    }
    if let Some(transport) = plan.rust_socketio {
        crate::rust_sio::run_client(id, ctx.clone(), transport).await;
        return;
    }
    let started = monotonic_ns();
    let ws = match plan
        .protocol
        .connect_as(
            &plan.endpoint,
            plan.role_of(id),
            &ctx.live,
            plan.connect_timeout,
        )
        .await
    {
        Ok(ws) => ws,
        Err(kind) => return ctx.connect_failed(id, kind).await,
    };
    ctx.connected(started);
    Client {
        id,
        ws,
        decoder: Decoder::default(),
        ledger: Ledger::new(plan.senders, plan.messages_per_sender),
        ctx: ctx.clone(),
    }
    .run()
    .await;
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
    ctx.report.borrow_mut().unsent += unsent;
}

struct Client {
    id: u64,
    ws: Socket,
    decoder: Decoder,
    ledger: Ledger,
    ctx: Rc<WorkerCtx>,
}

/// Why a client's loop ended.
enum End {
    Done,
    Lost,
}

impl Client {
    async fn run(mut self) {
        let ctx = self.ctx.clone();
        let mut next_k = 0;
        let end = match self.idle().await {
            Ok(timeline) => {
                let (end, k) = self.active(&timeline).await;
                next_k = k;
                if self.id < ctx.plan.senders {
                    count_unsent(&ctx, &timeline, self.id, next_k);
                }
                end
            }
            Err(end) => {
                if self.id < ctx.plan.senders
                    && let Some(timeline) = wait_timeline(&ctx).await
                {
                    count_unsent(&ctx, &timeline, self.id, next_k);
                }
                end
            }
        };
        match end {
            End::Lost => {
                ctx.live.disconnected();
                ctx.report.borrow_mut().disconnected += 1;
            }
            End::Done => {
                let _ = tokio::time::timeout(Duration::from_secs(1), self.ws.close(None)).await;
            }
        }
    }

    /// Connected, before traffic: keep the session alive until the timeline is known.
    async fn idle(&mut self) -> Result<Timeline, End> {
        let ctx = self.ctx.clone();
        let mut rx = ctx.timeline.clone();
        let abort = ctx.abort.cancelled();
        tokio::pin!(abort);
        loop {
            tokio::select! {
                _ = &mut abort => return Err(End::Done),
                tl = rx.wait_for(Option::is_some) => {
                    return tl.ok().and_then(|tl| *tl).ok_or(End::Done);
                }
                msg = self.ws.next() => {
                    let Some(Ok(msg)) = msg else { return Err(End::Lost) };
                    match self.decoder.classify(self.ctx.plan.protocol, &msg) {
                        Incoming::Ping => self.pong().await?,
                        Incoming::Closed => return Err(End::Lost),
                        Incoming::Payload(_) => self.ctx.report.borrow_mut().foreign += 1,
                        Incoming::AttachmentNext | Incoming::Other => {}
                    }
                }
            }
        }
    }

    async fn pong(&mut self) -> Result<(), End> {
        self.ws
            .send(Message::text("3"))
            .await
            .map_err(|_| End::Lost)
    }

    /// Sends on schedule (if a sender) and receives, until the drain ends. Returns how it
    /// ended and the index of the first message not sent.
    async fn active(&mut self, timeline: &Timeline) -> (End, u64) {
        let ctx = self.ctx.clone();
        let plan = &ctx.plan;
        let id = self.id;
        let is_sender = id < plan.senders;
        let mut k = 0u64;
        let mut probe_bytes = Vec::with_capacity(plan.payload);
        let mut frames = Vec::with_capacity(2);
        let due = |k: u64| plan.due_ns(timeline.t0_ns, id, k);
        let sending =
            |k: u64| is_sender && k < plan.messages_per_sender && due(k) < timeline.measure_end_ns;

        let drain = sleep_until(ctx.instant_of(timeline.drain_end_ns));
        if plan.is_stalled(id) {
            // A slow consumer: holds its connection open and reads nothing, so the server's
            // queue for it fills (and its heartbeat goes unanswered) until the drain ends.
            tokio::select! {
                _ = ctx.abort.cancelled() => {}
                _ = drain => {}
            }
            return (End::Done, 0);
        }
        let Ok(pacer) = Pacer::start(is_sender, due(0)) else {
            return (End::Lost, 0);
        };
        // Created once: a fresh `cancelled()` per iteration would lock the token's waiter
        // list for every message received.
        let abort = ctx.abort.cancelled();
        tokio::pin!(drain, abort);

        loop {
            let want_send = sending(k);
            tokio::select! {
                biased;
                _ = &mut abort => return (End::Done, k),
                _ = &mut drain => return (End::Done, k),
                msg = self.ws.next() => {
                    let Some(Ok(msg)) = msg else { return (End::Lost, k) };
                    match self.decoder.classify(plan.protocol, &msg) {
                        Incoming::Payload(bytes) => self.record(bytes, timeline),
                        Incoming::Ping => {
                            if self.pong().await.is_err() {
                                return (End::Lost, k);
                            }
                        }
                        Incoming::Closed => return (End::Lost, k),
                        Incoming::AttachmentNext | Incoming::Other => {}
                    }
                }
                _ = pacer.fired(), if want_send => {
                    let due_ns = due(k);
                    let probe = Probe { sender: id as u32, seq: k, intended_ns: due_ns };
                    probe.encode_into(plan.payload, &mut probe_bytes);
                    plan.protocol.probe_messages(plan.encoding, plan.role_of(id), &probe_bytes, &mut frames);
                    if self.write_all(&mut frames).await.is_err() {
                        return (End::Lost, k);
                    }
                    ctx.sent(id, due_ns, timeline);
                    k += 1;
                    if sending(k) && pacer.arm(due(k)).is_err() {
                        return (End::Lost, k);
                    }
                }
            }
        }
    }

    /// Writes `frames` (one probe) and flushes them.
    async fn write_all(&mut self, frames: &mut Vec<Message>) -> Result<(), End> {
        for frame in frames.drain(..) {
            self.ws.feed(frame).await.map_err(|_| End::Lost)?;
        }
        self.ws.flush().await.map_err(|_| End::Lost)
    }

    /// Accounts one received payload: the hot path (no allocation, no lock).
    fn record(&mut self, bytes: &[u8], timeline: &Timeline) {
        self.ctx.receive(self.id, &mut self.ledger, bytes, timeline);
    }
}

/// Accounts a payload received at `now_ns`; returns whether it was a probe.
///
/// Latency is measured from the probe's *intended* send time, so a sender that fell behind
/// its schedule shows up as latency (wrk2's answer to coordinated omission), and only probes
/// due in the measured window count.
pub(crate) fn account(
    ledger: &mut Ledger,
    report: &mut LoadReport,
    now_ns: u64,
    bytes: &[u8],
    timeline: &Timeline,
    in_scope: &dyn Fn(u32) -> bool,
) -> bool {
    let Some(probe) = Probe::decode(bytes) else {
        report.foreign += 1;
        return false;
    };
    if !in_scope(probe.sender) {
        // Another room's message, or someone else's echo: an isolation error, whatever
        // the window.
        report.misrouted += 1;
        return true;
    }
    if !timeline.is_measured(probe.intended_ns) {
        return true;
    }
    match ledger.record(probe.sender, probe.seq) {
        delivery @ (Delivery::New | Delivery::OutOfOrder) => {
            report.delivered += 1;
            if delivery == Delivery::OutOfOrder {
                report.out_of_order += 1;
            }
            report
                .latency
                .record_ns(now_ns.saturating_sub(probe.intended_ns));
        }
        Delivery::Duplicate => report.duplicated += 1,
        Delivery::Foreign => report.foreign += 1,
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: u64 = 1_000_000;

    fn timeline() -> Timeline {
        Timeline {
            t0_ns: 1_000 * MS,
            measure_start_ns: 1_000 * MS,
            measure_end_ns: 2_000 * MS,
            drain_end_ns: 2_500 * MS,
        }
    }

    fn probe(sender: u32, seq: u64, intended_ns: u64) -> Vec<u8> {
        Probe {
            sender,
            seq,
            intended_ns,
        }
        .encode(64)
    }

    #[test]
    fn a_stalled_sender_shows_up_as_latency_not_as_a_lower_rate() {
        // 100 messages due every 10 ms; the sender stalls 200 ms before message 50 and then
        // catches up at once. Each message takes 1 ms from actual send to receipt.
        let tl = timeline();
        let (mut ledger, mut report) = (Ledger::new(1, 100), LoadReport::default());
        let mut naive = wsbench_core::histogram::LatencyHistogram::default();
        for k in 0..100u64 {
            let intended = tl.t0_ns + k * 10 * MS;
            let actual = if (50..70).contains(&k) {
                tl.t0_ns + 700 * MS
            } else {
                intended
            };
            let received = actual + MS;
            assert!(account(
                &mut ledger,
                &mut report,
                received,
                &probe(0, k, intended),
                &tl,
                &|_| true
            ));
            naive.record_ns(received - actual);
        }
        assert_eq!(report.delivered, 100);
        // Measured from the schedule, the stall is visible: the first message due in it
        // waited 200 ms; measured from the actual send, every message took 1 ms.
        assert!(
            report.latency.figures().max_us >= 200_000,
            "{:?}",
            report.latency.figures().max_us
        );
        assert!(report.latency.quantile_us(0.9) >= 100_000);
        assert!(naive.figures().max_us < 2_000);
    }

    #[test]
    fn loss_duplicates_and_order_are_counted_and_warmup_is_not() {
        let tl = timeline();
        let (mut ledger, mut report) = (Ledger::new(2, 10), LoadReport::default());
        let at = |k: u64| tl.t0_ns + k * 50 * MS;
        // Warm-up probe (due before the window): a probe, but not counted.
        let warm = Probe {
            sender: 0,
            seq: 0,
            intended_ns: tl.t0_ns - MS,
        }
        .encode(64);
        assert!(account(
            &mut ledger,
            &mut report,
            tl.t0_ns,
            &warm,
            &tl,
            &|_| true
        ));
        for (sender, k) in [(0, 1), (0, 3), (0, 2), (0, 3), (1, 1)] {
            account(
                &mut ledger,
                &mut report,
                at(k) + MS,
                &probe(sender, k, at(k)),
                &tl,
                &|_| true,
            );
        }
        assert!(!account(
            &mut ledger,
            &mut report,
            tl.t0_ns,
            b"Welcome!",
            &tl,
            &|_| true
        ));
        assert_eq!(report.delivered, 4);
        assert_eq!(report.duplicated, 1);
        assert_eq!(report.out_of_order, 1);
        assert_eq!(report.foreign, 1);
        assert_eq!(report.latency.len(), 4);

        // A probe from outside the receiver's scope is misrouted, never delivered.
        let other_room = |sender: u32| sender != 1;
        assert!(account(
            &mut ledger,
            &mut report,
            at(5),
            &probe(1, 5, at(5)),
            &tl,
            &other_room
        ));
        assert_eq!((report.misrouted, report.delivered), (1, 4));
    }
}
