//! Accepting clients, and the handle that stops the server and reads its counters.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use wsbench_core::bounds::{self, QueueBytes};
use wsbench_core::counting::CountingStream;
use wsbench_core::handicap::Handicap;
use wsbench_core::io_path::{SendChoice, SendPath};
use wsbench_core::{CountersSnapshot, OverflowPolicy, ServerCounters, net};

use crate::broadcast::Sending;
use crate::connection;
use crate::group::Groups;
use crate::relay::{Connected, Relay};

/// How the raw-WebSocket server behaves; the defaults are the ones `wsbench serve ws` uses.
#[derive(Debug, Clone)]
pub struct WsServerConfig {
    /// Text sent to every client right after its handshake, as in the seed's example.
    /// Off by default: it would reach echo conformance suites and load generators alike.
    pub welcome: Option<String>,
    /// Largest message a client may send; a larger one closes its connection with 1009.
    pub max_message_size: usize,
    /// Messages that may wait in one client's outgoing queue.
    pub queue_capacity: usize,
    /// Bytes that may wait for one client and over the whole server.
    pub queue_bytes: QueueBytes,
    /// How often a connection is pinged, if at all: one that sent nothing (no pong either)
    /// for a whole interval after a ping is closed, so a dead peer is found.
    pub ping_interval: Option<Duration>,
    /// What happens when a client's queue is full.
    pub overflow: OverflowPolicy,
    /// How long a new connection has to complete its WebSocket handshake before it is
    /// closed (a slowloris holds a descriptor and memory until then).
    pub handshake_timeout: Duration,
    /// A test aid that makes the server worse on purpose (CPU burnt and bytes padded per
    /// delivery); none by default.
    pub handicap: Handicap,
    /// Serve TLS (`wss://`) with this configuration; plain without one. The TLS handshake
    /// must end within `handshake_timeout` too.
    pub tls: Option<Arc<tokio_rustls::rustls::ServerConfig>>,
    /// How a large broadcast is written: one `send` per recipient, or its shares submitted
    /// together on io_uring (plain TCP only; docs/method.md, "The floors").
    pub io: SendChoice,
}

impl Default for WsServerConfig {
    fn default() -> Self {
        Self {
            welcome: None,
            max_message_size: 64 * 1024,
            queue_capacity: 1024,
            queue_bytes: QueueBytes::default(),
            ping_interval: None,
            overflow: OverflowPolicy::Drop,
            handshake_timeout: Duration::from_secs(10),
            handicap: Handicap::default(),
            tls: None,
            io: SendChoice::default(),
        }
    }
}

/// State every connection of one server shares.
pub(crate) struct Shared {
    pub(crate) config: WsServerConfig,
    pub(crate) counters: Arc<ServerCounters>,
    /// How deliveries are made and counted (policy, counters, handicap).
    pub(crate) sending: Sending,
    pub(crate) groups: Groups,
    /// Bytes waiting to be written, over every connection.
    pub(crate) waiting: Arc<bounds::Waiting>,
    pub(crate) next_id: AtomicU64,
    pub(crate) shutdown: CancellationToken,
    /// Broadcasts to and from other nodes, when clustered.
    pub(crate) relay: Option<Relay>,
    /// TLS handshakes, when it serves TLS.
    pub(crate) tls: Option<tokio_rustls::TlsAcceptor>,
}

impl Shared {
    pub(crate) fn new_id(&self) -> u64 {
        self.next_id.fetch_add(1, Ordering::Relaxed)
    }
}

/// The raw-WebSocket server under test.
pub struct WsServer;

impl WsServer {
    /// Serves `listener` (bound by the caller, see [`net::bind_listener`]) on the current
    /// tokio runtime until the returned handle shuts it down.
    pub fn start(listener: TcpListener, config: WsServerConfig) -> std::io::Result<WsServerHandle> {
        Self::start_inner(listener, config, None)
    }

    /// [`Self::start`] as one node of a cluster: broadcasts are relayed to and from the
    /// other nodes through the Redis server at `redis_url` (pub/sub, a channel per room).
    /// Returns once subscribed, so no broadcast published after it is missed.
    pub async fn start_clustered(
        listener: TcpListener,
        config: WsServerConfig,
        redis_url: &str,
    ) -> std::io::Result<WsServerHandle> {
        let relay = Relay::connect(redis_url)
            .await
            .map_err(|e| std::io::Error::other(format!("cannot use redis at {redis_url}: {e}")))?;
        Self::start_inner(listener, config, Some(relay))
    }

    fn start_inner(
        listener: TcpListener,
        config: WsServerConfig,
        relay: Option<Connected>,
    ) -> std::io::Result<WsServerHandle> {
        let local_addr = listener.local_addr()?;
        let (relay, pumps) = match relay.map(Connected::split) {
            Some((relay, pumps)) => (Some(relay), Some(pumps)),
            None => (None, None),
        };
        let counters = Arc::<ServerCounters>::default();
        let send_path = send_path(&config);
        let sending = Sending {
            policy: config.overflow,
            counters: counters.clone(),
            handicap: config.handicap,
            uring: send_path.0.is_uring(),
        };
        let tls = config.tls.clone().map(tokio_rustls::TlsAcceptor::from);
        let shared = Arc::new(Shared {
            tls,
            config,
            counters,
            sending,
            groups: Groups::default(),
            waiting: Arc::default(),
            next_id: AtomicU64::new(1),
            shutdown: CancellationToken::new(),
            relay,
        });
        let tracker = TaskTracker::new();
        if let Some(pumps) = pumps {
            pumps.spawn(shared.clone(), &tracker);
        }
        tracker.spawn(accept_loop(listener, shared.clone(), tracker.clone()));
        Ok(WsServerHandle {
            local_addr,
            shared,
            tracker,
            send_path,
        })
    }
}

/// The path `config` asks for, where this server can take it; why not where it cannot.
fn send_path(config: &WsServerConfig) -> (SendPath, Option<String>) {
    let uring = match config.io {
        SendChoice::Epoll => return (SendPath::Epoll, None),
        SendChoice::Uring => true,
        // What measured cheaper here (docs/cost-breakdown.md).
        SendChoice::Auto => AUTO_IS_URING,
    };
    if !uring {
        (SendPath::Epoll, None)
    } else if config.tls.is_some() {
        // Asked for by name, it is said why not; `auto` means io_uring where it applies.
        let why = (config.io == SendChoice::Uring).then_some("TLS: rustls writes the records");
        (SendPath::Epoll, why.map(str::to_owned))
    } else {
        match crate::uring::available() {
            Ok(()) => (SendPath::Uring, None),
            Err(why) => (SendPath::Epoll, Some(why)),
        }
    }
}

/// Whether `--io auto` writes through io_uring: yes, it cost the server 16% less CPU per
/// delivery than one `send` per recipient in fanout, with lower latency, in every one of
/// four alternating rounds (docs/cost-breakdown.md, "The ws server at its floor").
const AUTO_IS_URING: bool = true;

async fn accept_loop(listener: TcpListener, shared: Arc<Shared>, tracker: TaskTracker) {
    loop {
        let accepted = tokio::select! {
            _ = shared.shutdown.cancelled() => break,
            accepted = listener.accept() => accepted,
        };
        match accepted {
            Ok((stream, peer)) => {
                if let Err(err) = net::tune_stream(&stream) {
                    tracing::debug!(%peer, %err, "cannot set TCP_NODELAY");
                }
                let stream = CountingStream::new(stream, shared.counters.clone());
                tracker.spawn(connection::serve(stream, shared.clone()));
            }
            Err(err) => {
                // Out of descriptors or a connection reset before accept: keep serving the
                // others, but do not spin on a persistent error.
                tracing::warn!(%err, "accept failed");
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        }
    }
}

/// A running raw-WebSocket server.
pub struct WsServerHandle {
    local_addr: SocketAddr,
    shared: Arc<Shared>,
    tracker: TaskTracker,
    send_path: (SendPath, Option<String>),
}

impl WsServerHandle {
    /// The address clients connect to.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// How it writes large broadcasts, and why not the way asked for where it does not.
    pub fn send_path(&self) -> (SendPath, Option<String>) {
        self.send_path.clone()
    }

    /// The server's counters right now.
    pub fn counters(&self) -> CountersSnapshot {
        self.shared.counters.snapshot()
    }

    /// Stops accepting, sends every client a 1001 close, and waits up to `grace` for the
    /// connections to end. Returns whether all of them ended in time.
    pub async fn shutdown(self, grace: Duration) -> bool {
        self.shared.shutdown.cancel();
        self.shared.groups.all.stop_all(crate::outbox::SHUT_DOWN);
        self.tracker.close();
        tokio::time::timeout(grace, self.tracker.wait())
            .await
            .is_ok()
    }
}
