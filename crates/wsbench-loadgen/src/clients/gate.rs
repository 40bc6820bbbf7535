//! A layer under tungstenite for a connection the batched receiver (`crate::receiver`) will
//! take over once its handshake is done: it hands tungstenite one frame at a time and
//! never a byte past the end of the frame being read. tungstenite reads only while it lacks
//! a whole frame, so when the handshake's last message has been returned it holds nothing
//! unread, and whatever the server sent meanwhile (a broadcast to a client reconnecting
//! mid-run) waits here, to be given to the receiver with the socket: no frame is lost or
//! cut at the handover.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use tokio::io::{AsyncRead, ReadBuf};

use super::frame::header;

/// Bytes read from the socket at once.
const READ: usize = 4096;

/// The gate's state: bytes read and not handed on (`buf[start..end]`), and how much of the
/// frame being handed on is left (0: the next byte starts a frame).
#[derive(Debug, Default)]
pub(crate) struct Gate {
    buf: Vec<u8>,
    start: usize,
    end: usize,
    left: usize,
}

impl Gate {
    /// A gate holding `tail`, the bytes that followed the upgrade's answer.
    pub fn new(tail: Vec<u8>) -> Gate {
        Gate {
            end: tail.len(),
            buf: tail,
            ..Gate::default()
        }
    }

    /// What was read and not handed on, in order.
    pub fn into_unread(mut self) -> Vec<u8> {
        self.buf.truncate(self.end);
        self.buf.drain(..self.start);
        self.buf
    }

    /// Reads through the gate: at most the rest of the current frame.
    pub fn poll_read<S: AsyncRead + Unpin>(
        &mut self,
        inner: &mut S,
        cx: &mut Context<'_>,
        out: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        loop {
            let held = &self.buf[self.start..self.end];
            if self.left == 0
                && let Some(h) = header(held)
            {
                self.left = h.end();
            }
            if self.left > 0 && !held.is_empty() {
                let n = out.remaining().min(self.left).min(held.len());
                out.put_slice(&held[..n]);
                self.start += n;
                self.left -= n;
                return Poll::Ready(Ok(()));
            }
            if self.start == self.end {
                (self.start, self.end) = (0, 0);
            }
            if self.buf.len() - self.end < READ {
                self.buf.resize(self.end + READ, 0);
            }
            let mut chunk = ReadBuf::new(&mut self.buf[self.end..]);
            ready!(Pin::new(&mut *inner).poll_read(cx, &mut chunk))?;
            let filled = chunk.filled().len();
            if filled == 0 {
                // The end of the stream: what is held is less than a frame; tungstenite
                // gets it, then the end, as it would have.
                let n = out.remaining().min(self.end - self.start);
                out.put_slice(&self.buf[self.start..self.start + n]);
                self.start += n;
                return Poll::Ready(Ok(()));
            }
            self.end += filled;
        }
    }
}

#[cfg(test)]
mod tests {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    use super::super::frame::{TEXT, frame_into};
    use super::*;

    /// Reads of up to `ask` bytes through the gate never cross a frame's end, and what is
    /// left unread after the first two frames is the rest of the bytes, whole.
    #[tokio::test]
    async fn no_read_crosses_a_frame_and_the_rest_stays_behind() {
        let mut wire = Vec::new();
        for text in [&b"one"[..], &[b'x'; 300], b"three", b"four"] {
            frame_into(TEXT, text, &mut wire);
        }
        let first_two = 5 + 304;
        for ask in [1, 4, 64, 4096] {
            let (mut server, mut client) = tokio::io::duplex(1 << 16);
            server.write_all(&wire[3..]).await.unwrap();
            let mut gate = Gate::new(wire[..3].to_vec());
            let mut got = Vec::new();
            while got.len() < first_two {
                let mut b = vec![0; ask];
                let mut rb = ReadBuf::new(&mut b);
                std::future::poll_fn(|cx| gate.poll_read(&mut client, cx, &mut rb))
                    .await
                    .unwrap();
                let n = rb.filled().len();
                for end in [5, first_two] {
                    let crossed = got.len() < end && got.len() + n > end;
                    assert!(!crossed, "a read of {ask} crossed a frame's end at {end}");
                }
                got.extend_from_slice(&b[..n]);
            }
            assert_eq!(got, wire[..first_two], "reads of {ask}");
            drop(server);
            let mut rest = gate.into_unread();
            client.read_to_end(&mut rest).await.unwrap();
            assert_eq!(rest, wire[first_two..], "reads of {ask}");
        }
    }
}
