//! The key hierarchy for secrets at rest: master key → tenant key → sealed secrets.

use std::fmt;

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use chacha20poly1305::aead::{Aead, Payload};
use chacha20poly1305::{KeyInit, XChaCha20Poly1305, XNonce};
use hkdf::Hkdf;
use sha2::Sha256;

/// Bytes of the XChaCha20-Poly1305 nonce that starts every sealed value.
pub const NONCE_LEN: usize = 24;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SealError {
    #[error("is not a master key: expected 32 bytes in base64 ({0})")]
    MasterKey(&'static str),
    #[error(
        "cannot open the sealed {purpose}: it was sealed with another master key, or changed \
         (every server of one database needs the same master key)"
    )]
    WrongKey { purpose: String },
}

/// The root of the hierarchy. It never leaves the process except to its own key file, and
/// nothing prints it.
pub struct MasterKey([u8; 32]);

impl fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("MasterKey(…)")
    }
}

impl MasterKey {
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        MasterKey(bytes)
    }

    /// Reads a key written by [`MasterKey::encode`] (standard or URL-safe base64).
    pub fn parse(text: &str) -> Result<Self, SealError> {
        let text = text.trim();
        let bytes = STANDARD
            .decode(text)
            .or_else(|_| URL_SAFE_NO_PAD.decode(text))
            .map_err(|_| SealError::MasterKey("not base64"))?;
        let bytes: [u8; 32] = bytes
            .try_into()
            .map_err(|_| SealError::MasterKey("wrong length"))?;
        Ok(MasterKey(bytes))
    }

    pub fn encode(&self) -> String {
        STANDARD.encode(self.0)
    }

    /// The tenant's own key (HKDF-SHA256): one tenant's sealed secrets cannot be opened with
    /// another's key even by code that mixes them up.
    pub fn tenant_key(&self, tenant: &[u8]) -> SealingKey {
        let hkdf = Hkdf::<Sha256>::new(Some(b"exeunt master key"), &self.0);
        let mut key = [0u8; 32];
        // 32 bytes is far below HKDF-SHA256's limit of 8160: expand cannot fail.
        let _ = hkdf.expand_multi_info(&[b"tenant key ", tenant], &mut key);
        SealingKey(key)
    }
}

/// A symmetric key that seals secrets: a tenant key (which seals the tenant's signing keys
/// and its subjects' data keys) or a subject's data key (which seals its files).
pub struct SealingKey([u8; 32]);

impl fmt::Debug for SealingKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SealingKey(…)")
    }
}

impl SealingKey {
    /// A new key from 32 bytes of fresh randomness.
    pub fn from_secret(bytes: [u8; 32]) -> Self {
        SealingKey(bytes)
    }

    /// A key for another use, derived from this one (HKDF-SHA256 with `info`): gone when this
    /// one is.
    pub fn derive(&self, info: &[u8]) -> [u8; 32] {
        let hkdf = Hkdf::<Sha256>::new(None, &self.0);
        let mut key = [0u8; 32];
        // 32 bytes is far below HKDF-SHA256's limit of 8160: expand cannot fail.
        let _ = hkdf.expand(info, &mut key);
        key
    }

    /// Seals another key with this one, for `purpose`; see [`SealingKey::seal`].
    pub fn wrap(&self, purpose: &str, key: &SealingKey, nonce: [u8; NONCE_LEN]) -> Vec<u8> {
        self.seal(purpose, &key.0, nonce)
    }

    pub fn unwrap_key(&self, purpose: &str, sealed: &[u8]) -> Result<SealingKey, SealError> {
        let bytes: [u8; 32] =
            self.open(purpose, sealed)?
                .try_into()
                .map_err(|_| SealError::WrongKey {
                    purpose: purpose.to_owned(),
                })?;
        Ok(SealingKey(bytes))
    }

    fn cipher(&self) -> XChaCha20Poly1305 {
        XChaCha20Poly1305::new(&self.0.into())
    }

    /// Encrypts `secret` for `purpose` (say `signing key`): the result is the nonce followed by
    /// the ciphertext, and opens only for the same purpose. `nonce` must be fresh randomness.
    pub fn seal(&self, purpose: &str, secret: &[u8], nonce: [u8; NONCE_LEN]) -> Vec<u8> {
        let payload = Payload {
            msg: secret,
            aad: purpose.as_bytes(),
        };
        let nonce = XNonce::from(nonce);
        // Encryption fails only for messages beyond 256 GiB.
        let sealed = self.cipher().encrypt(&nonce, payload).unwrap_or_default();
        let mut out = Vec::with_capacity(NONCE_LEN + sealed.len());
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&sealed);
        out
    }

    pub fn open(&self, purpose: &str, sealed: &[u8]) -> Result<Vec<u8>, SealError> {
        let wrong = || SealError::WrongKey {
            purpose: purpose.to_owned(),
        };
        let (nonce, ciphertext) = sealed.split_at_checked(NONCE_LEN).ok_or_else(wrong)?;
        let nonce: [u8; NONCE_LEN] = nonce.try_into().map_err(|_| wrong())?;
        self.cipher()
            .decrypt(
                &XNonce::from(nonce),
                Payload {
                    msg: ciphertext,
                    aad: purpose.as_bytes(),
                },
            )
            .map_err(|_| wrong())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sealed_secret_opens_only_with_its_tenant_key_and_purpose() {
        let master = MasterKey::from_bytes([3; 32]);
        let a = master.tenant_key(b"tenant-a");
        let sealed = a.seal("signing key", b"seed", [9; NONCE_LEN]);
        assert!(!sealed.windows(4).any(|w| w == b"seed"));
        assert_eq!(a.open("signing key", &sealed).unwrap(), b"seed");
        assert!(a.open("data key", &sealed).is_err());
        assert!(
            master
                .tenant_key(b"tenant-b")
                .open("signing key", &sealed)
                .is_err()
        );
        let other = MasterKey::from_bytes([4; 32]).tenant_key(b"tenant-a");
        assert!(other.open("signing key", &sealed).is_err());
        let data = SealingKey::from_secret([6; 32]);
        let wrapped = a.wrap("data key", &data, [1; NONCE_LEN]);
        let again = a.unwrap_key("data key", &wrapped).unwrap();
        assert_eq!(again.0, data.0);
        assert!(a.unwrap_key("signing key", &wrapped).is_err());
        let mut changed = sealed.clone();
        *changed.last_mut().unwrap() ^= 1;
        assert!(a.open("signing key", &changed).is_err());
    }

    #[test]
    fn master_keys_round_trip_through_text_and_never_print() {
        let key = MasterKey::from_bytes([5; 32]);
        let again = MasterKey::parse(&format!("{}\n", key.encode())).unwrap();
        assert_eq!(again.0, key.0);
        assert_eq!(format!("{key:?}"), "MasterKey(…)");
        assert!(MasterKey::parse("c2hvcnQ=").is_err());
        assert!(MasterKey::parse("not base64!").is_err());
    }
}
