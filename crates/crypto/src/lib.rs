//! Signing, sealing and verifying, with no I/O.
//!
//! - [`jose`]: compact EdDSA (Ed25519) JWS, the public key as a JWK named by its RFC 7638
//!   thumbprint, and JWK sets. What Exeunt signs (completion certificates, export receipts) any
//!   standard JOSE library verifies with the tenant's published key.
//! - [`seal`]: the key hierarchy for secrets at rest. One master key (a file in the data dir,
//!   or given by the environment) derives one key per tenant; a tenant key seals the tenant's
//!   own keys (signing keys, data keys) with XChaCha20-Poly1305, bound to what they are for.
//!
//! Randomness comes from the caller: this crate makes no keys or nonces of its own.

pub mod jose;
pub mod seal;
