//! One client's life, whatever it speaks: its scheduled connect, the wait for traffic, open-
//! loop sending and accounting until the drain ends, and (with an outage) reconnection.
//!
//! The loop is written once, over [`Connection`]; each protocol's client only connects,
//! frames and decodes.

use std::pin::Pin;
use std::rc::Rc;

use tokio::task::JoinHandle;
use tokio::time::{Instant, Sleep, sleep_until};
use wsbench_core::clock::monotonic_ns;
use wsbench_core::probe::Probe;

use crate::clients::{ConnectFailure, Connection, Incoming};
use crate::ledger::Ledger;
use crate::pacer::Pacer;
use crate::plan::Timeline;
use crate::worker::{WorkerCtx, count_unsent, wait_timeline};

/// Runs client `id` from its scheduled connect until it is ready, then hands it to a task
/// of its own, which it returns (`None`: it never connected). This task then ends, and
/// what it held (the wait for the connect time, the attempt's state) is freed instead of
/// being carried in the client's task for its whole life; so too, what runs once or
/// rarely later (idling, reconnecting, a heartbeat answer, closing) is boxed while it runs
/// (docs/method.md, "The load generator's own cost").
pub(crate) async fn run<C: Connection + 'static>(
    id: u64,
    ctx: Rc<WorkerCtx>,
) -> Option<JoinHandle<()>> {
    let plan = &ctx.plan;
    let connect_at = ctx.instant_of(ctx.connect_start_ns) + plan.ramp_interval * id as u32;
    tokio::select! {
        _ = ctx.abort.cancelled() => return None,
        _ = sleep_until(connect_at) => {}
    }
    let started = monotonic_ns();
    let client = match Box::pin(C::connect(&ctx, id)).await {
        Ok(conn) => Client {
            id,
            conn,
            ledger: Ledger::new(plan.lanes(id), plan.messages_per_sender),
            ctx: ctx.clone(),
        },
        Err(kind) => {
            Box::pin(ctx.connect_failed(id, kind)).await;
            return None;
        }
    };
    ctx.connected(started);
    Some(tokio::task::spawn_local(client.live()))
}

/// A connection attempt in progress.
type Attempt<'a, C> = Pin<Box<dyn Future<Output = Result<C, ConnectFailure>> + 'a>>;

/// A client whose connection is lost, on its way back.
struct Reconnecting<'a, C> {
    /// Its entry in the worker's reconnection records.
    record: usize,
    /// Failed attempts so far.
    attempts: u32,
    /// When the next attempt starts (boxed, like the attempt: the timer is needed only
    /// while reconnecting, and a client's task should not carry it all its life).
    retry: Pin<Box<Sleep>>,
    /// The attempt under way, kept across loop iterations so that a probe falling due
    /// does not abandon it.
    connecting: Option<Attempt<'a, C>>,
    /// socket.io-client's send buffer: probes (due time, bytes) sent while disconnected.
    buffer: Vec<(u64, Vec<u8>)>,
}

/// Waits for the next attempt's time, then for the attempt (started with `start`). The
/// connection comes boxed: the active loop's state would otherwise hold room for a whole
/// connection for the rare moment one comes back.
async fn reconnect_step<'a, C>(
    down: Option<&mut Reconnecting<'a, C>>,
    start: impl FnOnce() -> Attempt<'a, C>,
) -> Result<Box<C>, ConnectFailure> {
    let Some(r) = down else {
        return std::future::pending().await;
    };
    if r.connecting.is_none() {
        r.retry.as_mut().await;
        r.connecting = Some(start());
    }
    r.connecting.as_mut().expect("just set").await.map(Box::new)
}

struct Client<C> {
    id: u64,
    conn: C,
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

/// What the active loop does after one event.
enum Step {
    Go,
    Stop(End),
}

impl<C: Connection> Client<C> {
    /// The connected client's life, to its close. A plain function returning an async
    /// block: the task then holds the client once (an `async fn` taking `self` by value
    /// holds it twice, the argument and its moved copy).
    #[allow(clippy::manual_async_fn)]
    fn live(mut self) -> impl Future<Output = ()> {
        async move {
            match self.run().await {
                End::Lost => {
                    self.ctx.live.disconnected();
                    self.ctx.report.borrow_mut().counts.disconnected += 1;
                }
                End::StillDown => self.ctx.report.borrow_mut().counts.disconnected += 1,
                End::Done => Box::pin(self.conn.close()).await,
            }
        }
    }

    /// Idle until traffic starts, then active until the drain ends: how the client ended.
    async fn run(&mut self) -> End {
        let ctx = self.ctx.clone();
        let is_sender = self.id < ctx.plan.senders;
        match Box::pin(self.idle()).await {
            Ok(timeline) => {
                let (end, next_k) = self.active(&timeline).await;
                if is_sender {
                    count_unsent(&ctx, &timeline, self.id, next_k);
                }
                end
            }
            Err(end) => {
                if is_sender && let Some(timeline) = wait_timeline(&ctx).await {
                    count_unsent(&ctx, &timeline, self.id, 0);
                }
                end
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
            // Biased: once traffic has started, a probe that arrived with the timeline is
            // counted, not taken for a message from before it.
            tokio::select! {
                biased;
                _ = &mut abort => return Err(End::Done),
                tl = rx.wait_for(Option::is_some) => {
                    return tl.ok().and_then(|tl| *tl).ok_or(End::Done);
                }
                incoming = self.conn.next() => match incoming {
                    Incoming::Ping => self.conn.pong().await.map_err(|_| End::Lost)?,
                    Incoming::Closed => return Err(End::Lost),
                    Incoming::Payload(_) => self.ctx.report.borrow_mut().counts.foreign += 1,
                    Incoming::Other => {}
                },
            }
        }
    }

    /// Sends on schedule (if a sender) and receives, until the drain ends; with a
    /// reconnection schedule, a lost connection is re-established meanwhile. Returns how it
    /// ended and the index of the first message not sent.
    async fn active(&mut self, timeline: &Timeline) -> (End, u64) {
        let ctx = self.ctx.clone();
        let plan = &ctx.plan;
        let id = self.id;
        let mut k = 0u64;
        let due = |k: u64| plan.due_ns(timeline.t0_ns, id, k);
        let sending = |k: u64| {
            id < plan.senders && k < plan.messages_per_sender && due(k) < timeline.measure_end_ns
        };
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
        let Ok(pacer) = Pacer::start(id < plan.senders, due(0)) else {
            return (End::Lost, 0);
        };
        // Created once: a fresh `cancelled()` per iteration would lock the token's waiter
        // list for every message received.
        let abort = ctx.abort.cancelled();
        tokio::pin!(drain, abort);
        // `Some` while the connection is lost and being re-established.
        let mut down: Option<Reconnecting<'_, C>> = None;
        let mut rng = fastrand::Rng::with_seed(id);
        let mut probe = Vec::with_capacity(plan.payload);
        loop {
            let step = tokio::select! {
                biased;
                _ = &mut abort => Step::Stop(End::done_unless(down.is_some())),
                _ = &mut drain => Step::Stop(End::done_unless(down.is_some())),
                incoming = self.conn.next(), if down.is_none() => {
                    self.on_incoming(incoming, timeline, &mut down, &mut rng).await
                }
                _ = pacer.fired(), if sending(k) => {
                    let due_ns = due(k);
                    let p = Probe { sender: id as u32, seq: k, intended_ns: due_ns };
                    plan.payload_kind.encode_into(&p, plan.payload, &mut probe);
                    let step = self.on_due(&probe, due_ns, timeline, &mut down, &mut rng).await;
                    k += 1;
                    if sending(k) && pacer.arm(due(k)).is_err() {
                        Step::Stop(End::Lost)
                    } else {
                        step
                    }
                }
                attempt = reconnect_step(down.as_mut(), || Box::pin(C::connect(&ctx, id))),
                    if down.is_some() => {
                    Box::pin(self.on_attempt(attempt, timeline, &mut down, &mut rng)).await;
                    Step::Go
                }
            };
            if let Step::Stop(end) = step {
                return (end, k);
            }
        }
    }

    /// Accounts what the server sent; a lost connection starts reconnecting (or ends).
    async fn on_incoming(
        &mut self,
        incoming: Incoming,
        timeline: &Timeline,
        down: &mut Option<Reconnecting<'_, C>>,
        rng: &mut fastrand::Rng,
    ) -> Step {
        let lost = match incoming {
            Incoming::Payload(bytes) => {
                self.ctx
                    .receive(self.id, &mut self.ledger, &bytes, timeline);
                false
            }
            Incoming::Ping => Box::pin(self.conn.pong()).await.is_err(),
            Incoming::Closed => true,
            Incoming::Other => false,
        };
        if lost { self.lose(down, rng) } else { Step::Go }
    }

    /// Writes the probe due at `due_ns`; while disconnected, Socket.IO buffers it and raw
    /// WebSocket has nowhere to put it.
    async fn on_due(
        &mut self,
        probe: &[u8],
        due_ns: u64,
        timeline: &Timeline,
        down: &mut Option<Reconnecting<'_, C>>,
        rng: &mut fastrand::Rng,
    ) -> Step {
        let ctx = self.ctx.clone();
        let mut step = Step::Go;
        if down.is_none() {
            if self.conn.send(probe).await.is_ok() {
                ctx.sent(self.id, due_ns, timeline);
            } else {
                step = self.lose(down, rng);
            }
        }
        if let Some(r) = down.as_mut() {
            let buffered = ctx.plan.protocol.spec().send_buffer;
            ctx.sent_while_disconnected(self.id, due_ns, timeline, buffered);
            if buffered {
                r.buffer.push((due_ns, probe.to_vec()));
            }
        }
        step
    }

    /// A reconnection attempt ended: back (and the send buffer flushed), or retry later.
    async fn on_attempt(
        &mut self,
        attempt: Result<Box<C>, ConnectFailure>,
        timeline: &Timeline,
        down: &mut Option<Reconnecting<'_, C>>,
        rng: &mut fastrand::Rng,
    ) {
        let ctx = self.ctx.clone();
        let r = down.as_mut().expect("reconnecting");
        r.connecting = None;
        match attempt {
            Ok(conn) => {
                self.conn = *conn;
                let r = down.take().expect("reconnecting");
                ctx.reconnected(r.record);
                for (due_ns, probe) in r.buffer {
                    if self.conn.send(&probe).await.is_err() {
                        // Lost again at once: what was not flushed is lost.
                        break;
                    }
                    ctx.written_late(due_ns, timeline);
                }
            }
            Err(_) => {
                ctx.report.borrow_mut().failed_reconnects += 1;
                r.attempts += 1;
                let backoff = ctx.plan.reconnect.expect("reconnecting needs a schedule");
                let at = Instant::now() + backoff.delay(r.attempts, rng);
                r.retry.as_mut().reset(at);
            }
        }
    }

    /// The connection is lost: reconnect if the plan says so, else end.
    fn lose(&mut self, down: &mut Option<Reconnecting<'_, C>>, rng: &mut fastrand::Rng) -> Step {
        let Some(backoff) = self.ctx.plan.reconnect else {
            return Step::Stop(End::Lost);
        };
        let record = self.ctx.lost_connection();
        *down = Some(Reconnecting {
            record,
            attempts: 0,
            retry: Box::pin(sleep_until(Instant::now() + backoff.delay(0, rng))),
            connecting: None,
            buffer: Vec::new(),
        });
        Step::Go
    }
}
