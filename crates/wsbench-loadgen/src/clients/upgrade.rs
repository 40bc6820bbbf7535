//! The client's half of the WebSocket opening handshake (RFC 6455 §4.1), done here rather
//! than by tungstenite: tungstenite reads the server's answer into a 4 KiB buffer that then
//! becomes the connection's read buffer for good, so every client would hold 4 KiB
//! whatever its messages' size (docs/method.md, "The load generator's own cost"). Here
//! the answer is read into a buffer that lives only as long as the handshake, and what
//! followed it is handed on in a vector of its own size.

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio_tungstenite::tungstenite::handshake::client::{Request, generate_request};
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;

use wsbench_core::upgrade::lists;

use super::deflate::{self, Accepted};
use super::failure::ConnectFailure;

/// Longest answer head accepted, as the servers' own limit for requests.
const MAX_HEAD: usize = 8 * 1024;
/// Headers an answer may have.
const MAX_HEADERS: usize = 64;

/// What an accepted upgrade leaves a client.
#[derive(Debug, PartialEq, Eq)]
pub struct Upgraded {
    /// The bytes that followed the answer's head (frames the server wrote at once, such as
    /// an engine.io open packet), to be read before anything else.
    pub tail: Vec<u8>,
    /// The permessage-deflate the server accepted, if it did.
    pub deflate: Option<Accepted>,
}

/// Writes the upgrade `request` (which offers the subprotocols `offered`, and
/// permessage-deflate if `deflate_offered`) on `stream` and reads the server's answer.
pub async fn upgrade<S: AsyncRead + AsyncWrite + Unpin>(
    stream: &mut S,
    request: Request,
    offered: &[String],
    deflate_offered: bool,
) -> Result<Upgraded, ConnectFailure> {
    let (head, key) = generate_request(request).map_err(|e| ConnectFailure::from_ws(&e))?;
    stream
        .write_all(&head)
        .await
        .map_err(|e| ConnectFailure::from_io(&e))?;
    let accept = derive_accept_key(key.as_bytes());
    let mut buf = Vec::with_capacity(1024);
    loop {
        if buf.len() >= MAX_HEAD {
            return Err(ConnectFailure::Handshake);
        }
        let n = stream
            .read_buf(&mut buf)
            .await
            .map_err(|e| ConnectFailure::from_io(&e))?;
        if n == 0 {
            return Err(ConnectFailure::Reset);
        }
        let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
        let mut answer = httparse::Response::new(&mut headers);
        match answer.parse(&buf) {
            Ok(httparse::Status::Complete(len)) => {
                let deflate = check(&answer, &accept, offered, deflate_offered)?;
                return Ok(Upgraded {
                    tail: buf[len..].to_vec(),
                    deflate,
                });
            }
            Ok(httparse::Status::Partial) => {}
            Err(_) => return Err(ConnectFailure::Handshake),
        }
    }
}

/// Whether `answer` accepts the upgrade (RFC 6455 §4.1, the client's checks): 101, the
/// `Upgrade` and `Connection` tokens, the key's accept value, a subprotocol among those
/// offered (one must be chosen when any was offered, as tungstenite requires too), and no
/// extension but the permessage-deflate offered; returns that one if accepted.
fn check(
    answer: &httparse::Response<'_, '_>,
    accept: &str,
    offered: &[String],
    deflate_offered: bool,
) -> Result<Option<Accepted>, ConnectFailure> {
    let header = |name: &str| {
        answer
            .headers
            .iter()
            .find(|h| h.name.eq_ignore_ascii_case(name))
            .and_then(|h| std::str::from_utf8(h.value).ok())
            .map(str::trim)
    };
    let has_token = |name: &str, token: &str| header(name).is_some_and(|v| lists(v, token));
    let chosen = header("Sec-WebSocket-Protocol");
    let subprotocol_ok = match chosen {
        Some(p) => offered.iter().any(|o| o == p),
        None => offered.is_empty(),
    };
    if answer.code == Some(101)
        && has_token("Upgrade", "websocket")
        && has_token("Connection", "upgrade")
        && header("Sec-WebSocket-Accept") == Some(accept)
        && subprotocol_ok
    {
        deflate::accepted(header("Sec-WebSocket-Extensions"), deflate_offered)
    } else {
        Err(ConnectFailure::Handshake)
    }
}

#[cfg(test)]
mod tests {
    use tokio::io::{AsyncBufReadExt, BufReader};
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;

    use super::*;

    /// Runs `upgrade` against a peer that reads the request head and writes `answer(key)`
    /// (`key`: the request's Sec-WebSocket-Key); returns the outcome and the request head.
    async fn against(
        subprotocols: Option<&str>,
        answer: impl FnOnce(&str) -> Vec<u8> + Send + 'static,
    ) -> (Result<Vec<u8>, ConnectFailure>, String) {
        let (outcome, head) = against_offering(subprotocols, false, answer).await;
        (outcome.map(|u| u.tail), head)
    }

    /// [`against`], offering permessage-deflate if `deflate`.
    async fn against_offering(
        subprotocols: Option<&str>,
        deflate: bool,
        answer: impl FnOnce(&str) -> Vec<u8> + Send + 'static,
    ) -> (Result<Upgraded, ConnectFailure>, String) {
        let (mut client, server) = tokio::io::duplex(64 * 1024);
        let peer = tokio::spawn(async move {
            let mut server = BufReader::new(server);
            let mut head = String::new();
            loop {
                let mut line = String::new();
                if server.read_line(&mut line).await.unwrap() == 0 || line == "\r\n" {
                    break;
                }
                head.push_str(&line);
            }
            let key = head
                .lines()
                .find_map(|l| l.strip_prefix("Sec-WebSocket-Key: "))
                .unwrap_or_default()
                .trim()
                .to_owned();
            server.get_mut().write_all(&answer(&key)).await.unwrap();
            head
        });
        let mut request = "ws://127.0.0.1:9/chat?x=1".into_client_request().unwrap();
        if let Some(p) = subprotocols {
            request
                .headers_mut()
                .insert("Sec-WebSocket-Protocol", p.parse().unwrap());
        }
        let offered: Vec<String> = subprotocols
            .map(|p| p.split(", ").map(str::to_owned).collect())
            .unwrap_or_default();
        let outcome = upgrade(&mut client, request, &offered, deflate).await;
        (outcome, peer.await.unwrap())
    }

    fn switching(key: &str, extra: &str) -> String {
        format!(
            "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
             Sec-WebSocket-Accept: {}\r\n{extra}\r\n",
            derive_accept_key(key.as_bytes())
        )
    }

    #[tokio::test]
    async fn an_accepted_upgrade_hands_on_what_followed_its_head() {
        let (outcome, head) = against(Some("chat.v1, chat.v2"), |key| {
            let mut bytes = switching(key, "Sec-WebSocket-Protocol: chat.v2\r\n").into_bytes();
            bytes.extend_from_slice(&[0x81, 0x02, b'4', b'0']);
            bytes
        })
        .await;
        assert_eq!(outcome, Ok(vec![0x81, 0x02, b'4', b'0']));
        assert!(head.starts_with("GET /chat?x=1 HTTP/1.1\r\n"), "{head}");
        assert!(head.contains("Host: 127.0.0.1:9\r\n"), "{head}");
        assert!(head.contains("Sec-WebSocket-Version: 13\r\n"), "{head}");
        assert!(head.contains("chat.v1, chat.v2"), "{head}");
    }

    #[tokio::test]
    async fn refusals_and_bad_answers_are_handshake_failures() {
        // What is wrong, the subprotocols offered, the answer to the request's key.
        type Case = (&'static str, Option<&'static str>, fn(&str) -> String);
        let cases: [Case; 6] = [
            ("a refusal", None, |_| {
                "HTTP/1.1 401 Unauthorized\r\nContent-Length: 0\r\n\r\n".to_owned()
            }),
            ("a wrong accept value", None, |_| switching("other", "")),
            ("no Upgrade", None, |key| {
                switching(key, "").replace("Upgrade: websocket\r\n", "")
            }),
            ("a subprotocol not offered", None, |key| {
                switching(key, "Sec-WebSocket-Protocol: x\r\n")
            }),
            (
                "no subprotocol when one was offered",
                Some("chat.v1"),
                |key| switching(key, ""),
            ),
            ("not HTTP", None, |_| "SSH-2.0-OpenSSH\r\n\r\n".to_owned()),
        ];
        for (what, offered, answer) in cases {
            let (outcome, _) = against(offered, move |key| answer(key).into_bytes()).await;
            assert_eq!(outcome, Err(ConnectFailure::Handshake), "{what}");
        }
    }

    #[tokio::test]
    async fn an_extension_is_taken_only_where_it_was_offered() {
        let pmd = "Sec-WebSocket-Extensions: permessage-deflate; server_no_context_takeover\r\n";
        let (outcome, _) =
            against_offering(None, true, |key| switching(key, pmd).into_bytes()).await;
        let accepted = Accepted {
            server_no_context_takeover: true,
        };
        assert_eq!(outcome.map(|u| u.deflate), Ok(Some(accepted)));
        let (outcome, _) =
            against_offering(None, true, |key| switching(key, "").into_bytes()).await;
        assert_eq!(outcome.map(|u| u.deflate), Ok(None), "declined");
        let (outcome, _) = against(None, |key| switching(key, pmd).into_bytes()).await;
        assert_eq!(outcome, Err(ConnectFailure::Handshake), "not offered");
    }

    #[tokio::test]
    async fn a_peer_that_closes_mid_answer_is_a_reset() {
        let (outcome, _) = against(None, |_| b"HTTP/1.1 101 Switching".to_vec()).await;
        assert_eq!(outcome, Err(ConnectFailure::Reset));
    }
}
