//! Groups of connections that receive each other's broadcasts.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock};

use bytes::Bytes;
use wsbench_core::{OverflowPolicy, ServerCounters};

use crate::outbox::Outbox;

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

    /// Offers `frame` to every member but `from`. The frame is reference-counted, so each
    /// recipient gets the same bytes without a copy. The broadcaster writes to the first
    /// [`INLINE`] recipients itself; the others get the frame queued at once (so each
    /// recipient's order holds) and written by tasks of [`CHUNK`] recipients, which the
    /// runtime's other threads take: a broadcast to 10,000 clients would otherwise be
    /// 10,000 sends on one thread. Returns how many took it.
    pub(crate) fn broadcast(
        &self,
        from: u64,
        frame: &Bytes,
        policy: OverflowPolicy,
        counters: &ServerCounters,
    ) -> u64 {
        let members = self.members.read().unwrap();
        let mut queued = 0;
        let mut chunk = Vec::new();
        let recipients = members.iter().filter(|(id, _)| **id != from);
        for (i, (_, outbox)) in recipients.enumerate() {
            if i < INLINE {
                queued += u64::from(outbox.offer(frame, policy, counters));
            } else if outbox.enqueue(frame, policy, counters) {
                queued += 1;
                chunk.push(outbox.clone());
                if chunk.len() == CHUNK {
                    flush_later(std::mem::take(&mut chunk));
                }
            }
        }
        drop(members);
        if !chunk.is_empty() {
            flush_later(chunk);
        }
        queued
    }
}

/// Recipients of a broadcast its broadcaster writes to itself.
const INLINE: usize = 1024;
/// Recipients per task beyond those.
const CHUNK: usize = 1024;

/// Writes what was queued for `outboxes`, in a task of its own.
fn flush_later(outboxes: Vec<Arc<Outbox>>) {
    tokio::spawn(async move {
        for outbox in outboxes {
            outbox.flush_now();
        }
    });
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
