//! The probe: the bytes every measured message carries, identical on both transports.
//!
//! Layout (ASCII, so the same bytes are valid as a text message, inside a JSON string, and
//! as a binary attachment): `W`, the sender id as 8 hex digits, the sequence number as 16,
//! the intended send time (CLOCK_MONOTONIC ns) as 16, then `.` padding up to the payload
//! size. Hex of fixed width keeps decoding a handful of loads per digit, with no allocation.

/// First byte of every probe, so that stray messages (a welcome text) are not miscounted.
pub const MAGIC: u8 = b'W';
/// Bytes of a probe before its padding: the smallest payload a scenario may ask for.
pub const HEADER_LEN: usize = 1 + 8 + 16 + 16;
const PAD: u8 = b'.';

/// What a probe says about its message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Probe {
    /// Which sending client sent it.
    pub sender: u32,
    /// Its position in that sender's schedule, from 0.
    pub seq: u64,
    /// When the schedule said it was due (CLOCK_MONOTONIC ns), not when it left.
    pub intended_ns: u64,
}

impl Probe {
    /// Writes the probe, padded to `payload` bytes, into `out` (cleared first).
    ///
    /// # Panics
    /// If `payload` is smaller than [`HEADER_LEN`]; scenarios are validated against it.
    pub fn encode_into(&self, payload: usize, out: &mut Vec<u8>) {
        assert!(payload >= HEADER_LEN, "payload {payload} < {HEADER_LEN}");
        out.clear();
        out.reserve(payload);
        out.push(MAGIC);
        push_hex(out, u64::from(self.sender), 8);
        push_hex(out, self.seq, 16);
        push_hex(out, self.intended_ns, 16);
        out.resize(payload, PAD);
    }

    /// The probe, padded to `payload` bytes.
    pub fn encode(&self, payload: usize) -> Vec<u8> {
        let mut out = Vec::with_capacity(payload);
        self.encode_into(payload, &mut out);
        out
    }

    /// Reads a probe from the start of `bytes`, or `None` if they do not hold one.
    pub fn decode(bytes: &[u8]) -> Option<Probe> {
        if bytes.len() < HEADER_LEN || bytes[0] != MAGIC {
            return None;
        }
        Some(Probe {
            sender: u32::try_from(parse_hex(&bytes[1..9])?).ok()?,
            seq: parse_hex(&bytes[9..25])?,
            intended_ns: parse_hex(&bytes[25..41])?,
        })
    }

    /// Finds a probe anywhere in `bytes`: at the start (wsbench's own servers relay it
    /// verbatim), else after whatever a server wrapped around it (a JSON envelope, a
    /// re-keyed field). A probe is `W` and 40 lowercase hex digits, which no text a server
    /// adds is likely to hold; the first one found counts.
    pub fn find(bytes: &[u8]) -> Option<Probe> {
        if let Some(p) = Probe::decode(bytes) {
            return Some(p);
        }
        let mut from = 1;
        while from + HEADER_LEN <= bytes.len() {
            let at = from + bytes[from..].iter().position(|&b| b == MAGIC)?;
            if let Some(p) = Probe::decode(&bytes[at..]) {
                return Some(p);
            }
            from = at + 1;
        }
        None
    }
}

fn push_hex(out: &mut Vec<u8>, value: u64, digits: u32) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    for i in (0..digits).rev() {
        out.push(HEX[((value >> (i * 4)) & 0xf) as usize]);
    }
}

fn parse_hex(digits: &[u8]) -> Option<u64> {
    let mut value = 0u64;
    for &d in digits {
        let nibble = match d {
            b'0'..=b'9' => d - b'0',
            b'a'..=b'f' => d - b'a' + 10,
            _ => return None,
        };
        value = (value << 4) | u64::from(nibble);
    }
    Some(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_probe_survives_encoding_at_every_size() {
        let probe = Probe {
            sender: 0xdead_beef,
            seq: 123_456_789,
            intended_ns: u64::MAX - 7,
        };
        for payload in [HEADER_LEN, 64, 1024, 16 * 1024] {
            let bytes = probe.encode(payload);
            assert_eq!(bytes.len(), payload);
            assert!(std::str::from_utf8(&bytes).is_ok());
            assert_eq!(Probe::decode(&bytes), Some(probe));
        }
    }

    #[test]
    fn needs_no_json_escaping() {
        let bytes = Probe {
            sender: 1,
            seq: 2,
            intended_ns: 3,
        }
        .encode(64);
        let text = std::str::from_utf8(&bytes).unwrap();
        assert_eq!(serde_json::to_string(text).unwrap(), format!("\"{text}\""));
    }

    #[test]
    fn a_probe_is_found_inside_what_a_server_wrapped_around_it() {
        let probe = Probe {
            sender: 5,
            seq: 6,
            intended_ns: 7,
        };
        let text = String::from_utf8(probe.encode(48)).unwrap();
        let wrapped = format!(r#"{{"from":"Wx","msg":"{{\"text\":\"{text}\"}}"}}"#);
        assert_eq!(Probe::find(wrapped.as_bytes()), Some(probe));
        assert_eq!(Probe::find(b"{\"W\":\"Wabc\"}"), None);
        assert_eq!(Probe::find(text.as_bytes()), Some(probe));
    }

    #[test]
    fn other_bytes_are_not_probes() {
        assert_eq!(Probe::decode(b"Welcome to the WebSocket server!"), None);
        assert_eq!(Probe::decode(b"W"), None);
        let mut bytes = Probe {
            sender: 1,
            seq: 2,
            intended_ns: 3,
        }
        .encode(64);
        bytes[3] = b'g';
        assert_eq!(Probe::decode(&bytes), None);
    }
}
