//! One client connection, in one task: the handshake, then reading the client's messages and
//! writing, from the same poll, whatever its socket did not take when others wrote to it,
//! so that an idle connection costs a task, its socket and tungstenite's buffers and nothing
//! else.

use std::future::poll_fn;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use futures_util::{SinkExt, Stream as _};
use tokio_rustls::server::TlsStream;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::{CloseFrame, Role, WebSocketConfig};
use tokio_tungstenite::tungstenite::{Error as WsError, Message};
use tokio_util::either::Either;
use wsbench_core::counting::CountingStream;
use wsbench_core::{ServerCounters, net};

use crate::broadcast;
use crate::frame;
use crate::group::Group;
use crate::handshake;
use crate::outbox::{KICKED, Outbox, SHUT_DOWN};
use crate::route::Route;
use crate::server::Shared;
use crate::socket::Socket;
use crate::tls::Sink;

/// A client's socket, counted for the server's wire figures.
pub(crate) type Stream = CountingStream<ServerCounters>;

/// How long a closing connection may take to flush its queue and close frame.
const CLOSE_GRACE: Duration = Duration::from_secs(1);

/// Serves one accepted TCP connection to its end.
pub(crate) async fn serve(stream: Stream, shared: Arc<Shared>) {
    // Boxed: the handshakes' state is freed once they are done, not kept in the task.
    let accept = Box::pin(handshakes(stream, &shared));
    let upgraded = tokio::select! {
        _ = shared.shutdown.cancelled() => return,
        upgraded = accept => upgraded,
    };
    let Some((stream, rest, route)) = upgraded else {
        return;
    };
    let counters = shared.counters.clone();
    let (tcp, session) = match stream {
        Either::Left(plain) => (plain.into_inner(), None),
        Either::Right(tls) => {
            let (counted, session) = (*tls).into_inner();
            (counted.into_inner(), Some(Arc::new(Mutex::new(session))))
        }
    };
    let (read, write) = tcp.into_split();
    let sink = match &session {
        None => Sink::Plain(write),
        Some(session) => Sink::Tls {
            tcp: write,
            session: session.clone(),
        },
    };
    let outbox = Arc::new(Outbox::new(
        sink,
        shared.config.queue_capacity,
        shared.config.queue_bytes,
        shared.waiting.clone(),
        counters.clone(),
    ));
    let socket = match session {
        None => Socket::new(read, outbox.clone(), counters),
        Some(session) => Socket::over_tls(read, session, outbox.clone(), counters),
    };
    let config = ws_config(shared.config.max_message_size);
    let ws = WebSocketStream::from_partially_read(socket, rest, Role::Server, Some(config)).await;
    run(ws, outbox, route, shared).await;
}

/// The TLS handshake (serving TLS), then the WebSocket upgrade over it, each within the
/// handshake deadline. The TLS stream is boxed: unboxed, a session's size would be in every
/// connection's task, plain ones included.
async fn handshakes(
    stream: Stream,
    shared: &Shared,
) -> Option<(Either<Stream, Box<TlsStream<Stream>>>, Vec<u8>, Route)> {
    let deadline = shared.config.handshake_timeout;
    let stream = match &shared.tls {
        None => Either::Left(stream),
        Some(tls) => {
            let accepted = tokio::time::timeout(deadline, tls.accept(stream)).await;
            Either::Right(Box::new(accepted.ok()?.ok()?))
        }
    };
    handshake::accept(stream, deadline).await
}

fn ws_config(max_message_size: usize) -> WebSocketConfig {
    WebSocketConfig::default()
        .read_buffer_size(net::WS_READ_BUFFER)
        .max_message_size(Some(max_message_size))
        .max_frame_size(Some(max_message_size))
}

/// The broadcast scope or echo a connection belongs to, left when it ends.
enum Membership {
    Group {
        group: Arc<Group>,
        room: Option<String>,
    },
    Echo,
}

impl Membership {
    fn join(shared: &Shared, route: &Route, id: u64, outbox: &Arc<Outbox>) -> Membership {
        match route {
            Route::Broadcast => {
                let group = shared.groups.everyone();
                group.join(id, outbox.clone());
                Membership::Group { group, room: None }
            }
            Route::Room(name) => Membership::Group {
                group: shared.groups.join_room(name, id, outbox.clone()),
                room: Some(name.clone()),
            },
            Route::Echo => Membership::Echo,
        }
    }

    /// Relays `batch` (data messages from client `id` that arrived together) to its scope,
    /// encoded once for all its recipients and written to each in one piece; counts the
    /// deliveries where they are made.
    fn deliver(&self, shared: &Shared, id: u64, outbox: &Outbox, batch: &[Message]) {
        let sending = &shared.sending;
        let pad_bytes = shared.config.handicap.pad_bytes;
        // The test aid's padding: an unsolicited pong before each message, not counted.
        let pad = (pad_bytes > 0).then(|| frame::padding(pad_bytes));
        let (frames, count) = frame::batch(batch, pad.as_deref());
        if count == 0 {
            return;
        }
        match self {
            Membership::Group { group, room } => {
                if let Some(relay) = &shared.relay {
                    for msg in batch {
                        relay.publish(room.as_deref(), msg);
                    }
                }
                broadcast::broadcast(group, id, frames, count, sending);
            }
            Membership::Echo => {
                sending.made(outbox.offer(&frames, count, sending.policy, &sending.counters));
            }
        }
    }

    fn leave(self, shared: &Shared, id: u64) {
        match self {
            Membership::Group { group, room: None } => {
                group.leave(id);
            }
            Membership::Group {
                room: Some(name), ..
            } => shared.groups.leave_room(&name, id),
            Membership::Echo => {}
        }
    }
}

async fn run(ws: WebSocketStream<Socket>, outbox: Arc<Outbox>, route: Route, shared: Arc<Shared>) {
    let id = shared.new_id();
    let membership = Membership::join(&shared, &route, id, &outbox);
    shared.groups.all.join(id, outbox.clone());
    if shared.shutdown.is_cancelled() {
        // Shut down between the handshake and joining: no one else will say so.
        outbox.stop_with(SHUT_DOWN);
    }
    shared.counters.connection_opened();
    let policy = shared.config.overflow;
    if let Some(welcome) = &shared.config.welcome {
        outbox.offer(&frame::text(welcome), 1, policy, &shared.counters);
    }
    let mut io = Io {
        ws,
        outbox,
        batch: Vec::new(),
        held: None,
        keep_alive: shared.config.ping_interval.map(KeepAlive::new),
    };
    let end = loop {
        match poll_fn(|cx| io.poll_event(cx)).await {
            Event::Received => {
                shared.counters.messages_received(io.batch.len() as u64);
                membership.deliver(&shared, id, &io.outbox, &io.batch);
                io.batch.clear();
            }
            Event::End(end) => break end,
        }
    };
    membership.leave(&shared, id);
    shared.groups.all.leave(id);
    io.outbox.close();
    // A client that stopped reading can hold the socket forever: bound the goodbye. (Boxed:
    // its state exists only at the end, not in every connection's task.)
    let _ = tokio::time::timeout(CLOSE_GRACE, Box::pin(io.finish(end))).await;
    shared.counters.connection_closed();
}

/// What ended a connection.
enum End {
    /// The client closed it, or it broke: nothing more to say.
    Quietly,
    /// The server ends it with this close frame, after what was queued before.
    After(CloseFrame),
    /// The client does not keep up: it gets the close frame at once, its queue is dropped.
    Now(CloseFrame),
}

/// What one poll of a connection found.
enum Event {
    /// Data messages from the client are in [`Io::batch`].
    Received,
    End(End),
}

/// Most messages relayed as one batch.
const BATCH_MESSAGES: usize = 64;
/// A batch ends once its payloads reach this many bytes.
const BATCH_BYTES: usize = 16 * 1024;

/// A connection's socket and its outbox.
struct Io {
    ws: WebSocketStream<Socket>,
    outbox: Arc<Outbox>,
    /// The client's data messages read in one poll, in order: every one that had arrived,
    /// up to [`BATCH_MESSAGES`] and [`BATCH_BYTES`]. One at a time while the server keeps
    /// up; several once it has fallen behind, and then relayed in one write per recipient,
    /// so that a server short of CPU spends less per delivery and catches up rather than
    /// falling further behind (docs/method.md, "The servers under test").
    batch: Vec<Message>,
    /// How the connection ended, found while a batch was being read: reported after it.
    held: Option<End>,
    /// The pings that find a dead peer, if the server sends them.
    keep_alive: Option<KeepAlive>,
}

/// A connection's keep-alive: a ping every interval, and the end of a connection that sent
/// nothing (not even the pong) for a whole interval after one.
struct KeepAlive {
    interval: Duration,
    next: Pin<Box<tokio::time::Sleep>>,
    /// Whether anything came from the client since the last ping.
    heard: bool,
    pinged: bool,
}

impl KeepAlive {
    fn new(interval: Duration) -> KeepAlive {
        KeepAlive {
            interval,
            next: Box::pin(tokio::time::sleep(interval)),
            heard: false,
            pinged: false,
        }
    }

    /// At each interval: `Err` if the client was pinged and said nothing since, else a
    /// ping written to `outbox`.
    fn poll(&mut self, cx: &mut Context<'_>, outbox: &Outbox) -> Result<(), ()> {
        while self.next.as_mut().poll(cx).is_ready() {
            if self.pinged && !self.heard {
                return Err(());
            }
            (self.pinged, self.heard) = (true, false);
            outbox.write_own(&frame::ping());
            let at = tokio::time::Instant::now() + self.interval;
            self.next.as_mut().reset(at);
        }
        Ok(())
    }
}

impl Io {
    /// Writes what waits as far as the socket takes it, then looks for the next message
    /// from the client, a kick or the server's shutdown. (Both arrive through the outbox:
    /// polling a shared shutdown signal at every wake-up would take a lock every
    /// connection shares.)
    fn poll_event(&mut self, cx: &mut Context<'_>) -> Poll<Event> {
        self.outbox.register(cx.waker());
        match self.outbox.stop_reason() {
            KICKED => {
                let frame = close_frame(CloseCode::Policy, "slow consumer");
                return Poll::Ready(Event::End(End::Now(frame)));
            }
            SHUT_DOWN => {
                let frame = close_frame(CloseCode::Away, "server shutting down");
                return Poll::Ready(Event::End(End::After(frame)));
            }
            _ => {}
        }
        if let Poll::Ready(Err(_)) = self.outbox.poll_flush(cx) {
            return Poll::Ready(Event::End(End::Quietly));
        }
        if let Some(end) = self.held.take() {
            return Poll::Ready(Event::End(end));
        }
        if let Some(keep_alive) = &mut self.keep_alive
            && keep_alive.poll(cx, &self.outbox).is_err()
        {
            let frame = close_frame(CloseCode::Policy, "no answer to the keep-alive ping");
            return Poll::Ready(Event::End(End::Now(frame)));
        }
        // A client that does not read what waits for it is not read either: its pings and
        // echo requests would only add to it (docs/method.md, "Bounds and policies"). The
        // flush above is registered for the socket's room to write.
        if self.outbox.backed_up() {
            return Poll::Pending;
        }
        let mut bytes = 0;
        // Bounded by the batch's limits, and by tokio's budget, which makes a busy socket
        // answer pending after a while.
        while self.batch.len() < BATCH_MESSAGES && bytes < BATCH_BYTES {
            let polled = Pin::new(&mut self.ws).poll_next(cx);
            if let (Poll::Ready(Some(Ok(_))), Some(keep_alive)) = (&polled, &mut self.keep_alive) {
                keep_alive.heard = true;
            }
            let end = match polled {
                Poll::Ready(Some(Ok(msg @ (Message::Text(_) | Message::Binary(_))))) => {
                    bytes += msg.len();
                    self.batch.push(msg);
                    continue;
                }
                // tungstenite answers pings and acknowledges a close on the next read;
                // after a close the stream ends by itself. Pongs that back up stop the
                // reading, as above.
                Poll::Ready(Some(Ok(_))) if self.outbox.backed_up() => break,
                Poll::Ready(Some(Ok(_))) => continue,
                Poll::Ready(Some(Err(err))) => close_for_error(&err),
                Poll::Ready(None) => End::Quietly,
                Poll::Pending => break,
            };
            if self.batch.is_empty() {
                return Poll::Ready(Event::End(end));
            }
            self.held = Some(end);
            break;
        }
        if self.batch.is_empty() {
            Poll::Pending
        } else {
            Poll::Ready(Event::Received)
        }
    }

    /// Says goodbye: what waited before the end (unless the client is being dropped for
    /// not reading it), then the close frame, if any.
    async fn finish(mut self, end: End) {
        let frame = match end {
            End::Quietly => None,
            End::After(frame) => Some(frame),
            End::Now(frame) => {
                self.outbox.discard_waiting();
                Some(frame)
            }
        };
        let _ = match frame {
            Some(frame) => self.ws.send(Message::Close(Some(frame))).await,
            None => self.ws.flush().await,
        };
    }
}

fn close_frame(code: CloseCode, reason: &'static str) -> CloseFrame {
    CloseFrame {
        code,
        reason: reason.into(),
    }
}

/// How to end after a read error: with the close frame RFC 6455 asks for, after what was
/// accepted before it, if the connection can still take one.
fn close_for_error(err: &WsError) -> End {
    match err {
        WsError::Capacity(_) => End::After(close_frame(CloseCode::Size, "message too big")),
        WsError::Utf8(_) => End::After(close_frame(CloseCode::Invalid, "invalid UTF-8")),
        WsError::Protocol(_) => End::After(close_frame(CloseCode::Protocol, "protocol error")),
        _ => End::Quietly,
    }
}
