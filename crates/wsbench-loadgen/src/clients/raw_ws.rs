//! Raw WebSocket: every message is the probe itself, or the adapter's template around it;
//! the path picks the job (`/`, `/echo`, `/room/NAME` as the built-in raw server routes,
//! or the adapter's paths), and receivers find the probe wherever the server put it.

use std::sync::Arc;

use bytes::{BufMut, Bytes, BytesMut};
use futures_util::SinkExt;
use tokio_tungstenite::tungstenite::{Message, Utf8Bytes};
use wsbench_core::adapter::{Adapter, fill};
use wsbench_core::scenario::Encoding;

use super::failure::ConnectFailure;
use super::wire::{Decoded, Endpoint, Role, Socket, Wire, with_path};

/// The raw WebSocket wire: no state beyond the system's adapter.
#[derive(Debug)]
pub struct RawWs {
    adapter: Arc<Adapter>,
}

impl Wire for RawWs {
    fn new(adapter: &Arc<Adapter>) -> Self {
        RawWs {
            adapter: adapter.clone(),
        }
    }

    fn url(&self, endpoint: &Endpoint, role: Role) -> Result<String, ConnectFailure> {
        let a = &self.adapter;
        match role {
            Role::Broadcast => Ok(endpoint.url.clone()),
            Role::Echo => with_path(&endpoint.url, a.echo_path.as_deref().unwrap_or("/echo")),
            Role::Room(n) => {
                let path = a.room_path.as_deref().unwrap_or("/room/{room}");
                with_path(&endpoint.url, &fill(path, 0, n))
            }
        }
    }

    async fn handshake(&self, ws: &mut Socket, role: Role, id: u64) -> Result<(), ConnectFailure> {
        for text in &self.adapter.on_connect {
            ws.send(Message::text(fill(text, id, role.room())))
                .await
                .map_err(|e| ConnectFailure::from_ws(&e))?;
        }
        Ok(())
    }

    fn encode(&self, encoding: Encoding, _: Role, probe: &[u8], out: &mut Vec<Message>) {
        out.clear();
        let (before, after) = self.adapter.template_parts();
        let bytes = if before.is_empty() && after.is_empty() {
            Bytes::copy_from_slice(probe)
        } else {
            let mut b = BytesMut::with_capacity(before.len() + probe.len() + after.len());
            b.put_slice(before.as_bytes());
            b.put_slice(probe);
            b.put_slice(after.as_bytes());
            b.freeze()
        };
        out.push(match encoding {
            Encoding::Text => {
                Message::Text(Utf8Bytes::try_from(bytes).expect("templates and probes are UTF-8"))
            }
            Encoding::Binary => Message::Binary(bytes),
        });
    }

    fn decode_data(&mut self, _: bool, _: &[u8]) -> Decoded {
        Decoded::Payload(0)
    }

    fn pong(&self) -> Message {
        // Never asked for: WebSocket pings are answered by tungstenite itself.
        Message::Pong(Bytes::new())
    }

    fn adapter(&self) -> &Adapter {
        &self.adapter
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clients::Incoming;

    #[test]
    fn raw_frames_are_the_probe() {
        let probe = b"W0000000100000000000000020000000000000003..";
        let mut out = Vec::new();
        let mut wire = RawWs::new(&Arc::default());
        for enc in [Encoding::Text, Encoding::Binary] {
            wire.encode(enc, Role::Broadcast, probe, &mut out);
            assert_eq!(
                wire.decode(out.remove(0)),
                Incoming::Payload(Bytes::from_static(probe))
            );
        }
    }

    #[test]
    fn a_template_wraps_the_probe() {
        let adapter = Arc::new(Adapter {
            template: Some(r#"{"type":"chat","text":"{probe}"}"#.to_owned()),
            room_path: Some("/chat/{room}".to_owned()),
            ..Adapter::default()
        });
        let wire = RawWs::new(&adapter);
        let mut out = Vec::new();
        wire.encode(Encoding::Text, Role::Broadcast, b"W12", &mut out);
        assert_eq!(out[0].to_text().unwrap(), r#"{"type":"chat","text":"W12"}"#);
        let endpoint = Endpoint {
            addr: "127.0.0.1:1".parse().unwrap(),
            url: "ws://127.0.0.1:1/".to_owned(),
        };
        assert_eq!(
            wire.url(&endpoint, Role::Room(3)).unwrap(),
            "ws://127.0.0.1:1/chat/r3"
        );
    }
}
