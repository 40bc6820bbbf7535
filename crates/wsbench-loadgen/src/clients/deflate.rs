//! permessage-deflate (RFC 7692) for the lean clients: the offer in the upgrade request,
//! the check of the server's answer, and a layer under tungstenite (which refuses frames
//! with RSV1 set) that inflates the server's compressed messages into plain frames.
//!
//! The clients compress nothing they send: RFC 7692 leaves each message's compression to
//! its sender (§6: a message without RSV1 is not compressed), and a client's sends are a
//! small share of a broadcast's bytes. So a run measures the server's side of
//! compression: its deflate per message (per recipient or once per broadcast, as it is
//! written), its memory per connection, and the bytes it saves on the wire, counted below
//! this layer (docs/method.md, "Compression").

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use flate2::{Decompress, FlushDecompress, Status};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
pub use wsbench_core::scenario::DeflateOffer;

use super::failure::ConnectFailure;
use super::frame::{frame_into, header};
use super::gate::Gate;

/// The extension's name.
const NAME: &str = "permessage-deflate";
/// Appended to a message's compressed bytes before inflating (RFC 7692 §7.2.2).
const TAIL: [u8; 4] = [0x00, 0x00, 0xff, 0xff];
/// Largest message inflated: tungstenite's own limit for a message.
const MAX_MESSAGE: usize = 64 << 20;

/// What the server accepted: whether it resets its compressor after each message (then
/// the client's inflater is reset too).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Accepted {
    /// `server_no_context_takeover` was in the answer.
    pub server_no_context_takeover: bool,
}

/// The server's `Sec-WebSocket-Extensions` answer to an offer: `Ok(None)` when it declined
/// (no header), `Ok(Some)` when it accepted permessage-deflate with parameters a client may
/// take; a handshake failure for anything not offered (RFC 6455 §9.1, RFC 7692 §5 and §7.1).
pub fn accepted(answer: Option<&str>, offered: bool) -> Result<Option<Accepted>, ConnectFailure> {
    let Some(answer) = answer.filter(|a| !a.trim().is_empty()) else {
        return Ok(None);
    };
    let mut parts = answer.split(';').map(str::trim);
    if !offered || parts.next() != Some(NAME) || answer.contains(',') {
        return Err(ConnectFailure::Handshake);
    }
    let mut accepted = Accepted {
        server_no_context_takeover: false,
    };
    for param in parts {
        let (name, value) = match param.split_once('=') {
            Some((n, v)) => (n.trim(), Some(v.trim().trim_matches('"'))),
            None => (param, None),
        };
        let bits_ok = |v: Option<&str>| {
            v.and_then(|v| v.parse::<u8>().ok())
                .is_some_and(|b| (8..=15).contains(&b))
        };
        match (name, value) {
            ("server_no_context_takeover", None) => accepted.server_no_context_takeover = true,
            ("client_no_context_takeover", None) => {}
            ("server_max_window_bits" | "client_max_window_bits", v) if bits_ok(v) => {}
            _ => return Err(ConnectFailure::Handshake),
        }
    }
    Ok(Some(accepted))
}

/// A client's stream under tungstenite: passed through as it is, or, where the server
/// accepted permessage-deflate, with every compressed message inflated into one plain
/// frame on the way up. Writes always pass through.
pub struct Inflating<S> {
    inner: S,
    state: Option<Box<Inflater>>,
    /// Where the batched receiver will take the connection over (see [`Gate`]).
    gate: Option<Box<Gate>>,
}

impl<S> Inflating<S> {
    /// `inner`, inflated as `accepted` says (`None`: passed through), and what tungstenite
    /// is to read before it. `tail` is what followed the upgrade's answer in its reads:
    /// where the layer inflates, those bytes go through it too (they may begin a frame
    /// that the socket's next bytes end, and the layer must see every frame from its
    /// first byte), and tungstenite starts with nothing.
    pub fn new(inner: S, accepted: Option<Accepted>, tail: Vec<u8>) -> io::Result<(Self, Vec<u8>)> {
        let Some(accepted) = accepted else {
            let layer = Inflating {
                inner,
                state: None,
                gate: None,
            };
            return Ok((layer, tail));
        };
        let mut state = Box::new(Inflater::new(accepted));
        state.end = tail.len();
        state.raw = tail;
        state.rewrite()?;
        Ok((
            Inflating {
                inner,
                state: Some(state),
                gate: None,
            },
            Vec::new(),
        ))
    }

    /// `inner` passed through a [`Gate`] (nothing inflated), the batched receiver's to
    /// take over with [`Inflating::into_gated`] once the handshake is done; tungstenite
    /// is to read nothing before it.
    pub(crate) fn gated(inner: S, tail: Vec<u8>) -> Self {
        Inflating {
            inner,
            state: None,
            gate: Some(Box::new(Gate::new(tail))),
        }
    }

    /// The stream under it, and what the gate read and did not hand on (nothing where
    /// there is no gate).
    pub(crate) fn into_gated(self) -> (S, Vec<u8>) {
        (
            self.inner,
            self.gate.map(|g| g.into_unread()).unwrap_or_default(),
        )
    }

    /// The stream under it.
    pub fn get_ref(&self) -> &S {
        &self.inner
    }
}

/// The inflating half's state: bytes read and not yet parsed (`raw[start..end]`; `raw` is
/// filled once and reused, never zeroed again), frames rewritten and not yet read, and the
/// compressed message being received.
struct Inflater {
    accepted: Accepted,
    raw: Vec<u8>,
    start: usize,
    end: usize,
    out: Vec<u8>,
    out_at: usize,
    z: Decompress,
    /// The opcode of a compressed message being received (its inflated bytes in `message`).
    opcode: Option<u8>,
    message: Vec<u8>,
}

/// Bytes read from the socket at once.
const READ: usize = 16 * 1024;

impl Inflater {
    fn new(accepted: Accepted) -> Self {
        Inflater {
            accepted,
            raw: Vec::new(),
            start: 0,
            end: 0,
            out: Vec::new(),
            out_at: 0,
            z: Decompress::new(false),
            opcode: None,
            message: Vec::new(),
        }
    }

    /// Room for a read at `raw[end..]`: what is not parsed yet moved to the front, the
    /// buffer grown only when a frame is larger than it.
    fn make_room(&mut self) {
        if self.start > 0 {
            self.raw.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
        }
        if self.raw.len() - self.end < READ {
            self.raw.resize(self.end + READ, 0);
        }
    }

    /// Rewrites every whole frame in `raw[start..end]` into `out`.
    fn rewrite(&mut self) -> io::Result<()> {
        let mut at = self.start;
        while let Some(h) = header(&self.raw[at..self.end]) {
            if self.end - at < h.end() {
                break;
            }
            let payload = at + h.at..at + h.end();
            let (fin, rsv1, opcode) = (h.first & 0x80 != 0, h.first & 0x40 != 0, h.first & 0x0f);
            let compressed = match (opcode, rsv1, self.opcode) {
                (1 | 2, true, None) => {
                    self.opcode = Some(opcode);
                    self.message.clear();
                    true
                }
                (0, false, Some(_)) => true,
                (0..=2, true, _) | (1 | 2, _, Some(_)) => {
                    return Err(invalid("a compressed message out of place"));
                }
                _ => false,
            };
            if !compressed {
                // Control frames and uncompressed messages, as they came.
                self.out.extend_from_slice(&self.raw[at..payload.end]);
            } else {
                inflate(&mut self.z, &self.raw[payload.clone()], &mut self.message)?;
                if fin {
                    inflate(&mut self.z, &TAIL, &mut self.message)?;
                    if self.accepted.server_no_context_takeover {
                        self.z.reset(false);
                    }
                    let op = self.opcode.take().expect("set above");
                    frame_into(op, &self.message, &mut self.out);
                }
            }
            at = payload.end;
        }
        self.start = at;
        if self.start == self.end {
            (self.start, self.end) = (0, 0);
        }
        Ok(())
    }
}

/// Inflates all of `input` onto `out`.
fn inflate(z: &mut Decompress, mut input: &[u8], out: &mut Vec<u8>) -> io::Result<()> {
    loop {
        out.reserve((input.len() * 4).max(256));
        let (before_in, before_out) = (z.total_in(), out.len());
        let status = z
            .decompress_vec(input, out, FlushDecompress::Sync)
            .map_err(|e| invalid(&e.to_string()))?;
        input = &input[(z.total_in() - before_in) as usize..];
        if out.len() > MAX_MESSAGE {
            return Err(invalid("an inflated message over 64 MiB"));
        }
        if status == Status::StreamEnd {
            // A final block (BFINAL): the next message starts a new stream.
            z.reset(false);
        }
        let room_left = out.len() < out.capacity();
        if input.is_empty() && room_left {
            return Ok(());
        }
        if out.len() == before_out && room_left && status != Status::StreamEnd {
            return Err(invalid("compressed data that does not inflate"));
        }
    }
}

fn invalid(why: &str) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidData,
        format!("permessage-deflate: {why}"),
    )
}

impl<S: AsyncRead + Unpin> AsyncRead for Inflating<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if let Some(gate) = this.gate.as_deref_mut() {
            return gate.poll_read(&mut this.inner, cx, buf);
        }
        let Some(st) = this.state.as_deref_mut() else {
            return Pin::new(&mut this.inner).poll_read(cx, buf);
        };
        loop {
            if st.out_at < st.out.len() {
                let n = buf.remaining().min(st.out.len() - st.out_at);
                buf.put_slice(&st.out[st.out_at..st.out_at + n]);
                st.out_at += n;
                if st.out_at == st.out.len() {
                    st.out.clear();
                    st.out_at = 0;
                }
                return Poll::Ready(Ok(()));
            }
            st.make_room();
            let mut chunk = ReadBuf::new(&mut st.raw[st.end..]);
            let read = Pin::new(&mut this.inner).poll_read(cx, &mut chunk);
            let filled = chunk.filled().len();
            st.end += filled;
            ready!(read)?;
            if filled == 0 {
                // The end of the stream: what is left is not a whole frame; tungstenite
                // sees the end as it would have.
                return Poll::Ready(Ok(()));
            }
            st.rewrite()?;
        }
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Inflating<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use flate2::{Compress, Compression, FlushCompress};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    use super::*;

    /// `text` deflated as a permessage-deflate sender does: a sync flush, its tail cut.
    fn deflated(z: &mut Compress, text: &[u8]) -> Vec<u8> {
        let mut out = Vec::with_capacity(text.len() + 64);
        z.compress_vec(text, &mut out, FlushCompress::Sync).unwrap();
        assert!(out.ends_with(&TAIL));
        out.truncate(out.len() - TAIL.len());
        out
    }

    fn frame(first: u8, payload: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        frame_into(first & 0x0f, payload, &mut out);
        out[0] = first;
        out
    }

    /// What tungstenite would read through the layer, given the server's bytes written in
    /// pieces of `piece` bytes.
    async fn through(mut bytes: Vec<u8>, piece: usize, accepted: Accepted) -> io::Result<Vec<u8>> {
        let head: Vec<u8> = bytes.drain(..(piece * 3).min(bytes.len())).collect();
        let (mut server, client) = tokio::io::duplex(1 << 20);
        let writer = tokio::spawn(async move {
            for chunk in bytes.chunks(piece) {
                server.write_all(chunk).await.unwrap();
            }
        });
        // The first bytes arrive with the upgrade's answer, cut anywhere.
        let (mut layer, tail) = match Inflating::new(client, Some(accepted), head) {
            Ok(layer) => layer,
            Err(e) => {
                writer.abort();
                return Err(e);
            }
        };
        assert!(tail.is_empty());
        let mut got = Vec::new();
        let read = layer.read_to_end(&mut got).await;
        writer.await.unwrap();
        read.map(|_| got)
    }

    #[tokio::test]
    async fn compressed_messages_become_plain_frames_and_the_rest_passes_as_it_came() {
        let text =
            b"the meeting is today and the deploy is tomorrow, the team will check".repeat(9);
        let mut z = Compress::new(Compression::default(), false);
        let (one, two) = (deflated(&mut z, &text), deflated(&mut z, &text));
        assert!(two.len() < one.len(), "context taken over");
        let (half_a, half_b) = two.split_at(two.len() / 2);
        let mut server = frame(0xc1, &one); // FIN, RSV1, text
        server.extend(frame(0x89, b"ping")); // a ping passes
        server.extend(frame(0x42, half_a)); // a compressed binary message in two fragments
        server.extend(frame(0x8a, b"")); // a pong between them
        server.extend(frame(0x80, half_b));
        server.extend(frame(0x81, b"plain")); // not compressed
        let mut want = frame(0x81, &text);
        want.extend(frame(0x89, b"ping"));
        want.extend(frame(0x8a, b""));
        want.extend(frame(0x82, &text));
        want.extend(frame(0x81, b"plain"));
        let accepted = Accepted {
            server_no_context_takeover: false,
        };
        for piece in [1, 7, 4096] {
            let got = through(server.clone(), piece, accepted).await.unwrap();
            assert_eq!(got, want, "written {piece} bytes at a time");
        }
    }

    #[tokio::test]
    async fn context_is_taken_over_unless_the_server_said_it_resets() {
        let text = b"see you later, thanks for the update on the new build".repeat(4);
        for reset in [false, true] {
            let mut z = Compress::new(Compression::default(), false);
            let mut server = Vec::new();
            for _ in 0..3 {
                server.extend(frame(0xc1, &deflated(&mut z, &text)));
                if reset {
                    z.reset();
                }
            }
            let accepted = Accepted {
                server_no_context_takeover: reset,
            };
            let got = through(server, 5, accepted).await.unwrap();
            assert_eq!(got, frame(0x81, &text).repeat(3), "reset {reset}");
        }
    }

    #[tokio::test]
    async fn bytes_that_do_not_inflate_are_an_error() {
        let accepted = Accepted {
            server_no_context_takeover: false,
        };
        let bad = frame(0xc1, &[0xff; 40]);
        assert!(through(bad, 64, accepted).await.is_err());
        let rsv1_on_a_fragment = [frame(0x41, b"x"), frame(0xc0, b"y")].concat();
        assert!(through(rsv1_on_a_fragment, 64, accepted).await.is_err());
    }

    #[test]
    fn the_offer_and_what_an_answer_may_say() {
        let plain = DeflateOffer::default();
        assert_eq!(plain.header(), "permessage-deflate; client_max_window_bits");
        let tight = DeflateOffer {
            window_bits: Some(10),
            no_context_takeover: true,
        };
        assert_eq!(
            tight.header(),
            "permessage-deflate; client_max_window_bits; server_max_window_bits=10; \
             server_no_context_takeover; client_no_context_takeover"
        );
        assert_eq!(accepted(None, true), Ok(None));
        assert_eq!(
            accepted(Some("permessage-deflate"), true),
            Ok(Some(Accepted {
                server_no_context_takeover: false
            }))
        );
        let reset = "permessage-deflate; server_no_context_takeover; client_max_window_bits=15";
        assert_eq!(
            accepted(Some(reset), true),
            Ok(Some(Accepted {
                server_no_context_takeover: true
            }))
        );
        for bad in [
            ("permessage-deflate", false),
            ("x-webkit-deflate-frame", true),
            ("permessage-deflate; server_max_window_bits=16", true),
            ("permessage-deflate; mystery", true),
            ("permessage-deflate, permessage-deflate", true),
        ] {
            assert_eq!(
                accepted(Some(bad.0), bad.1),
                Err(ConnectFailure::Handshake),
                "{bad:?}"
            );
        }
    }
}
