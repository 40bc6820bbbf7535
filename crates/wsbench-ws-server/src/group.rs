//! Groups of connections that receive each other's broadcasts.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock};

use tokio::sync::mpsc::{self, error::TrySendError};
use tokio_tungstenite::tungstenite::Message;
use tokio_util::sync::CancellationToken;
use wsbench_core::{OverflowPolicy, ServerCounters};

/// One connection as seen by the others: where to put messages for it, and how to end it.
#[derive(Clone)]
pub(crate) struct Outbox {
    pub(crate) queue: mpsc::Sender<Message>,
    /// Cancelled to disconnect a client that does not keep up.
    pub(crate) kick: CancellationToken,
}

impl Outbox {
    /// Queues `msg` without waiting; a full queue is handled by `policy` and counted.
    /// Returns whether the message was queued.
    pub(crate) fn offer(
        &self,
        msg: Message,
        policy: OverflowPolicy,
        counters: &ServerCounters,
    ) -> bool {
        match self.queue.try_send(msg) {
            Ok(()) => true,
            Err(TrySendError::Full(_)) => {
                counters.deliveries_dropped(1);
                if policy == OverflowPolicy::Disconnect && !self.kick.is_cancelled() {
                    self.kick.cancel();
                    counters.slow_client_disconnected();
                }
                false
            }
            // The connection is ending; it is no longer a recipient.
            Err(TrySendError::Closed(_)) => false,
        }
    }
}

/// The members of one broadcast scope (`/` or a room).
#[derive(Default)]
pub(crate) struct Group {
    members: RwLock<HashMap<u64, Outbox>>,
}

impl Group {
    pub(crate) fn join(&self, id: u64, outbox: Outbox) {
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

/// Every broadcast scope of a server: the default one and the named rooms.
#[derive(Default)]
pub(crate) struct Groups {
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
    pub(crate) fn join_room(&self, name: &str, id: u64, outbox: Outbox) -> Arc<Group> {
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
