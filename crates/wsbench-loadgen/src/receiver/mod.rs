//! The batched receiver (`--io uring`): a worker's connections read through one io_uring
//! (`uring.rs`), their frames parsed where the kernel put them and their probes accounted
//! there, with no task woken, no timer polled and nothing allocated per message. A client's
//! own task then runs only to send, to answer a heartbeat and to see its connection end.
//!
//! The path per received message is what accounting needs and no more: the completion,
//! the frame header, the protocol's decode in place, one clock read, the ledger and the
//! histogram (docs/method.md, "The load generator's I/O"). Clients whose connection needs
//! a layer above TCP (TLS, permessage-deflate) or that must stop reading (slow consumers)
//! keep the per-client path (`crate::clients::lean`).

mod uring;

use std::cell::RefCell;
use std::collections::HashMap;
use std::io;
use std::os::fd::{AsRawFd, RawFd};
use std::rc::Rc;
use std::task::{Context, Poll, Waker};

use tokio::io::Interest;
use tokio::io::unix::AsyncFd;
use wsbench_core::clock::monotonic_ns;
use wsbench_core::counting::ByteCounter;

use crate::clients::frame::{Assembly, Frame};
use crate::clients::{Decoded, Incoming, Wire};
use crate::ledger::Ledger;
use crate::plan::Timeline;
use crate::worker::WorkerCtx;
use uring::{CANCEL, Completion, Ring};

/// How a connection's data messages are decoded: its protocol's [`Wire`], behind a
/// pointer so that one receiver serves whatever its worker's clients speak.
pub(crate) trait Decode {
    fn decode_data(&mut self, text: bool, data: &[u8]) -> Decoded;
}

impl<W: Wire> Decode for W {
    fn decode_data(&mut self, text: bool, data: &[u8]) -> Decoded {
        Wire::decode_data(self, text, data)
    }
}

/// A connection's place in the receiver: its slot and the slot's generation when it was
/// attached (a later connection in the same slot has another).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Key {
    index: u32,
    generation: u32,
}

impl Key {
    fn user_data(self) -> u64 {
        (u64::from(self.generation) << 32) | u64::from(self.index)
    }

    fn of(user_data: u64) -> Key {
        Key {
            index: user_data as u32,
            generation: (user_data >> 32) as u32,
        }
    }
}

/// A heartbeat the server asked for and the client owes.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Pong {
    /// A WebSocket pong, carrying the ping's data.
    Ws(Vec<u8>),
    /// The protocol's own answer ([`Wire::pong`]).
    Wire,
}

/// One attached connection.
struct Conn {
    id: u64,
    fd: RawFd,
    assembly: Assembly,
    wire: Box<dyn Decode>,
    ledger: Ledger,
    closed: bool,
    pongs: Vec<Pong>,
    /// The client's task, waiting for the connection's end or a heartbeat.
    waker: Option<Waker>,
}

impl Conn {
    fn wake(&mut self) {
        if let Some(w) = self.waker.take() {
            w.wake();
        }
    }
}

#[derive(Default)]
struct Slot {
    generation: u32,
    conn: Option<Conn>,
}

struct State {
    ring: Ring,
    slots: Vec<Slot>,
    free: Vec<u32>,
    /// The ledgers of clients between connections: a reconnected client's deliveries are
    /// checked against what it received before.
    parked: HashMap<u64, Ledger>,
    /// Where each client's connection is attached.
    attached: HashMap<u64, Key>,
    completions: Vec<Completion>,
}

/// The ring's eventfd, as tokio's reactor watches it.
struct EventFd(RawFd);

impl AsRawFd for EventFd {
    fn as_raw_fd(&self) -> RawFd {
        self.0
    }
}

/// A worker's batched receiver.
pub(crate) struct Receiver {
    // Deregistered before the ring (and its eventfd) closes: fields drop in order.
    wake: AsyncFd<EventFd>,
    state: RefCell<State>,
}

impl Receiver {
    /// A receiver with its ring; an error where io_uring cannot be used here. Call on
    /// the worker's thread (the ring takes submissions from it alone), inside its runtime.
    pub fn new() -> io::Result<Receiver> {
        let ring = Ring::new()?;
        let eventfd = EventFd(ring.eventfd());
        // SAFETY: the eventfd is the ring's, open until the ring drops, after this
        // registration (see the fields' order).
        let wake = unsafe { AsyncFd::register_with_interest(eventfd, Interest::READABLE) }
            .map_err(|e| e.into_parts().1)?;
        Ok(Receiver {
            state: RefCell::new(State {
                ring,
                slots: Vec::new(),
                free: Vec::new(),
                parked: HashMap::new(),
                attached: HashMap::new(),
                completions: Vec::with_capacity(1024),
            }),
            wake,
        })
    }

    /// Takes over client `id`'s connection on socket `fd` (its handshake done; `unread`,
    /// what was read past it): from now on the receiver reads it.
    pub fn attach(
        &self,
        ctx: &WorkerCtx,
        id: u64,
        fd: RawFd,
        unread: &[u8],
        wire: Box<dyn Decode>,
    ) -> io::Result<Key> {
        let st = &mut *self.state.borrow_mut();
        // A connection it replaces before that one's end was seen (a failed write).
        if let Some(old) = st.attached.get(&id).copied()
            && release(st, old)
        {
            st.ring.cancel(old.user_data())?;
        }
        let ledger = st
            .parked
            .remove(&id)
            .unwrap_or_else(|| Ledger::new(ctx.plan.senders, ctx.plan.messages_per_sender));
        let index = st.free.pop().unwrap_or_else(|| {
            st.slots.push(Slot::default());
            (st.slots.len() - 1) as u32
        });
        let slot = &mut st.slots[index as usize];
        let key = Key {
            index,
            generation: slot.generation,
        };
        let conn = slot.conn.insert(Conn {
            id,
            fd,
            assembly: Assembly::default(),
            wire,
            ledger,
            closed: false,
            pongs: Vec::new(),
            waker: None,
        });
        if !unread.is_empty() {
            let timeline = *ctx.timeline.borrow();
            feed(ctx, conn, unread, timeline.as_ref(), monotonic_ns());
        }
        st.attached.insert(id, key);
        if let Err(e) = st
            .ring
            .arm(fd, key.user_data())
            .and_then(|()| st.ring.enter())
        {
            release(st, key);
            return Err(e);
        }
        Ok(key)
    }

    /// Lets go of a connection (its client closes or dropped it): its receive is
    /// cancelled and what arrives for it from now on is not looked at.
    pub fn detach(&self, key: Key) {
        let st = &mut *self.state.borrow_mut();
        if release(st, key) {
            let _ = st
                .ring
                .cancel(key.user_data())
                .and_then(|()| st.ring.enter());
        }
    }

    /// What the client must act on: its connection's end, or a heartbeat to answer.
    pub fn poll_event(&self, key: Key, cx: &mut Context<'_>) -> Poll<Incoming> {
        let st = &mut *self.state.borrow_mut();
        let Some(conn) = conn_of(&mut st.slots, key) else {
            return Poll::Ready(Incoming::Closed);
        };
        if !conn.pongs.is_empty() {
            Poll::Ready(Incoming::Ping)
        } else if conn.closed {
            Poll::Ready(Incoming::Closed)
        } else {
            conn.waker = Some(cx.waker().clone());
            Poll::Pending
        }
    }

    /// The heartbeats the client owes, oldest first.
    pub fn take_pongs(&self, key: Key) -> Vec<Pong> {
        let st = &mut *self.state.borrow_mut();
        conn_of(&mut st.slots, key).map_or_else(Vec::new, |c| std::mem::take(&mut c.pongs))
    }

    /// Reads for the worker's connections until the worker ends (the task is dropped
    /// with its runtime).
    pub async fn drive(self: Rc<Self>, ctx: Rc<WorkerCtx>) {
        loop {
            let Ok(mut ready) = self.wake.readable().await else {
                return;
            };
            match ready.try_io(|fd| {
                let _ = fd;
                self.state.borrow().ring.clear_eventfd()
            }) {
                Ok(Ok(())) => self.turn(&ctx),
                Ok(Err(e)) => {
                    tracing::error!("the io_uring receiver's eventfd failed: {e}");
                    return;
                }
                // Nothing signalled since the last turn: readiness cleared, wait again.
                Err(_) => {}
            }
        }
    }

    /// Reaps every completion ready and handles it.
    fn turn(&self, ctx: &WorkerCtx) {
        let st = &mut *self.state.borrow_mut();
        if let Err(e) = st.ring.enter() {
            tracing::error!("io_uring_enter failed in the receiver: {e}");
        }
        let mut completions = std::mem::take(&mut st.completions);
        st.ring.reap(&mut completions);
        let timeline = *ctx.timeline.borrow();
        let now = monotonic_ns();
        let mut rearm = Vec::new();
        for c in completions.drain(..) {
            if c.user_data == CANCEL {
                continue;
            }
            let key = Key::of(c.user_data);
            let bytes = c
                .buffer()
                .map(|bid| (bid, st.ring.bytes(bid, c.result.max(0) as usize)));
            if let Some(conn) = conn_of(&mut st.slots, key) {
                match (c.result, bytes) {
                    (n, Some((_, bytes))) if n > 0 => {
                        ctx.live.add_read(n as u64);
                        feed(ctx, conn, bytes, timeline.as_ref(), now);
                    }
                    // Out of buffers for now: the bytes wait in the socket.
                    (n, _) if n == -libc::ENOBUFS => {}
                    _ => {
                        conn.closed = true;
                        conn.wake();
                    }
                }
                if !c.more() && !conn.closed {
                    rearm.push((key, conn.fd));
                }
            }
            if let Some((bid, _)) = bytes {
                st.ring.recycle(bid);
            }
        }
        st.completions = completions;
        st.ring.publish();
        for (key, fd) in rearm {
            if let Err(e) = st
                .ring
                .arm(fd, key.user_data())
                .and_then(|()| st.ring.enter())
            {
                tracing::error!("cannot re-arm a receive: {e}");
                if let Some(conn) = conn_of(&mut st.slots, key) {
                    conn.closed = true;
                    conn.wake();
                }
            }
        }
    }
}

/// Frees `key`'s slot, parking its ledger; whether it was still attached.
fn release(st: &mut State, key: Key) -> bool {
    let Some(slot) = st.slots.get_mut(key.index as usize) else {
        return false;
    };
    if slot.generation != key.generation {
        return false;
    }
    let Some(conn) = slot.conn.take() else {
        return false;
    };
    slot.generation = slot.generation.wrapping_add(1);
    st.attached.remove(&conn.id);
    st.parked.insert(conn.id, conn.ledger);
    st.free.push(key.index);
    true
}

fn conn_of(slots: &mut [Slot], key: Key) -> Option<&mut Conn> {
    let slot = slots.get_mut(key.index as usize)?;
    (slot.generation == key.generation)
        .then_some(slot.conn.as_mut())
        .flatten()
}

/// Hands `bytes` read off `conn` at `now` to its assembly, and each message to accounting.
fn feed(ctx: &WorkerCtx, conn: &mut Conn, bytes: &[u8], timeline: Option<&Timeline>, now: u64) {
    let Conn {
        id,
        fd: _,
        assembly,
        wire,
        ledger,
        closed,
        pongs,
        waker,
    } = conn;
    let mut woken = false;
    assembly.feed(bytes, &mut |frame| match frame {
        Frame::Data { text, data } => match wire.decode_data(text, data) {
            Decoded::Payload(at) => account(ctx, *id, ledger, &data[at..], timeline, now),
            Decoded::Ping => {
                pongs.push(Pong::Wire);
                woken = true;
            }
            Decoded::Closed => {
                *closed = true;
                woken = true;
            }
            Decoded::Other => {}
        },
        Frame::Ping(data) => {
            pongs.push(Pong::Ws(data.to_vec()));
            woken = true;
        }
        Frame::Close => {
            *closed = true;
            woken = true;
        }
    });
    if woken && let Some(w) = waker.take() {
        w.wake();
    }
}

/// A probe received by client `id`: before traffic, a message from no schedule (as the
/// per-client path's idle loop counts it); during traffic until the drain ends, accounted;
/// after, not read (the per-client path has stopped reading by then).
fn account(
    ctx: &WorkerCtx,
    id: u64,
    ledger: &mut Ledger,
    payload: &[u8],
    timeline: Option<&Timeline>,
    now: u64,
) {
    match timeline {
        None => ctx.report.borrow_mut().counts.foreign += 1,
        Some(tl) if now < tl.drain_end_ns && !ctx.abort.is_cancelled() => {
            ctx.receive(id, ledger, payload, tl);
        }
        Some(_) => {}
    }
}
