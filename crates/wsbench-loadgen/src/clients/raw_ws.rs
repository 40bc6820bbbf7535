//! Raw WebSocket: every message is the probe itself, and the path picks the job (`/`,
//! `/echo`, `/room/NAME`), as the built-in raw server routes.

use bytes::Bytes;
use tokio_tungstenite::tungstenite::{Message, Utf8Bytes};
use wsbench_core::scenario::Encoding;

use super::failure::ConnectFailure;
use super::wire::{Endpoint, Incoming, Role, Socket, Wire, with_path};

/// The raw WebSocket wire: no state, no handshake beyond the upgrade.
#[derive(Debug, Default)]
pub struct RawWs;

impl Wire for RawWs {
    fn url(endpoint: &Endpoint, role: Role) -> Result<String, ConnectFailure> {
        match role {
            Role::Broadcast => Ok(endpoint.url.clone()),
            Role::Echo => with_path(&endpoint.url, "/echo"),
            Role::Room(n) => with_path(&endpoint.url, &format!("/room/r{n}")),
        }
    }

    async fn handshake(_: &mut Socket, _: Role) -> Result<(), ConnectFailure> {
        Ok(())
    }

    fn encode(encoding: Encoding, _: Role, probe: &[u8], out: &mut Vec<Message>) {
        out.clear();
        let bytes = Bytes::copy_from_slice(probe);
        out.push(match encoding {
            Encoding::Text => Message::Text(Utf8Bytes::try_from(bytes).expect("probes are ASCII")),
            Encoding::Binary => Message::Binary(bytes),
        });
    }

    fn decode(&mut self, msg: Message) -> Incoming {
        match msg {
            Message::Text(t) => Incoming::Payload(t.into()),
            Message::Binary(b) => Incoming::Payload(b),
            Message::Close(_) => Incoming::Closed,
            _ => Incoming::Other,
        }
    }

    fn pong() -> Message {
        // Never asked for: WebSocket pings are answered by tungstenite itself.
        Message::Pong(Bytes::new())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raw_frames_are_the_probe() {
        let probe = b"W0000000100000000000000020000000000000003..";
        let mut out = Vec::new();
        for enc in [Encoding::Text, Encoding::Binary] {
            RawWs::encode(enc, Role::Broadcast, probe, &mut out);
            assert_eq!(
                RawWs.decode(out.remove(0)),
                Incoming::Payload(Bytes::from_static(probe))
            );
        }
    }
}
