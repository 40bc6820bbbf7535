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
    /// without a copy. A small group is written at once by the caller. A large one has its
    /// frames queued at every recipient at once (so each recipient's order holds) and
    /// written by tasks of a share of the recipients each ([`shares`]), which the runtime's
    /// threads take: a round is spread over the server's threads rather than made on one,
    /// and what queues up at a recipient while its task waits for a turn (a busy machine)
    /// goes out in one write. Returns the deliveries taken (frames times recipients).
    pub(crate) fn write_to_members<'f>(
        &self,
        frames_for: impl Fn(u64) -> &'f Frames,
        s: &Sending,
    ) -> u64 {
        let members = self.members.read().unwrap();
        let mut queued = 0;
        if members.len() <= MIN_SHARE && s.uring {
            // Queued at every recipient, then written by this caller on its ring, a
            // submission per 16 recipients.
            let mut taken = Vec::with_capacity(members.len());
            for (id, outbox) in members.iter() {
                let (frames, count) = frames_for(*id);
                if *count > 0 && outbox.enqueue(frames, *count, s.policy, &s.counters) > 0 {
                    queued += *count;
                    taken.push(outbox.clone());
                }
            }
            drop(members);
            crate::uring::flush(&taken);
            return queued;
        }
        if members.len() <= MIN_SHARE {
            for (id, outbox) in members.iter() {
                let (frames, count) = frames_for(*id);
                if *count > 0 {
                    queued += outbox.offer(frames, *count, s.policy, &s.counters);
                }
            }
            return queued;
        }
        let share = shares(members.len());
        let mut chunk = Vec::new();
        for (id, outbox) in members.iter() {
            let (frames, count) = frames_for(*id);
            if *count == 0 {
                continue;
            }
            let taken = outbox.enqueue(frames, *count, s.policy, &s.counters);
            if taken > 0 {
                queued += taken;
                chunk.push(outbox.clone());
                if chunk.len() == share {
                    flush_later(std::mem::take(&mut chunk), s.uring);
                }
            }
        }
        drop(members);
        if !chunk.is_empty() {
            flush_later(chunk, s.uring);
        }
        queued
    }
}

/// Fewest recipients worth a task of their own: a group up to this size is written by the
/// broadcaster itself.
const MIN_SHARE: usize = 128;
/// Most recipients one task writes to.
const MAX_SHARE: usize = 1024;

/// How many of `recipients` each task writes to: an equal share per runtime thread (at
/// least two shares, so that one goes where another thread can take it: the last task a
/// thread spawns waits for that thread), within [`MIN_SHARE`] and [`MAX_SHARE`].
fn shares(recipients: usize) -> usize {
    let threads = tokio::runtime::Handle::try_current()
        .map_or(1, |h| h.metrics().num_workers())
        .max(2);
    recipients.div_ceil(threads).clamp(MIN_SHARE, MAX_SHARE)
}

/// Writes what was queued for `outboxes`, in a task of its own that lets other tasks run
/// after every [`YIELD_EVERY`] recipients: one `send` each, or through io_uring (`uring`),
/// one submission for the recipients between two yields.
fn flush_later(outboxes: Vec<Arc<Outbox>>, uring: bool) {
    tokio::spawn(async move {
        for batch in outboxes.chunks(YIELD_EVERY) {
            if uring {
                crate::uring::flush(batch);
            } else {
                batch.iter().for_each(|outbox| outbox.flush_now());
            }
            tokio::task::yield_now().await;
        }
    });
}

/// Recipients a flush task writes to before it yields. Why: a task that made 500 sends in
/// one poll kept its thread from the runtime's other work for as long: the senders' reads
/// waited, and so did the rest of the round, since a task a thread has just spawned is one
/// no other thread may take (tokio's LIFO slot) until it yields. A yielded task goes to the
/// back of its thread's queue, where an idle thread takes it. Beside two busy loops on 2
/// cores (fanout, 4 repeats each) ws p50 went from 19.4 ms (median) to 14.7 ms, Socket.IO
/// 15.4 ms in the same runs; a yield costs far less than the 16 sends between two.
const YIELD_EVERY: usize = 16;

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
