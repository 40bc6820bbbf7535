//! `ws-stock`: a raw-WebSocket server as tokio-tungstenite's own `server.rs` example writes
//! one, beside the tuned `ws` server, so that Socket.IO's overhead can be read against a
//! raw-WebSocket server a user would write too (docs/method.md, "The servers under test").
//!
//! As in the example: a task per connection, a map of peers each with an unbounded
//! channel, a broadcast that clones the message into every other peer's channel, and the
//! peer's task forwarding its channel to its socket through tungstenite's framing (a frame
//! encoded per recipient). No bound on a peer's queue, no encode-once, no direct writes:
//! those are what the tuned server adds. The jobs are the server contract's (README,
//! "Measuring your own server"): `/` relays to every other client, `/room/NAME` to every
//! other client of that room, `/echo` back to the sender. Its only additions to the example
//! are the counters `wsbench serve` reports (a few relaxed atomic adds) and a shutdown.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc::{UnboundedSender, unbounded_channel};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::handshake::server::{ErrorResponse, Request, Response};
use tokio_tungstenite::tungstenite::http::StatusCode;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use wsbench_core::{CountersSnapshot, ServerCounters};

/// What a client asked for by its path.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Route {
    /// `/`: every other client of the server.
    All,
    /// `/room/NAME`: every other client of the room.
    Room(String),
    /// `/echo`: back to the sender.
    Echo,
}

impl Route {
    fn of(path: &str) -> Option<Route> {
        match path {
            "/" => Some(Route::All),
            "/echo" => Some(Route::Echo),
            _ => path
                .strip_prefix("/room/")
                .filter(|name| !name.is_empty())
                .map(|name| Route::Room(name.to_owned())),
        }
    }
}

/// A connected client: its channel and what it asked for.
struct Peer {
    tx: UnboundedSender<Message>,
    route: Route,
}

type PeerMap = Arc<Mutex<HashMap<SocketAddr, Peer>>>;

/// The running server.
pub struct WsStockHandle {
    local_addr: SocketAddr,
    peers: PeerMap,
    counters: Arc<ServerCounters>,
    stop: CancellationToken,
    tracker: TaskTracker,
}

/// Starts accepting on `listener`, on the current tokio runtime.
pub fn start(listener: TcpListener) -> std::io::Result<WsStockHandle> {
    let local_addr = listener.local_addr()?;
    let peers = PeerMap::default();
    let counters = Arc::new(ServerCounters::default());
    let stop = CancellationToken::new();
    let tracker = TaskTracker::new();
    let (p, c, s, t) = (
        peers.clone(),
        counters.clone(),
        stop.clone(),
        tracker.clone(),
    );
    tracker.spawn(async move {
        loop {
            let accepted = tokio::select! {
                _ = s.cancelled() => break,
                a = listener.accept() => a,
            };
            if let Ok((stream, addr)) = accepted {
                t.spawn(handle_connection(p.clone(), c.clone(), stream, addr));
            }
        }
    });
    Ok(WsStockHandle {
        local_addr,
        peers,
        counters,
        stop,
        tracker,
    })
}

impl WsStockHandle {
    /// The address clients connect to.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// The server's counters right now.
    pub fn counters(&self) -> CountersSnapshot {
        self.counters.snapshot()
    }

    /// Stops accepting, asks every client to close (1001), and waits up to `grace` for the
    /// connections to end. Returns whether all of them ended in time.
    pub async fn shutdown(self, grace: Duration) -> bool {
        self.stop.cancel();
        let close = Message::Close(Some(tokio_tungstenite::tungstenite::protocol::CloseFrame {
            code: tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode::Away,
            reason: "server shutting down".into(),
        }));
        for peer in lock(&self.peers).values() {
            let _ = peer.tx.send(close.clone());
        }
        self.tracker.close();
        tokio::time::timeout(grace, self.tracker.wait())
            .await
            .is_ok()
    }
}

fn lock(peers: &PeerMap) -> std::sync::MutexGuard<'_, HashMap<SocketAddr, Peer>> {
    peers.lock().unwrap_or_else(|e| e.into_inner())
}

/// One client, as the example has it: upgrade, register, then relay what it sends while
/// forwarding what others send it, until either side ends.
#[allow(clippy::result_large_err)] // the path callback's error type is tungstenite's
async fn handle_connection(
    peers: PeerMap,
    counters: Arc<ServerCounters>,
    stream: TcpStream,
    addr: SocketAddr,
) {
    let _ = stream.set_nodelay(true);
    let mut route = None;
    let choose = |request: &Request, response: Response| match Route::of(request.uri().path()) {
        Some(r) => {
            route = Some(r);
            Ok(response)
        }
        None => Err(not_found()),
    };
    let upgrade = tokio_tungstenite::accept_hdr_async(stream, choose);
    let Ok(Ok(ws)) = tokio::time::timeout(Duration::from_secs(10), upgrade).await else {
        return;
    };
    let Some(route) = route else { return };
    counters.connection_opened();
    let (tx, mut rx) = unbounded_channel();
    lock(&peers).insert(addr, Peer { tx, route });
    let (mut outgoing, mut incoming) = ws.split();
    let relay_incoming = async {
        while let Some(Ok(msg)) = incoming.next().await {
            if msg.is_text() || msg.is_binary() {
                counters.message_received();
                relay(&peers, &counters, addr, msg);
            } else if msg.is_close() {
                break;
            }
        }
    };
    let forward_outgoing = async {
        while let Some(msg) = rx.recv().await {
            let closing = msg.is_close();
            if outgoing.send(msg).await.is_err() || closing {
                break;
            }
        }
    };
    tokio::select! {
        _ = relay_incoming => {}
        _ = forward_outgoing => {}
    }
    lock(&peers).remove(&addr);
    counters.connection_closed();
}

/// The example's broadcast: the message cloned into the channel of every recipient.
fn relay(peers: &PeerMap, counters: &ServerCounters, from: SocketAddr, msg: Message) {
    let peers = lock(peers);
    let Some(route) = peers.get(&from).map(|p| p.route.clone()) else {
        return;
    };
    let recipients: Vec<&Peer> = match &route {
        Route::Echo => peers.get(&from).into_iter().collect(),
        _ => peers
            .iter()
            .filter(|(addr, p)| **addr != from && p.route == route)
            .map(|(_, p)| p)
            .collect(),
    };
    let mut sent = 0;
    for peer in recipients {
        if peer.tx.send(msg.clone()).is_ok() {
            sent += 1;
        }
    }
    counters.deliveries_sent(sent);
}

fn not_found() -> ErrorResponse {
    let mut response = ErrorResponse::new(Some("no such path: /, /echo or /room/NAME".into()));
    *response.status_mut() = StatusCode::NOT_FOUND;
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_the_server_contracts() {
        assert_eq!(Route::of("/"), Some(Route::All));
        assert_eq!(Route::of("/echo"), Some(Route::Echo));
        assert_eq!(Route::of("/room/r7"), Some(Route::Room("r7".to_owned())));
        assert_eq!(Route::of("/room/"), None);
        assert_eq!(Route::of("/elsewhere"), None);
    }
}
