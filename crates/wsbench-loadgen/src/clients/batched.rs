//! A lean client whose reading the worker's batched receiver does (`crate::receiver`,
//! `--io uring`): it connects and hands shake as [`super::lean::Lean`] does, then gives its
//! socket to the receiver, which accounts what arrives; the client itself writes (its
//! probes, heartbeat answers, its close), masking its frames as RFC 6455 asks, and learns
//! from the receiver when its connection ends or a heartbeat is owed.

use std::io::{self, Write};
use std::net::TcpStream;
use std::os::fd::AsRawFd;
use std::rc::Rc;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::Interest;
use tokio::io::unix::AsyncFd;
use tokio_tungstenite::tungstenite::Message;
use tokio_util::either::Either;
use wsbench_core::counting::ByteCounter;
use wsbench_core::scenario::Encoding;

use super::Connection;
use super::failure::ConnectFailure;
use super::frame::{BINARY, CLOSE, PONG, TEXT, masked_frame_into};
use super::wire::{self, Dial, Incoming, Role, Wire};
use crate::live::WorkerLive;
use crate::receiver::{Key, Pong, Receiver};
use crate::worker::WorkerCtx;

/// One client's connection, read by the receiver.
pub(crate) struct Batched<W> {
    receiver: Rc<Receiver>,
    key: Key,
    /// The socket, watched by tokio for room to write only (the receiver reads it).
    tcp: AsyncFd<TcpStream>,
    live: Arc<WorkerLive>,
    wire: W,
    encoding: Encoding,
    role: Role,
    /// The messages of the probe being written, and their frames, reused.
    messages: Vec<Message>,
    out: Vec<u8>,
}

impl<W: Wire + 'static> Connection for Batched<W> {
    async fn connect(ctx: &WorkerCtx, id: u64) -> Result<Self, ConnectFailure> {
        let plan = &ctx.plan;
        let receiver = ctx
            .receiver
            .clone()
            .expect("batched clients need the receiver");
        let role = plan.role_of(id);
        let wire = W::new(&plan.adapter);
        // A batchable plan offers no TLS or compression (`LoadPlan::batchable`).
        let dial = Dial::of(plan, id, true);
        let (ws, phases) = wire::connect(&wire, dial, &ctx.live, plan.connect_timeout).await?;
        ctx.handshook(phases);
        let (stream, unread) = ws.into_inner().into_gated();
        let Either::Left(counted) = stream else {
            unreachable!("batched clients speak plain TCP");
        };
        let io = |e: io::Error| ConnectFailure::from_io(&e);
        // Out of tokio's reactor: the receiver reads it, and tokio watches it for
        // writing only (an edge per byte read would wake the reactor for nothing).
        let tcp = counted.into_inner().into_std().map_err(io)?;
        let key = receiver
            .attach(
                ctx,
                id,
                tcp.as_raw_fd(),
                &unread,
                Box::new(W::new(&plan.adapter)),
            )
            .map_err(io)?;
        // SAFETY: a `TcpStream` owns its descriptor, open until it drops.
        let tcp = match unsafe { AsyncFd::register_with_interest(tcp, Interest::WRITABLE) } {
            Ok(tcp) => tcp,
            Err(e) => {
                receiver.detach(key);
                return Err(io(e.into_parts().1));
            }
        };
        Ok(Batched {
            receiver,
            key,
            tcp,
            live: ctx.live.clone(),
            wire,
            encoding: plan.encoding,
            role,
            messages: Vec::with_capacity(2),
            out: Vec::with_capacity(256),
        })
    }

    async fn next(&mut self) -> Incoming {
        std::future::poll_fn(|cx| self.receiver.poll_event(self.key, cx)).await
    }

    async fn pong(&mut self) -> Result<(), ()> {
        self.out.clear();
        for pong in self.receiver.take_pongs(self.key) {
            match pong {
                Pong::Ws(data) => {
                    masked_frame_into(PONG, &data, fastrand::u32(..).to_ne_bytes(), &mut self.out)
                }
                Pong::Wire => message_into(&self.wire.pong(), &mut self.out),
            }
        }
        self.write_out().await.map_err(drop)
    }

    async fn send(&mut self, probe: &[u8]) -> Result<(), ()> {
        self.wire
            .encode(self.encoding, self.role, probe, &mut self.messages);
        self.out.clear();
        for msg in self.messages.drain(..) {
            message_into(&msg, &mut self.out);
        }
        self.write_out().await.map_err(drop)
    }

    async fn close(mut self) {
        self.receiver.detach(self.key);
        self.out.clear();
        let normal = 1000u16.to_be_bytes();
        masked_frame_into(
            CLOSE,
            &normal,
            fastrand::u32(..).to_ne_bytes(),
            &mut self.out,
        );
        let _ = tokio::time::timeout(Duration::from_secs(1), self.write_out()).await;
        let _ = self.tcp.get_ref().shutdown(std::net::Shutdown::Write);
    }
}

impl<W> Drop for Batched<W> {
    fn drop(&mut self) {
        self.receiver.detach(self.key);
    }
}

impl<W> Batched<W> {
    /// Writes all of `out`, waiting for room where the socket has none.
    async fn write_out(&mut self) -> io::Result<()> {
        let mut at = 0;
        while at < self.out.len() {
            let mut ready = self.tcp.writable().await?;
            match ready.try_io(|tcp| (&mut tcp.get_ref()).write(&self.out[at..])) {
                Ok(Ok(0)) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(Ok(n)) => {
                    self.live.add_written(n as u64);
                    at += n;
                }
                Ok(Err(e)) => return Err(e),
                Err(_would_block) => {}
            }
        }
        Ok(())
    }
}

/// A data message (or a pong) as one masked frame.
fn message_into(msg: &Message, out: &mut Vec<u8>) {
    let key = fastrand::u32(..).to_ne_bytes();
    match msg {
        Message::Text(t) => masked_frame_into(TEXT, t.as_bytes(), key, out),
        Message::Binary(b) => masked_frame_into(BINARY, b, key, out),
        Message::Pong(b) => masked_frame_into(PONG, b, key, out),
        _ => unreachable!("the wires write data messages and pongs only"),
    }
}
