//! Groups of connections that receive each other's broadcasts, and each connection's
//! outbox: a bounded queue the broadcasters fill and the connection's task empties.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::sync::{Arc, Mutex, RwLock};

use futures_util::task::AtomicWaker;
use tokio_tungstenite::tungstenite::Message;
use wsbench_core::{OverflowPolicy, ServerCounters};

/// [`Outbox::stop_reason`]: the client does not keep up (disconnect policy).
pub(crate) const KICKED: u8 = 1;
/// [`Outbox::stop_reason`]: the server is shutting down.
pub(crate) const SHUT_DOWN: u8 = 2;

/// One connection as the others see it: where to put messages for it, how to wake it, and
/// how to end it. Its queue holds no memory until the first message.
pub(crate) struct Outbox {
    queue: Mutex<VecDeque<Message>>,
    capacity: usize,
    /// The connection's task, woken when a message is queued or it is kicked.
    waker: AtomicWaker,
    /// Why the connection must end now, if it must: [`KICKED`] or [`SHUT_DOWN`].
    stop: AtomicU8,
    /// Set when the connection ends: it is no longer a recipient.
    closed: AtomicBool,
}

impl Outbox {
    /// An empty outbox that holds at most `capacity` messages.
    pub(crate) fn new(capacity: usize) -> Outbox {
        Outbox {
            queue: Mutex::default(),
            capacity,
            waker: AtomicWaker::new(),
            stop: AtomicU8::new(0),
            closed: AtomicBool::new(false),
        }
    }

    /// Queues `msg` without waiting; a full queue is handled by `policy` and counted.
    /// Returns whether the message was queued.
    pub(crate) fn offer(
        &self,
        msg: Message,
        policy: OverflowPolicy,
        counters: &ServerCounters,
    ) -> bool {
        if self.closed.load(Ordering::Relaxed) {
            return false;
        }
        let mut queue = self.queue.lock().unwrap();
        if queue.len() >= self.capacity {
            drop(queue);
            counters.deliveries_dropped(1);
            if policy == OverflowPolicy::Disconnect && self.stop_with(KICKED) {
                counters.slow_client_disconnected();
            }
            return false;
        }
        let was_empty = queue.is_empty();
        queue.push_back(msg);
        drop(queue);
        // A queue that was not empty has already woken the task.
        if was_empty {
            self.waker.wake();
        }
        true
    }

    /// Moves everything queued into `into` (which must be empty), keeping each deque's
    /// allocation: the two trade places, so a busy connection allocates nothing per message
    /// and an idle one holds what its last burst needed.
    pub(crate) fn take_into(&self, into: &mut VecDeque<Message>) {
        debug_assert!(into.is_empty());
        std::mem::swap(&mut *self.queue.lock().unwrap(), into);
    }

    /// Registers the connection's task to be woken by the next message or kick.
    pub(crate) fn register(&self, waker: &std::task::Waker) {
        self.waker.register(waker);
    }

    /// Why the connection must end now: [`KICKED`], [`SHUT_DOWN`], or 0 if it need not.
    pub(crate) fn stop_reason(&self) -> u8 {
        self.stop.load(Ordering::Relaxed)
    }

    /// Asks the connection to end for `reason`; returns whether it was the first to.
    pub(crate) fn stop_with(&self, reason: u8) -> bool {
        let first = self
            .stop
            .compare_exchange(0, reason, Ordering::Relaxed, Ordering::Relaxed)
            .is_ok();
        if first {
            self.waker.wake();
        }
        first
    }

    /// The connection is ending: nothing more is queued.
    pub(crate) fn close(&self) {
        self.closed.store(true, Ordering::Relaxed);
    }
}

/// The members of one broadcast scope (`/` or a room).
#[derive(Default)]
pub(crate) struct Group {
    members: RwLock<HashMap<u64, Arc<Outbox>>>,
}

impl Group {
    pub(crate) fn join(&self, id: u64, outbox: Arc<Outbox>) {
        self.members.write().unwrap().insert(id, outbox);
    }

    /// Removes `id`; returns whether the group is now empty.
    pub(crate) fn leave(&self, id: u64) -> bool {
        let mut members = self.members.write().unwrap();
        members.remove(&id);
        members.is_empty()
    }

    /// Offers `msg` to every member but `from`. The payload is reference-counted, so each
    /// recipient gets the same bytes without a copy. Returns how many queued it.
    pub(crate) fn broadcast(
        &self,
        from: u64,
        msg: &Message,
        policy: OverflowPolicy,
        counters: &ServerCounters,
    ) -> u64 {
        let members = self.members.read().unwrap();
        let mut queued = 0;
        for (id, outbox) in members.iter() {
            if *id != from && outbox.offer(msg.clone(), policy, counters) {
                queued += 1;
            }
        }
        queued
    }
}

impl Group {
    /// Asks every member to end for `reason`.
    pub(crate) fn stop_all(&self, reason: u8) {
        for outbox in self.members.read().unwrap().values() {
            outbox.stop_with(reason);
        }
    }
}

/// Every broadcast scope of a server: the default one and the named rooms, and the group of
/// every connection (echo and rooms too), which shutdown reaches.
#[derive(Default)]
pub(crate) struct Groups {
    pub(crate) all: Group,
    everyone: Arc<Group>,
    rooms: Mutex<HashMap<String, Arc<Group>>>,
}

impl Groups {
    /// The group of `/`.
    pub(crate) fn everyone(&self) -> Arc<Group> {
        self.everyone.clone()
    }

    /// Room `name`, if it has members on this node.
    pub(crate) fn room(&self, name: &str) -> Option<Arc<Group>> {
        self.rooms.lock().unwrap().get(name).cloned()
    }

    /// Adds a member to room `name`, creating the room if needed.
    pub(crate) fn join_room(&self, name: &str, id: u64, outbox: Arc<Outbox>) -> Arc<Group> {
        let mut rooms = self.rooms.lock().unwrap();
        let group = rooms.entry(name.to_owned()).or_default().clone();
        group.join(id, outbox);
        group
    }

    /// Removes a member from room `name`, forgetting the room once it is empty.
    pub(crate) fn leave_room(&self, name: &str, id: u64) {
        let mut rooms = self.rooms.lock().unwrap();
        if let Some(group) = rooms.get(name)
            && group.leave(id)
        {
            rooms.remove(name);
        }
    }
}
