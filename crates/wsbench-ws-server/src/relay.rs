//! Broadcasts between server nodes over Redis pub/sub, one channel per room: what a raw
//! WebSocket cluster has to add by hand for its broadcasts to reach clients of other nodes.
//!
//! A node delivers a broadcast to its own clients directly and publishes it once; every
//! other node delivers what it receives to its own clients. A node ignores its own
//! publications, so each client gets each message exactly once.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use bytes::{BufMut, Bytes, BytesMut};
use futures_util::StreamExt;
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message;
use tokio_util::task::TaskTracker;

use crate::server::Shared;

/// Channel prefix; the room name (or `/` for the default scope) follows.
const PREFIX: &str = "wsbench:ws:";
/// Publications that may wait for the Redis connection before new ones are dropped.
const BACKLOG: usize = 65_536;

/// This node's side of the relay: publishing.
pub(crate) struct Relay {
    node: u64,
    outgoing: mpsc::Sender<(String, Bytes)>,
    /// Publications dropped because Redis did not keep up.
    pub(crate) dropped: AtomicU64,
}

/// A relay connected and subscribed, not yet delivering (it needs the server's groups).
pub(crate) struct Connected {
    relay: Relay,
    subscription: redis::aio::PubSub,
    publisher: redis::aio::MultiplexedConnection,
    outgoing: mpsc::Receiver<(String, Bytes)>,
}

impl Relay {
    /// Connects to Redis at `url` and subscribes to every room's channel. Returns once the
    /// subscription is in place, so nothing published after it is missed.
    pub(crate) async fn connect(url: &str) -> redis::RedisResult<Connected> {
        let client = redis::Client::open(url)?;
        let mut subscription = client.get_async_pubsub().await?;
        subscription.psubscribe(format!("{PREFIX}*")).await?;
        let publisher = client.get_multiplexed_async_connection().await?;
        let (tx, rx) = mpsc::channel(BACKLOG);
        Ok(Connected {
            relay: Relay {
                node: fastrand::u64(..),
                outgoing: tx,
                dropped: AtomicU64::new(0),
            },
            subscription,
            publisher,
            outgoing: rx,
        })
    }

    /// Publishes a broadcast of `room` (`None`: the default scope) for the other nodes.
    pub(crate) fn publish(&self, room: Option<&str>, msg: &Message) {
        let (kind, data) = match msg {
            Message::Text(t) => (0u8, t.as_bytes()),
            Message::Binary(b) => (1u8, &b[..]),
            _ => return,
        };
        let mut frame = BytesMut::with_capacity(9 + data.len());
        frame.put_u64(self.node);
        frame.put_u8(kind);
        frame.put_slice(data);
        let channel = format!("{PREFIX}{}", room.unwrap_or("/"));
        if self.outgoing.try_send((channel, frame.freeze())).is_err() {
            self.dropped.fetch_add(1, Ordering::Relaxed);
        }
    }
}

impl Connected {
    /// The publishing half, for the server's shared state.
    pub(crate) fn split(self) -> (Relay, Pumps) {
        (
            self.relay,
            Pumps {
                subscription: self.subscription,
                publisher: self.publisher,
                outgoing: self.outgoing,
            },
        )
    }
}

/// The two tasks that move messages to and from Redis.
pub(crate) struct Pumps {
    subscription: redis::aio::PubSub,
    publisher: redis::aio::MultiplexedConnection,
    outgoing: mpsc::Receiver<(String, Bytes)>,
}

impl Pumps {
    /// Starts publishing and delivering, on `tracker`.
    pub(crate) fn spawn(self, shared: Arc<Shared>, tracker: &TaskTracker) {
        let Pumps {
            subscription,
            mut publisher,
            mut outgoing,
        } = self;
        let stop = shared.shutdown.clone();
        let shared_out = shared.clone();
        tracker.spawn(async move {
            loop {
                let (channel, frame) = tokio::select! {
                    _ = stop.cancelled() => break,
                    next = outgoing.recv() => match next {
                        Some(next) => next,
                        None => break,
                    },
                };
                let published: redis::RedisResult<()> = redis::cmd("PUBLISH")
                    .arg(&channel)
                    .arg(&frame[..])
                    .query_async(&mut publisher)
                    .await;
                if let Err(err) = published {
                    tracing::warn!(%err, "cannot publish to redis");
                }
            }
            let dropped = shared_out
                .relay
                .as_ref()
                .map_or(0, |r| r.dropped.load(Ordering::Relaxed));
            if dropped > 0 {
                tracing::warn!(
                    dropped,
                    "broadcasts not relayed: the redis backlog was full"
                );
            }
        });
        let node = shared.relay.as_ref().map_or(0, |r| r.node);
        let stop = shared.shutdown.clone();
        tracker.spawn(async move {
            let mut messages = subscription.into_on_message();
            loop {
                let msg = tokio::select! {
                    _ = stop.cancelled() => break,
                    msg = messages.next() => match msg {
                        Some(msg) => msg,
                        None => {
                            tracing::error!("the redis subscription ended");
                            break;
                        }
                    },
                };
                let channel = msg.get_channel_name().to_owned();
                deliver(&shared, node, &channel, msg.get_payload_bytes());
            }
        });
    }
}

/// Delivers another node's broadcast to this node's clients of its room.
fn deliver(shared: &Shared, node: u64, channel: &str, frame: &[u8]) {
    let Some(room) = channel.strip_prefix(PREFIX) else {
        return;
    };
    if frame.len() < 9 || u64::from_be_bytes(frame[..8].try_into().expect("8 bytes")) == node {
        return;
    }
    let data = &frame[9..];
    let msg = match frame[8] {
        0 => match std::str::from_utf8(data) {
            Ok(text) => crate::frame::text(text),
            Err(_) => return,
        },
        _ => crate::frame::binary(data),
    };
    let group = if room == "/" {
        Some(shared.groups.everyone())
    } else {
        shared.groups.room(room)
    };
    if let Some(group) = group {
        let from = crate::broadcast::FROM_ANOTHER_NODE;
        crate::broadcast::broadcast(&group, from, msg, 1, &shared.sending);
    }
}
