//! The server's jobs, done as each event is taken off its socket.
//!
//! Socket.IO promises that one client's events are handled in the order it sent them.
//! socketioxide runs every event handler in a task of its own, which a multi-threaded runtime
//! reorders (hundreds of out-of-order deliveries in a burst). Its extractors, though, run in
//! order, on the socket's reading path, before the handler is spawned: so the relay, the
//! join and the echo are done by extractors, and the handlers are empty.

use std::marker::PhantomData;
use std::sync::{Arc, Mutex};

use futures_util::FutureExt;
use socketioxide::adapter::Adapter;
use socketioxide::extract::{AckSender, Data, SocketRef};
use socketioxide::handler::{FromMessageParts, Value};
use socketioxide::socket::Socket;
use socketioxide::{BroadcastError, SendError, SocketError, TransportType};
use socketioxide_core::parser::ParserError;
use tokio::sync::mpsc;
use wsbench_core::OverflowPolicy;

use crate::LOBBY;
use crate::args::EventArgs;
use crate::link::{self, Link};
use crate::rooms::Room;
use crate::server::Shared;

/// A connected socket's place in the server, kept in its extensions from the connect
/// middleware on. Dropping it undoes the connection's accounting (the room it is in, the
/// open-connection count), however the socket ends: socketioxide drops a socket whose
/// client vanished during CONNECT without calling its disconnect handler.
pub(crate) struct Member {
    shared: Arc<Shared>,
    /// The link to the connection the session came on, for a WebSocket session.
    link: Option<Arc<Link>>,
    room: Mutex<Arc<Room>>,
    /// Relays not finished when their event was taken (a cluster's, waiting for Redis),
    /// run in order on a task of the socket's.
    pending: Mutex<Option<mpsc::UnboundedSender<futures_util::future::BoxFuture<'static, ()>>>>,
}

impl Member {
    /// Counts the connection and puts the socket in the lobby.
    pub(crate) fn enter<A: Adapter>(s: &Socket<A>, shared: &Arc<Shared>) -> Arc<Member> {
        shared.counters.connection_opened();
        let link = (s.transport_type() == TransportType::Websocket)
            .then(|| s.req_parts().extensions.get::<Arc<Link>>().cloned())
            .flatten();
        let room = shared.rooms.enter(LOBBY, link.as_ref());
        s.join(room.name.clone());
        Arc::new(Member {
            shared: shared.clone(),
            link,
            room: Mutex::new(room),
            pending: Mutex::default(),
        })
    }

    fn room(&self) -> Arc<Room> {
        self.room.lock().unwrap().clone()
    }

    /// Moves the socket into room `name`, leaving the room it was in.
    fn move_to<A: Adapter>(&self, s: &Socket<A>, name: &str) {
        let mut room = self.room.lock().unwrap();
        if room.name == name {
            return;
        }
        s.leave(room.name.clone());
        self.shared.rooms.exit(&room, self.link.as_ref());
        *room = self.shared.rooms.enter(name, self.link.as_ref());
        s.join(room.name.clone());
    }

    /// Runs `relay` now if it can finish without waiting (always with the local adapter),
    /// else after the socket's earlier relays, in order.
    fn in_order(&self, relay: impl Future<Output = ()> + Send + 'static) {
        let mut pending = self.pending.lock().unwrap();
        if pending.is_none() && self.shared.local {
            // The local adapter's broadcast is immediate: nothing ever waits here.
            if relay.now_or_never().is_none() {
                tracing::error!("a local broadcast did not finish at once: it was dropped");
            }
            return;
        }
        let tx = pending.get_or_insert_with(|| {
            let (tx, mut rx) =
                mpsc::unbounded_channel::<futures_util::future::BoxFuture<'static, ()>>();
            tokio::spawn(async move {
                while let Some(relay) = rx.recv().await {
                    relay.await;
                }
            });
            tx
        });
        let _ = tx.send(relay.boxed());
    }
}

impl Drop for Member {
    fn drop(&mut self) {
        let link = self.link.as_ref();
        self.shared.rooms.exit(&self.room.lock().unwrap(), link);
        // No sender waits for a session that ended.
        link.inspect(|l| l.refused());
        self.shared.counters.connection_closed();
    }
}

/// Registers the jobs on a socket whose [`Member`] is in its extensions.
pub(crate) fn register<A: Adapter>(s: &SocketRef<A>) {
    s.on("broadcast", |_: Relayed<Broadcast>| std::future::ready(()));
    s.on("message", |_: Relayed<MessageEvent>| std::future::ready(()));
    s.on("join", |_: Joined| std::future::ready(()));
    s.on("echo", |_: Echoed| std::future::ready(()));
    s.on_disconnect(|s: SocketRef<A>| {
        s.extensions.remove::<Arc<Member>>();
        std::future::ready(())
    });
}

fn member<A: Adapter>(s: &Socket<A>) -> Option<Arc<Member>> {
    s.extensions.get::<Arc<Member>>()
}

/// The name an event is relayed under.
pub(crate) trait EventName: Send + Sync + 'static {
    const NAME: &'static str;
}

/// `broadcast`.
pub(crate) struct Broadcast;
impl EventName for Broadcast {
    const NAME: &'static str = "broadcast";
}

/// `message`, as the seed's clients emit.
pub(crate) struct MessageEvent;
impl EventName for MessageEvent {
    const NAME: &'static str = "message";
}

/// An event relayed, as it is taken, to the other members of the sender's room.
pub(crate) struct Relayed<E>(PhantomData<E>);

impl<A: Adapter, E: EventName> FromMessageParts<A> for Relayed<E> {
    type Error = ParserError;

    fn from_message_parts(
        s: &Arc<Socket<A>>,
        v: &mut Value,
        ack: &Option<i64>,
    ) -> Result<Self, ParserError> {
        let size = v.len() as u64;
        let Data(args) = Data::<EventArgs>::from_message_parts(s, v, ack)?;
        if let Some(member) = member(s) {
            relay(s, &member, E::NAME, args, size);
        }
        Ok(Relayed(PhantomData))
    }
}

/// Relays an event (`size` bytes as it came) to the other members of the sender's room.
fn relay<A: Adapter>(
    s: &Arc<Socket<A>>,
    member: &Member,
    event: &'static str,
    args: EventArgs,
    size: u64,
) {
    crate::flow::relayed();
    let shared = member.shared.clone();
    shared.counters.message_received();
    let room = member.room();
    // A recipient whose writer is half a queue behind, for a client that reads, makes the
    // sender wait before it reads more (see `link.rs`): a burst is not dropped for it.
    let limit = shared.queue_capacity as u64 / 2 * size.max(1);
    if let Some(behind) = room.owe(size, member.link.as_ref(), limit) {
        link::hold(behind, limit / 2);
    }
    match shared.overflow {
        OverflowPolicy::Drop => {
            // One encoding, shared by every recipient (socketioxide's broadcast).
            let recipients = room.members().saturating_sub(1);
            shared.handicap.burn(recipients);
            let to_room = s.to(room.name.clone());
            member.in_order(async move {
                let failed = match to_room.emit(event, &args).await {
                    Ok(()) => 0,
                    Err(BroadcastError::Socket(errors)) => {
                        let full = errors
                            .iter()
                            .filter(|e| matches!(e, SocketError::InternalChannelFull))
                            .count() as u64;
                        shared.counters.deliveries_dropped(full);
                        errors.len() as u64
                    }
                    Err(err) => {
                        tracing::warn!(%err, "broadcast failed");
                        recipients
                    }
                };
                shared
                    .counters
                    .deliveries_sent(recipients.saturating_sub(failed));
            });
        }
        OverflowPolicy::Disconnect => {
            // socketioxide's broadcast does not say which socket was full, so this policy
            // sends to each recipient alone (one encoding per recipient) to find out.
            for peer in s.to(room.name.clone()).sockets() {
                shared.handicap.burn(1);
                if kicks(&shared, peer.emit(event, &args)) {
                    kick(&shared, self::member(&peer), || {
                        peer.clone().disconnect().is_ok()
                    });
                }
            }
        }
    }
}

/// `join` with a room name: the socket moves there, and the ack says so.
pub(crate) struct Joined;

impl<A: Adapter> FromMessageParts<A> for Joined {
    type Error = ParserError;

    fn from_message_parts(
        s: &Arc<Socket<A>>,
        v: &mut Value,
        ack: &Option<i64>,
    ) -> Result<Self, ParserError> {
        let Data(name) = Data::<String>::from_message_parts(s, v, ack)?;
        if let Some(member) = member(s) {
            member.shared.counters.message_received();
            member.move_to(s, &name);
            let _ = AckSender::from_message_parts(s, v, ack)
                .expect("infallible")
                .send(&name);
        }
        Ok(Joined)
    }
}

/// `echo`: the arguments go back to the sender, as the ack it asked for or as an event.
pub(crate) struct Echoed;

impl<A: Adapter> FromMessageParts<A> for Echoed {
    type Error = ParserError;

    fn from_message_parts(
        s: &Arc<Socket<A>>,
        v: &mut Value,
        ack: &Option<i64>,
    ) -> Result<Self, ParserError> {
        let Data(args) = Data::<EventArgs>::from_message_parts(s, v, ack)?;
        if let Some(member) = member(s) {
            member.shared.counters.message_received();
            member.shared.handicap.burn(1);
            crate::flow::relayed();
            let sent = match ack {
                Some(_) => AckSender::from_message_parts(s, v, ack)
                    .expect("infallible")
                    .send(&args),
                None => s.emit("echo", &args),
            };
            if kicks(&member.shared, sent) {
                kick(&member.shared, Some(member.clone()), || {
                    s.clone().disconnect().is_ok()
                });
            }
        }
        Ok(Echoed)
    }
}

/// Counts the outcome of a send to one socket; returns whether the overflow policy
/// disconnects it.
fn kicks(shared: &Shared, sent: Result<(), SendError>) -> bool {
    match sent {
        Ok(()) => shared.counters.deliveries_sent(1),
        Err(SendError::Socket(SocketError::InternalChannelFull)) => {
            shared.counters.deliveries_dropped(1);
            return shared.overflow == OverflowPolicy::Disconnect;
        }
        Err(err) => tracing::debug!(%err, "send failed"),
    }
    false
}

/// Disconnects a slow consumer, counted once per connection. Through its link where it has
/// one: socketioxide's own `disconnect` sends a packet first, which a full queue refuses,
/// and then does nothing. A session without a link (it began by long-polling) gets that
/// attempt, and the heartbeat otherwise.
fn kick(shared: &Shared, peer: Option<Arc<Member>>, disconnect: impl FnOnce() -> bool) {
    let first = match peer.and_then(|m| m.link.clone()) {
        Some(link) => link.kick(),
        None => disconnect(),
    };
    if first {
        shared.counters.slow_client_disconnected();
    }
}
