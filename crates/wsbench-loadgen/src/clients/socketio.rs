//! Socket.IO v5 over engine.io v4's websocket transport, spoken by wsbench's lean client:
//! the engine.io open packet, the namespace CONNECT, `join` with an ack for rooms, events
//! as `42["broadcast","<probe>"]` (binary: a placeholder packet and an attachment frame),
//! `echo` with an ack for round trips, and engine.io pings answered.

use std::sync::Arc;

use bytes::Bytes;
use futures_util::{SinkExt, StreamExt};
use tokio_tungstenite::tungstenite::Message;
use wsbench_core::adapter::Adapter;
use wsbench_core::scenario::Encoding;

use super::failure::ConnectFailure;
use super::wire::{Decoded, Endpoint, Role, Socket, Wire};

/// The lean Socket.IO wire: the system's adapter (event names, namespace, auth), and an
/// attachment announced by the last packet.
#[derive(Debug)]
pub struct SocketIoWs {
    adapter: Arc<Adapter>,
    /// `"/chat,"` for namespace `/chat`, empty for `/`: what prefixes its packets.
    nsp: String,
    attachment_pending: bool,
}

impl Wire for SocketIoWs {
    fn new(adapter: &Arc<Adapter>) -> Self {
        let nsp = match adapter.namespace() {
            "/" => String::new(),
            n => format!("{n},"),
        };
        SocketIoWs {
            adapter: adapter.clone(),
            nsp,
            attachment_pending: false,
        }
    }

    fn url(&self, endpoint: &Endpoint, _: Role) -> Result<String, ConnectFailure> {
        Ok(endpoint.url.clone())
    }

    async fn handshake(&self, ws: &mut Socket, role: Role, _: u64) -> Result<(), ConnectFailure> {
        // engine.io's open packet, then the namespace CONNECT (with auth) and its answer.
        if !next_text(ws).await?.starts_with('0') {
            return Err(ConnectFailure::Protocol);
        }
        let auth = self.adapter.auth.as_deref().unwrap_or("");
        send_text(ws, format!("40{}{auth}", self.nsp)).await?;
        let (ok, refused) = (format!("40{}", self.nsp), format!("44{}", self.nsp));
        loop {
            let text = next_text(ws).await?;
            if text.starts_with(&ok) {
                break;
            } else if text.starts_with(&refused) {
                return Err(ConnectFailure::Rejected);
            }
        }
        if let Role::Room(n) = role {
            // Joins room `r<n>` and waits for the join's ack.
            let join = self.adapter.join_event();
            send_text(ws, format!("42{}0[\"{join}\",\"r{n}\"]", self.nsp)).await?;
            let acked = format!("43{}0", self.nsp);
            while !next_text(ws).await?.starts_with(&acked) {}
        }
        Ok(())
    }

    fn encode(&self, encoding: Encoding, role: Role, probe: &[u8], out: &mut Vec<Message>) {
        out.clear();
        let text = || std::str::from_utf8(probe).expect("probes are ASCII");
        // The echo event asks for an ack (id 0): the answer is `43`/`46` with the probe.
        let (event, ack) = match role {
            Role::Echo => (self.adapter.echo_event(), "0"),
            _ => (self.adapter.event(), ""),
        };
        let nsp = &self.nsp;
        match encoding {
            Encoding::Text => {
                let mut frame = String::with_capacity(probe.len() + event.len() + nsp.len() + 12);
                frame.push_str("42");
                frame.push_str(nsp);
                frame.push_str(ack);
                frame.push_str("[\"");
                frame.push_str(event);
                // A JSON payload (`payload_kind = "json"`) is the event's object, as an
                // application emits one; any other probe is a string.
                if probe.first() == Some(&b'{') {
                    frame.push_str("\",");
                    frame.push_str(text());
                    frame.push(']');
                } else {
                    frame.push_str("\",\"");
                    frame.push_str(text());
                    frame.push_str("\"]");
                }
                out.push(Message::text(frame));
            }
            Encoding::Binary => {
                out.push(Message::text(format!(
                    "451-{nsp}{ack}[\"{event}\",{{\"_placeholder\":true,\"num\":0}}]"
                )));
                out.push(Message::Binary(Bytes::copy_from_slice(probe)));
            }
        }
    }

    fn decode_data(&mut self, text: bool, data: &[u8]) -> Decoded {
        if text {
            self.decode_text(data)
        } else if std::mem::take(&mut self.attachment_pending) {
            Decoded::Payload(0)
        } else {
            Decoded::Other
        }
    }

    fn pong(&self) -> Message {
        Message::text("3")
    }

    fn adapter(&self) -> &Adapter {
        &self.adapter
    }
}

/// A socket.io packet inside an engine.io message (`4<type>[<n>-][<nsp>,][<id>]<data>`).
struct Packet<'a> {
    kind: u8,
    nsp: &'a [u8],
    /// The JSON data, from its first byte.
    at: usize,
}

fn packet(t: &[u8]) -> Option<Packet<'_>> {
    let [b'4', kind, ..] = *t else { return None };
    let mut i = 2;
    if matches!(kind, b'5' | b'6') {
        i += t[i..].iter().position(|&b| b == b'-')? + 1;
    }
    let mut nsp: &[u8] = b"";
    if t.get(i) == Some(&b'/') {
        let end = i + t[i..].iter().position(|&b| b == b',')? + 1;
        nsp = &t[i..end];
        i = end;
    }
    while t.get(i).is_some_and(u8::is_ascii_digit) {
        i += 1;
    }
    Some(Packet { kind, nsp, at: i })
}

impl SocketIoWs {
    fn decode_text(&mut self, t: &[u8]) -> Decoded {
        match t {
            b"2" => return Decoded::Ping,
            [b'1', ..] => return Decoded::Closed,
            _ => {}
        }
        let Some(p) = packet(t) else {
            return Decoded::Other;
        };
        if p.nsp != self.nsp.as_bytes() {
            return Decoded::Other;
        }
        let data = &t[p.at..];
        // An event counts if it is the one receivers listen to; its probe is then found
        // anywhere in its arguments (a server may wrap it).
        let counted = || {
            let event = self.adapter.receive_event().as_bytes();
            data.len() > event.len() + 3
                && data.starts_with(b"[\"")
                && data[2..].starts_with(event)
                && data[2 + event.len()] == b'"'
        };
        // After the event name: `,"<probe>…` for a string argument (the probe then starts
        // the slice, found without a scan), anything else for a server's own envelope.
        let args = || {
            let from = p.at + 2 + self.adapter.receive_event().len() + 1;
            let skip = if t[from..].starts_with(b",\"") { 2 } else { 0 };
            from + skip
        };
        match p.kind {
            b'1' => Decoded::Closed,
            b'2' if counted() => Decoded::Payload(args()),
            // An ack (the echo's answer): its arguments hold the probe.
            b'3' => Decoded::Payload(p.at),
            b'5' if counted() => {
                self.attachment_pending = true;
                Decoded::Other
            }
            b'6' => {
                self.attachment_pending = true;
                Decoded::Other
            }
            _ => Decoded::Other,
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
    use crate::clients::Incoming;

    #[test]
    fn socketio_frames_carry_the_probe_bytes_unchanged() {
        let probe = wsbench_core::probe::Probe {
            sender: 3,
            seq: 9,
            intended_ns: 77,
        }
        .encode(64);
        let mut out = Vec::new();
        let mut d = SocketIoWs::new(&Arc::default());

        d.encode(Encoding::Text, Role::Broadcast, &probe, &mut out);
        assert_eq!(out.len(), 1);
        let Incoming::Payload(got) = d.decode(out.remove(0)) else {
            panic!("not a payload");
        };
        assert_eq!(
            wsbench_core::probe::Probe::find(&got),
            wsbench_core::probe::Probe::decode(&probe)
        );

        d.encode(Encoding::Binary, Role::Broadcast, &probe, &mut out);
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
    fn a_json_payload_is_the_events_object() {
        use wsbench_core::payload::PayloadKind;
        let probe = wsbench_core::probe::Probe {
            sender: 3,
            seq: 9,
            intended_ns: 77,
        };
        let mut json = Vec::new();
        PayloadKind::Json.encode_into(&probe, 300, &mut json);
        let mut out = Vec::new();
        let mut d = SocketIoWs::new(&Arc::default());
        d.encode(Encoding::Text, Role::Broadcast, &json, &mut out);
        let text = out[0].to_text().unwrap().to_owned();
        let packet: serde_json::Value = serde_json::from_str(&text[2..]).unwrap();
        assert_eq!(packet[0], "broadcast");
        assert_eq!(
            packet[1]["type"], "message",
            "an object, not a string: {text}"
        );
        let Incoming::Payload(got) = d.decode(out.remove(0)) else {
            panic!("not a payload");
        };
        assert_eq!(wsbench_core::probe::Probe::find(&got), Some(probe));
    }

    #[test]
    fn an_echo_asks_for_an_ack_and_its_answer_holds_the_probe() {
        let probe = b"W0000000100000000000000020000000000000003..";
        let mut out = Vec::new();
        let mut d = SocketIoWs::new(&Arc::default());
        d.encode(Encoding::Text, Role::Echo, probe, &mut out);
        assert_eq!(
            out[0].to_text().unwrap(),
            format!("420[\"echo\",\"{}\"]", std::str::from_utf8(probe).unwrap())
        );
        let answer = Message::text(format!("430[\"{}\"]", std::str::from_utf8(probe).unwrap()));
        let Incoming::Payload(got) = d.decode(answer) else {
            panic!("not a payload");
        };
        assert!(wsbench_core::probe::Probe::find(&got).is_some());
    }

    #[test]
    fn an_adapter_names_the_namespace_and_events() {
        let adapter = Arc::new(Adapter {
            event: Some("chat message".to_owned()),
            namespace: Some("/chat".to_owned()),
            ..Adapter::default()
        });
        let mut d = SocketIoWs::new(&adapter);
        let mut out = Vec::new();
        d.encode(Encoding::Text, Role::Broadcast, b"W1", &mut out);
        assert_eq!(
            out[0].to_text().unwrap(),
            r#"42/chat,["chat message","W1"]"#
        );
        let wrapped = Message::text(r#"42/chat,["chat message",{"from":"x","msg":"W1"}]"#);
        let Incoming::Payload(got) = d.decode(wrapped) else {
            panic!("not a payload");
        };
        assert_eq!(&got[..], br#",{"from":"x","msg":"W1"}]"#);
        let plain = Message::text(r#"42/chat,["chat message","W1"]"#);
        assert_eq!(
            d.decode(plain),
            Incoming::Payload(Bytes::from_static(b"W1\"]"))
        );
        // Another event, another namespace: not counted.
        assert_eq!(
            d.decode(Message::text(r#"42/chat,["typing","W1"]"#)),
            Incoming::Other
        );
        assert_eq!(
            d.decode(Message::text(r#"42["chat message","W1"]"#)),
            Incoming::Other
        );
        assert_eq!(d.decode(Message::text("41/chat,")), Incoming::Closed);
    }
}
