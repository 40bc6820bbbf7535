//! What the load generator is asked to do, and when.

use std::time::Duration;

use wsbench_core::adapter::Adapter;
pub use wsbench_core::client_library::ClientLibrary;
use wsbench_core::io_path::IoPath;
use wsbench_core::scenario::{DeflateOffer, Encoding, PayloadKind};
use wsbench_core::shard::Shard;
use wsbench_core::system::Protocol;

use crate::backoff::Backoff;
use crate::clients::{Endpoint, Role};

/// Who receives a sender's messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// Every other client.
    Broadcast,
    /// The sender alone (round trips).
    Echo,
    /// The other clients of the sender's room; client i is in room `i % rooms`.
    Rooms {
        /// How many rooms.
        rooms: u64,
    },
}

/// One system's load: who connects where, who sends what and how fast.
#[derive(Debug, Clone)]
pub struct LoadPlan {
    /// How every client speaks.
    pub protocol: Protocol,
    /// With which library.
    pub client: ClientLibrary,
    /// Where they connect: client `i` to `endpoints[i % len]` (the nodes of a cluster, or
    /// the one server).
    pub endpoints: Vec<Endpoint>,
    /// Text or binary probes.
    pub encoding: Encoding,
    /// Who receives each message.
    pub scope: Scope,
    /// Clients to open.
    pub clients: u64,
    /// Clients `0..senders` also send.
    pub senders: u64,
    /// The last `stalled` clients stop reading when traffic starts (slow consumers); no
    /// delivery is owed to them.
    pub stalled: u64,
    /// Messages per second per sender.
    pub rate: f64,
    /// Bytes per probe (the scenario's payload less what an adapter's template adds).
    pub payload: usize,
    /// What fills a probe's message beyond the probe.
    pub payload_kind: PayloadKind,
    /// The permessage-deflate its clients offer (`None`: they offer none).
    pub deflate: Option<DeflateOffer>,
    /// How the clients speak to this server (wsbench's conventions by default).
    pub adapter: std::sync::Arc<Adapter>,
    /// Length of each sender's schedule (warm-up and measured window).
    pub messages_per_sender: u64,
    /// Time between two connection starts.
    pub ramp_interval: Duration,
    /// Worker threads.
    pub workers: usize,
    /// Longest a single connection attempt may take.
    pub connect_timeout: Duration,
    /// The part of the clients this process opens (ids stay global).
    pub shard: Shard,
    /// Reconnect after losing the connection, on this schedule (`None`: a lost client stays
    /// lost). Socket.IO clients also buffer what is sent while disconnected, as
    /// socket.io-client does; raw WebSocket clients have no such buffer.
    pub reconnect: Option<Backoff>,
    /// The TLS its clients speak to `wss://` endpoints (`None`: every endpoint is plain).
    pub tls: Option<crate::clients::TlsClient>,
    /// How the clients read: a batched receiver ([`IoPath::Epoll`], [`IoPath::Uring`])
    /// where [`LoadPlan::batchable`] allows, else a task per client whatever is asked.
    pub io: IoPath,
}

/// Messages a lean client's read buffer has room for: enough that a read takes every
/// message that piled up while a busy worker was elsewhere, few enough that 10,000 idle
/// clients do not hold megabytes (tungstenite's default is 128 KiB a connection).
const READ_BATCH: usize = 8;
/// What a message carries beyond the probe and the adapter's template: a WebSocket
/// header (2 bytes up to 125 bytes of payload, at most 14) and a Socket.IO event's
/// envelope (`42["broadcast","…"]`: 17 bytes with the default event name). A longer one
/// only means fewer messages per read.
const ENVELOPE: usize = 32;
/// Bounds of a client's read buffer: a read of one small message is no cheaper with less,
/// and larger messages grow the buffer as they arrive anyway.
const READ_BUFFER: std::ops::RangeInclusive<usize> = 512..=64 * 1024;

/// Bytes a lean client reads at once when its probes are `payload` bytes inside
/// `template_overhead` more of an adapter's template (its buffer holds this much from
/// connect to close, so it is most of a client's memory).
pub fn read_buffer_for(payload: usize, template_overhead: usize) -> usize {
    let message = payload + template_overhead + ENVELOPE;
    (message * READ_BATCH).clamp(*READ_BUFFER.start(), *READ_BUFFER.end())
}

impl LoadPlan {
    /// Whether the batched receiver can read for these clients (`crate::receiver`); if
    /// not, why: it reads plain TCP for lean clients that never stop reading.
    pub fn batchable(&self) -> Result<(), &'static str> {
        let plain = self.endpoints.iter().all(|e| e.url.starts_with("ws://"));
        if self.client != ClientLibrary::Lean
            || !matches!(self.protocol, Protocol::Ws | Protocol::Socketio)
        {
            Err("rust_socketio reads its own sockets")
        } else if !plain || self.tls.is_some() {
            Err("TLS clients read through rustls")
        } else if self.deflate.is_some() {
            Err("permessage-deflate clients read through the inflating layer")
        } else if self.stalled > 0 {
            Err("slow consumers must stop reading")
        } else {
            Ok(())
        }
    }

    /// Bytes a lean client reads at once, see [`read_buffer_for`].
    pub fn read_buffer(&self) -> usize {
        read_buffer_for(self.payload, self.adapter.template_overhead())
    }

    /// The room of `client` (0 outside rooms mode).
    pub fn room_of(&self, client: u64) -> u64 {
        match self.scope {
            Scope::Rooms { rooms } => client % rooms.max(1),
            _ => 0,
        }
    }

    /// What `client` does on its connection.
    pub fn role_of(&self, client: u64) -> Role {
        match self.scope {
            Scope::Broadcast => Role::Broadcast,
            Scope::Echo => Role::Echo,
            Scope::Rooms { .. } => Role::Room(self.room_of(client)),
        }
    }

    /// The server node `client` connects to.
    pub fn endpoint_of(&self, client: u64) -> &Endpoint {
        &self.endpoints[self.node_of(client)]
    }

    /// The index of the server node of `client` (client `i` on node `i % nodes`).
    pub fn node_of(&self, client: u64) -> usize {
        (client % self.endpoints.len().max(1) as u64) as usize
    }

    /// The loopback source address of `client` when the server is on IPv4 loopback: clients
    /// are spread over 127.0.0.1-127.0.0.254, so that one process is not held to the ~28k
    /// ephemeral ports of a single address pair.
    pub fn source_ip(&self, client: u64) -> Option<std::net::IpAddr> {
        let std::net::IpAddr::V4(server) = self.endpoint_of(client).addr.ip() else {
            return None;
        };
        server
            .is_loopback()
            .then(|| std::net::Ipv4Addr::new(127, 0, 0, 1 + (client % 254) as u8).into())
    }

    /// Whether a probe of `sender` was sent by this process, so that its intended send time
    /// is on this process's monotonic clock and its latency can be measured.
    pub fn sent_here(&self, sender: u64) -> bool {
        self.shard.owns(sender)
    }

    /// Whether `client` is a slow consumer that stops reading.
    pub fn is_stalled(&self, client: u64) -> bool {
        client >= self.clients.saturating_sub(self.stalled)
    }

    /// How many clients are owed each message of `sender`.
    pub fn recipients(&self, sender: u64) -> u64 {
        match self.scope {
            Scope::Broadcast => self.clients.saturating_sub(1 + self.stalled),
            Scope::Echo => 1,
            Scope::Rooms { rooms } => {
                let rooms = rooms.max(1);
                let room = sender % rooms;
                let members = self.clients / rooms + u64::from(room < self.clients % rooms);
                members.saturating_sub(1)
            }
        }
    }

    /// Where `receiver` keeps the messages of `sender` in its ledger (the sender's *lane*
    /// among those it hears: `0..self.lanes(receiver)`), or `None` when it should not get
    /// them at all.
    pub fn lane(&self, receiver: u64, sender: u64) -> Option<u32> {
        let lane = match self.scope {
            Scope::Broadcast => (receiver != sender).then_some(sender),
            Scope::Echo => (receiver == sender).then_some(0),
            // A room's senders are those with its number modulo the rooms.
            Scope::Rooms { rooms } => (receiver != sender
                && self.room_of(receiver) == self.room_of(sender))
            .then(|| sender / rooms.max(1)),
        }?;
        u32::try_from(lane).ok()
    }

    /// How many lanes `receiver`'s ledger has: the senders it hears (with its own place
    /// in a broadcast, unused).
    pub fn lanes(&self, receiver: u64) -> u64 {
        match self.scope {
            Scope::Broadcast => self.senders,
            Scope::Echo => 1,
            Scope::Rooms { rooms } => {
                let room = self.room_of(receiver);
                self.senders.saturating_sub(room).div_ceil(rooms.max(1))
            }
        }
    }

    /// Intended send time of message `k` of `sender`, for a schedule starting at `t0_ns`.
    ///
    /// Senders are staggered evenly within one period, so that they do not all fire at the
    /// same instant.
    pub fn due_ns(&self, t0_ns: u64, sender: u64, k: u64) -> u64 {
        let period = 1e9 / self.rate;
        let offset = period * sender as f64 / self.senders.max(1) as f64;
        t0_ns + (offset + period * k as f64) as u64
    }
}

/// The phases of the traffic, in CLOCK_MONOTONIC nanoseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeline {
    /// Senders start (warm-up begins).
    pub t0_ns: u64,
    /// Probes due from here on are counted.
    pub measure_start_ns: u64,
    /// Probes due from here on are not sent.
    pub measure_end_ns: u64,
    /// Clients stop reading and close.
    pub drain_end_ns: u64,
}

impl Timeline {
    /// Whether a probe due at `ns` belongs to the measured window.
    pub fn is_measured(&self, ns: u64) -> bool {
        (self.measure_start_ns..self.measure_end_ns).contains(&ns)
    }

    /// Width of a delivery-timeline bucket: 100 ms, or wider so that a window has at most
    /// 1,000 buckets.
    pub fn bucket_ns(&self) -> u64 {
        ((self.measure_end_ns - self.measure_start_ns) / 1000).max(100_000_000)
    }

    /// Length of a block of the measured window (see [`wsbench_core::result::blocks`]).
    pub fn block_ns(&self) -> u64 {
        wsbench_core::result::blocks::block_ns(
            self.measure_end_ns - self.measure_start_ns,
            self.bucket_ns(),
        )
    }

    /// The block of a probe due at `ns` in the measured window.
    pub fn block_of(&self, ns: u64) -> usize {
        ((ns.saturating_sub(self.measure_start_ns)) / self.block_ns()) as usize
    }

    /// The delivery-timeline bucket of a probe due at `ns` in the measured window.
    pub fn bucket_of(&self, ns: u64) -> usize {
        ((ns.saturating_sub(self.measure_start_ns)) / self.bucket_ns()) as usize
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan(scope: Scope, clients: u64) -> LoadPlan {
        LoadPlan {
            protocol: Protocol::Ws,
            client: ClientLibrary::Lean,
            endpoints: vec![Endpoint {
                addr: "127.0.0.1:1".parse().unwrap(),
                url: "ws://127.0.0.1:1/".into(),
            }],
            encoding: Encoding::Text,
            scope,
            clients,
            senders: 1,
            stalled: 0,
            rate: 1.0,
            payload: 64,
            payload_kind: PayloadKind::Padded,
            deflate: None,
            adapter: Default::default(),
            messages_per_sender: 1,
            ramp_interval: Duration::ZERO,
            workers: 1,
            connect_timeout: Duration::from_secs(1),
            reconnect: None,
            shard: Shard::WHOLE,
            tls: None,
            io: IoPath::Tokio,
        }
    }

    #[test]
    fn clients_spread_over_loopback_source_addresses() {
        let p = plan(Scope::Broadcast, 1000);
        let sources: std::collections::BTreeSet<_> =
            (0..1000).map(|id| p.source_ip(id).unwrap()).collect();
        assert_eq!(sources.len(), 254);
        assert!(sources.iter().all(|ip| ip.is_loopback()));
        assert_eq!(p.source_ip(0), Some("127.0.0.1".parse().unwrap()));
        let v6 = LoadPlan {
            endpoints: vec![Endpoint {
                addr: "[::1]:1".parse().unwrap(),
                url: "ws://[::1]:1/".into(),
            }],
            ..plan(Scope::Broadcast, 10)
        };
        assert_eq!(v6.source_ip(3), None);
    }

    #[test]
    fn scopes_owe_each_message_to_the_right_clients() {
        assert_eq!(plan(Scope::Broadcast, 10).recipients(3), 9);
        let slow = LoadPlan {
            stalled: 2,
            ..plan(Scope::Broadcast, 10)
        };
        assert_eq!(slow.recipients(3), 7);
        assert!(slow.is_stalled(8) && slow.is_stalled(9) && !slow.is_stalled(7));
        assert_eq!(plan(Scope::Echo, 10).recipients(3), 1);
        // 10 clients in 3 rooms: rooms 0 has 4 members (0, 3, 6, 9), rooms 1 and 2 have 3.
        let rooms = plan(Scope::Rooms { rooms: 3 }, 10);
        assert_eq!(rooms.recipients(0), 3);
        assert_eq!(rooms.recipients(1), 2);
        assert!(
            rooms.lane(9, 0).is_some() && rooms.lane(1, 0).is_none() && rooms.lane(0, 0).is_none()
        );
        let echo = plan(Scope::Echo, 10);
        assert!(echo.lane(4, 4) == Some(0) && echo.lane(4, 5).is_none());
    }

    #[test]
    fn every_sender_a_client_hears_has_a_lane_of_its_own() {
        for scope in [Scope::Broadcast, Scope::Echo, Scope::Rooms { rooms: 3 }] {
            let p = LoadPlan {
                senders: 7,
                ..plan(scope, 10)
            };
            for receiver in 0..10 {
                let lanes: Vec<u32> = (0..p.senders).filter_map(|s| p.lane(receiver, s)).collect();
                let mut distinct = lanes.clone();
                distinct.sort_unstable();
                distinct.dedup();
                assert_eq!(distinct, lanes, "{scope:?} {receiver}: one lane a sender");
                assert!(
                    lanes.iter().all(|&l| u64::from(l) < p.lanes(receiver)),
                    "{scope:?} {receiver}: {lanes:?} within {}",
                    p.lanes(receiver)
                );
            }
        }
        // Room 1 of 3 hears senders 1 and 4 (of 0..7) on lanes 0 and 1.
        let rooms = LoadPlan {
            senders: 7,
            ..plan(Scope::Rooms { rooms: 3 }, 10)
        };
        assert_eq!((rooms.lane(7, 1), rooms.lane(7, 4)), (Some(0), Some(1)));
        assert_eq!(rooms.lanes(7), 2);
        assert_eq!(rooms.lanes(6), 3, "room 0 hears 0, 3 and 6");
    }
}
