//! A server's frames, encoded once per message rather than once per recipient: frames from a
//! server are never masked (RFC 6455 §5.1), so the same bytes serve every recipient of a
//! broadcast, and each delivery is one reference-counted handle to them.

use bytes::{BufMut, Bytes, BytesMut};
use tokio_tungstenite::tungstenite::Message;
use wsbench_core::ws_frame::{BINARY, Head, PING, PONG, TEXT};

/// An empty ping: the keep-alive's question.
pub(crate) fn ping() -> Bytes {
    encode(PING, b"")
}

/// The single, final, unmasked frame that carries `payload` with `opcode`.
pub(crate) fn encode(opcode: u8, payload: &[u8]) -> Bytes {
    let mut frame = BytesMut::with_capacity(payload.len() + 10);
    put(&mut frame, opcode, payload);
    frame.freeze()
}

/// Appends the frame of `payload` with `opcode` to `frame`.
fn put(frame: &mut BytesMut, opcode: u8, payload: &[u8]) {
    frame.put_slice(Head::new(opcode, payload.len(), None).as_bytes());
    frame.put_slice(payload);
}

/// The frames of a client's data messages that arrived together, back to back, each after
/// `pad` (the handicap's padding) if given: one buffer, so that each recipient gets them
/// in one `send`, and a server that fell behind catches up instead of paying a send per
/// message (docs/method.md, "The servers under test"). Returns the buffer and how many
/// data frames it holds (pings, pongs and closes are not relayed).
pub(crate) fn batch(messages: &[Message], pad: Option<&[u8]>) -> (Bytes, u64) {
    let payload: usize = messages.iter().map(|m| m.len() + 10).sum();
    let padding = pad.map_or(0, |p| p.len() * messages.len());
    let mut out = BytesMut::with_capacity(payload + padding);
    let mut frames = 0;
    for msg in messages {
        let (opcode, data) = match msg {
            Message::Text(t) => (TEXT, t.as_bytes()),
            Message::Binary(b) => (BINARY, &b[..]),
            _ => continue,
        };
        if let Some(pad) = pad {
            out.put_slice(pad);
        }
        put(&mut out, opcode, data);
        frames += 1;
    }
    (out.freeze(), frames)
}

/// A text frame.
pub(crate) fn text(text: &str) -> Bytes {
    encode(TEXT, text.as_bytes())
}

/// A binary frame.
pub(crate) fn binary(data: &[u8]) -> Bytes {
    encode(BINARY, data)
}

/// An unsolicited pong of `len` zero bytes (the handicap's padding).
pub(crate) fn padding(len: usize) -> Bytes {
    encode(PONG, &vec![0; len])
}

#[cfg(test)]
mod tests {
    use tokio_tungstenite::tungstenite::protocol::frame::FrameHeader;

    use super::*;

    /// Each length class decodes, with tungstenite's own parser, to the header we meant.
    #[test]
    fn frames_of_every_length_class_parse_back() {
        for len in [0usize, 125, 126, 65_535, 65_536] {
            let payload = vec![7u8; len];
            let frame = encode(BINARY, &payload);
            let mut cursor = std::io::Cursor::new(&frame[..]);
            let (header, payload_len) = FrameHeader::parse(&mut cursor).unwrap().unwrap();
            assert!(header.is_final);
            assert!(header.mask.is_none());
            assert_eq!(payload_len, len as u64);
            assert_eq!(&frame[cursor.position() as usize..], &payload[..]);
        }
        let pong = padding(3);
        assert_eq!(&pong[..], &[0x8A, 3, 0, 0, 0]);
    }

    /// A batch is its messages' frames back to back, each after the padding; control
    /// messages are left out and not counted.
    #[test]
    fn a_batch_is_the_frames_of_its_data_messages_in_order() {
        let messages = [
            Message::text("a"),
            Message::Ping(vec![1].into()),
            Message::binary(vec![2u8; 200]),
        ];
        let (bytes, frames) = batch(&messages, None);
        assert_eq!(frames, 2);
        let mut expected = text("a").to_vec();
        expected.extend_from_slice(&binary(&[2u8; 200]));
        assert_eq!(&bytes[..], &expected[..]);
        let pad = padding(2);
        let (padded, frames) = batch(&messages[..1], Some(&pad));
        assert_eq!(frames, 1);
        assert_eq!(&padded[..], &[&pad[..], &text("a")[..]].concat()[..]);
    }
}
