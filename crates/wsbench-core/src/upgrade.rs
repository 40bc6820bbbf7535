//! What makes an HTTP request a WebSocket upgrade (RFC 6455 §4.2.1), checked the same way by
//! both servers before they hand a connection to their library, so that a bad request gets
//! an HTTP answer (§4.2.2: 400, or 426 with the supported version) instead of an upgrade or
//! a bare close.

/// Why a request cannot be upgraded: the status to answer with and why, in words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// HTTP status code.
    pub status: u16,
    /// One line for the response body.
    pub reason: String,
    /// A header the answer must carry (426's `Sec-WebSocket-Version`, 405's `Allow`).
    pub header: Option<(&'static str, &'static str)>,
}

impl Refusal {
    /// A refusal with `status` and `reason`.
    pub fn new(status: u16, reason: impl Into<String>) -> Refusal {
        Refusal {
            status,
            reason: reason.into(),
            header: None,
        }
    }

    /// The status line's reason phrase.
    pub fn phrase(&self) -> &'static str {
        match self.status {
            400 => "Bad Request",
            404 => "Not Found",
            405 => "Method Not Allowed",
            408 => "Request Timeout",
            413 => "Payload Too Large",
            426 => "Upgrade Required",
            431 => "Request Header Fields Too Large",
            _ => "Error",
        }
    }

    /// The whole HTTP/1.1 response, which closes the connection.
    pub fn response(&self) -> String {
        let body = format!("{}\n", self.reason);
        let extra = self.header.map_or(String::new(), |(name, value)| {
            format!("{name}: {value}\r\n")
        });
        format!(
            "HTTP/1.1 {} {}\r\nConnection: close\r\n{extra}Content-Type: text/plain; \
             charset=utf-8\r\nContent-Length: {}\r\n\r\n{body}",
            self.status,
            self.phrase(),
            body.len()
        )
    }
}

/// Checks an upgrade request: its method, whether it is HTTP/1.1 or later, and its headers
/// (`values` gives every value of a header, looked up case-insensitively, in order).
/// Returns the `Sec-WebSocket-Key`.
///
/// Strict where the RFCs are: `Host`, `Sec-WebSocket-Key` and `Sec-WebSocket-Version` appear
/// once (RFC 9112 §3.2, RFC 6455 §11.3.1 and §11.3.5), and an upgrade request carries no
/// body (what follows it is the client's WebSocket stream, so a body would be read as
/// frames).
pub fn check<'h>(
    method: &str,
    http11: bool,
    values: impl Fn(&str) -> Vec<&'h str>,
) -> Result<&'h str, Refusal> {
    if method != "GET" {
        return Err(Refusal {
            header: Some(("Allow", "GET")),
            ..Refusal::new(405, "a WebSocket upgrade is a GET")
        });
    }
    if !http11 {
        return Err(Refusal::new(400, "a WebSocket upgrade needs HTTP/1.1"));
    }
    let header = |name: &str| values(name).first().copied();
    let has_token = |name: &str, token: &str| values(name).iter().any(|v| lists(v, token));
    for name in ["Host", "Sec-WebSocket-Key", "Sec-WebSocket-Version"] {
        if values(name).len() > 1 {
            return Err(Refusal::new(400, format!("more than one {name} header")));
        }
    }
    if header("Host").is_none() {
        return Err(Refusal::new(400, "no Host header"));
    }
    let body = header("Content-Length").is_some_and(|v| v.trim() != "0")
        || header("Transfer-Encoding").is_some();
    if body {
        return Err(Refusal::new(400, "a WebSocket upgrade request has no body"));
    }
    if !has_token("Upgrade", "websocket") {
        return Err(Refusal::new(400, "expected Upgrade: websocket"));
    }
    if !has_token("Connection", "upgrade") {
        return Err(Refusal::new(400, "expected Connection: Upgrade"));
    }
    if header("Sec-WebSocket-Version").map(str::trim) != Some("13") {
        return Err(Refusal {
            header: Some(("Sec-WebSocket-Version", "13")),
            ..Refusal::new(426, "only WebSocket version 13 is supported")
        });
    }
    let key = header("Sec-WebSocket-Key").unwrap_or_default().trim();
    if !is_key(key) {
        return Err(Refusal::new(
            400,
            "Sec-WebSocket-Key must be 16 bytes in base64",
        ));
    }
    Ok(key)
}

/// Whether a comma-separated header value (`Connection: keep-alive, Upgrade`) lists
/// `token`, case-insensitively: how both ends of an upgrade read `Upgrade` and
/// `Connection`.
pub fn lists(value: &str, token: &str) -> bool {
    value
        .split(',')
        .any(|t| t.trim().eq_ignore_ascii_case(token))
}

/// Whether `key` is 16 bytes in base64: 22 characters of the alphabet and `==`.
fn is_key(key: &str) -> bool {
    let b = key.as_bytes();
    b.len() == 24
        && b.ends_with(b"==")
        && b[..22]
            .iter()
            .all(|c| c.is_ascii_alphanumeric() || *c == b'+' || *c == b'/')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers<'a>(list: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Vec<&'a str> {
        move |name| {
            list.iter()
                .filter(|(n, _)| n.eq_ignore_ascii_case(name))
                .map(|(_, v)| *v)
                .collect()
        }
    }

    const GOOD: [(&str, &str); 5] = [
        ("host", "x"),
        ("upgrade", "WebSocket"),
        ("connection", "keep-alive, Upgrade"),
        ("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ=="),
        ("sec-websocket-version", "13"),
    ];

    #[test]
    fn a_good_upgrade_gives_its_key() {
        assert_eq!(
            check("GET", true, headers(&GOOD)),
            Ok("dGhlIHNhbXBsZSBub25jZQ==")
        );
    }

    #[test]
    fn each_mistake_gets_its_status() {
        let without = |name: &str| -> Vec<(&str, &str)> {
            GOOD.iter().copied().filter(|(n, _)| *n != name).collect()
        };
        assert_eq!(check("POST", true, headers(&GOOD)).unwrap_err().status, 405);
        assert_eq!(check("GET", false, headers(&GOOD)).unwrap_err().status, 400);
        for name in ["host", "upgrade", "connection", "sec-websocket-key"] {
            let list = without(name);
            assert_eq!(
                check("GET", true, headers(&list)).unwrap_err().status,
                400,
                "{name}"
            );
        }
        let mut v8 = without("sec-websocket-version");
        v8.push(("sec-websocket-version", "8"));
        let refusal = check("GET", true, headers(&v8)).unwrap_err();
        assert_eq!(refusal.status, 426);
        assert!(
            refusal
                .response()
                .contains("\r\nSec-WebSocket-Version: 13\r\n")
        );
        assert!(!is_key("c2hvcnQ="));
    }

    #[test]
    fn repeated_headers_and_a_body_are_refused() {
        let with = |extra: (&'static str, &'static str)| {
            let mut list = GOOD.to_vec();
            list.push(extra);
            check("GET", true, headers(&list))
                .map(drop)
                .map_err(|r| r.status)
        };
        assert_eq!(with(("host", "y")), Err(400));
        assert_eq!(
            with(("sec-websocket-key", "AAAAAAAAAAAAAAAAAAAAAA==")),
            Err(400)
        );
        assert_eq!(with(("sec-websocket-version", "8")), Err(400));
        assert_eq!(with(("content-length", "5")), Err(400));
        assert_eq!(with(("transfer-encoding", "chunked")), Err(400));
        assert!(with(("content-length", "0")).is_ok());
        // Two Upgrade lines are one list (RFC 9110 §5.3).
        let mut split: Vec<_> = GOOD
            .iter()
            .copied()
            .filter(|(n, _)| *n != "upgrade")
            .collect();
        split.extend([("upgrade", "h2c"), ("upgrade", "websocket")]);
        assert!(check("GET", true, headers(&split)).is_ok());
    }
}
