//! The opening handshake, read and checked here before anything is upgraded, so that every
//! request gets an HTTP answer (RFC 6455 §4.2.1-4.2.2): 400 for a malformed or incomplete
//! upgrade, 405 for another method, 404 for a path the server does not serve, 426 with the
//! supported version for another WebSocket version, 408 when the request does not arrive in
//! time, and 101 for a good one. tungstenite would close a bad request without a word.

use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;

use wsbench_core::upgrade::{self, Refusal};

use crate::route::Route;

/// Largest request head accepted; a longer one gets 431 (Node's default limit).
const MAX_HEAD: usize = 16 * 1024;
/// Most header lines accepted (hyper's default: proxies add lines).
const MAX_HEADERS: usize = 100;

/// Reads and checks the request within `deadline`, then answers 101: returns the stream,
/// what the client sent after its request (the start of its WebSocket stream: it should
/// wait, but may not) and the route. A refused or late request gets its HTTP answer and
/// `None`.
pub(crate) async fn accept<S: AsyncRead + AsyncWrite + Unpin>(
    mut stream: S,
    deadline: Duration,
) -> Option<(S, Vec<u8>, Route)> {
    let mut head = Vec::with_capacity(1024);
    let len = match tokio::time::timeout(deadline, read_head(&mut stream, &mut head)).await {
        Ok(Ok(len)) => len,
        Ok(Err(refusal)) => return answer(stream, refusal).await,
        Err(_) if head.is_empty() => return None,
        Err(_) => {
            let late = Refusal::new(408, "the request did not arrive in time");
            return answer(stream, late).await;
        }
    };
    let (key, route) = match check(&head[..len]) {
        Ok(checked) => checked,
        Err(refusal) => return answer(stream, refusal).await,
    };
    let response = format!(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Accept: {}\r\n\r\n",
        derive_accept_key(key.as_bytes())
    );
    let written = tokio::time::timeout(deadline, stream.write_all(response.as_bytes())).await;
    if !matches!(written, Ok(Ok(()))) {
        return None;
    }
    let rest = head.split_off(len);
    Some((stream, rest, route))
}

/// Reads until the end of the request head; returns its length.
async fn read_head<S: AsyncRead + Unpin>(
    stream: &mut S,
    head: &mut Vec<u8>,
) -> Result<usize, Refusal> {
    let mut scanned: usize = 0;
    loop {
        if head.len() >= MAX_HEAD {
            return Err(Refusal::new(
                431,
                format!("the request head is over {MAX_HEAD} bytes"),
            ));
        }
        head.reserve(1024.min(MAX_HEAD - head.len()));
        let n = stream
            .read_buf(head)
            .await
            .map_err(|e| Refusal::new(400, format!("cannot read the request: {e}")))?;
        if n == 0 {
            return Err(Refusal::new(400, "the request ended before its head did"));
        }
        // Look for the blank line only in what is new (and the 2 bytes before it).
        let from = scanned.saturating_sub(2);
        if let Some(end) = head_end(&head[from..]) {
            return Ok(from + end);
        }
        scanned = head.len();
        // Bytes that cannot begin a request (random bytes, a TLS ClientHello on the plain
        // port) are answered now, not at the deadline.
        let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
        if let Err(e @ (httparse::Error::Token | httparse::Error::Version)) =
            httparse::Request::new(&mut headers).parse(head)
        {
            return Err(Refusal::new(400, format!("not an HTTP request ({e})")));
        }
    }
}

/// Where a request head ends in `bytes`: after its blank line, lines ended by CRLF or by a
/// bare LF, which a recipient may accept (RFC 9112 §2.2).
fn head_end(bytes: &[u8]) -> Option<usize> {
    let lf = bytes.iter().enumerate().filter(|(_, b)| **b == b'\n');
    for (i, _) in lf {
        let rest = &bytes[i + 1..];
        if rest.starts_with(b"\n") {
            return Some(i + 2);
        }
        if rest.starts_with(b"\r\n") {
            return Some(i + 3);
        }
    }
    None
}

/// The request's key and route, or why it cannot be upgraded.
fn check(head: &[u8]) -> Result<(String, Route), Refusal> {
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut req = httparse::Request::new(&mut headers);
    match req.parse(head) {
        Ok(httparse::Status::Complete(_)) => {}
        Ok(httparse::Status::Partial) => return Err(Refusal::new(400, "an incomplete request")),
        Err(httparse::Error::TooManyHeaders) => {
            return Err(Refusal::new(
                431,
                format!("more than {MAX_HEADERS} header lines"),
            ));
        }
        Err(e) => return Err(Refusal::new(400, format!("not an HTTP request ({e})"))),
    }
    let method = req.method.unwrap_or_default();
    let route = Route::from_path(req.path.unwrap_or_default());
    if method == "GET" && route.is_none() {
        return Err(Refusal::new(404, "wsbench serves /, /room/NAME and /echo"));
    }
    let values = |name: &str| {
        req.headers
            .iter()
            .filter(|h| h.name.eq_ignore_ascii_case(name))
            .filter_map(|h| std::str::from_utf8(h.value).ok())
            .collect()
    };
    let key = upgrade::check(method, req.version == Some(1), values)?;
    Ok((key.to_owned(), route.expect("checked above")))
}

/// Writes the refusal and closes; always `None`.
async fn answer<T, S: AsyncWrite + Unpin>(mut stream: S, refusal: Refusal) -> Option<T> {
    // A client that does not read its answer does not hold the connection.
    let _ = tokio::time::timeout(Duration::from_secs(1), async {
        stream.write_all(refusal.response().as_bytes()).await?;
        stream.shutdown().await
    })
    .await;
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(lines: &[&str]) -> Vec<u8> {
        format!("{}\r\n\r\n", lines.join("\r\n")).into_bytes()
    }

    #[test]
    fn a_good_upgrade_gives_its_key_and_route_and_a_bad_path_is_404() {
        let good = [
            "Host: x",
            "Upgrade: WebSocket",
            "Connection: keep-alive, Upgrade",
            "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==",
            "Sec-WebSocket-Version: 13",
        ];
        let head = request(&[&["GET /room/a HTTP/1.1"], &good[..]].concat());
        let (key, route) = check(&head).unwrap();
        assert_eq!(key, "dGhlIHNhbXBsZSBub25jZQ==");
        assert_eq!(route, Route::Room("a".into()));
        let head = request(&[&["GET /elsewhere HTTP/1.1"], &good[..]].concat());
        assert_eq!(check(&head).unwrap_err().status, 404);
        let head = request(&[&["GET http://x/echo HTTP/1.1"], &good[..]].concat());
        assert_eq!(check(&head).unwrap().1, Route::Echo);
        let bare = String::from_utf8(request(&[&["GET / HTTP/1.1"], &good[..]].concat()))
            .unwrap()
            .replace("\r\n", "\n");
        let end = head_end(bare.as_bytes()).unwrap();
        assert_eq!(end, bare.len());
        assert_eq!(check(bare.as_bytes()).unwrap().1, Route::Broadcast);
    }

    #[test]
    fn a_head_ends_at_its_blank_line_however_lines_end() {
        assert_eq!(head_end(b"GET / HTTP/1.1\r\nA: b\r\n\r\nxyz"), Some(24));
        assert_eq!(head_end(b"GET / HTTP/1.1\nA: b\n\nxyz"), Some(21));
        assert_eq!(head_end(b"GET / HTTP/1.1\r\nA: b\r\n"), None);
    }
}
