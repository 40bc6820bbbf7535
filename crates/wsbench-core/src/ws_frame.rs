//! The head of a WebSocket frame (RFC 6455 §5.2), written in one place for everyone who
//! writes frames without tungstenite: the ws server's broadcasts (unmasked, §5.1), the
//! load generator's lean clients (masked, §5.3) and the floor's bare writer.

/// Continuation frame opcode.
pub const CONTINUATION: u8 = 0x0;
/// Text frame opcode.
pub const TEXT: u8 = 0x1;
/// Binary frame opcode.
pub const BINARY: u8 = 0x2;
/// Close frame opcode.
pub const CLOSE: u8 = 0x8;
/// Ping frame opcode.
pub const PING: u8 = 0x9;
/// Pong frame opcode.
pub const PONG: u8 = 0xa;

/// The head of one final frame: FIN and the opcode, the payload length in the shortest
/// form that holds it, and the masking key if there is one. At most 14 bytes, on the
/// stack.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Head {
    bytes: [u8; 14],
    len: u8,
}

impl Head {
    /// The head of a final frame of `opcode` carrying `len` payload bytes, masked with
    /// `mask` if given (the payload is then the caller's to mask, see [`mask`]).
    pub fn new(opcode: u8, len: usize, mask: Option<[u8; 4]>) -> Head {
        let mut bytes = [0u8; 14];
        bytes[0] = 0x80 | opcode;
        let bit = if mask.is_some() { 0x80 } else { 0 };
        let mut at = match len {
            n @ 0..=125 => {
                bytes[1] = bit | n as u8;
                2
            }
            n @ 126..=0xffff => {
                bytes[1] = bit | 126;
                bytes[2..4].copy_from_slice(&(n as u16).to_be_bytes());
                4
            }
            n => {
                bytes[1] = bit | 127;
                bytes[2..10].copy_from_slice(&(n as u64).to_be_bytes());
                10
            }
        };
        if let Some(key) = mask {
            bytes[at..at + 4].copy_from_slice(&key);
            at += 4;
        }
        Head {
            bytes,
            len: at as u8,
        }
    }

    /// Its bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes[..usize::from(self.len)]
    }
}

/// `data` masked with `key` (§5.3), the payload of a masked frame.
pub fn mask(data: &[u8], key: [u8; 4]) -> impl Iterator<Item = u8> + '_ {
    data.iter().enumerate().map(move |(i, b)| b ^ key[i % 4])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lengths_take_the_shortest_form_and_the_key_follows() {
        assert_eq!(Head::new(TEXT, 64, None).as_bytes(), [0x81, 64]);
        assert_eq!(Head::new(BINARY, 125, None).as_bytes(), [0x82, 125]);
        assert_eq!(Head::new(TEXT, 126, None).as_bytes(), [0x81, 126, 0, 126]);
        assert_eq!(
            Head::new(TEXT, 65_536, None).as_bytes(),
            [0x81, 127, 0, 0, 0, 0, 0, 1, 0, 0]
        );
        assert_eq!(
            Head::new(PING, 0, Some([1, 2, 3, 4])).as_bytes(),
            [0x89, 0x80, 1, 2, 3, 4]
        );
        assert_eq!(
            Head::new(TEXT, 70_000, Some([9; 4])).as_bytes().len(),
            14,
            "the longest head"
        );
    }

    #[test]
    fn the_rfc_example_masks_to_its_bytes() {
        // RFC 6455 §5.7: a masked "Hello".
        let key = [0x37, 0xfa, 0x21, 0x3d];
        let mut frame = Head::new(TEXT, 5, Some(key)).as_bytes().to_vec();
        frame.extend(mask(b"Hello", key));
        assert_eq!(
            frame,
            [
                0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58
            ]
        );
    }
}
