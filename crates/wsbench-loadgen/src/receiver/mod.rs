//! The batched receiver (`--io epoll|uring`): a worker's connections read together, by one
//! epoll set (`epoll.rs`) or one io_uring (`uring.rs`), their frames parsed where the
//! bytes landed and their probes accounted there, with no task woken, no timer polled and
//! nothing allocated per message. A client's own task then runs only to send, to answer a
//! heartbeat and to see its connection end.
//!
//! The path per received message is what accounting needs and no more: the completion,
//! the frame header, the protocol's decode in place, one clock read, the ledger and the
//! histogram (docs/method.md, "The load generator's I/O"). Clients whose connection needs
//! a layer above TCP (TLS, permessage-deflate) or that must stop reading (slow consumers)
//! keep the per-client path (`crate::clients::lean`).

mod epoll;
mod turn;
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

use crate::clients::frame::{Assembly, Frame};
use crate::clients::{Decoded, Incoming, Wire};
use crate::ledger::Ledger;
use crate::plan::Timeline;
use crate::worker::WorkerCtx;
use epoll::EpollSet;
use turn::{epoll_turn, uring_turn};
use uring::{Completion, Ring};
use wsbench_core::io_path::IoPath;

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
    /// The connection is over (its end read, or a read failed): its client is told.
    fn end(&mut self) {
        self.closed = true;
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

/// What reads for the receiver, and what it reads into.
enum Backend {
    Uring(Box<Ring>, Vec<Completion>),
    Epoll(EpollSet, Vec<u64>),
}

impl Backend {
    /// The descriptor the worker's reactor watches.
    fn fd(&self) -> RawFd {
        match self {
            Backend::Uring(ring, _) => ring.eventfd(),
            Backend::Epoll(set, _) => set.fd(),
        }
    }

    /// Starts reading socket `fd` for the connection of `key`.
    fn watch(&mut self, fd: RawFd, key: Key) -> io::Result<()> {
        match self {
            Backend::Uring(ring, _) => ring.arm(fd, key.user_data()).and_then(|()| ring.enter()),
            Backend::Epoll(set, _) => set.add(fd, key.user_data()),
        }
    }

    /// Stops reading socket `fd` for the connection of `key`.
    fn unwatch(&mut self, fd: RawFd, key: Key) {
        match self {
            Backend::Uring(ring, _) => {
                let _ = ring.cancel(key.user_data()).and_then(|()| ring.enter());
            }
            Backend::Epoll(set, _) => set.remove(fd),
        }
    }
}

struct State {
    backend: Backend,
    slots: Vec<Slot>,
    free: Vec<u32>,
    /// The ledgers of clients between connections: a reconnected client's deliveries are
    /// checked against what it received before.
    parked: HashMap<u64, Ledger>,
    /// Where each client's connection is attached.
    attached: HashMap<u64, Key>,
}

/// The backend's descriptor (the ring's eventfd, the epoll set), as tokio's reactor
/// watches it.
struct WakeFd(RawFd);

impl AsRawFd for WakeFd {
    fn as_raw_fd(&self) -> RawFd {
        self.0
    }
}

/// A worker's batched receiver.
pub(crate) struct Receiver {
    // Deregistered before the backend's descriptor closes: fields drop in order.
    wake: AsyncFd<WakeFd>,
    state: RefCell<State>,
}

impl Receiver {
    /// A receiver reading by `path` (epoll or io_uring); an error where it cannot be set
    /// up here (io_uring: an old kernel, `io_uring_disabled`, a seccomp filter). Call on
    /// the worker's thread (a ring takes submissions from one thread), inside its runtime.
    pub fn new(path: IoPath) -> io::Result<Receiver> {
        let backend = match path {
            IoPath::Uring => Backend::Uring(Box::new(Ring::new()?), Vec::with_capacity(1024)),
            _ => Backend::Epoll(EpollSet::new()?, Vec::with_capacity(1024)),
        };
        let fd = WakeFd(backend.fd());
        // SAFETY: the descriptor is the backend's, open until it drops, after this
        // registration (see the fields' order).
        let wake = unsafe { AsyncFd::register_with_interest(fd, Interest::READABLE) }
            .map_err(|e| e.into_parts().1)?;
        Ok(Receiver {
            state: RefCell::new(State {
                backend,
                slots: Vec::new(),
                free: Vec::new(),
                parked: HashMap::new(),
                attached: HashMap::new(),
            }),
            wake,
        })
    }

    /// How it reads.
    pub fn path(&self) -> IoPath {
        match self.state.borrow().backend {
            Backend::Uring(..) => IoPath::Uring,
            Backend::Epoll(..) => IoPath::Epoll,
        }
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
            && let Some(old_fd) = release(st, old)
        {
            st.backend.unwatch(old_fd, old);
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
        if let Err(e) = st.backend.watch(fd, key) {
            release(st, key);
            return Err(e);
        }
        Ok(key)
    }

    /// Lets go of a connection (its client closes or dropped it): its receive is
    /// cancelled and what arrives for it from now on is not looked at.
    pub fn detach(&self, key: Key) {
        let st = &mut *self.state.borrow_mut();
        if let Some(fd) = release(st, key) {
            st.backend.unwatch(fd, key);
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
            // Cleared before the turn, so that readiness during it is a wakeup after it
            // (tokio keeps a readiness that arrived after this guard was taken). The ring's
            // eventfd is never read: each signal is an edge for the reactor whatever its
            // count, and a read per wakeup was half the receiver's syscalls.
            ready.clear_ready();
            let st = &mut *self.state.borrow_mut();
            let timeline = *ctx.timeline.borrow();
            match &mut st.backend {
                Backend::Uring(ring, completions) => {
                    uring_turn(&ctx, ring, completions, &mut st.slots, timeline.as_ref());
                }
                Backend::Epoll(set, ready) => {
                    epoll_turn(&ctx, set, ready, &mut st.slots, timeline.as_ref());
                }
            }
        }
    }
}

/// Frees `key`'s slot, parking its ledger; its socket, if it was still attached.
fn release(st: &mut State, key: Key) -> Option<RawFd> {
    let slot = st.slots.get_mut(key.index as usize)?;
    if slot.generation != key.generation {
        return None;
    }
    let conn = slot.conn.take()?;
    slot.generation = slot.generation.wrapping_add(1);
    st.attached.remove(&conn.id);
    st.parked.insert(conn.id, conn.ledger);
    st.free.push(key.index);
    Some(conn.fd)
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
