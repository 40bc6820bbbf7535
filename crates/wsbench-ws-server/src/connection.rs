//! One client connection: handshake, reader, writer.

use std::sync::Arc;

use std::time::Duration;

use futures_util::stream::SplitSink;
use futures_util::{SinkExt, StreamExt};
use tokio::sync::{mpsc, oneshot};
use tokio_tungstenite::tungstenite::handshake::server::{ErrorResponse, Request, Response};
use tokio_tungstenite::tungstenite::http::StatusCode;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::{CloseFrame, WebSocketConfig};
use tokio_tungstenite::tungstenite::{Error as WsError, Message};
use tokio_tungstenite::{WebSocketStream, accept_hdr_async_with_config};
use tokio_util::sync::CancellationToken;
use wsbench_core::ServerCounters;
use wsbench_core::counting::CountingStream;

use crate::group::{Group, Outbox};
use crate::route::Route;
use crate::server::Shared;

/// The broadcast scope or echo a connection belongs to, released when it ends.
enum Membership {
    Group {
        group: Arc<Group>,
        room: Option<String>,
    },
    Echo,
}

/// A client's socket, counted for the server's wire figures.
pub(crate) type Stream = CountingStream<ServerCounters>;

pub(crate) async fn serve(stream: Stream, shared: Arc<Shared>) {
    let mut route = None;
    let config = WebSocketConfig::default()
        // tungstenite allocates its read buffer up front (128 KiB by default), which would
        // dominate memory per connection; 4 KiB is what socketioxide uses, so the two
        // servers are compared on equal terms.
        .read_buffer_size(READ_BUFFER_SIZE)
        .max_message_size(Some(shared.config.max_message_size))
        .max_frame_size(Some(shared.config.max_message_size))
        // Bounded so that a client that stops reading cannot grow the write buffer; the
        // queue policy decides what happens to further messages.
        .max_write_buffer_size(4 * 1024 * 1024 + shared.config.max_message_size);
    // The signature is tungstenite's handshake callback; its error type is not ours to shrink.
    #[allow(clippy::result_large_err)]
    let callback = |req: &Request, resp: Response| -> Result<Response, ErrorResponse> {
        route = Route::from_path(req.uri().path());
        if route.is_some() {
            Ok(resp)
        } else {
            let mut err =
                ErrorResponse::new(Some("wsbench serves /, /room/NAME and /echo\n".to_owned()));
            *err.status_mut() = StatusCode::NOT_FOUND;
            Err(err)
        }
    };
    let ws = tokio::select! {
        _ = shared.shutdown.cancelled() => return,
        ws = accept_hdr_async_with_config(stream, callback, Some(config)) => ws,
    };
    let (Ok(ws), Some(route)) = (ws, route) else {
        return;
    };
    run(ws, route, shared).await;
}

async fn run(ws: WebSocketStream<Stream>, route: Route, shared: Arc<Shared>) {
    let id = shared.new_id();
    let (tx, rx) = mpsc::channel(shared.config.queue_capacity);
    let outbox = Outbox {
        queue: tx,
        kick: CancellationToken::new(),
    };
    let membership = match &route {
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
    };
    shared.counters.connection_opened();
    let policy = shared.config.overflow;
    if let Some(welcome) = &shared.config.welcome {
        outbox.offer(Message::text(welcome.clone()), policy, &shared.counters);
    }

    let (sink, mut stream) = ws.split();
    let (close_tx, close_rx) = oneshot::channel();
    let mut writer = tokio::spawn(write_loop(sink, rx, close_rx));
    let kick = outbox.kick.clone();
    let mut writer_ended = false;

    let close = loop {
        let next = tokio::select! {
            next = stream.next() => next,
            _ = kick.cancelled() => break Some(close_frame(CloseCode::Policy, "slow consumer")),
            _ = shared.shutdown.cancelled() => break Some(close_frame(CloseCode::Away, "server shutting down")),
            _ = &mut writer => {
                writer_ended = true;
                break None;
            }
        };
        let msg = match next {
            Some(Ok(msg)) => msg,
            Some(Err(err)) => break close_for_error(&err),
            None => break None,
        };
        match msg {
            Message::Text(_) | Message::Binary(_) => {
                shared.counters.message_received();
                let queued = match &membership {
                    Membership::Group { group, room } => {
                        if let Some(relay) = &shared.relay {
                            relay.publish(room.as_deref(), &msg);
                        }
                        group.broadcast(id, &msg, policy, &shared.counters)
                    }
                    Membership::Echo => u64::from(outbox.offer(msg, policy, &shared.counters)),
                };
                shared.counters.deliveries_sent(queued);
            }
            // tungstenite answers pings and acknowledges a close on the next read; after a
            // close the stream ends by itself.
            Message::Ping(_) | Message::Pong(_) | Message::Frame(_) | Message::Close(_) => {}
        }
    };

    match membership {
        Membership::Group { group, room: None } => {
            group.leave(id);
        }
        Membership::Group {
            room: Some(name), ..
        } => shared.groups.leave_room(&name, id),
        Membership::Echo => {}
    }
    // Without a close frame to send, the writer drains what is queued and ends once the
    // last sender (ours; the group's was just removed) is gone.
    drop(outbox);
    if let Some(frame) = close {
        let _ = close_tx.send(frame);
    } else {
        drop(close_tx);
    }
    // A client that stopped reading can hold the writer forever: bound the wait.
    if !writer_ended
        && tokio::time::timeout(WRITER_GRACE, &mut writer)
            .await
            .is_err()
    {
        writer.abort();
    }
    shared.counters.connection_closed();
}

/// Per-connection read buffer, as socketioxide's default `ws_read_buffer_size`.
const READ_BUFFER_SIZE: usize = 4 * 1024;

/// How long a closing connection may take to flush its queue and close frame.
const WRITER_GRACE: Duration = Duration::from_secs(1);

/// Writes queued messages, batching whatever is already queued into one flush, until the
/// queue closes or a close frame is asked for.
async fn write_loop(
    mut sink: SplitSink<WebSocketStream<Stream>, Message>,
    mut rx: mpsc::Receiver<Message>,
    mut close: oneshot::Receiver<CloseFrame>,
) {
    loop {
        tokio::select! {
            biased;
            frame = &mut close => {
                if let Ok(frame) = frame {
                    let _ = sink.send(Message::Close(Some(frame))).await;
                } else {
                    // The reader ended without a reason to give: deliver what is queued.
                    while let Ok(msg) = rx.try_recv() {
                        if sink.feed(msg).await.is_err() {
                            return;
                        }
                    }
                    let _ = sink.flush().await;
                }
                return;
            }
            msg = rx.recv() => {
                let Some(msg) = msg else { return };
                if sink.feed(msg).await.is_err() {
                    return;
                }
                while let Ok(msg) = rx.try_recv() {
                    if sink.feed(msg).await.is_err() {
                        return;
                    }
                }
                if sink.flush().await.is_err() {
                    return;
                }
            }
        }
    }
}

fn close_frame(code: CloseCode, reason: &'static str) -> CloseFrame {
    CloseFrame {
        code,
        reason: reason.into(),
    }
}

/// The close frame RFC 6455 asks for after a read error, if the connection can still take one.
fn close_for_error(err: &WsError) -> Option<CloseFrame> {
    match err {
        WsError::Capacity(_) => Some(close_frame(CloseCode::Size, "message too big")),
        WsError::Utf8(_) => Some(close_frame(CloseCode::Invalid, "invalid UTF-8")),
        WsError::Protocol(_) => Some(close_frame(CloseCode::Protocol, "protocol error")),
        _ => None,
    }
}
