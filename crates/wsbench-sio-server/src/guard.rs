//! What every HTTP request meets before socketioxide does: a WebSocket upgrade is checked as
//! RFC 6455 asks (socketioxide upgrades anything with `transport=websocket`), a body declared
//! over the limit is refused at once with 413, and a body must arrive within the handshake
//! deadline, so that a client declaring 1 GB and sending 5 bytes holds nothing for long.

use std::error::Error;
use std::fmt;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use http_body_util::{Either, Full};
use hyper::body::Incoming;
use hyper::{Request, Response};
use tokio::time::{Instant, Sleep};
use wsbench_core::upgrade::{self, Refusal};

use crate::link::Link;

/// socketioxide's service behind the checks.
#[derive(Clone)]
pub(crate) struct Guard<S> {
    pub(crate) inner: S,
    /// Largest body a request may declare.
    pub(crate) max_body: u64,
    /// How long a request's body may take to arrive.
    pub(crate) deadline: Duration,
    /// The connection's link, put in each request's extensions: a WebSocket session keeps
    /// its handshake's, and with it the way to its socket (see `link.rs`).
    pub(crate) link: Option<Arc<Link>>,
}

type Boxed<T> = Pin<Box<dyn Future<Output = T> + Send>>;

impl<S, B> hyper::service::Service<Request<Incoming>> for Guard<S>
where
    S: hyper::service::Service<Request<Timed<Incoming>>, Response = Response<B>>,
    S::Future: Send + 'static,
    S::Error: Send + 'static,
    B: Body<Data = Bytes> + Send + 'static,
{
    type Response = Response<Either<B, Full<Bytes>>>;
    type Error = S::Error;
    type Future = Boxed<Result<Self::Response, S::Error>>;

    fn call(&self, req: Request<Incoming>) -> Self::Future {
        if let Err(refusal) = admit(&req, self.max_body) {
            let response = answer(&refusal).map(Either::Right);
            return Box::pin(std::future::ready(Ok(response)));
        }
        let deadline = Instant::now() + self.deadline;
        let mut req = if opens_a_session(&req) {
            owned(req)
        } else {
            req
        };
        if let Some(link) = &self.link {
            req.extensions_mut().insert(link.clone());
        }
        let served = self.inner.call(req.map(|body| Timed::new(body, deadline)));
        Box::pin(async move { served.await.map(|r| r.map(Either::Left)) })
    }
}

/// Whether a request may go on to socketioxide.
fn admit<T>(req: &Request<T>, max_body: u64) -> Result<(), Refusal> {
    let declared = req
        .headers()
        .get(hyper::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    if let Some(len) = declared.filter(|len| *len > max_body) {
        return Err(Refusal::new(
            413,
            format!("a request body may be at most {max_body} bytes, not {len}"),
        ));
    }
    if asks_for_websocket(req) {
        let values = |name: &str| {
            let all = req.headers().get_all(name).iter();
            all.filter_map(|v| v.to_str().ok()).collect()
        };
        let http11 = req.version() >= hyper::Version::HTTP_11;
        upgrade::check(req.method().as_str(), http11, values)?;
    }
    Ok(())
}

/// Whether engine.io would take the request as a WebSocket one: its transport as engine.io
/// reads it (the first `transport=` parameter, up to any further `=`, so that
/// `transport=websocket=1` is one), or an `Upgrade` header that lists `websocket`. Another
/// upgrade (`Upgrade: h2c`, as `curl --http2` sends) is not one: the request is served over
/// HTTP/1.1 (RFC 9110 §7.8).
fn asks_for_websocket<T>(req: &Request<T>) -> bool {
    let transport = req.uri().query().and_then(|q| {
        let param = q.split('&').find(|p| p.starts_with("transport="))?;
        param.split('=').nth(1)
    });
    transport.is_some_and(|t| t.eq_ignore_ascii_case("websocket"))
        || req
            .headers()
            .get_all(hyper::header::UPGRADE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .any(|v| upgrade::lists(v, "websocket"))
}

/// Whether the request starts an engine.io session (it has no `sid` yet): socketioxide keeps
/// its URI and headers for the session's whole life.
fn opens_a_session<T>(req: &Request<T>) -> bool {
    !req.uri()
        .query()
        .is_some_and(|q| q.split('&').any(|p| p.starts_with("sid=")))
}

/// The request with its URI and headers in allocations of their own. hyper parses them as
/// slices of its 8 KiB read buffer, so a session that keeps them (every socketioxide session
/// does, for `req_parts`) keeps the whole buffer: 8 KiB per connection for a few hundred
/// bytes of headers.
fn owned<T>(mut req: Request<T>) -> Request<T> {
    let mut headers = hyper::HeaderMap::with_capacity(req.headers().len());
    for (name, value) in req.headers() {
        let name = hyper::header::HeaderName::from_bytes(name.as_str().as_bytes());
        let value = hyper::header::HeaderValue::from_bytes(value.as_bytes());
        if let (Ok(name), Ok(value)) = (name, value) {
            headers.append(name, value);
        }
    }
    *req.headers_mut() = headers;
    if let Ok(uri) = req.uri().to_string().parse() {
        *req.uri_mut() = uri;
    }
    req
}

/// The refusal as a response that closes the connection.
fn answer(refusal: &Refusal) -> Response<Full<Bytes>> {
    let mut response = Response::builder()
        .status(refusal.status)
        .header(hyper::header::CONNECTION, "close")
        .header(hyper::header::CONTENT_TYPE, "text/plain; charset=utf-8");
    if let Some((name, value)) = refusal.header {
        response = response.header(name, value);
    }
    response
        .body(Full::new(Bytes::from(format!("{}\n", refusal.reason))))
        .expect("a valid response")
}

/// A request body that fails if it has not all arrived by its deadline.
pub(crate) struct Timed<B> {
    inner: B,
    deadline: Instant,
    /// Armed the first time the body is not all there: a request without one (every GET,
    /// every upgrade) allocates no timer.
    timer: Option<Pin<Box<Sleep>>>,
}

impl<B> Timed<B> {
    fn new(inner: B, deadline: Instant) -> Self {
        Timed {
            inner,
            deadline,
            timer: None,
        }
    }
}

impl<B> fmt::Debug for Timed<B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Timed")
            .field("deadline", &self.deadline)
            .finish_non_exhaustive()
    }
}

impl<B> Body for Timed<B>
where
    B: Body + Unpin,
    B::Error: Into<Box<dyn Error + Send + Sync>>,
{
    type Data = B::Data;
    type Error = Box<dyn Error + Send + Sync>;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        let this = self.get_mut();
        if let Poll::Ready(frame) = Pin::new(&mut this.inner).poll_frame(cx) {
            return Poll::Ready(frame.map(|f| f.map_err(Into::into)));
        }
        let deadline = this.deadline;
        let timer = this
            .timer
            .get_or_insert_with(|| Box::pin(tokio::time::sleep_until(deadline)));
        match timer.as_mut().poll(cx) {
            Poll::Ready(()) => {
                Poll::Ready(Some(Err("the request body did not arrive in time".into())))
            }
            Poll::Pending => Poll::Pending,
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}
