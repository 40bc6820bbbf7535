//! What a message holds around its probe (`payload_kind`): the probe and dots (the
//! default: the same bytes every time, which compression shrinks to almost nothing), the
//! probe and random letters (what compression cannot shrink), or the probe inside a
//! chat message as JSON (what compression meets in a real application). Compression's
//! figures mean something only for the last two (docs/method.md, "Compression").

use serde::{Deserialize, Serialize};

use crate::probe::{HEADER_LEN, Probe};

/// What fills a message beyond its probe.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "kebab-case")]
pub enum PayloadKind {
    /// The probe, then `.` up to the payload size.
    #[default]
    Padded,
    /// The probe, then letters and digits drawn at random (incompressible as text goes).
    Random,
    /// A chat message as a JSON object whose `id` is the probe and whose `text` is words
    /// drawn from a small vocabulary, as long as the payload size asks.
    Json,
}

named!(PayloadKind, "payload kind", Padded => "padded", Random => "random", Json => "json");

/// Words of a chat message's text: common English, as chat text is (what makes it
/// compress about as well as real messages do).
const WORDS: [&str; 48] = [
    "the", "a", "to", "and", "of", "is", "in", "it", "you", "that", "for", "on", "this", "with",
    "we", "can", "be", "are", "have", "just", "not", "at", "so", "but", "what", "if", "meeting",
    "today", "tomorrow", "thanks", "ok", "sure", "message", "time", "see", "will", "get", "back",
    "later", "team", "update", "deploy", "please", "check", "new", "build", "now", "great",
];

impl PayloadKind {
    /// The smallest payload this kind fits in: the probe, and for JSON its envelope with a
    /// sender id of 10 digits and no text.
    pub fn min_payload(self) -> usize {
        match self {
            PayloadKind::Padded | PayloadKind::Random => HEADER_LEN,
            PayloadKind::Json => json_head(&Probe::max(), u32::MAX).len() + JSON_TAIL.len(),
        }
    }

    /// Writes `probe` as a message of exactly `payload` bytes of this kind into `out`
    /// (cleared first). The probe is found in it by [`Probe::find`].
    ///
    /// # Panics
    /// If `payload` is smaller than [`PayloadKind::min_payload`]; scenarios are checked.
    pub fn encode_into(self, probe: &Probe, payload: usize, out: &mut Vec<u8>) {
        match self {
            PayloadKind::Padded => probe.encode_into(payload, out),
            PayloadKind::Random => {
                probe.encode_into(HEADER_LEN, out);
                let mut rng = fastrand::Rng::with_seed(seed(probe));
                out.extend((HEADER_LEN..payload).map(|_| rng.alphanumeric() as u8));
            }
            PayloadKind::Json => json_into(probe, payload, out),
        }
    }
}

/// The same message for the same probe, a different one for every probe.
fn seed(probe: &Probe) -> u64 {
    (u64::from(probe.sender) << 40) ^ probe.seq
}

const JSON_TAIL: &str = "\"}";

/// `{"id":"<probe>","type":"message","room":"lobby","user":{"id":N,"name":"user-N"},"text":"`
fn json_head(probe: &Probe, sender: u32) -> Vec<u8> {
    let mut id = Vec::with_capacity(HEADER_LEN);
    probe.encode_into(HEADER_LEN, &mut id);
    let mut head = Vec::with_capacity(128);
    head.extend_from_slice(b"{\"id\":\"");
    head.extend_from_slice(&id);
    head.extend_from_slice(
        format!(
            "\",\"type\":\"message\",\"room\":\"lobby\",\"user\":{{\"id\":{sender},\
             \"name\":\"user-{sender}\"}},\"text\":\""
        )
        .as_bytes(),
    );
    head
}

fn json_into(probe: &Probe, payload: usize, out: &mut Vec<u8>) {
    let head = json_head(probe, probe.sender);
    assert!(
        payload >= head.len() + JSON_TAIL.len(),
        "payload {payload} too small for json"
    );
    out.clear();
    out.reserve(payload);
    out.extend_from_slice(&head);
    let text_end = payload - JSON_TAIL.len();
    let mut rng = fastrand::Rng::with_seed(seed(probe));
    loop {
        let word = WORDS[rng.usize(..WORDS.len())];
        let space = usize::from(out.len() > head.len());
        if out.len() + space + word.len() > text_end {
            break;
        }
        if space == 1 {
            out.push(b' ');
        }
        out.extend_from_slice(word.as_bytes());
    }
    // What no word fits in: a sentence's end.
    out.resize(text_end, b'.');
    out.extend_from_slice(JSON_TAIL.as_bytes());
}

impl Probe {
    /// The probe with the longest fields (for sizes).
    fn max() -> Probe {
        Probe {
            sender: u32::MAX,
            seq: u64::MAX,
            intended_ns: u64::MAX,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PROBE: Probe = Probe {
        sender: 17,
        seq: 42,
        intended_ns: 123_456_789,
    };

    #[test]
    fn every_kind_is_the_size_asked_and_holds_its_probe() {
        for kind in [PayloadKind::Padded, PayloadKind::Random, PayloadKind::Json] {
            for payload in [kind.min_payload(), 200, 1024, 4096] {
                let mut out = Vec::new();
                kind.encode_into(&PROBE, payload, &mut out);
                assert_eq!(out.len(), payload, "{kind} {payload}");
                assert_eq!(Probe::find(&out), Some(PROBE), "{kind} {payload}");
                assert!(std::str::from_utf8(&out).is_ok(), "{kind}: text");
            }
        }
    }

    #[test]
    fn json_payloads_are_json_chat_messages() {
        let mut out = Vec::new();
        PayloadKind::Json.encode_into(&PROBE, 512, &mut out);
        let v: serde_json::Value = serde_json::from_slice(&out).expect("valid JSON");
        assert_eq!(v["type"], "message");
        assert_eq!(v["user"]["id"], 17);
        let text = v["text"].as_str().unwrap();
        assert!(text.split(' ').count() > 20, "{text}");
        // Another probe, another text.
        let mut other = Vec::new();
        let next = Probe { seq: 43, ..PROBE };
        PayloadKind::Json.encode_into(&next, 512, &mut other);
        assert_ne!(out[100..], other[100..]);
    }

    #[test]
    fn the_smallest_json_payload_fits_the_largest_sender_id() {
        let mut out = Vec::new();
        let far = Probe {
            sender: u32::MAX,
            ..PROBE
        };
        let min = PayloadKind::Json.min_payload();
        PayloadKind::Json.encode_into(&far, min, &mut out);
        assert_eq!(out.len(), min);
        assert!(serde_json::from_slice::<serde_json::Value>(&out).is_ok());
    }
}
