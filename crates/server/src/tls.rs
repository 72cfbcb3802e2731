//! HTTPS without a proxy in front (`serve --tls-cert FILE --tls-key FILE`): rustls with
//! the *ring* provider, the one crypto backend the workspace already has (reqwest's and
//! ldap3's rustls use it), TLS 1.2 and 1.3, HTTP/1.1 by ALPN. The certificate chain and
//! the key are read once, at start: a file that cannot be read, holds no PEM certificate
//! or key, or a key that is not the certificate's, is an error naming the file.
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tokio_rustls::rustls;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};

/// What a server answers TLS with (cheap to clone).
#[derive(Clone)]
pub struct Tls {
    pub(crate) acceptor: tokio_rustls::TlsAcceptor,
}

impl std::fmt::Debug for Tls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Tls")
    }
}

/// Why a certificate or key was refused: the file, and what is wrong with it.
#[derive(Debug, thiserror::Error)]
#[error("{}: {reason}", file.display())]
pub struct TlsError {
    pub file: PathBuf,
    pub reason: String,
}

fn refused(file: &Path, reason: impl Into<String>) -> TlsError {
    TlsError { file: file.to_owned(), reason: reason.into() }
}

impl Tls {
    /// The certificate chain of `cert` (PEM, the server's first) and the private key of
    /// `key` (PEM: PKCS#8, PKCS#1 or SEC1).
    pub fn from_pem_files(cert: &Path, key: &Path) -> Result<Tls, TlsError> {
        let cert_pem = std::fs::read(cert).map_err(|e| refused(cert, format!("cannot read the certificate: {e}")))?;
        let chain: Vec<CertificateDer<'static>> =
            CertificateDer::pem_slice_iter(&cert_pem).collect::<Result<_, _>>().map_err(|e| refused(cert, format!("not a PEM certificate chain: {e}")))?;
        if chain.is_empty() {
            return Err(refused(cert, "holds no PEM certificate (-----BEGIN CERTIFICATE-----)"));
        }
        let key_pem = std::fs::read(key).map_err(|e| refused(key, format!("cannot read the private key: {e}")))?;
        let private = PrivateKeyDer::from_pem_slice(&key_pem).map_err(|e| refused(key, format!("holds no usable PEM private key: {e}")))?;
        // ring, deprecated in rustls 0.23.48 for lacking post-quantum key exchange, is the
        // backend every other rustls user of the workspace builds; aws-lc-rs would be a
        // second one (and a C and CMake build).
        #[allow(deprecated)]
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| refused(cert, e.to_string()))?
            .with_no_client_auth()
            .with_single_cert(chain, private)
            .map_err(|e| refused(key, format!("does not fit the certificate {}: {e}", cert.display())))?;
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(Tls { acceptor: tokio_rustls::TlsAcceptor::from(Arc::new(config)) })
    }
}
