//! Clients on rust_socketio 0.6 (async): long-polling, and the "library a Rust user would
//! pick" comparison for the websocket transport.
//!
//! Its callbacks must be `Send + Sync`, so each client's callbacks forward what they
//! receive over a channel that [`Connection::next`] reads.

use std::time::Duration;

use bytes::Bytes;
use futures_util::FutureExt;
use rust_socketio::asynchronous::{Client, ClientBuilder};
use rust_socketio::{Event, Payload, TransportType};
use tokio::sync::mpsc;
use wsbench_core::scenario::Encoding;
use wsbench_core::system::Protocol;

use super::Connection;
use super::failure::ConnectFailure;
use super::socketio::SIO_EVENT;
use super::wire::Incoming;
use crate::worker::WorkerCtx;

/// What a client's callbacks forward: a payload, or `None` when it closed.
type Inbox = mpsc::UnboundedReceiver<Option<Bytes>>;

/// One rust_socketio client.
pub(crate) struct RustSio {
    client: Client,
    inbox: Inbox,
    encoding: Encoding,
}

impl Connection for RustSio {
    async fn connect(ctx: &WorkerCtx, id: u64) -> Result<Self, ConnectFailure> {
        let plan = &ctx.plan;
        let (tx, inbox) = mpsc::unbounded_channel();
        let (open_tx, mut open_rx) = mpsc::unbounded_channel();
        let close_tx = tx.clone();
        let transport = if plan.protocol == Protocol::SocketioPolling {
            TransportType::Polling
        } else {
            // Websocket from the start, not polling first and then an upgrade.
            TransportType::Websocket
        };
        let builder = ClientBuilder::new(format!("http://{}/", plan.endpoint_of(id).addr))
            .transport_type(transport)
            .reconnect(false)
            .on(SIO_EVENT, move |payload, _| {
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
        self.client.emit(SIO_EVENT, payload).await.map_err(drop)
    }

    async fn close(self) {
        let _ = tokio::time::timeout(Duration::from_secs(1), self.client.disconnect()).await;
    }
}

/// The probe bytes of an event's first argument.
fn bytes_of(payload: Payload) -> Option<Bytes> {
    match payload {
        Payload::Binary(b) => Some(b),
        Payload::Text(values) => match values.into_iter().next() {
            Some(serde_json::Value::String(s)) => Some(Bytes::from(s)),
            _ => None,
        },
        #[allow(deprecated)]
        Payload::String(s) => Some(Bytes::from(s)),
    }
}
