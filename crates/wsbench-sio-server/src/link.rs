//! What a client's socket (its [`crate::flow::Flow`]) and the Socket.IO session served over
//! it share: how far the session's writer is behind what was relayed to it, whether its
//! client reads, and the way to end it from outside (docs/method.md, "Bounds and
//! policies").
//!
//! socketioxide gives no way to see how full a socket's outgoing queue is, nor to close a
//! socket whose queue is full (`Socket::disconnect` fails exactly then). The link gives
//! both, at the socket: a relay adds what it queued for each recipient, the recipient's
//! socket takes off what it wrote, and a kick makes the socket fail, which ends the
//! session as a broken transport would.
//!
//! A session gets the link of the connection its handshake came on: a WebSocket session
//! its own. A session that began by long-polling has none (its requests come on other
//! connections), and keeps socketioxide's own behaviour: a full queue drops, and the
//! heartbeat ends a client that stopped reading.

use std::cell::RefCell;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::Waker;

use futures_util::task::AtomicWaker;

/// One connection's shared state; see the module's comment.
#[derive(Default)]
pub(crate) struct Link {
    /// Bytes relayed to this connection's client and not yet written (an estimate: the
    /// events' size as they came in, less what the socket wrote, never below 0).
    owed: AtomicU64,
    /// Whether the socket refused a write and has not taken one since: the client does
    /// not read.
    blocked: AtomicBool,
    /// Senders waiting for this connection's writer to catch up.
    waiters: Mutex<Vec<Waker>>,
    /// Whether `waiters` may hold any: every write asks, and almost always none does, so
    /// the lock is taken only when one might.
    awaited: AtomicBool,
    /// Set once the overflow policy disconnected it.
    kicked: AtomicBool,
    /// The socket's reading side, woken when it is kicked.
    reader: AtomicWaker,
}

impl std::fmt::Debug for Link {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Link")
            .field("owed", &self.owed())
            .field("blocked", &self.blocked())
            .field("kicked", &self.kicked())
            .finish_non_exhaustive()
    }
}

impl Link {
    /// `n` more bytes queued for this client; returns what it is owed now.
    pub(crate) fn owe(&self, n: u64) -> u64 {
        self.owed.fetch_add(n, Ordering::Relaxed) + n
    }

    /// Bytes queued and not yet written.
    pub(crate) fn owed(&self) -> u64 {
        self.owed.load(Ordering::Relaxed)
    }

    /// The socket wrote `n` bytes (`n` > 0): its client reads.
    pub(crate) fn wrote(&self, n: u64) {
        let _ = self
            .owed
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |o| {
                Some(o.saturating_sub(n))
            });
        self.blocked.store(false, Ordering::Relaxed);
        self.wake_waiters();
    }

    /// The socket refused a write: its client does not read (now).
    pub(crate) fn refused(&self) {
        if !self.blocked.swap(true, Ordering::Relaxed) {
            // No one waits for a client that does not read: the policy handles it.
            self.wake_waiters();
        }
    }

    /// Whether the client does not read.
    pub(crate) fn blocked(&self) -> bool {
        self.blocked.load(Ordering::Relaxed)
    }

    /// Whether the writer is behind `limit` for a client that reads: then a sender waits.
    pub(crate) fn behind(&self, limit: u64) -> bool {
        self.owed() > limit && !self.blocked()
    }

    /// Registers a sender to be woken when this writer moves (or its client stops reading).
    pub(crate) fn wait(&self, waker: &Waker) {
        let mut waiters = self.waiters.lock().unwrap();
        if !waiters.iter().any(|w| w.will_wake(waker)) {
            waiters.push(waker.clone());
        }
        self.awaited.store(true, Ordering::SeqCst);
        // The caller looks again after registering: that look must see a write made
        // while the flag was not yet set (whose wake found no one to wake).
        std::sync::atomic::fence(Ordering::SeqCst);
    }

    fn wake_waiters(&self) {
        if !self.awaited.swap(false, Ordering::SeqCst) {
            return;
        }
        let waiters = std::mem::take(&mut *self.waiters.lock().unwrap());
        for w in waiters {
            w.wake();
        }
    }

    /// Ends the connection (the disconnect policy); returns whether this was the first to.
    pub(crate) fn kick(&self) -> bool {
        let first = !self.kicked.swap(true, Ordering::Relaxed);
        if first {
            self.reader.wake();
            self.wake_waiters();
        }
        first
    }

    /// Whether the connection was kicked.
    pub(crate) fn kicked(&self) -> bool {
        self.kicked.load(Ordering::Relaxed)
    }

    /// Registers the socket's reading side, for [`Link::kick`].
    pub(crate) fn register_reader(&self, waker: &Waker) {
        self.reader.register(waker);
    }
}

thread_local! {
    /// A recipient the relay just made on this thread found behind: the reading task whose
    /// relay it was (the next to read on this thread) waits for it before reading more.
    static HOLD: RefCell<Option<(Arc<Link>, u64)>> = const { RefCell::new(None) };
}

/// Asks the reading task on this thread to wait until `link` is owed at most `resume_at`.
pub(crate) fn hold(link: Arc<Link>, resume_at: u64) {
    HOLD.with(|h| *h.borrow_mut() = Some((link, resume_at)));
}

/// The wait [`hold`] asked for, if any.
pub(crate) fn take_hold() -> Option<(Arc<Link>, u64)> {
    HOLD.with(|h| h.borrow_mut().take())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn owed_bytes_fall_with_writes_and_never_below_zero() {
        let l = Link::default();
        assert_eq!(l.owe(100), 100);
        l.wrote(30);
        assert_eq!(l.owed(), 70);
        assert!(l.behind(50));
        l.refused();
        assert!(!l.behind(50), "a client that does not read holds no one");
        l.wrote(500);
        assert_eq!(l.owed(), 0);
        assert!(l.kick() && !l.kick() && l.kicked());
    }
}
