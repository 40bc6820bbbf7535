//! Clients on rust_socketio 0.6 (async): long-polling, and the "library a Rust user would
//! pick" comparison for the websocket transport.
//!
//! Its callbacks must be `Send + Sync`, so each client forwards what it receives over a
//! channel to its own task, which does the same accounting as the lean clients.

use std::rc::Rc;
use std::time::Duration;

use bytes::Bytes;
use futures_util::FutureExt;
use rust_socketio::asynchronous::{Client, ClientBuilder};
use rust_socketio::{Event, Payload, TransportType};
use tokio::sync::mpsc;
use tokio::time::sleep_until;
use wsbench_core::clock::monotonic_ns;
use wsbench_core::probe::Probe;
use wsbench_core::scenario::Encoding;

use crate::ledger::Ledger;
use crate::pacer::Pacer;
use crate::plan::{RustSioTransport, Timeline};
use crate::protocol::{ConnectFailure, SIO_EVENT};
use crate::worker::{WorkerCtx, count_unsent, wait_timeline};

/// What a client's callbacks forward to its task: a payload, or `None` when it closed.
type Inbox = mpsc::UnboundedReceiver<Option<Bytes>>;

/// One rust_socketio client, from connect to close.
pub(crate) async fn run_client(id: u64, ctx: Rc<WorkerCtx>, transport: RustSioTransport) {
    let plan = &ctx.plan;
    let started = monotonic_ns();
    let (client, mut inbox) = match connect(id, &ctx, transport).await {
        Ok(connected) => connected,
        Err(kind) => return ctx.connect_failed(id, kind).await,
    };
    ctx.connected(started);

    let mut lost = false;
    let timeline = {
        let mut rx = ctx.timeline.clone();
        loop {
            tokio::select! {
                _ = ctx.abort.cancelled() => break None,
                tl = rx.wait_for(Option::is_some) => break tl.ok().and_then(|tl| *tl),
                msg = inbox.recv() => match msg {
                    Some(Some(_)) => ctx.report.borrow_mut().foreign += 1,
                    _ => { lost = true; break None; }
                },
            }
        }
    };
    let mut next_k = 0;
    if let Some(timeline) = timeline {
        let (was_lost, k) = active(id, &ctx, &client, &mut inbox, &timeline).await;
        lost = was_lost;
        next_k = k;
    }
    if id < plan.senders
        && let Some(timeline) = wait_timeline(&ctx).await
    {
        count_unsent(&ctx, &timeline, id, next_k);
    }
    if lost {
        ctx.live.disconnected();
        ctx.report.borrow_mut().disconnected += 1;
    } else {
        let _ = tokio::time::timeout(Duration::from_secs(1), client.disconnect()).await;
    }
}

async fn connect(
    id: u64,
    ctx: &WorkerCtx,
    transport: RustSioTransport,
) -> Result<(Client, Inbox), ConnectFailure> {
    let (tx, inbox) = mpsc::unbounded_channel();
    let (open_tx, mut open_rx) = mpsc::unbounded_channel();
    let close_tx = tx.clone();
    let builder = ClientBuilder::new(format!("http://{}/", ctx.plan.endpoint_of(id).addr))
        .transport_type(match transport {
            RustSioTransport::Websocket => TransportType::Websocket,
            RustSioTransport::Polling => TransportType::Polling,
        })
        .reconnect(false)
        .on(SIO_EVENT, move |payload, _| {
            let bytes = match payload {
                Payload::Binary(b) => Some(b),
                Payload::Text(values) => match values.into_iter().next() {
                    Some(serde_json::Value::String(s)) => Some(Bytes::from(s)),
                    _ => None,
                },
                #[allow(deprecated)]
                Payload::String(s) => Some(Bytes::from(s)),
            };
            if let Some(bytes) = bytes {
                let _ = tx.send(Some(bytes));
            }
            async {}.boxed()
        })
        .on(Event::Connect, move |_, _| {
            let _ = open_tx.send(());
            async {}.boxed()
        })
        .on(Event::Close, move |_, _| {
            let _ = close_tx.send(None);
            async {}.boxed()
        });
    let connecting = async {
        let client = builder.connect().await.map_err(|e| {
            if e.to_string().to_lowercase().contains("refused") {
                ConnectFailure::Refused
            } else {
                ConnectFailure::Handshake
            }
        })?;
        // connect() returns before the server's CONNECT packet: wait for the open event.
        open_rx.recv().await.ok_or(ConnectFailure::Protocol)?;
        Ok(client)
    };
    let client = tokio::time::timeout(ctx.plan.connect_timeout, connecting)
        .await
        .unwrap_or(Err(ConnectFailure::Timeout))?;
    Ok((client, inbox))
}

/// Sends on schedule and accounts what arrives until the drain ends; returns whether the
/// connection was lost and the first message not sent.
async fn active(
    id: u64,
    ctx: &WorkerCtx,
    client: &Client,
    inbox: &mut Inbox,
    timeline: &Timeline,
) -> (bool, u64) {
    let plan = &ctx.plan;
    let due = |k: u64| plan.due_ns(timeline.t0_ns, id, k);
    let sending = |k: u64| {
        id < plan.senders && k < plan.messages_per_sender && due(k) < timeline.measure_end_ns
    };
    let mut ledger = Ledger::new(plan.senders, plan.messages_per_sender);
    let mut probe = Vec::with_capacity(plan.payload);
    let mut k = 0u64;
    let drain = sleep_until(ctx.instant_of(timeline.drain_end_ns));
    let Ok(pacer) = Pacer::start(id < plan.senders, due(0)) else {
        return (true, 0);
    };
    let abort = ctx.abort.cancelled();
    tokio::pin!(drain, abort);
    loop {
        let want_send = sending(k);
        tokio::select! {
            biased;
            _ = &mut abort => return (false, k),
            _ = &mut drain => return (false, k),
            msg = inbox.recv() => match msg {
                Some(Some(bytes)) => ctx.receive(id, &mut ledger, &bytes, timeline),
                _ => return (true, k),
            },
            _ = pacer.fired(), if want_send => {
                let due_ns = due(k);
                Probe { sender: id as u32, seq: k, intended_ns: due_ns }
                    .encode_into(plan.payload, &mut probe);
                let payload = match plan.encoding {
                    Encoding::Text => Payload::Text(vec![serde_json::Value::String(
                        String::from_utf8(probe.clone()).expect("probes are ASCII"),
                    )]),
                    Encoding::Binary => Payload::Binary(Bytes::copy_from_slice(&probe)),
                };
                if client.emit(SIO_EVENT, payload).await.is_err() {
                    return (true, k);
                }
                ctx.sent(id, due_ns, timeline);
                k += 1;
                if sending(k) && pacer.arm(due(k)).is_err() {
                    return (true, k);
                }
            }
        }
    }
}
