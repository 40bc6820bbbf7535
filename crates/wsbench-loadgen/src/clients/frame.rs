//! WebSocket frames (RFC 6455 §5.2) as a client reads and writes them without tungstenite:
//! the header of a frame the server sent, one unmasked frame (what the inflating layer
//! hands tungstenite), one masked frame (what a client must send), and the assembly of a
//! connection's bytes into whole messages where they lie (the batched receiver's,
//! `crate::receiver`).

pub(crate) use wsbench_core::ws_frame::{BINARY, CLOSE, CONTINUATION, PING, PONG, TEXT};
use wsbench_core::ws_frame::{Head, mask};

/// A frame's header as the server sent it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Header {
    /// FIN, RSV1-3 and the opcode.
    pub first: u8,
    /// Payload bytes.
    pub len: usize,
    /// Where the payload starts (the header's length, a masking key included).
    pub at: usize,
    /// Whether a masking key was there (a server's frames must have none).
    pub masked: bool,
}

impl Header {
    pub fn fin(&self) -> bool {
        self.first & 0x80 != 0
    }

    pub fn opcode(&self) -> u8 {
        self.first & 0x0f
    }

    /// The frame's length, header and payload.
    pub fn end(&self) -> usize {
        self.at + self.len
    }
}

/// The header at the start of `b`, if all of it is there.
pub(crate) fn header(b: &[u8]) -> Option<Header> {
    let (first, second) = (*b.first()?, *b.get(1)?);
    let mask = if second & 0x80 != 0 { 4 } else { 0 };
    let (len, at) = match second & 0x7f {
        126 => (usize::from(u16::from_be_bytes([*b.get(2)?, *b.get(3)?])), 4),
        127 => {
            let bytes: [u8; 8] = b.get(2..10)?.try_into().ok()?;
            (usize::try_from(u64::from_be_bytes(bytes)).ok()?, 10)
        }
        n => (usize::from(n), 2),
    };
    (b.len() >= at + mask).then_some(Header {
        first,
        len,
        at: at + mask,
        masked: mask != 0,
    })
}

/// One final, unmasked frame of `opcode` carrying `data`.
pub(crate) fn frame_into(opcode: u8, data: &[u8], out: &mut Vec<u8>) {
    out.extend_from_slice(Head::new(opcode, data.len(), None).as_bytes());
    out.extend_from_slice(data);
}

/// One final frame of `opcode` carrying `data`, masked with `key` as a client's must be
/// (§5.3).
pub(crate) fn masked_frame_into(opcode: u8, data: &[u8], key: [u8; 4], out: &mut Vec<u8>) {
    out.extend_from_slice(Head::new(opcode, data.len(), Some(key)).as_bytes());
    out.extend(mask(data, key));
}

/// What a connection's bytes held, a message or a control frame at a time.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Frame<'a> {
    /// A whole data message (its fragments joined).
    Data { text: bool, data: &'a [u8] },
    /// A ping, to be answered with a pong carrying its data.
    Ping(&'a [u8]),
    /// The server's close, or bytes that break the protocol: the connection is over.
    Close,
}

/// The bytes of one connection between reads: a frame cut by the end of a read waits in
/// `carry` for the rest; a fragmented message's parts wait in `message`.
#[derive(Debug, Default)]
pub(crate) struct Assembly {
    carry: Vec<u8>,
    message: Vec<u8>,
    /// The kind of the fragmented message being received (`Some(text)`).
    fragmented: Option<bool>,
    /// A close was handed on: nothing after it counts.
    closed: bool,
}

impl Assembly {
    /// Takes `bytes` read off the connection and hands every whole message and control
    /// frame in them to `each`, in order; frames are read where they lie (in `bytes`,
    /// unless a frame began in an earlier read). Stops after a [`Frame::Close`].
    pub fn feed(&mut self, bytes: &[u8], each: &mut impl FnMut(Frame<'_>)) {
        if self.closed {
            return;
        }
        let used = if self.carry.is_empty() {
            let used = frames(bytes, &mut self.message, &mut self.fragmented, each);
            if let Some(used) = used {
                self.carry.extend_from_slice(&bytes[used..]);
            }
            used
        } else {
            self.carry.extend_from_slice(bytes);
            let used = frames(&self.carry, &mut self.message, &mut self.fragmented, each);
            if let Some(used) = used {
                self.carry.drain(..used);
            }
            used
        };
        if used.is_none() {
            self.closed = true;
            self.carry = Vec::new();
        }
    }
}

/// Hands the whole frames at the start of `b` to `each`; returns the bytes they took
/// (`None`: the connection is over).
fn frames(
    b: &[u8],
    message: &mut Vec<u8>,
    fragmented: &mut Option<bool>,
    each: &mut impl FnMut(Frame<'_>),
) -> Option<usize> {
    let mut at = 0;
    while let Some(h) = header(&b[at..]) {
        if b.len() - at < h.end() {
            break;
        }
        let data = &b[at + h.at..at + h.end()];
        at += h.end();
        // A server's frame must be unmasked and carry no extension bits (none offered).
        if h.masked || h.first & 0x70 != 0 {
            each(Frame::Close);
            return None;
        }
        match (h.opcode(), *fragmented) {
            (TEXT | BINARY, None) if h.fin() => each(Frame::Data {
                text: h.opcode() == TEXT,
                data,
            }),
            (TEXT | BINARY, None) => {
                *fragmented = Some(h.opcode() == TEXT);
                message.clear();
                message.extend_from_slice(data);
            }
            (CONTINUATION, Some(text)) => {
                message.extend_from_slice(data);
                if h.fin() {
                    *fragmented = None;
                    each(Frame::Data {
                        text,
                        data: message,
                    });
                }
            }
            (PING, _) => each(Frame::Ping(data)),
            (PONG, _) => {}
            _ => {
                // A close, or a frame out of place (a continuation with nothing to
                // continue, a message inside a message, an unknown opcode).
                each(Frame::Close);
                return None;
            }
        }
    }
    Some(at)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn owned(f: Frame<'_>) -> (u8, Vec<u8>) {
        match f {
            Frame::Data { text, data } => (u8::from(text), data.to_vec()),
            Frame::Ping(d) => (PING, d.to_vec()),
            Frame::Close => (CLOSE, Vec::new()),
        }
    }

    /// What `bytes` assemble into, fed in pieces of `piece` bytes.
    fn assembled(bytes: &[u8], piece: usize) -> Vec<(u8, Vec<u8>)> {
        let mut a = Assembly::default();
        let mut got = Vec::new();
        for chunk in bytes.chunks(piece) {
            a.feed(chunk, &mut |f| got.push(owned(f)));
        }
        got
    }

    #[test]
    fn messages_come_whole_however_the_reads_cut_them() {
        let mut wire = Vec::new();
        frame_into(TEXT, b"hello", &mut wire);
        frame_into(BINARY, &[7; 300], &mut wire);
        frame_into(PING, b"p", &mut wire);
        // A fragmented text message around a ping.
        wire.extend_from_slice(&[0x01, 2, b'a', b'b']);
        frame_into(PING, b"q", &mut wire);
        wire.extend_from_slice(&[0x80, 1, b'c']);
        frame_into(BINARY, &[1; 70_000], &mut wire);
        let want = vec![
            (1, b"hello".to_vec()),
            (0, vec![7; 300]),
            (PING, b"p".to_vec()),
            (PING, b"q".to_vec()),
            (1, b"abc".to_vec()),
            (0, vec![1; 70_000]),
        ];
        for piece in [1, 2, 3, 7, 64, 1000, wire.len()] {
            assert_eq!(assembled(&wire, piece), want, "pieces of {piece}");
        }
    }

    #[test]
    fn a_close_or_a_broken_frame_ends_the_connection() {
        let mut wire = Vec::new();
        frame_into(TEXT, b"a", &mut wire);
        frame_into(CLOSE, &[0x03, 0xe8], &mut wire);
        frame_into(TEXT, b"after", &mut wire);
        assert_eq!(
            assembled(&wire, 5),
            vec![(1, b"a".to_vec()), (CLOSE, vec![])]
        );
        let mut masked = Vec::new();
        masked_frame_into(TEXT, b"x", [1, 2, 3, 4], &mut masked);
        assert_eq!(assembled(&masked, 64), vec![(CLOSE, vec![])]);
        assert_eq!(
            assembled(&[0x80, 0], 64),
            vec![(CLOSE, vec![])],
            "nothing to continue"
        );
        assert_eq!(
            assembled(&[0xc1, 0], 64),
            vec![(CLOSE, vec![])],
            "RSV1 unasked"
        );
    }

    #[test]
    fn a_masked_frame_unmasks_to_its_data() {
        let key = [0x37, 0xfa, 0x21, 0x3d];
        let mut out = Vec::new();
        masked_frame_into(TEXT, b"Hello", key, &mut out);
        // RFC 6455 §5.7's example: a masked "Hello".
        assert_eq!(
            out,
            [
                0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58
            ]
        );
        let h = header(&out).unwrap();
        assert!(h.masked && h.fin() && h.opcode() == TEXT && h.at == 6 && h.len == 5);
    }
}
