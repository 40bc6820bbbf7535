//! A group's broadcasts, made one round at a time. A broadcaster that finds no round under
//! way makes one itself: the frames it brings, written straight to each recipient. One that
//! finds a round under way leaves its frames for the next round and goes back to reading
//! its client; the round's maker then takes every batch that waits, from every sender, and
//! writes them to each recipient in one piece. So while the server keeps up a broadcast is
//! what it was (one `send` per recipient, no task wakeup), and once it falls behind (too
//! little CPU: a busy machine, too much load) the sends per delivery fall with the backlog
//! and it catches up, as a server with a writer task per connection does by draining its
//! queue (docs/method.md, "The servers under test"). Without it, a starved ws server paid a
//! full `send` per delivery however far behind it was, and lost what it had not relayed by
//! the end of a run.

use std::sync::{Arc, Mutex};

use bytes::{BufMut, Bytes, BytesMut};
use wsbench_core::handicap::Handicap;
use wsbench_core::{OverflowPolicy, ServerCounters};

use crate::group::Group;
use crate::outbox::Outbox;

/// How a server's deliveries are made and counted.
#[derive(Clone)]
pub(crate) struct Sending {
    pub(crate) policy: OverflowPolicy,
    pub(crate) counters: Arc<ServerCounters>,
    pub(crate) handicap: Handicap,
}

impl Sending {
    /// Counts `deliveries` made (and burns the test aid's CPU for them).
    pub(crate) fn made(&self, deliveries: u64) {
        self.counters.deliveries_sent(deliveries);
        self.handicap.burn(deliveries);
    }
}

/// Frames a sender brought: `count` data frames back to back (see [`crate::frame::batch`]).
struct Batch {
    from: u64,
    frames: Bytes,
    count: u64,
}

/// Batches waiting for the next round, and whether a round is under way.
#[derive(Default)]
pub(crate) struct Rounds {
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    waiting: Vec<Batch>,
    under_way: bool,
}

/// Rounds one broadcaster makes before handing the rest to a task of its own (its client
/// waits meanwhile).
const ROUNDS_INLINE: usize = 4;

/// Broadcasts `count` data frames (`frames`, back to back) from member `from` to every
/// other member of `group`: now, in a round of this caller's, or in the round under way's
/// next one. Each sender's frames keep their order: one round at a time, batches in the
/// order they came.
pub(crate) fn broadcast(group: &Arc<Group>, from: u64, frames: Bytes, count: u64, s: &Sending) {
    let mut state = group.rounds.state.lock().unwrap();
    state.waiting.push(Batch {
        from,
        frames,
        count,
    });
    if state.under_way {
        return;
    }
    state.under_way = true;
    drop(state);
    if make_rounds(group, s, ROUNDS_INLINE) {
        let (group, s) = (group.clone(), s.clone());
        tokio::spawn(async move { while make_rounds(&group, &s, ROUNDS_INLINE) {} });
    }
}

/// Makes up to `rounds` rounds of what waits; returns whether more waits (and the caller
/// still holds the right to make rounds), or ends the turn.
fn make_rounds(group: &Group, s: &Sending, rounds: usize) -> bool {
    for _ in 0..rounds {
        let batches = {
            let mut state = group.rounds.state.lock().unwrap();
            if state.waiting.is_empty() {
                state.under_way = false;
                return false;
            }
            std::mem::take(&mut state.waiting)
        };
        s.made(round(group, &batches, s));
    }
    true
}

/// Writes `batches` to every member but each batch's own sender; returns the deliveries
/// taken (frames times recipients).
fn round(group: &Group, batches: &[Batch], s: &Sending) -> u64 {
    let everyone = joined(batches, u64::MAX);
    // Each sender of the round gets everyone else's frames (few senders a round: the rest
    // get the one buffer).
    let mut senders: Vec<(u64, (Bytes, u64))> = Vec::new();
    for b in batches {
        if !senders.iter().any(|(id, _)| *id == b.from) {
            senders.push((b.from, joined(batches, b.from)));
        }
    }
    let frames_for = |id: u64| match senders.iter().find(|(s, _)| *s == id) {
        Some((_, own)) => own,
        None => &everyone,
    };
    group.write_to_members(|id| frames_for(id), s)
}

/// The frames of `batches` not from `except`, back to back, and how many (the batch itself,
/// uncopied, where only one is kept).
fn joined(batches: &[Batch], except: u64) -> Frames {
    let mut kept = batches.iter().filter(|b| b.from != except);
    let (first, second) = match (kept.next(), kept.next()) {
        (None, _) => return (Bytes::new(), 0),
        (Some(only), None) => return (only.frames.clone(), only.count),
        (Some(a), Some(b)) => (a, b),
    };
    let all = || [first, second].into_iter().chain(kept.clone());
    let mut out = BytesMut::with_capacity(all().map(|b| b.frames.len()).sum());
    for b in all() {
        out.put_slice(&b.frames);
    }
    (out.freeze(), all().map(|b| b.count).sum())
}

/// What a round writes to one recipient.
pub(crate) type Frames = (Bytes, u64);

/// Offers a round's frames to one recipient: written now (`inline`), or queued for a flush
/// on another thread; returns the frames it took.
pub(crate) fn offer(outbox: &Outbox, frames: &Frames, inline: bool, s: &Sending) -> u64 {
    let (bytes, count) = frames;
    if *count == 0 {
        return 0;
    }
    if inline {
        outbox.offer(bytes, *count, s.policy, &s.counters)
    } else {
        outbox.enqueue(bytes, *count, s.policy, &s.counters)
    }
}
