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
use crate::protocol::{ConnectFailure, Decoder, Incoming, Protocol, Socket};
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
        let plan = &self.plan;
        let in_scope = |sender: u32| plan.in_scope(receiver, u64::from(sender));
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
            (due_ns, sent_here, cross_node)
        };
        if account(
            ledger,
            &mut self.report.borrow_mut(),
            now,
            bytes,
            timeline,
            &in_scope,
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
        report.owed += n;
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
        .send_lag
        .record_ns(monotonic_ns().saturating_sub(due_ns));
    let measured = timeline.is_measured(due_ns);
    if measured {
        report.sent += 1;
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
        let ctx = Rc::new(WorkerCtx {
            plan: plan.clone(),
            live,
            report: RefCell::default(),
            timeline,
            abort,
            base: (Instant::now(), monotonic_ns()),
            connect_start_ns,
        });
        // This shard's clients, dealt round robin over the workers.
        let workers = plan.workers.max(1);
        let tasks: Vec<_> = (0..plan.clients)
            .filter(|&id| plan.shard.owns(id))
            .enumerate()
            .filter(|(k, _)| k % workers == index)
            .map(|(_, id)| tokio::task::spawn_local(client_task(id, ctx.clone())))
            .collect();
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
            plan.endpoint_of(id),
            plan.role_of(id),
            plan.source_ip(id),
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

/// A connection attempt in progress.
type Attempt<'a> = std::pin::Pin<Box<dyn Future<Output = Result<Socket, ConnectFailure>> + 'a>>;

/// A client whose connection is lost, on its way back.
struct Reconnecting<'a> {
    /// Its entry in the worker's reconnection records.
    record: usize,
    /// Failed attempts so far.
    attempts: u32,
    /// When the next attempt starts.
    retry_at: Instant,
    /// The attempt under way, kept across loop iterations so that a probe falling due
    /// does not abandon it.
    connecting: Option<Attempt<'a>>,
    /// socket.io-client's send buffer: probes (due time, frames) sent while disconnected.
    buffer: Vec<(u64, Vec<Message>)>,
}

/// Waits for the next attempt's time, then for the attempt (started with `start`).
async fn reconnect_step<'a>(
    down: Option<&mut Reconnecting<'a>>,
    start: impl FnOnce() -> Attempt<'a>,
) -> Result<Socket, ConnectFailure> {
    let Some(r) = down else {
        return std::future::pending().await;
    };
    if r.connecting.is_none() {
        sleep_until(r.retry_at).await;
        r.connecting = Some(start());
    }
    r.connecting.as_mut().expect("just set").await
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
    /// Lost during traffic and not back when the run ended (already counted as lost live).
    StillDown,
}

impl End {
    fn done_unless(down: bool) -> End {
        if down { End::StillDown } else { End::Done }
    }
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
            End::StillDown => ctx.report.borrow_mut().disconnected += 1,
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

    /// Sends on schedule (if a sender) and receives, until the drain ends; with a
    /// reconnection schedule, a lost connection is re-established meanwhile. Returns how it
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
        // `Some` while the connection is lost and being re-established.
        let mut down: Option<Reconnecting<'_>> = None;
        let mut rng = fastrand::Rng::with_seed(id);

        loop {
            let want_send = sending(k);
            tokio::select! {
                biased;
                _ = &mut abort => return (End::done_unless(down.is_some()), k),
                _ = &mut drain => return (End::done_unless(down.is_some()), k),
                msg = self.ws.next(), if down.is_none() => {
                    let lost = match msg {
                        Some(Ok(msg)) => match self.decoder.classify(plan.protocol, &msg) {
                            Incoming::Payload(bytes) => {
                                self.record(bytes, timeline);
                                false
                            }
                            Incoming::Ping => self.pong().await.is_err(),
                            Incoming::Closed => true,
                            Incoming::AttachmentNext | Incoming::Other => false,
                        },
                        _ => true,
                    };
                    if lost {
                        match self.lost(&mut rng) {
                            Some(r) => down = Some(r),
                            None => return (End::Lost, k),
                        }
                    }
                }
                _ = pacer.fired(), if want_send => {
                    let due_ns = due(k);
                    let probe = Probe { sender: id as u32, seq: k, intended_ns: due_ns };
                    probe.encode_into(plan.payload, &mut probe_bytes);
                    plan.protocol.probe_messages(plan.encoding, plan.role_of(id), &probe_bytes, &mut frames);
                    if down.is_none() {
                        if self.write_all(&mut frames).await.is_ok() {
                            ctx.sent(id, due_ns, timeline);
                        } else {
                            match self.lost(&mut rng) {
                                Some(r) => down = Some(r),
                                None => return (End::Lost, k),
                            }
                        }
                    }
                    if let Some(r) = down.as_mut() {
                        // Sent while disconnected: Socket.IO buffers it, raw WS has nowhere
                        // to put it.
                        let buffered = plan.protocol == Protocol::SocketIo;
                        ctx.sent_while_disconnected(id, due_ns, timeline, buffered);
                        if buffered {
                            // Framed afresh: a failed write may have consumed the frames.
                            let mut held = Vec::with_capacity(2);
                            plan.protocol.probe_messages(plan.encoding, plan.role_of(id), &probe_bytes, &mut held);
                            r.buffer.push((due_ns, held));
                        }
                    }
                    k += 1;
                    if sending(k) && pacer.arm(due(k)).is_err() {
                        return (End::Lost, k);
                    }
                }
                attempt = reconnect_step(down.as_mut(), || {
                    Box::pin(plan.protocol.connect_as(
                        plan.endpoint_of(id),
                        plan.role_of(id),
                        plan.source_ip(id),
                        &ctx.live,
                        plan.connect_timeout,
                    ))
                }), if down.is_some() => {
                    let r = down.as_mut().expect("guarded");
                    r.connecting = None;
                    match attempt {
                        Ok(ws) => {
                            self.ws = ws;
                            self.decoder = Decoder::default();
                            let r = down.take().expect("guarded");
                            ctx.reconnected(r.record);
                            for (due_ns, mut frames) in r.buffer {
                                if self.write_all(&mut frames).await.is_err() {
                                    // Lost again at once: what was not flushed is lost.
                                    break;
                                }
                                ctx.written_late(due_ns, timeline);
                            }
                        }
                        Err(_) => {
                            ctx.report.borrow_mut().failed_reconnects += 1;
                            r.attempts += 1;
                            let backoff = plan.reconnect.expect("reconnecting needs a schedule");
                            r.retry_at = Instant::now() + backoff.delay(r.attempts, &mut rng);
                        }
                    }
                }
            }
        }
    }

    /// The connection is lost: the reconnection state to carry on with, or `None` if this
    /// client does not reconnect.
    fn lost(&mut self, rng: &mut fastrand::Rng) -> Option<Reconnecting<'static>> {
        let backoff = self.ctx.plan.reconnect?;
        let record = self.ctx.lost_connection();
        Some(Reconnecting {
            record,
            attempts: 0,
            retry_at: Instant::now() + backoff.delay(0, rng),
            connecting: None,
            buffer: Vec::new(),
        })
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
/// due in the measured window count. `origin` gives a probe's due time on this process's
/// clock, whether this process sent it (only then is its latency measurable) and whether
/// it crossed from one server node to another (a cluster's cross-node latency).
pub(crate) fn account(
    ledger: &mut Ledger,
    report: &mut LoadReport,
    now_ns: u64,
    bytes: &[u8],
    timeline: &Timeline,
    in_scope: &dyn Fn(u32) -> bool,
    origin: &dyn Fn(&Probe) -> (u64, bool, bool),
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
    let (due_ns, sent_here, cross_node) = origin(&probe);
    if !timeline.is_measured(due_ns) {
        return true;
    }
    match ledger.record(probe.sender, probe.seq) {
        delivery @ (Delivery::New | Delivery::OutOfOrder) => {
            report.delivered += 1;
            add_to_bucket(
                &mut report.delivered_by_bucket,
                timeline.bucket_of(due_ns),
                1,
            );
            if delivery == Delivery::OutOfOrder {
                report.out_of_order += 1;
            }
            if sent_here {
                let latency = now_ns.saturating_sub(probe.intended_ns);
                report.latency.record_ns(latency);
                if cross_node {
                    report.cross_node_latency.record_ns(latency);
                }
            }
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
                &|_| true,
                &|p| (p.intended_ns, true, false)
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
    fn a_probe_from_another_shard_is_counted_but_its_latency_is_not_measured() {
        let tl = timeline();
        let (mut ledger, mut report) = (Ledger::new(2, 10), LoadReport::default());
        let due = tl.t0_ns + 10 * MS;
        // Sender 1 runs in another process: its intended time is another clock's, so the
        // due time comes from the shared schedule and no latency is recorded.
        let other_clock = probe(1, 1, 123);
        assert!(account(
            &mut ledger,
            &mut report,
            due + MS,
            &other_clock,
            &tl,
            &|_| true,
            &|_| (due, false, false)
        ));
        assert_eq!((report.delivered, report.latency.len()), (1, 0));
        assert_eq!(report.delivered_by_bucket.iter().sum::<u64>(), 1);
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
            &|_| true,
            &|p| (p.intended_ns, true, false)
        ));
        for (sender, k) in [(0, 1), (0, 3), (0, 2), (0, 3), (1, 1)] {
            account(
                &mut ledger,
                &mut report,
                at(k) + MS,
                &probe(sender, k, at(k)),
                &tl,
                &|_| true,
                &|p| (p.intended_ns, true, false),
            );
        }
        assert!(!account(
            &mut ledger,
            &mut report,
            tl.t0_ns,
            b"Welcome!",
            &tl,
            &|_| true,
            &|p| (p.intended_ns, true, false)
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
            &other_room,
            &|p| (p.intended_ns, true, false)
        ));
        assert_eq!((report.misrouted, report.delivered), (1, 4));
    }
}
