//! Groups of connections that receive each other's broadcasts.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock};

use crate::broadcast::{Frames, Rounds, Sending};
use crate::outbox::Outbox;

/// The members of one broadcast scope (`/` or a room).
#[derive(Default)]
pub(crate) struct Group {
    members: RwLock<HashMap<u64, Arc<Outbox>>>,
    /// Its broadcasts, one round at a time.
    pub(crate) rounds: Rounds,
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

    /// Writes to every member what `frames_for` gives for its id (nothing where that holds
    /// no frame). The frames are reference-counted, so recipients share the same bytes
    /// without a copy. The caller writes to a share of the recipients itself; the others
    /// get their frames queued at once (so each recipient's order holds) and written by
    /// tasks that the runtime's other threads take, one share each (see [`shares`]): a
    /// round is spread over the server's threads rather than made on one, which a busy
    /// machine would give no more than one thread's turn. Returns the deliveries taken
    /// (frames times recipients).
    pub(crate) fn write_to_members<'f>(
        &self,
        frames_for: impl Fn(u64) -> &'f Frames,
        s: &Sending,
    ) -> u64 {
        let members = self.members.read().unwrap();
        let share = shares(members.len());
        let mut queued = 0;
        let mut chunk = Vec::new();
        for (i, (id, outbox)) in members.iter().enumerate() {
            let (frames, count) = frames_for(*id);
            if *count == 0 {
                continue;
            }
            if i < share {
                queued += outbox.offer(frames, *count, s.policy, &s.counters);
                continue;
            }
            let taken = outbox.enqueue(frames, *count, s.policy, &s.counters);
            if taken > 0 {
                queued += taken;
                chunk.push(outbox.clone());
                if chunk.len() == share {
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

/// Fewest recipients worth a task of their own.
const MIN_SHARE: usize = 128;
/// Most recipients one thread writes to in one go.
const MAX_SHARE: usize = 1024;

/// How many of `recipients` each thread writes to: an equal share per runtime thread,
/// within [`MIN_SHARE`] and [`MAX_SHARE`].
fn shares(recipients: usize) -> usize {
    let threads = tokio::runtime::Handle::try_current()
        .map_or(1, |h| h.metrics().num_workers())
        .max(1);
    recipients.div_ceil(threads).clamp(MIN_SHARE, MAX_SHARE)
}

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
