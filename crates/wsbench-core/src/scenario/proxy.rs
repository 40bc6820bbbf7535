//! `[proxy]`: a real reverse proxy (nginx) that wsbench starts in front of each system's
//! server, so that clients reach the server through it as they do in a deployment; with
//! `upgrade = false` it does not pass the WebSocket upgrade on, as a proxy that blocks
//! WebSockets does (docs/method.md, "A proxy in front").

use serde::{Deserialize, Serialize};

use super::check::given;
use super::checker::{Checker, Fields};

/// The proxy in front of the servers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Proxy {
    /// Whether it passes the WebSocket upgrade on (`Upgrade`, `Connection: upgrade`);
    /// without it a WebSocket handshake reaches the server as a plain GET.
    pub upgrade: bool,
}

/// `[proxy]`: `Some(None)` without one, `None` where a value is wrong (reported).
pub(super) fn proxy(check: &Checker<'_>, f: &Fields<'_>) -> Option<Option<Proxy>> {
    let Some(v) = f.get("proxy") else {
        return Some(None);
    };
    let t = Fields::new(check.table("proxy", v)?, "proxy", v.span.clone());
    let upgrade = given(&t, "upgrade", |b| check.boolean(&t.name("upgrade"), b));
    t.reject_unknown(check, &["upgrade"]);
    Some(Some(Proxy {
        upgrade: upgrade?.unwrap_or(true),
    }))
}
