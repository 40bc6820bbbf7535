//! Property tests of the lean clients' decoders: no message a server sends makes them
//! panic, and a probe framed by a client is found again, whatever its encoding and role.

use bytes::Bytes;
use proptest::prelude::*;
use tokio_tungstenite::tungstenite::Message;
use wsbench_core::probe::{HEADER_LEN, Probe};
use wsbench_core::scenario::Encoding;
use wsbench_loadgen::clients::{RawWs, SocketIoWs, Wire};
use wsbench_loadgen::{Incoming, Role};

/// Server messages: engine.io/socket.io packets (mostly malformed), probes, binary.
fn server_message() -> impl Strategy<Value = Message> {
    prop_oneof![
        "[0-6]{0,3}[\\[\\]\"a-z,0-9_-]{0,40}".prop_map(Message::text),
        "\\PC{0,60}".prop_map(Message::text),
        prop::collection::vec(any::<u8>(), 0..80).prop_map(|b| Message::Binary(Bytes::from(b))),
        Just(Message::text("2")),
        Just(Message::text(
            "451-[\"broadcast\",{\"_placeholder\":true,\"num\":0}]"
        )),
        Just(Message::Close(None)),
    ]
}

fn role() -> impl Strategy<Value = Role> {
    prop_oneof![
        Just(Role::Broadcast),
        Just(Role::Echo),
        (0u64..100).prop_map(Role::Room)
    ]
}

fn found<W: Wire>(encoding: Encoding, role: Role, probe: &Probe) -> bool {
    let bytes = probe.encode(HEADER_LEN + 23);
    let mut frames = Vec::new();
    let mut wire = W::new(&Default::default());
    wire.encode(encoding, role, &bytes, &mut frames);
    frames.into_iter().any(|m| match wire.decode(m) {
        Incoming::Payload(p) => Probe::find(&p) == Some(*probe),
        _ => false,
    })
}

proptest! {
    #[test]
    fn no_server_message_makes_a_decoder_panic(messages in prop::collection::vec(server_message(), 1..30)) {
        let adapter = Default::default();
        let (mut sio, mut raw) = (SocketIoWs::new(&adapter), RawWs::new(&adapter));
        for m in messages {
            if let Message::Text(t) = &m {
                let _ = Probe::find(t.as_bytes());
            }
            let _ = sio.decode(m.clone());
            let _ = raw.decode(m);
        }
    }

    #[test]
    fn a_framed_probe_is_found_again(sender in any::<u32>(), seq in any::<u64>(), binary in any::<bool>(), role in role()) {
        let probe = Probe { sender, seq, intended_ns: 42 };
        let encoding = if binary { Encoding::Binary } else { Encoding::Text };
        prop_assert!(found::<RawWs>(encoding, role, &probe));
        // A Socket.IO echo comes back as an ack (43/46), not as the event sent.
        if role != Role::Echo {
            prop_assert!(found::<SocketIoWs>(encoding, role, &probe));
        }
    }
}
