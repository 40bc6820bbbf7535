//! `[proxy]`: a real reverse proxy (nginx) that wsbench starts in front of each system's
//! server, so that clients reach the server through it as they do in a deployment; with
//! `upgrade = false` it does not pass the WebSocket upgrade on, as a proxy that blocks
//! WebSockets does; in front of a cluster, `sticky` says whether it keeps each client on
//! one node (docs/method.md, "A proxy in front").

use serde::{Deserialize, Serialize};

use super::check::{At, given};
use super::checker::{Checker, Fields};

/// The proxy in front of the servers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Proxy {
    /// Whether it passes the WebSocket upgrade on (`Upgrade`, `Connection: upgrade`);
    /// without it a WebSocket handshake reaches the server as a plain GET.
    pub upgrade: bool,
    /// In front of a cluster (`nodes` 2 or more): whether a client's requests all go to one
    /// node (hashed on the client's address, as `ip_hash` deployments do), or are spread
    /// over the nodes request by request (nginx's default, round robin). `None`: not given,
    /// which is sticky.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sticky: Option<bool>,
}

impl Proxy {
    /// Whether a client's requests stick to one node.
    pub fn sticky(&self) -> bool {
        self.sticky.unwrap_or(true)
    }
}

/// `[proxy]` with where it is: `Some(None)` without one, `None` where a value is wrong
/// (reported).
pub(super) fn proxy(check: &Checker<'_>, f: &Fields<'_>) -> Option<Option<At<Proxy>>> {
    let Some(v) = f.get("proxy") else {
        return Some(None);
    };
    let t = Fields::new(check.table("proxy", v)?, "proxy", v.span.clone());
    let upgrade = given(&t, "upgrade", |b| check.boolean(&t.name("upgrade"), b));
    let sticky = given(&t, "sticky", |b| check.boolean(&t.name("sticky"), b));
    t.reject_unknown(check, &["upgrade", "sticky"]);
    let proxy = Proxy {
        upgrade: upgrade?.unwrap_or(true),
        sticky: sticky?,
    };
    Some(Some(At::new(proxy, v.span.clone())))
}
