//! A group's broadcasts, made one round at a time. A broadcaster that finds no round under
//! way makes one itself: the frames it brings, written to each recipient (straight away in
//! a small group, by flush tasks spread over the runtime's threads in a large one, see
//! [`crate::group`]). One that finds a round under way leaves its frames for the next round
//! and goes back to reading its client; the round's maker then takes every batch that
//! waits, from every sender, and writes them to each recipient in one piece. So while the
//! server keeps up a broadcast is what it was, and once it falls behind (too little CPU: a
//! busy machine, too much load) the sends per delivery fall with the backlog and it catches
//! up, as a server with a writer task per connection does by draining its queue
//! (docs/method.md, "The servers under test"). Without it, a starved ws server paid a full
//! `send` per delivery however far behind it was, and lost what it had not relayed by the
//! end of a run.

use std::sync::{Arc, Mutex};

use bytes::{BufMut, Bytes, BytesMut};
use wsbench_core::handicap::Handicap;
use wsbench_core::{OverflowPolicy, ServerCounters};

use crate::group::Group;

/// How a server's deliveries are made and counted.
#[derive(Clone)]
pub(crate) struct Sending {
    pub(crate) policy: OverflowPolicy,
    pub(crate) counters: Arc<ServerCounters>,
    pub(crate) handicap: Handicap,
    /// Whether a large broadcast's shares are written through io_uring ([`crate::uring`]).
    pub(crate) uring: bool,
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

/// The sender of a broadcast relayed from another node of a cluster: no member of this one.
pub(crate) const FROM_ANOTHER_NODE: u64 = u64::MAX;

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
    let everyone = joined(batches, None);
    // Each sender of the round gets everyone else's frames (few senders a round: the rest
    // get the one buffer). Another node's broadcast has no sender here.
    let mut senders: Vec<(u64, Frames)> = Vec::new();
    for b in batches.iter().filter(|b| b.from != FROM_ANOTHER_NODE) {
        if !senders.iter().any(|(id, _)| *id == b.from) {
            senders.push((b.from, joined(batches, Some(b.from))));
        }
    }
    group.write_to_members(
        |id| match senders.iter().find(|(s, _)| *s == id) {
            Some((_, own)) => own,
            None => &everyone,
        },
        s,
    )
}

/// The frames of `batches` not from `except` (all of them without one), back to back, and
/// how many (the batch itself, uncopied, where only one is kept).
fn joined(batches: &[Batch], except: Option<u64>) -> Frames {
    let mut kept = batches.iter().filter(|b| Some(b.from) != except);
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

/// What a round writes to one recipient: frames back to back, and how many.
pub(crate) type Frames = (Bytes, u64);

#[cfg(test)]
mod tests {
    use super::*;

    fn batch(from: u64, text: &'static str) -> Batch {
        Batch {
            from,
            frames: Bytes::from_static(text.as_bytes()),
            count: 1,
        }
    }

    /// Everyone gets every batch, another node's included; a sender gets all but its own;
    /// a lone batch is passed on uncopied.
    #[test]
    fn each_recipient_gets_every_batch_but_its_own_in_order() {
        let batches = [
            batch(1, "a"),
            batch(FROM_ANOTHER_NODE, "b"),
            batch(2, "c"),
            batch(1, "d"),
        ];
        assert_eq!(joined(&batches, None), (Bytes::from_static(b"abcd"), 4));
        assert_eq!(joined(&batches, Some(1)), (Bytes::from_static(b"bc"), 2));
        assert_eq!(joined(&batches, Some(2)), (Bytes::from_static(b"abd"), 3));
        let lone = [batch(FROM_ANOTHER_NODE, "x")];
        let (bytes, count) = joined(&lone, None);
        assert_eq!((bytes.as_ptr(), count), (lone[0].frames.as_ptr(), 1));
        assert_eq!(joined(&lone[..0], None).1, 0);
    }
}
