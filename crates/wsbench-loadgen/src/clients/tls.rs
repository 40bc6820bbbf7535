//! TLS for the lean clients (rustls, no OpenSSL): what a client trusts, and the stream a
//! `wss://` client speaks WebSocket over. Bytes are counted under TLS, at the TCP socket,
//! so a run's wire figures include the records, their headers and the handshakes.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::{ClientSessionMemoryCache, Resumption};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, HandshakeKind, RootCertStore, SignatureScheme};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;
use tokio_util::either::Either;
use wsbench_core::counting::CountingStream;
pub use wsbench_core::scenario::TlsTrust;

use super::failure::ConnectFailure;
use crate::live::WorkerLive;

/// The TLS every `wss://` client of a plan speaks: built once from the plan's trust.
#[derive(Clone)]
pub struct TlsClient {
    connector: TlsConnector,
    /// With resumption: each client's own configuration, its session cache inside, kept
    /// from its first connection to its reconnections (made at its first).
    own: Option<Arc<Mutex<HashMap<u64, TlsConnector>>>>,
}

impl std::fmt::Debug for TlsClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TlsClient")
    }
}

impl TlsClient {
    /// The client configuration for `trust`: the system's roots, a CA file's, or none
    /// checked (`insecure`). Sessions are not resumed across clients: each client is a
    /// browser of its own, and shares no session cache with the others; with `resume`,
    /// a client offers the session it was last given when it connects again.
    pub fn new(trust: &TlsTrust, resume: bool) -> Result<TlsClient, String> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let builder = ClientConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .map_err(|e| e.to_string())?;
        let mut config = match trust {
            TlsTrust::Insecure => builder
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(AnyCertificate(provider)))
                .with_no_client_auth(),
            TlsTrust::System => builder
                .with_root_certificates(system_roots()?)
                .with_no_client_auth(),
            TlsTrust::CaFile(path) => builder
                .with_root_certificates(roots_from(path)?)
                .with_no_client_auth(),
        };
        config.resumption = Resumption::disabled();
        Ok(TlsClient {
            connector: TlsConnector::from(Arc::new(config)),
            own: resume.then(Default::default),
        })
    }

    /// TLS over `tcp` to the server named by `host` (SNI, and the name its certificate
    /// must carry: a DNS name or an IP address), for client `id`; and whether the server
    /// resumed the client's session.
    pub(crate) async fn connect(
        &self,
        host: &str,
        id: u64,
        tcp: CountingStream<WorkerLive>,
    ) -> Result<(Stream, bool), ConnectFailure> {
        let name = ServerName::try_from(host.trim_matches(['[', ']']).to_owned())
            .map_err(|_| ConnectFailure::Tls)?;
        let tls = self
            .connector_of(id)
            .connect(name, tcp)
            .await
            .map_err(|e| ConnectFailure::from_tls(&e))?;
        let resumed = tls.get_ref().1.handshake_kind() == Some(HandshakeKind::Resumed);
        Ok((Either::Right(Box::new(tls)), resumed))
    }

    /// The plan's connector, or with resumption client `id`'s own (a cache of one server's
    /// tickets: rustls keeps a few per server name, each used once).
    fn connector_of(&self, id: u64) -> TlsConnector {
        let Some(own) = &self.own else {
            return self.connector.clone();
        };
        let mut own = own.lock().unwrap_or_else(|e| e.into_inner());
        own.entry(id)
            .or_insert_with(|| {
                let mut config = ClientConfig::clone(self.connector.config());
                config.resumption = Resumption::store(Arc::new(ClientSessionMemoryCache::new(1)));
                TlsConnector::from(Arc::new(config))
            })
            .clone()
    }
}

fn system_roots() -> Result<RootCertStore, String> {
    let found = rustls_native_certs::load_native_certs();
    let mut roots = RootCertStore::empty();
    let (added, _) = roots.add_parsable_certificates(found.certs);
    if added == 0 {
        return Err(format!(
            "no trusted root certificates found on this machine ({} errors): give \
             tls_ca_file, or tls_insecure = true",
            found.errors.len()
        ));
    }
    Ok(roots)
}

fn roots_from(path: &std::path::Path) -> Result<RootCertStore, String> {
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(path)
        .and_then(|certs| certs.collect::<Result<_, _>>())
        .map_err(|e| format!("cannot read certificates from {}: {e}", path.display()))?;
    let mut roots = RootCertStore::empty();
    let (added, _) = roots.add_parsable_certificates(certs);
    if added == 0 {
        return Err(format!("{} holds no certificate", path.display()));
    }
    Ok(roots)
}

/// `insecure`: any certificate is taken, the handshake's signatures are still checked.
#[derive(Debug)]
struct AnyCertificate(Arc<rustls::crypto::CryptoProvider>);

impl ServerCertVerifier for AnyCertificate {
    fn verify_server_cert(
        &self,
        _: &CertificateDer<'_>,
        _: &[CertificateDer<'_>],
        _: &ServerName<'_>,
        _: &[u8],
        _: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// What a lean client speaks WebSocket over: the counted TCP stream (`ws://`), or TLS over
/// it (`wss://`, boxed: a TLS session's state is several times a plain stream's).
pub type Stream = Either<CountingStream<WorkerLive>, Box<TlsStream<CountingStream<WorkerLive>>>>;

/// The TCP socket under `stream`, for socket options.
pub fn tcp(stream: &Stream) -> &TcpStream {
    match stream {
        Either::Left(s) => s.get_ref(),
        Either::Right(s) => s.get_ref().0.get_ref(),
    }
}
