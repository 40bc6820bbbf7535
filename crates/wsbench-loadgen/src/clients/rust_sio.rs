//! Clients on rust_socketio 0.6 (async): long-polling, and the "library a Rust user would
//! pick" comparison for the websocket transport.
//!
//! Its callbacks must be `Send + Sync`, so each client's callbacks forward what they
//! receive over a channel that [`Connection::next`] reads.

use std::sync::OnceLock;
use std::time::Duration;

use bytes::Bytes;
use futures_util::FutureExt;
use rust_socketio::asynchronous::{Client, ClientBuilder};
use rust_socketio::{Event, Payload, TransportType};
use tokio::sync::mpsc;
use wsbench_core::adapter::{Adapter, EngineMode};
use wsbench_core::scenario::Encoding;
use wsbench_core::system::Protocol;

use super::Connection;
use super::failure::ConnectFailure;
use super::wire::Incoming;
use crate::worker::WorkerCtx;

/// What a client's callbacks forward: a payload, or `None` when it closed.
type Inbox = mpsc::UnboundedReceiver<Option<Bytes>>;

/// One rust_socketio client.
pub(crate) struct RustSio {
    client: Client,
    inbox: Inbox,
    encoding: Encoding,
    adapter: std::sync::Arc<Adapter>,
}

impl Connection for RustSio {
    async fn connect(ctx: &WorkerCtx, id: u64) -> Result<Self, ConnectFailure> {
        let plan = &ctx.plan;
        let (tx, inbox) = mpsc::unbounded_channel();
        let (open_tx, mut open_rx) = mpsc::unbounded_channel();
        let close_tx = tx.clone();
        let adapter = plan.adapter.clone();
        let transport = match adapter.engine_mode() {
            Some(EngineMode::Polling) => TransportType::Polling,
            Some(EngineMode::PollingThenUpgrade) => TransportType::WebsocketUpgrade,
            Some(EngineMode::Websocket) => TransportType::Websocket,
            None if plan.protocol == Protocol::SocketioPolling => TransportType::Polling,
            // Websocket from the start, not polling first and then an upgrade.
            None => TransportType::Websocket,
        };
        let mut url = url::Url::parse(&format!("http://{}/", plan.endpoint_of(id).addr))
            .map_err(|_| ConnectFailure::Handshake)?;
        url.set_path(adapter.engine_path());
        if !adapter.query.is_empty() {
            url.query_pairs_mut().extend_pairs(&adapter.query);
        }
        let mut builder = ClientBuilder::new(url.to_string())
            .tls_config(shared_tls()?)
            .transport_type(transport)
            .namespace(adapter.namespace())
            .reconnect(false)
            .on(adapter.receive_event(), move |payload, _| {
                if let Some(bytes) = bytes_of(payload) {
                    let _ = tx.send(Some(bytes));
                }
                async {}.boxed()
            })
            .on(Event::Connect, move |_, _| {
                let _ = open_tx.send(());
                async {}.boxed()
            })
            .on(Event::Close, move |_, _| {
                let _ = close_tx.send(None);
                async {}.boxed()
            });
        for (name, value) in adapter.header_pairs(id, plan.room_of(id)) {
            builder = builder.opening_header(name, value.as_str());
        }
        if let Some(auth) = &adapter.auth {
            let auth: serde_json::Value =
                serde_json::from_str(auth).map_err(|_| ConnectFailure::Protocol)?;
            builder = builder.auth(auth);
        }
        let connecting = async {
            let client = builder.connect().await.map_err(|e| {
                if e.to_string().to_lowercase().contains("refused") {
                    ConnectFailure::Refused
                } else {
                    ConnectFailure::Handshake
                }
            })?;
            // connect() returns before the server's CONNECT packet: wait for the open event.
            open_rx.recv().await.ok_or(ConnectFailure::Protocol)?;
            Ok(client)
        };
        let client = tokio::time::timeout(plan.connect_timeout, connecting)
            .await
            .unwrap_or(Err(ConnectFailure::Timeout))?;
        Ok(RustSio {
            client,
            inbox,
            encoding: plan.encoding,
            adapter,
        })
    }

    async fn next(&mut self) -> Incoming {
        match self.inbox.recv().await {
            Some(Some(bytes)) => Incoming::Payload(bytes),
            _ => Incoming::Closed,
        }
    }

    async fn pong(&mut self) -> Result<(), ()> {
        // rust_socketio answers engine.io pings itself.
        Ok(())
    }

    async fn send(&mut self, probe: &[u8]) -> Result<(), ()> {
        let payload = match self.encoding {
            Encoding::Text => Payload::Text(vec![serde_json::Value::String(
                String::from_utf8(probe.to_vec()).expect("probes are ASCII"),
            )]),
            Encoding::Binary => Payload::Binary(Bytes::copy_from_slice(probe)),
        };
        let event = self.adapter.event();
        self.client.emit(event, payload).await.map_err(drop)
    }

    async fn close(self) {
        let _ = tokio::time::timeout(Duration::from_secs(1), self.client.disconnect()).await;
    }
}

/// One TLS configuration for every client of the process. Without it rust_socketio builds
/// one per connection and reqwest another per long-polling transport, each loading the
/// system's CA certificates into OpenSSL: tens of milliseconds of CPU per client, in which
/// the worker's other clients stood still, so that most of 100 long-polling clients timed
/// out while connecting (the load generator spent 99% of its time in libcrypto).
fn shared_tls() -> Result<native_tls::TlsConnector, ConnectFailure> {
    static TLS: OnceLock<Option<native_tls::TlsConnector>> = OnceLock::new();
    TLS.get_or_init(|| native_tls::TlsConnector::new().ok())
        .clone()
        .ok_or(ConnectFailure::Other)
}

/// The bytes of an event's arguments, where the probe is found (a string argument as
/// is; anything else, e.g. a server's envelope object, as its JSON text).
fn bytes_of(payload: Payload) -> Option<Bytes> {
    match payload {
        Payload::Binary(b) => Some(b),
        Payload::Text(values) => match values.into_iter().next() {
            Some(serde_json::Value::String(s)) => Some(Bytes::from(s)),
            Some(other) => Some(Bytes::from(other.to_string())),
            None => None,
        },
        #[allow(deprecated)]
        Payload::String(s) => Some(Bytes::from(s)),
    }
}
