//! The socketioxide setup, the accept loop and the handle.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use socketioxide::adapter::Adapter;
use socketioxide::extract::SocketRef;
use socketioxide::handler::ConnectHandler;
use socketioxide::{SocketIo, SocketIoBuilder};
use socketioxide_core::adapter::DefinedAdapter;
use socketioxide_redis::{RedisAdapter, RedisAdapterCtr};
use tokio::net::TcpListener;
use tokio_rustls::rustls as rustls_config;
use tokio_util::either::Either;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use wsbench_core::bounds::{QueueBytes, Waiting};
use wsbench_core::counting::CountingStream;
use wsbench_core::handicap::Handicap;
use wsbench_core::{CountersSnapshot, OverflowPolicy, ServerCounters, net};

use crate::events::{self, Member};
use crate::flow::Flow;
use crate::guard::{Guard, Timed};
use crate::link::Link;
use crate::rooms::Rooms;

/// How the Socket.IO server behaves; the defaults are the ones `wsbench serve socketio` uses.
#[derive(Debug, Clone)]
pub struct SioServerConfig {
    /// Engine.io ping interval: how often the server checks that a client is alive.
    pub ping_interval: Duration,
    /// Engine.io ping timeout: how long a client has to answer a ping.
    pub ping_timeout: Duration,
    /// Largest websocket message and polling request body; larger ones are refused as
    /// engine.io does (the websocket is closed, the HTTP request gets 413).
    pub max_message_size: usize,
    /// Packets that may wait in one client's outgoing buffer (engine.io `max_buffer_size`).
    pub queue_capacity: usize,
    /// Bytes a client that does not read may have the server read from it, per connection
    /// and over the server (see `flow.rs`).
    pub queue_bytes: QueueBytes,
    /// What happens when a client's buffer is full.
    pub overflow: OverflowPolicy,
    /// How long a connection has to send its request head, an HTTP request its body, and an
    /// engine.io session its namespace CONNECT, before it is closed.
    pub handshake_timeout: Duration,
    /// A test aid that makes the server worse on purpose (CPU burnt per delivery); none by
    /// default.
    pub handicap: Handicap,
    /// Serve TLS (`https://`, `wss://`) with this configuration; plain without one. The
    /// handshake must end within `handshake_timeout`.
    pub tls: Option<Arc<rustls_config::ServerConfig>>,
}

impl Default for SioServerConfig {
    fn default() -> Self {
        Self {
            ping_interval: Duration::from_secs(25),
            ping_timeout: Duration::from_secs(20),
            max_message_size: 64 * 1024,
            queue_capacity: 1024,
            queue_bytes: QueueBytes::default(),
            overflow: OverflowPolicy::Drop,
            handshake_timeout: Duration::from_secs(10),
            handicap: Handicap::default(),
            tls: None,
        }
    }
}

/// State every socket of one server shares.
pub(crate) struct Shared {
    pub(crate) overflow: OverflowPolicy,
    /// Packets that may wait for one client (what a relay's hold is half of).
    pub(crate) queue_capacity: usize,
    pub(crate) counters: Arc<ServerCounters>,
    pub(crate) rooms: Rooms,
    /// Whether broadcasts stay on this node (the local adapter, which never waits).
    pub(crate) local: bool,
    /// The test aid's CPU burnt per delivery.
    pub(crate) handicap: Handicap,
}

/// The Socket.IO server under test.
pub struct SioServer;

impl SioServer {
    /// Serves `listener` (bound by the caller, see [`net::bind_listener`]) on the current
    /// tokio runtime until the returned handle shuts it down.
    pub fn start(
        listener: TcpListener,
        config: SioServerConfig,
    ) -> std::io::Result<SioServerHandle> {
        let shared = Self::shared(&config, true);
        let (svc, io) = configure(SocketIo::builder(), &config).build_svc();
        // The local adapter's init is immediate.
        let () = register_handlers(&io, shared.clone());
        Self::serve(listener, shared, svc, io, &config)
    }

    /// [`Self::start`] as one node of a cluster: socketioxide's Redis adapter
    /// (socketioxide-redis) carries broadcasts between the nodes sharing the Redis server at
    /// `redis_url`. Returns once the adapter is subscribed.
    pub async fn start_clustered(
        listener: TcpListener,
        config: SioServerConfig,
        redis_url: &str,
    ) -> std::io::Result<SioServerHandle> {
        let failed = |e: &dyn std::fmt::Display| {
            std::io::Error::other(format!("cannot use redis at {redis_url}: {e}"))
        };
        if config.overflow == OverflowPolicy::Disconnect {
            return Err(std::io::Error::other(
                "the disconnect policy finds full buffers socket by socket, which a clustered \
                 broadcast does not allow: use the drop policy with --redis",
            ));
        }
        let client = redis::Client::open(with_resp3(redis_url)).map_err(|e| failed(&e))?;
        let adapter = RedisAdapterCtr::new_with_redis(&client)
            .await
            .map_err(|e| failed(&e))?;
        let shared = Self::shared(&config, false);
        let (svc, io) = configure(
            SocketIo::builder().with_adapter::<RedisAdapter<_>>(adapter),
            &config,
        )
        .build_svc();
        register_handlers(&io, shared.clone())
            .await
            .map_err(|e| failed(&e))?;
        Self::serve(listener, shared, svc, io, &config)
    }

    fn shared(config: &SioServerConfig, local: bool) -> Arc<Shared> {
        Arc::new(Shared {
            overflow: config.overflow,
            queue_capacity: config.queue_capacity,
            counters: Arc::default(),
            rooms: Rooms::default(),
            local,
            handicap: config.handicap,
        })
    }

    /// The accept loop: our own, for TCP_NODELAY, the backlog and byte counting.
    fn serve<A, Svc, B>(
        listener: TcpListener,
        shared: Arc<Shared>,
        svc: Svc,
        io: SocketIo<A>,
        config: &SioServerConfig,
    ) -> std::io::Result<SioServerHandle>
    where
        A: Adapter,
        Svc: hyper::service::Service<
                hyper::Request<Timed<hyper::body::Incoming>>,
                Response = hyper::Response<B>,
            > + Clone
            + Send
            + 'static,
        Svc::Future: Send + 'static,
        Svc::Error: Into<Box<dyn std::error::Error + Send + Sync>> + Send + 'static,
        B: hyper::body::Body<Data = bytes::Bytes> + Send + 'static,
        B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    {
        let svc = Guard {
            inner: svc,
            max_body: config.max_message_size as u64,
            deadline: config.handshake_timeout,
            link: None,
        };
        let http = http_builder(config.handshake_timeout);
        let local_addr = listener.local_addr()?;
        let shutdown = CancellationToken::new();
        let tracker = TaskTracker::new();
        let stop = shutdown.clone();
        // Written in place because socketioxide does not name its inner service type.
        let conns = tracker.clone();
        let counters = shared.counters.clone();
        let (bounds, waiting) = (config.queue_bytes, Arc::new(Waiting::default()));
        let stall = config.ping_interval + config.ping_timeout;
        let tls = config.tls.clone().map(tokio_rustls::TlsAcceptor::from);
        let deadline = config.handshake_timeout;
        tracker.spawn(async move {
            while let Some((stream, peer)) = next_connection(&listener, &stop).await {
                let counted = CountingStream::new(stream, counters.clone());
                let link = Arc::new(Link::default());
                let flow = Flow::new(counted, link.clone(), bounds, waiting.clone(), stall);
                let svc = Guard {
                    link: Some(link),
                    ..svc.clone()
                };
                let (http, tls, stop) = (http.clone(), tls.clone(), stop.clone());
                conns.spawn(async move {
                    // Bytes are counted below TLS: records and handshakes are on the wire. The
                    // TLS stream is boxed, so that a plain connection does not hold its size.
                    let io = match tls {
                        None => Either::Left(flow),
                        Some(tls) => match tokio::time::timeout(deadline, tls.accept(flow)).await {
                            Ok(Ok(stream)) => Either::Right(Box::new(stream)),
                            Ok(Err(err)) => {
                                tracing::debug!(%peer, %err, "TLS handshake failed");
                                return;
                            }
                            Err(_) => return,
                        },
                    };
                    let conn = http.serve_connection(TokioIo::new(io), svc).with_upgrades();
                    let mut conn = std::pin::pin!(conn);
                    let ended = tokio::select! {
                        ended = conn.as_mut() => ended,
                        _ = stop.cancelled() => {
                            conn.as_mut().graceful_shutdown();
                            conn.await
                        }
                    };
                    if let Err(err) = ended {
                        tracing::debug!(%peer, %err, "http connection ended with an error");
                    }
                });
            }
        });
        Ok(SioServerHandle {
            local_addr,
            shared,
            close: Box::new(move || Box::pin(async move { io.close().await })),
            shutdown,
            tracker,
        })
    }
}

/// `url` asking for RESP3, which socketioxide-redis needs (without it the client refuses
/// with "Can only pass push sender to a connection using RESP3"): added where the URL
/// does not say which protocol.
fn with_resp3(url: &str) -> String {
    if url.contains("protocol=") {
        url.to_owned()
    } else if url.contains('?') {
        format!("{url}&protocol=resp3")
    } else {
        format!("{url}?protocol=resp3")
    }
}

/// The next client connection, with TCP_NODELAY set; `None` once stopped.
async fn next_connection(
    listener: &TcpListener,
    stop: &CancellationToken,
) -> Option<(tokio::net::TcpStream, SocketAddr)> {
    loop {
        let accepted = tokio::select! {
            _ = stop.cancelled() => return None,
            accepted = listener.accept() => accepted,
        };
        match accepted {
            Ok((stream, peer)) => {
                if let Err(err) = net::tune_stream(&stream) {
                    tracing::debug!(%peer, %err, "cannot set TCP_NODELAY");
                }
                return Some((stream, peer));
            }
            Err(err) => {
                // Out of descriptors, or a reset before accept: keep serving the others
                // without spinning on a persistent error.
                tracing::warn!(%err, "accept failed");
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        }
    }
}

/// HTTP/1 with a deadline: a connection must send each request head within `deadline`
/// (hyper also closes an idle keep-alive connection then, as Node's server does after 5 s).
fn http_builder(deadline: Duration) -> http1::Builder {
    let mut http = http1::Builder::new();
    http.timer(TokioTimer::new()).header_read_timeout(deadline);
    http
}

/// The builder options both adapters share.
fn configure<A: Adapter>(
    builder: SocketIoBuilder<A>,
    config: &SioServerConfig,
) -> SocketIoBuilder<A> {
    let max = config.max_message_size;
    builder
        .ping_interval(config.ping_interval)
        .ping_timeout(config.ping_timeout)
        .max_buffer_size(config.queue_capacity)
        .max_payload(max as u64)
        .ws_max_message_size(max)
        .ws_max_frame_size(max)
        .ws_read_buffer_size(net::WS_READ_BUFFER)
        .connect_timeout(config.handshake_timeout)
}

fn register_handlers<A: Adapter + DefinedAdapter>(
    io: &SocketIo<A>,
    shared: Arc<Shared>,
) -> A::InitRes {
    // socketioxide sends the namespace CONNECT packet before it runs the connect handler,
    // in a task of its own; an event the client emits right after CONNECT can be dispatched
    // before that task registered the handlers, and is then lost (seen under CPU load as
    // joins that never got their ack). Connect middlewares, though, are awaited *before*
    // CONNECT is sent: so the lobby, the counters and every event handler are set up there.
    let handler = |_: SocketRef<A>| std::future::ready(());
    let middleware = move |s: SocketRef<A>| {
        s.extensions.insert(Member::enter(&s, &shared));
        events::register(&s);
        std::future::ready(Ok::<(), Infallible>(()))
    };
    io.ns("/", handler.with(middleware))
}

/// A running Socket.IO server.
pub struct SioServerHandle {
    local_addr: SocketAddr,
    shared: Arc<Shared>,
    /// Closes every namespace the Socket.IO way (the adapter type is erased here).
    close: Box<dyn FnOnce() -> futures_util::future::BoxFuture<'static, ()> + Send>,
    shutdown: CancellationToken,
    tracker: TaskTracker,
}

impl SioServerHandle {
    /// The address clients connect to.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// The server's counters right now.
    pub fn counters(&self) -> CountersSnapshot {
        self.shared.counters.snapshot()
    }

    /// Stops accepting, disconnects every client the Socket.IO way, and waits up to `grace`
    /// for HTTP connections to end. Returns whether everything ended in time.
    pub async fn shutdown(self, grace: Duration) -> bool {
        self.shutdown.cancel();
        self.tracker.close();
        tokio::time::timeout(grace, async {
            (self.close)().await;
            self.tracker.wait().await;
        })
        .await
        .is_ok()
    }
}

#[cfg(test)]
mod tests {
    use super::with_resp3;

    #[test]
    fn a_redis_url_asks_for_resp3_unless_it_says_otherwise() {
        let plain = "redis://127.0.0.1:6379/";
        assert_eq!(with_resp3(plain), "redis://127.0.0.1:6379/?protocol=resp3");
        assert_eq!(
            with_resp3("redis://h/?db=1"),
            "redis://h/?db=1&protocol=resp3"
        );
        let given = "redis://h/?protocol=resp3";
        assert_eq!(with_resp3(given), given);
    }
}
