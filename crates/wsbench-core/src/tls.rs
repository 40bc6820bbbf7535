//! The servers' side of TLS: a rustls configuration from a PEM certificate chain and key,
//! the one both built-in servers serve with (ring, TLS 1.3 and 1.2, as the client picks).
//!
//! Sessions are resumed by ticket, with a ticket key derived from the server's private key:
//! a server restarted with the same key (an `[outage]`) resumes the sessions its clients
//! held before, as a fleet sharing one ticket key does (nginx's `ssl_session_ticket_key`),
//! so that a reconnect storm over TLS can be measured with resumption (docs/method.md,
//! "TLS").

use std::io;
use std::path::Path;
use std::sync::Arc;

use ring::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use ring::hkdf;
use ring::rand::{SecureRandom, SystemRandom};
use rustls::ServerConfig;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::ProducesTickets;

/// A server configuration serving `cert` (PEM, the chain in order) with `key` (PEM).
pub fn server_config(cert: &Path, key: &Path) -> io::Result<Arc<ServerConfig>> {
    let read = |path: &Path| {
        std::fs::read(path).map_err(|e| bad(format!("cannot read {}: {e}", path.display())))
    };
    server_config_pem(&read(cert)?, &read(key)?)
}

/// The same from the PEM text of the certificate chain and the key.
pub fn server_config_pem(cert: &[u8], key: &[u8]) -> io::Result<Arc<ServerConfig>> {
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(cert)
        .collect::<Result<_, _>>()
        .map_err(|e| bad(format!("not a PEM certificate: {e}")))?;
    if chain.is_empty() {
        return Err(bad("no certificate in the PEM text".to_owned()));
    }
    let key = PrivateKeyDer::from_pem_slice(key).map_err(|e| bad(format!("not a PEM key: {e}")))?;
    let ticketer = Arc::new(Tickets::derived_from(key.secret_der()));
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .and_then(|b| b.with_no_client_auth().with_single_cert(chain, key))
        .map_err(|e| bad(format!("the certificate and key: {e}")))?;
    config.ticketer = ticketer;
    Ok(Arc::new(config))
}

/// Session tickets sealed with AES-256-GCM under a key derived (HKDF-SHA256) from the
/// server's private key: the same key, the same tickets, across restarts.
struct Tickets {
    key: LessSafeKey,
    random: SystemRandom,
}

impl std::fmt::Debug for Tickets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Tickets")
    }
}

/// How long a ticket is offered for, s (a reconnect storm is over well within it).
const TICKET_LIFETIME_S: u32 = 3600;

impl Tickets {
    fn derived_from(secret: &[u8]) -> Tickets {
        let salt = hkdf::Salt::new(hkdf::HKDF_SHA256, b"wsbench session tickets");
        let prk = salt.extract(secret);
        let okm = prk
            .expand(&[b"aes-256-gcm key"], &AES_256_GCM)
            .expect("an AES-256 key is a valid HKDF output length");
        Tickets {
            key: LessSafeKey::new(UnboundKey::from(okm)),
            random: SystemRandom::new(),
        }
    }
}

impl ProducesTickets for Tickets {
    fn enabled(&self) -> bool {
        true
    }

    fn lifetime(&self) -> u32 {
        TICKET_LIFETIME_S
    }

    /// The nonce (random, 12 bytes), then the sealed session and its tag.
    fn encrypt(&self, plain: &[u8]) -> Option<Vec<u8>> {
        let mut nonce = [0u8; NONCE_LEN];
        self.random.fill(&mut nonce).ok()?;
        let mut sealed = Vec::with_capacity(NONCE_LEN + plain.len() + 16);
        sealed.extend_from_slice(&nonce);
        sealed.extend_from_slice(plain);
        let tag = self
            .key
            .seal_in_place_separate_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::empty(),
                &mut sealed[NONCE_LEN..],
            )
            .ok()?;
        sealed.extend_from_slice(tag.as_ref());
        Some(sealed)
    }

    fn decrypt(&self, cipher: &[u8]) -> Option<Vec<u8>> {
        let nonce = Nonce::try_assume_unique_for_key(cipher.get(..NONCE_LEN)?).ok()?;
        let mut sealed = cipher.get(NONCE_LEN..)?.to_vec();
        let plain = self
            .key
            .open_in_place(nonce, Aad::empty(), &mut sealed)
            .ok()?;
        let len = plain.len();
        sealed.truncate(len);
        Some(sealed)
    }
}

fn bad(message: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, format!("TLS: {message}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_ticket_opens_under_the_same_key_only() {
        let (first, restarted) = (Tickets::derived_from(b"key"), Tickets::derived_from(b"key"));
        let other = Tickets::derived_from(b"another key");
        let ticket = first.encrypt(b"a session").expect("sealed");
        assert_ne!(&ticket[NONCE_LEN..NONCE_LEN + 9], b"a session");
        assert_eq!(
            restarted.decrypt(&ticket).as_deref(),
            Some(&b"a session"[..])
        );
        assert_eq!(other.decrypt(&ticket), None);
        let mut tampered = ticket.clone();
        tampered[NONCE_LEN] ^= 1;
        assert_eq!(first.decrypt(&tampered), None);
        assert_eq!(first.decrypt(&ticket[..5]), None);
    }
}
