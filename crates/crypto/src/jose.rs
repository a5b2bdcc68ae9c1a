//! Compact JWS with EdDSA over Ed25519 (RFC 7515, RFC 8037), and Ed25519 public keys as JWKs.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// The one algorithm Exeunt signs with and accepts.
pub const ALGORITHM: &str = "EdDSA";

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JoseError {
    #[error("not a compact JWS: expected three base64url parts separated by dots")]
    Shape,
    #[error("the {part} is not valid base64url")]
    Base64 { part: &'static str },
    #[error("the {part} is not the JSON expected: {reason}")]
    Json { part: &'static str, reason: String },
    #[error("the token is signed with `{0}`; only EdDSA (Ed25519) is accepted")]
    Algorithm(String),
    #[error("no key with id `{0}` in the key set; is it the issuing tenant's key?")]
    UnknownKey(String),
    #[error("the key `{0}` is not an Ed25519 public key")]
    BadKey(String),
    #[error("the signature does not match: the token was changed or signed by another key")]
    Signature,
}

/// An Ed25519 public key as a JWK (RFC 8037), named by its RFC 7638 thumbprint.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Jwk {
    pub kty: String,
    pub crv: String,
    /// The public key, base64url.
    pub x: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kid: Option<String>,
    #[serde(rename = "use", default, skip_serializing_if = "Option::is_none")]
    pub key_use: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alg: Option<String>,
}

/// A JWK set, as served at `/.well-known/jwks.json`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Jwks {
    pub keys: Vec<Jwk>,
}

/// An Ed25519 key pair that signs compact JWS. Its `Debug` hides the private half.
pub struct Ed25519Key(SigningKey);

impl std::fmt::Debug for Ed25519Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Ed25519Key({})", self.jwk().id())
    }
}

impl Ed25519Key {
    /// The key whose private half is `seed` (32 bytes of fresh randomness for a new key).
    pub fn from_seed(seed: [u8; 32]) -> Self {
        Ed25519Key(SigningKey::from_bytes(&seed))
    }

    pub fn seed(&self) -> [u8; 32] {
        self.0.to_bytes()
    }

    pub fn public_key(&self) -> [u8; 32] {
        self.0.verifying_key().to_bytes()
    }

    pub fn jwk(&self) -> Jwk {
        Jwk::from_public_key(&self.public_key())
    }

    /// Signs `claims` as a compact JWS whose header names this key by its thumbprint.
    pub fn sign<C: Serialize>(&self, claims: &C) -> String {
        sign(claims, &self.0)
    }
}

impl Jwk {
    pub fn from_public_key(key: &[u8; 32]) -> Self {
        let x = URL_SAFE_NO_PAD.encode(key);
        Jwk {
            kid: Some(thumbprint(&x)),
            kty: "OKP".into(),
            crv: "Ed25519".into(),
            x,
            key_use: Some("sig".into()),
            alg: Some(ALGORITHM.into()),
        }
    }

    /// The key id: the one given, else the thumbprint.
    pub fn id(&self) -> String {
        self.kid.clone().unwrap_or_else(|| thumbprint(&self.x))
    }

    fn verifying_key(&self) -> Result<VerifyingKey, JoseError> {
        let bad = || JoseError::BadKey(self.id());
        if self.kty != "OKP" || self.crv != "Ed25519" {
            return Err(bad());
        }
        let bytes: [u8; 32] = URL_SAFE_NO_PAD
            .decode(&self.x)
            .map_err(|_| bad())?
            .try_into()
            .map_err(|_| bad())?;
        VerifyingKey::from_bytes(&bytes).map_err(|_| bad())
    }
}

/// RFC 7638: SHA-256 over the required members in lexicographic order, base64url.
fn thumbprint(x: &str) -> String {
    let canonical = format!(r#"{{"crv":"Ed25519","kty":"OKP","x":"{x}"}}"#);
    URL_SAFE_NO_PAD.encode(Sha256::digest(canonical.as_bytes()))
}

#[derive(Serialize, Deserialize)]
struct Header {
    alg: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    kid: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    typ: Option<String>,
}

fn sign<C: Serialize>(claims: &C, key: &SigningKey) -> String {
    let header = Header {
        alg: ALGORITHM.into(),
        kid: Jwk::from_public_key(key.verifying_key().as_bytes()).kid,
        typ: Some("JWT".into()),
    };
    // Serializing these plain structs cannot fail.
    let header = serde_json::to_vec(&header).unwrap_or_default();
    let payload = serde_json::to_vec(claims).unwrap_or_default();
    let input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header),
        URL_SAFE_NO_PAD.encode(payload)
    );
    let signature = key.sign(input.as_bytes());
    format!("{input}.{}", URL_SAFE_NO_PAD.encode(signature.to_bytes()))
}

/// What a verified token says, and which key signed it.
#[derive(Clone, Debug)]
pub struct Verified<C> {
    pub claims: C,
    pub kid: String,
}

/// Checks a compact JWS against a key set and reads its claims. The header must say EdDSA and
/// name a key of the set (a set of one key may serve a header without a kid).
pub fn verify<C: DeserializeOwned>(token: &str, keys: &Jwks) -> Result<Verified<C>, JoseError> {
    let token = token.trim();
    let mut parts = token.split('.');
    let (Some(header), Some(payload), Some(signature), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(JoseError::Shape);
    };
    let header: Header = json("header", &decode("header", header)?)?;
    if header.alg != ALGORITHM {
        return Err(JoseError::Algorithm(header.alg));
    }
    let key = match &header.kid {
        Some(kid) => keys.keys.iter().find(|k| &k.id() == kid),
        None if keys.keys.len() == 1 => keys.keys.first(),
        None => None,
    }
    .ok_or_else(|| JoseError::UnknownKey(header.kid.clone().unwrap_or_default()))?;
    let signature: [u8; 64] = decode("signature", signature)?
        .try_into()
        .map_err(|_| JoseError::Signature)?;
    let signed = &token[..token.len() - token.rsplit('.').next().map_or(0, str::len) - 1];
    key.verifying_key()?
        .verify_strict(signed.as_bytes(), &Signature::from_bytes(&signature))
        .map_err(|_| JoseError::Signature)?;
    Ok(Verified {
        claims: json("payload", &decode("payload", payload)?)?,
        kid: key.id(),
    })
}

/// The claims of a compact JWS, read without checking its signature: for a report that says
/// it did not check, never for a decision.
pub fn unverified_claims<C: DeserializeOwned>(token: &str) -> Result<C, JoseError> {
    let mut parts = token.trim().split('.');
    let (Some(_), Some(payload), Some(_), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(JoseError::Shape);
    };
    json("payload", &decode("payload", payload)?)
}

fn decode(part: &'static str, text: &str) -> Result<Vec<u8>, JoseError> {
    URL_SAFE_NO_PAD
        .decode(text)
        .map_err(|_| JoseError::Base64 { part })
}

fn json<T: DeserializeOwned>(part: &'static str, bytes: &[u8]) -> Result<T, JoseError> {
    serde_json::from_slice(bytes).map_err(|e| JoseError::Json {
        part,
        reason: e.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    fn key(seed: u8) -> Ed25519Key {
        Ed25519Key::from_seed([seed; 32])
    }

    fn set(keys: &[&Ed25519Key]) -> Jwks {
        Jwks {
            keys: keys.iter().map(|k| k.jwk()).collect(),
        }
    }

    #[test]
    fn a_signed_token_verifies_and_names_its_key() {
        let signer = key(1);
        let token = signer.sign(&json!({"sub": "acme", "resolution": "completed"}));
        let verified: Verified<Value> = verify(&token, &set(&[&key(2), &signer])).unwrap();
        assert_eq!(verified.claims["sub"], "acme");
        assert_eq!(verified.kid, signer.jwk().id());
    }

    #[test]
    fn a_changed_claim_a_stranger_key_or_another_algorithm_is_refused() {
        let signer = key(1);
        let token = signer.sign(&json!({"resolution": "completed"}));
        let parts: Vec<&str> = token.split('.').collect();
        let forged = URL_SAFE_NO_PAD.encode(br#"{"resolution":"cancelled"}"#);
        let changed = format!("{}.{forged}.{}", parts[0], parts[2]);
        assert_eq!(
            verify::<Value>(&changed, &set(&[&signer])).unwrap_err(),
            JoseError::Signature
        );
        assert!(matches!(
            verify::<Value>(&token, &set(&[&key(2)])).unwrap_err(),
            JoseError::UnknownKey(_)
        ));
        let none = URL_SAFE_NO_PAD.encode(br#"{"alg":"none"}"#);
        let unsigned = format!("{none}.{}.", parts[1]);
        assert_eq!(
            verify::<Value>(&unsigned, &set(&[&signer])).unwrap_err(),
            JoseError::Algorithm("none".into())
        );
        assert_eq!(
            verify::<Value>("a.b", &set(&[&signer])).unwrap_err(),
            JoseError::Shape
        );
    }

    #[test]
    fn the_thumbprint_follows_rfc_7638() {
        // RFC 8037, appendix A.3: the thumbprint of its example Ed25519 key.
        assert_eq!(
            thumbprint("11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"),
            "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k"
        );
    }
}
