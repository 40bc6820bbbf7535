//! The run's TLS material: a CA made for the run and a certificate it signs for the
//! servers wsbench starts over TLS (127.0.0.1 and localhost), written beside the result so
//! that the run can be checked by hand (`openssl s_client -CAfile tls/ca.pem`).

use std::path::Path;

use anyhow::Context;
use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, KeyUsagePurpose};
use wsbench_core::scenario::Scenario;
use wsbench_core::system::{ServerSpec, TlsFiles};

/// The files under `dir/tls/` if any system of `scenario` is a server wsbench starts over
/// TLS; `None` otherwise (nothing is written).
pub fn files_for(scenario: &Scenario, dir: &Path) -> anyhow::Result<Option<TlsFiles>> {
    let needed = scenario
        .systems()
        .iter()
        .any(|s| s.tls && !matches!(s.server, ServerSpec::Target { .. }));
    if !needed {
        return Ok(None);
    }
    let dir = dir.join("tls");
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let (ca, cert, key) = generate().context("cannot make the run's TLS certificate")?;
    let files = TlsFiles {
        ca: dir.join("ca.pem"),
        cert: dir.join("cert.pem"),
        key: dir.join("key.pem"),
    };
    for (path, pem) in [(&files.ca, ca), (&files.cert, cert), (&files.key, key)] {
        super::write_atomic(path, pem.as_bytes())?;
    }
    // Absolute: a command runs in its scenario file's directory.
    Ok(Some(TlsFiles {
        ca: std::path::absolute(&files.ca)?,
        cert: std::path::absolute(&files.cert)?,
        key: std::path::absolute(&files.key)?,
    }))
}

/// A CA's certificate, and a server certificate it signed with the server's key (PEM).
/// ECDSA P-256, what most TLS deployments serve today.
fn generate() -> Result<(String, String, String), rcgen::Error> {
    let mut ca = CertificateParams::new(Vec::<String>::new())?;
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.distinguished_name
        .push(DnType::CommonName, "wsbench run CA");
    ca.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    let ca_key = KeyPair::generate()?;
    let ca_cert = ca.self_signed(&ca_key)?;
    let issuer = Issuer::new(ca, ca_key);
    let mut leaf = CertificateParams::new(vec!["127.0.0.1".to_owned(), "localhost".to_owned()])?;
    leaf.distinguished_name
        .push(DnType::CommonName, "localhost");
    let key = KeyPair::generate()?;
    let cert = leaf.signed_by(&key, &issuer)?;
    Ok((ca_cert.pem(), cert.pem(), key.serialize_pem()))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The server certificate is signed by the CA and names the loopback address: rustls,
    /// trusting only that CA, accepts it for 127.0.0.1.
    #[test]
    fn the_runs_certificate_is_trusted_through_its_ca() {
        use rustls::client::danger::ServerCertVerifier;
        use rustls::pki_types::pem::PemObject;
        use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
        let (ca, cert, key) = generate().unwrap();
        assert!(key.contains("PRIVATE KEY"));
        let mut roots = rustls::RootCertStore::empty();
        roots
            .add(CertificateDer::from_pem_slice(ca.as_bytes()).unwrap())
            .unwrap();
        let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
        let verifier =
            rustls::client::WebPkiServerVerifier::builder_with_provider(roots.into(), provider)
                .build()
                .unwrap();
        let leaf = CertificateDer::from_pem_slice(cert.as_bytes()).unwrap();
        let ip = ServerName::try_from("127.0.0.1").unwrap();
        verifier
            .verify_server_cert(&leaf, &[], &ip, &[], UnixTime::now())
            .unwrap();
        let other = ServerName::try_from("example.com").unwrap();
        assert!(
            verifier
                .verify_server_cert(&leaf, &[], &other, &[], UnixTime::now())
                .is_err()
        );
    }
}
