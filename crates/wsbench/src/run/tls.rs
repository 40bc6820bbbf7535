//! The run's TLS material: a CA made for the run and a certificate it signs for the
//! servers wsbench starts over TLS (127.0.0.1 and localhost), written beside the result so
//! that the run can be checked by hand (`openssl s_client -CAfile tls/ca.pem`).

use std::path::Path;

use anyhow::Context;
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
    let (ca, cert, key) =
        crate::certs::generate().context("cannot make the run's TLS certificate")?;
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
