//! HTTPS for the bundled server: rustls with the ring provider chosen
//! explicitly, certificates and key from PEM.

use std::io;
use std::path::Path;
use std::sync::Arc;

use rustls::ServerConfig;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};

/// A certificate chain and private key for [`Server::tls`](crate::Server::tls).
///
/// ```no_run
/// use pesakit::{Server, TlsConfig};
///
/// # async fn run(routes: pesakit::Routes) -> std::io::Result<()> {
/// let tls = TlsConfig::from_pem_files("/etc/pesakit/fullchain.pem", "/etc/pesakit/key.pem")?;
/// Server::bind("0.0.0.0:443").await?.tls(tls).serve(routes).await
/// # }
/// ```
#[derive(Clone)]
pub struct TlsConfig {
    config: Arc<ServerConfig>,
}

impl std::fmt::Debug for TlsConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsConfig").field("alpn", &self.config.alpn_protocols).finish_non_exhaustive()
    }
}

impl TlsConfig {
    /// Reads a PEM certificate chain (leaf first) and a PEM private key
    /// (PKCS#8, PKCS#1 or SEC1).
    pub fn from_pem_files(certificate_chain: impl AsRef<Path>, private_key: impl AsRef<Path>) -> io::Result<Self> {
        let (chain, key) = (certificate_chain.as_ref(), private_key.as_ref());
        Self::from_pem(&read(chain)?, &read(key)?)
    }

    /// Builds from PEM text already in memory.
    pub fn from_pem(certificate_chain: &[u8], private_key: &[u8]) -> io::Result<Self> {
        let certificates = CertificateDer::pem_slice_iter(certificate_chain)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|error| invalid(format!("reading the certificate chain: {error}")))?;
        if certificates.is_empty() {
            return Err(invalid("the certificate chain has no `BEGIN CERTIFICATE` block".to_owned()));
        }
        let key = PrivateKeyDer::from_pem_slice(private_key)
            .map_err(|error| invalid(format!("reading the private key: {error}")))?;
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut config = ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|error| invalid(format!("choosing TLS versions: {error}")))?
            .with_no_client_auth()
            .with_single_cert(certificates, key)
            .map_err(|error| invalid(format!("the certificate and key do not form a usable pair: {error}")))?;
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(Self { config: Arc::new(config) })
    }

    pub(super) fn acceptor(&self) -> tokio_rustls::TlsAcceptor {
        tokio_rustls::TlsAcceptor::from(Arc::clone(&self.config))
    }
}

fn read(path: &Path) -> io::Result<Vec<u8>> {
    std::fs::read(path).map_err(|error| io::Error::new(error.kind(), format!("reading {}: {error}", path.display())))
}

fn invalid(message: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, message)
}
