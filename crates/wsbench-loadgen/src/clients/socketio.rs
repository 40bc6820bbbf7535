//! Socket.IO v5 over engine.io v4's websocket transport, spoken by wsbench's lean client:
//! the engine.io open packet, the namespace CONNECT, `join` with an ack for rooms, events
//! as `42["broadcast","<probe>"]` (binary: a placeholder packet and an attachment frame),
//! `echo` with an ack for round trips, and engine.io pings answered.

use bytes::Bytes;
use futures_util::{SinkExt, StreamExt};
use tokio_tungstenite::tungstenite::Message;
use wsbench_core::scenario::Encoding;

use super::failure::ConnectFailure;
use super::wire::{Endpoint, Incoming, Role, Socket, Wire};

/// The event name probes travel under.
pub const SIO_EVENT: &str = "broadcast";

/// The lean Socket.IO wire; its state is an attachment announced by the last packet.
#[derive(Debug, Default)]
pub struct SocketIoWs {
    attachment_pending: bool,
}

impl Wire for SocketIoWs {
    fn url(endpoint: &Endpoint, _: Role) -> Result<String, ConnectFailure> {
        Ok(endpoint.url.clone())
    }

    async fn handshake(ws: &mut Socket, role: Role) -> Result<(), ConnectFailure> {
        // engine.io's open packet, then the namespace CONNECT and its answer.
        if !next_text(ws).await?.starts_with('0') {
            return Err(ConnectFailure::Protocol);
        }
        send_text(ws, "40".to_owned()).await?;
        loop {
            let text = next_text(ws).await?;
            if text.starts_with("40") {
                break;
            } else if text.starts_with("44") {
                return Err(ConnectFailure::Protocol);
            }
        }
        if let Role::Room(n) = role {
            // Joins room `r<n>` and waits for the join's ack.
            send_text(ws, format!("420[\"join\",\"r{n}\"]")).await?;
            while !next_text(ws).await?.starts_with("430") {}
        }
        Ok(())
    }

    fn encode(encoding: Encoding, role: Role, probe: &[u8], out: &mut Vec<Message>) {
        out.clear();
        let text = || std::str::from_utf8(probe).expect("probes are ASCII");
        // The echo event asks for an ack (id 0): the answer is `43`/`46` with the probe.
        let (event, ack) = match role {
            Role::Echo => ("echo", "0"),
            _ => (SIO_EVENT, ""),
        };
        match encoding {
            Encoding::Text => {
                let mut frame = String::with_capacity(probe.len() + 20);
                frame.push_str("42");
                frame.push_str(ack);
                frame.push_str("[\"");
                frame.push_str(event);
                frame.push_str("\",\"");
                frame.push_str(text());
                frame.push_str("\"]");
                out.push(Message::text(frame));
            }
            Encoding::Binary => {
                out.push(Message::text(format!(
                    "451-{ack}[\"{event}\",{{\"_placeholder\":true,\"num\":0}}]"
                )));
                out.push(Message::Binary(Bytes::copy_from_slice(probe)));
            }
        }
    }

    fn decode(&mut self, msg: Message) -> Incoming {
        match msg {
            Message::Close(_) => Incoming::Closed,
            Message::Binary(b) if std::mem::take(&mut self.attachment_pending) => {
                Incoming::Payload(b)
            }
            Message::Text(t) => self.decode_text(t.into()),
            _ => Incoming::Other,
        }
    }

    fn pong() -> Message {
        Message::text("3")
    }
}

impl SocketIoWs {
    fn decode_text(&mut self, t: Bytes) -> Incoming {
        let at = |i: usize| Incoming::Payload(t.slice(i..));
        match &t[..] {
            b"2" => Incoming::Ping,
            [b'1', ..] | [b'4', b'1', ..] => Incoming::Closed,
            // 42["event","<probe>"...]: the probe starts after the event name's closing quote.
            [b'4', b'2', b'[', b'"', rest @ ..] => {
                match rest.windows(3).position(|w| w == b"\",\"") {
                    Some(i) => at(4 + i + 3),
                    None => Incoming::Other,
                }
            }
            // 43<id>["<probe>"...]: an ack (the echo's answer).
            [b'4', b'3', rest @ ..] => match rest.windows(2).position(|w| w == b"[\"") {
                Some(i) => at(2 + i + 2),
                None => Incoming::Other,
            },
            // 45<n>-[...] or 46<n>-<id>[...]: a binary event or ack, its attachment next.
            [b'4', b'5' | b'6', ..] => {
                self.attachment_pending = true;
                Incoming::Other
            }
            _ => Incoming::Other,
        }
    }
}

/// The next text message during a handshake, answering engine.io pings on the way.
async fn next_text(ws: &mut Socket) -> Result<String, ConnectFailure> {
    loop {
        match ws.next().await {
            Some(Ok(Message::Text(text))) if text.as_str() == "2" => {
                send_text(ws, "3".to_owned()).await?;
            }
            Some(Ok(Message::Text(text))) => return Ok(text.as_str().to_owned()),
            Some(Ok(_)) => {}
            Some(Err(e)) => return Err(ConnectFailure::from_ws(&e)),
            None => return Err(ConnectFailure::Reset),
        }
    }
}

async fn send_text(ws: &mut Socket, text: String) -> Result<(), ConnectFailure> {
    ws.send(Message::text(text))
        .await
        .map_err(|e| ConnectFailure::from_ws(&e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn socketio_frames_carry_the_probe_bytes_unchanged() {
        let probe = wsbench_core::probe::Probe {
            sender: 3,
            seq: 9,
            intended_ns: 77,
        }
        .encode(64);
        let mut out = Vec::new();
        let mut d = SocketIoWs::default();

        SocketIoWs::encode(Encoding::Text, Role::Broadcast, &probe, &mut out);
        assert_eq!(out.len(), 1);
        let Incoming::Payload(got) = d.decode(out.remove(0)) else {
            panic!("not a payload");
        };
        assert_eq!(&got[..probe.len()], &probe[..]);

        SocketIoWs::encode(Encoding::Binary, Role::Broadcast, &probe, &mut out);
        assert_eq!(out.len(), 2);
        assert_eq!(d.decode(out.remove(0)), Incoming::Other);
        assert_eq!(
            d.decode(out.remove(0)),
            Incoming::Payload(Bytes::from(probe.clone()))
        );

        assert_eq!(d.decode(Message::text("2")), Incoming::Ping);
        assert_eq!(d.decode(Message::text("41")), Incoming::Closed);
    }

    #[test]
    fn an_echo_asks_for_an_ack_and_its_answer_holds_the_probe() {
        let probe = b"W0000000100000000000000020000000000000003..";
        let mut out = Vec::new();
        SocketIoWs::encode(Encoding::Text, Role::Echo, probe, &mut out);
        assert_eq!(
            out[0].to_text().unwrap(),
            format!("420[\"echo\",\"{}\"]", std::str::from_utf8(probe).unwrap())
        );
        let answer = Message::text(format!("430[\"{}\"]", std::str::from_utf8(probe).unwrap()));
        let Incoming::Payload(got) = SocketIoWs::default().decode(answer) else {
            panic!("not a payload");
        };
        assert!(got.starts_with(probe));
    }
}
