//! Secrets at rest: a connector's credentials are sealed (ChaCha20-Poly1305, a fresh
//! nonce each time) with a key kept outside the database: a key file (created `0600` on
//! first use) or the environment variable `TENANTSYNC_SECRET_KEY` (32 bytes, base64). A
//! sealed secret is never printed or logged; `Secret`'s `Debug` says so.
use crate::ConnectorError;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use chacha20poly1305::aead::{Aead, KeyInit};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce};
use std::path::Path;

/// The environment variable that, when set, holds the key (base64 of 32 bytes).
pub const KEY_ENV: &str = "TENANTSYNC_SECRET_KEY";

/// The key that seals and opens connectors' secrets.
#[derive(Clone)]
pub struct SecretKey([u8; 32]);

impl std::fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretKey(..)")
    }
}

fn key_error(reason: impl Into<String>) -> ConnectorError {
    ConnectorError::SecretKey { reason: reason.into() }
}

impl SecretKey {
    /// The key of `TENANTSYNC_SECRET_KEY` when set, else the key in `file`, created with a
    /// random key if it does not exist yet.
    pub fn load(file: &Path) -> Result<SecretKey, ConnectorError> {
        if let Ok(text) = std::env::var(KEY_ENV) {
            return SecretKey::from_base64(&text).map_err(|e| key_error(format!("{KEY_ENV}: {e}")));
        }
        match std::fs::read_to_string(file) {
            Ok(text) => SecretKey::from_base64(&text).map_err(|e| key_error(format!("'{}': {e}", file.display()))),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let key = SecretKey::random()?;
                write_private(file, &STANDARD.encode(key.0)).map_err(|e| key_error(format!("cannot create '{}': {e}", file.display())))?;
                Ok(key)
            }
            Err(e) => Err(key_error(format!("cannot read '{}': {e}", file.display()))),
        }
    }

    pub fn random() -> Result<SecretKey, ConnectorError> {
        let mut k = [0u8; 32];
        getrandom::fill(&mut k).map_err(|e| key_error(format!("no randomness: {e}")))?;
        Ok(SecretKey(k))
    }

    fn from_base64(text: &str) -> Result<SecretKey, String> {
        let bytes = STANDARD.decode(text.trim()).map_err(|e| format!("not base64: {e}"))?;
        let k: [u8; 32] = bytes.try_into().map_err(|b: Vec<u8>| format!("{} bytes, not 32", b.len()))?;
        Ok(SecretKey(k))
    }

    /// Seals `plain`: base64 of nonce ‖ ciphertext.
    pub fn seal(&self, plain: &str) -> Result<String, ConnectorError> {
        let cipher = ChaCha20Poly1305::new(Key::from_slice(&self.0));
        let mut nonce = [0u8; 12];
        getrandom::fill(&mut nonce).map_err(|e| key_error(format!("no randomness: {e}")))?;
        let sealed = cipher.encrypt(Nonce::from_slice(&nonce), plain.as_bytes()).map_err(|_| key_error("sealing failed"))?;
        let mut out = nonce.to_vec();
        out.extend_from_slice(&sealed);
        Ok(STANDARD.encode(out))
    }

    /// Opens what [`SecretKey::seal`] sealed with this key.
    pub fn open(&self, sealed: &str) -> Result<Secret, ConnectorError> {
        let bytes = STANDARD.decode(sealed).map_err(|_| ConnectorError::SecretUnreadable)?;
        if bytes.len() < 12 {
            return Err(ConnectorError::SecretUnreadable);
        }
        let (nonce, body) = bytes.split_at(12);
        let cipher = ChaCha20Poly1305::new(Key::from_slice(&self.0));
        let plain = cipher.decrypt(Nonce::from_slice(nonce), body).map_err(|_| ConnectorError::SecretUnreadable)?;
        String::from_utf8(plain).map(Secret).map_err(|_| ConnectorError::SecretUnreadable)
    }
}

/// An opened secret: usable, never shown.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(text: impl Into<String>) -> Secret {
        Secret(text.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(********)")
    }
}

#[cfg(unix)]
fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    if let Some(dir) = path.parent()
        && !dir.as_os_str().is_empty()
    {
        std::fs::create_dir_all(dir)?;
    }
    let mut f = std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(path)?;
    f.write_all(text.as_bytes())?;
    f.sync_all()
}

#[cfg(not(unix))]
fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    std::fs::write(path, text)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn sealed_secrets_open_with_their_key_only() {
        let key = SecretKey::random().unwrap();
        let sealed = key.seal("s3cret-token").unwrap();
        assert!(!sealed.contains("s3cret"));
        assert_ne!(sealed, key.seal("s3cret-token").unwrap(), "a fresh nonce each time");
        assert_eq!(key.open(&sealed).unwrap().expose(), "s3cret-token");
        let other = SecretKey::random().unwrap();
        assert_eq!(other.open(&sealed), Err(ConnectorError::SecretUnreadable));
        let mut tampered = STANDARD.decode(&sealed).unwrap();
        let last = tampered.len() - 1;
        tampered[last] ^= 1;
        assert_eq!(key.open(&STANDARD.encode(tampered)), Err(ConnectorError::SecretUnreadable));
        assert_eq!(format!("{:?}", key.open(&sealed).unwrap()), "Secret(********)");
    }

    #[test]
    fn the_key_file_is_created_once_and_private() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/.secret-key");
        let a = SecretKey::load(&path).unwrap();
        let b = SecretKey::load(&path).unwrap();
        assert_eq!(a.0, b.0);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
        }
        std::fs::write(&path, "short").unwrap();
        assert!(matches!(SecretKey::load(&path), Err(ConnectorError::SecretKey { .. })));
    }
}
