//! Which client library speaks a system's protocol: chosen here once, for the scenario's
//! check (which jobs the chosen library can do) and for the load generator (which one it
//! starts).

use crate::adapter::{Adapter, EngineMode};
use crate::scenario::SocketioClient;
pub use crate::system::ClientLibrary;
use crate::system::{Family, Protocol};

impl ClientLibrary {
    /// The library for `protocol`: its own ([`crate::system::ProtocolSpec::client`]), but
    /// for Socket.IO rust_socketio where an adapter's transports start with long-polling
    /// (which the lean client does not speak) or where the scenario asks for it.
    pub fn choose(protocol: Protocol, socketio: SocketioClient, adapter: &Adapter) -> Self {
        let spec = protocol.spec();
        let sio = spec.family == Family::SocketIo;
        let asked = sio && socketio == SocketioClient::RustSocketio;
        if asked || (sio && polls(adapter)) {
            ClientLibrary::RustSocketio
        } else {
            spec.client
        }
    }
}

/// Whether an adapter has Socket.IO clients start with long-polling (which only
/// rust_socketio speaks).
pub fn polls(adapter: &Adapter) -> bool {
    matches!(
        adapter.engine_mode(),
        Some(EngineMode::Polling | EngineMode::PollingThenUpgrade)
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::adapter::EngineTransport;

    #[test]
    fn long_polling_and_the_scenarios_choice_take_rust_socketio() {
        let plain = Adapter::default();
        let polling = Adapter {
            transports: vec![EngineTransport::Polling, EngineTransport::Websocket],
            ..Adapter::default()
        };
        let lean = SocketioClient::Lean;
        let choose = ClientLibrary::choose;
        assert_eq!(choose(Protocol::Ws, lean, &plain), ClientLibrary::Lean);
        assert_eq!(
            choose(Protocol::Socketio, lean, &plain),
            ClientLibrary::Lean
        );
        assert_eq!(
            choose(Protocol::Socketio, lean, &polling),
            ClientLibrary::RustSocketio
        );
        let asked = SocketioClient::RustSocketio;
        assert_eq!(
            choose(Protocol::Socketio, asked, &plain),
            ClientLibrary::RustSocketio
        );
        assert_eq!(choose(Protocol::Ws, asked, &polling), ClientLibrary::Lean);
        assert_eq!(
            choose(Protocol::SocketioPolling, lean, &plain),
            ClientLibrary::RustSocketio
        );
    }
}
