//! `compression`, `compression_window_bits`, `compression_no_context_takeover`: whether the
//! clients offer permessage-deflate (RFC 7692), and what they ask of the server's side.
//! Whether a server compresses is its own business: the clients offer, and each run
//! records how many connections the server accepted it on (docs/method.md,
//! "Compression").

use serde::{Deserialize, Serialize};

use super::check::{Common, given};
use super::checker::{Checker, Fields};
use crate::client_library::ClientLibrary;

/// What the clients ask of the server's compression, beyond the extension itself.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema,
)]
pub struct DeflateOffer {
    /// `server_max_window_bits` (9-15): a smaller window, less memory per connection on
    /// the server, less compression. Unset: the server's choice (15 in zlib's default).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub window_bits: Option<u8>,
    /// `server_no_context_takeover` (and the client's): the server resets its compressor
    /// after every message, so it need not keep one per connection between messages.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub no_context_takeover: bool,
}

impl DeflateOffer {
    /// The `Sec-WebSocket-Extensions` value the clients send: a browser's offer
    /// (`permessage-deflate; client_max_window_bits`), with the server's window and context
    /// takeover limited where the scenario asks.
    pub fn header(&self) -> String {
        let mut v = "permessage-deflate; client_max_window_bits".to_owned();
        if let Some(bits) = self.window_bits {
            v.push_str(&format!("; server_max_window_bits={bits}"));
        }
        if self.no_context_takeover {
            v.push_str("; server_no_context_takeover; client_no_context_takeover");
        }
        v
    }
}

/// `compression = true|false` and what the clients offer: `None` where a value is wrong
/// (reported).
pub(super) fn compression(check: &Checker<'_>, f: &Fields<'_>) -> Option<(bool, DeflateOffer)> {
    let on = given(f, "compression", |v| check.boolean("compression", v));
    let bits = given(f, "compression_window_bits", |v| {
        check.int_in("compression_window_bits", v, 9, 15)
    });
    let reset = given(f, "compression_no_context_takeover", |v| {
        check.boolean("compression_no_context_takeover", v)
    });
    let offer = DeflateOffer {
        window_bits: bits?.map(|b| b as u8),
        no_context_takeover: reset?.unwrap_or(false),
    };
    Some((on?.unwrap_or(false), offer))
}

/// A system whose clients offer compression must have lean clients: rust_socketio's
/// offer none, so its figures would be uncompressed whatever the server can do.
pub(super) fn clients_offer_it(check: &Checker<'_>, f: &Fields<'_>, c: &Common) {
    let no_adapter = crate::adapter::Adapter::default();
    for name in &c.compared {
        let def = c.systems.get(name);
        if !(c.compression || def.is_some_and(|d| d.compression)) {
            continue;
        }
        let Some(protocol) = def.map(|d| d.protocol).or(name.builtin()) else {
            continue;
        };
        let adapter = c.adapters.get(name).unwrap_or(&no_adapter);
        if ClientLibrary::choose(protocol, c.socketio_client, adapter)
            != ClientLibrary::RustSocketio
        {
            continue;
        }
        let own = def
            .filter(|d| d.compression)
            .and_then(|_| super::systems::entry_span(f, name.as_str(), "compression"));
        let span = own.unwrap_or_else(|| f.get("compression").map_or(0..0, |v| v.span.clone()));
        check.report(
            span,
            "compression",
            format!(
                "{name}'s clients are rust_socketio's, which offer no permessage-deflate: \
                 measure compression with the lean clients (websocket)"
            ),
        );
    }
}
