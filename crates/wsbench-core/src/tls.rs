//! The servers' side of TLS: a rustls configuration from a PEM certificate chain and key,
//! the one both built-in servers serve with (ring, TLS 1.3 and 1.2, as the client picks).

use std::io;
use std::path::Path;
use std::sync::Arc;

use rustls::ServerConfig;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

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
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .and_then(|b| b.with_no_client_auth().with_single_cert(chain, key))
        .map_err(|e| bad(format!("the certificate and key: {e}")))?;
    Ok(Arc::new(config))
}

fn bad(message: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, format!("TLS: {message}"))
}
