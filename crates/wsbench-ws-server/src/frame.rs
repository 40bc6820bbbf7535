//! A server's frames, encoded once per message rather than once per recipient: frames from a
//! server are never masked (RFC 6455 §5.1), so the same bytes serve every recipient of a
//! broadcast, and each delivery is one reference-counted handle to them.

use bytes::{BufMut, Bytes, BytesMut};
use tokio_tungstenite::tungstenite::Message;

/// Text frame opcode (RFC 6455 §5.2).
const TEXT: u8 = 0x1;
/// Binary frame opcode.
const BINARY: u8 = 0x2;
/// Pong frame opcode.
const PONG: u8 = 0xA;

/// The single, final, unmasked frame that carries `payload` with `opcode`.
pub(crate) fn encode(opcode: u8, payload: &[u8]) -> Bytes {
    let len = payload.len();
    let mut frame = BytesMut::with_capacity(len + 10);
    frame.put_u8(0x80 | opcode);
    if len < 126 {
        frame.put_u8(len as u8);
    } else if let Ok(len) = u16::try_from(len) {
        frame.put_u8(126);
        frame.put_u16(len);
    } else {
        frame.put_u8(127);
        frame.put_u64(len as u64);
    }
    frame.put_slice(payload);
    frame.freeze()
}

/// The frame of a data message; `None` for what a server does not relay (pings, pongs
/// and closes, which tungstenite answers itself).
pub(crate) fn of(msg: &Message) -> Option<Bytes> {
    match msg {
        Message::Text(t) => Some(text(t)),
        Message::Binary(data) => Some(binary(data)),
        _ => None,
    }
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
}
