//! Field encryption for `payload.sensitive`: AES-256-GCM with a fresh random 96-bit nonce per
//! field.
//!
//! The stored envelope is `{"alg":"A256GCM","kid":..,"nonce":..,"ciphertext":..}` (base64,
//! standard alphabet). The key id travels with the ciphertext so keys can rotate: the writer
//! encrypts with one current key, and readers keep a [`KeyRing`] of current and retired keys.
//! The event id is bound in as associated data, so a ciphertext copied onto another event fails
//! to decrypt instead of showing the wrong text.
//!
//! Failure modes: encryption fails only for plaintexts beyond AES-GCM's length limit (far above
//! the SQS message size); decryption fails for a wrong key, a wrong event id or any altered byte.

use std::fmt;

use aes_gcm::{
    Aes256Gcm, KeyInit, Nonce,
    aead::{Aead, Payload},
};
use base64::{Engine, engine::general_purpose::STANDARD};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::error::WriterError;

/// The algorithm name written in every envelope.
pub const ALGORITHM: &str = "A256GCM";
/// Length of a key in bytes.
pub const KEY_BYTES: usize = 32;
/// Length of a nonce in bytes (96 bits, the size GCM is designed for).
pub const NONCE_BYTES: usize = 12;

/// One AES-256-GCM key and the id written beside what it encrypts.
#[derive(Clone)]
pub struct EncryptionKey {
    cipher: Aes256Gcm,
    key_id: String,
}

impl fmt::Debug for EncryptionKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EncryptionKey")
            .field("key_id", &self.key_id)
            .finish_non_exhaustive()
    }
}

/// An encrypted field as stored in MongoDB.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Envelope {
    /// Always [`ALGORITHM`].
    pub alg: String,
    /// Id of the key that encrypted the field.
    pub kid: String,
    /// Base64 of the 96-bit nonce.
    pub nonce: String,
    /// Base64 of the ciphertext followed by the 128-bit tag.
    pub ciphertext: String,
}

impl EncryptionKey {
    /// Parses base64 of 32 bytes; the key id defaults to [`derive_key_id`].
    ///
    /// # Errors
    ///
    /// Fails if the text is not base64 or does not decode to exactly 32 bytes.
    pub fn from_base64(text: &str, key_id: Option<String>) -> Result<Self, WriterError> {
        let bytes = STANDARD
            .decode(text.trim())
            .map_err(|error| WriterError::InvalidKey {
                reason: format!("not base64 ({error})"),
            })?;
        Self::from_bytes(&bytes, key_id)
    }

    /// Uses `bytes` as the key; the key id defaults to [`derive_key_id`].
    ///
    /// # Errors
    ///
    /// Fails unless `bytes` is exactly 32 bytes long.
    pub fn from_bytes(bytes: &[u8], key_id: Option<String>) -> Result<Self, WriterError> {
        if bytes.len() != KEY_BYTES {
            return Err(WriterError::InvalidKey {
                reason: format!("expected {KEY_BYTES} bytes, got {}", bytes.len()),
            });
        }
        let cipher = Aes256Gcm::new_from_slice(bytes).map_err(|_| WriterError::InvalidKey {
            reason: "rejected by aes-256-gcm".into(),
        })?;
        let key_id = key_id.unwrap_or_else(|| derive_key_id(bytes));
        Ok(Self { cipher, key_id })
    }

    /// The id written beside every ciphertext this key produces.
    pub fn key_id(&self) -> &str {
        &self.key_id
    }

    /// Encrypts `plaintext`, binding it to `associated_data` (the event id).
    ///
    /// # Errors
    ///
    /// [`WriterError::Encrypt`] if the plaintext exceeds AES-GCM's length limit.
    pub fn encrypt(
        &self,
        plaintext: &[u8],
        associated_data: &[u8],
    ) -> Result<Envelope, WriterError> {
        let mut nonce = [0_u8; NONCE_BYTES];
        rand::rng().fill_bytes(&mut nonce);
        let payload = Payload {
            msg: plaintext,
            aad: associated_data,
        };
        let ciphertext = self
            .cipher
            .encrypt(Nonce::from_slice(&nonce), payload)
            .map_err(|_| WriterError::Encrypt)?;
        Ok(Envelope {
            alg: ALGORITHM.into(),
            kid: self.key_id.clone(),
            nonce: STANDARD.encode(nonce),
            ciphertext: STANDARD.encode(ciphertext),
        })
    }

    /// Serializes `value` as JSON and encrypts it.
    ///
    /// # Errors
    ///
    /// As [`EncryptionKey::encrypt`].
    pub fn encrypt_json(
        &self,
        value: &Value,
        associated_data: &[u8],
    ) -> Result<Envelope, WriterError> {
        self.encrypt(value.to_string().as_bytes(), associated_data)
    }

    /// Decrypts an envelope produced by this key for `associated_data`.
    ///
    /// # Errors
    ///
    /// Fails if the envelope is malformed, names another key, or does not authenticate.
    pub fn decrypt(
        &self,
        envelope: &Envelope,
        associated_data: &[u8],
    ) -> Result<Vec<u8>, WriterError> {
        if envelope.alg != ALGORITHM {
            return Err(WriterError::MalformedEnvelope {
                reason: format!("unsupported algorithm `{}`", envelope.alg),
            });
        }
        if envelope.kid != self.key_id {
            return Err(WriterError::UnknownKey {
                key_id: envelope.kid.clone(),
            });
        }
        let nonce = decode_field(&envelope.nonce, "nonce")?;
        if nonce.len() != NONCE_BYTES {
            return Err(WriterError::MalformedEnvelope {
                reason: format!("nonce is {} bytes, expected {NONCE_BYTES}", nonce.len()),
            });
        }
        let ciphertext = decode_field(&envelope.ciphertext, "ciphertext")?;
        let payload = Payload {
            msg: &ciphertext,
            aad: associated_data,
        };
        self.cipher
            .decrypt(Nonce::from_slice(&nonce), payload)
            .map_err(|_| WriterError::Decrypt {
                key_id: envelope.kid.clone(),
            })
    }
}

fn decode_field(text: &str, field: &str) -> Result<Vec<u8>, WriterError> {
    STANDARD
        .decode(text)
        .map_err(|_| WriterError::MalformedEnvelope {
            reason: format!("`{field}` is not base64"),
        })
}

/// Current and retired keys, looked up by the key id stored beside each ciphertext.
#[derive(Debug, Clone, Default)]
pub struct KeyRing {
    keys: Vec<EncryptionKey>,
}

impl KeyRing {
    /// A ring holding `keys`.
    pub fn new(keys: Vec<EncryptionKey>) -> Self {
        Self { keys }
    }

    /// Whether the ring holds no key.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// Decrypts a stored envelope back to the JSON value that was encrypted.
    ///
    /// # Errors
    ///
    /// [`WriterError::UnknownKey`] if no key in the ring has the envelope's id; otherwise as
    /// [`EncryptionKey::decrypt`].
    pub fn decrypt_json(
        &self,
        envelope: &Envelope,
        associated_data: &[u8],
    ) -> Result<Value, WriterError> {
        let key = self
            .keys
            .iter()
            .find(|key| key.key_id == envelope.kid)
            .ok_or_else(|| WriterError::UnknownKey {
                key_id: envelope.kid.clone(),
            })?;
        let plaintext = key.decrypt(envelope, associated_data)?;
        serde_json::from_slice(&plaintext).map_err(|error| WriterError::MalformedEnvelope {
            reason: format!("decrypted text is not json ({error})"),
        })
    }
}

/// The default key id: the first 8 hex digits of the key's SHA-256. It identifies the key
/// without revealing it, and is stable across deployments that share the key.
pub fn derive_key_id(key: &[u8]) -> String {
    let digest = Sha256::digest(key);
    digest[..4]
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn key(fill: u8) -> EncryptionKey {
        EncryptionKey::from_bytes(&[fill; KEY_BYTES], None).unwrap()
    }

    #[test]
    fn round_trips_through_the_key_ring() {
        let value = json!({"title": "Photosynthesis", "excerpt": "chlorophyll"});
        let envelope = key(7).encrypt_json(&value, b"event-1").unwrap();
        let ring = KeyRing::new(vec![key(1), key(7)]);

        assert_eq!(envelope.alg, "A256GCM");
        assert_eq!(envelope.kid, key(7).key_id());
        assert_eq!(ring.decrypt_json(&envelope, b"event-1").unwrap(), value);
    }

    #[test]
    fn nonces_are_fresh_for_every_field() {
        let key = key(3);
        let first = key.encrypt(b"same", b"e").unwrap();
        let second = key.encrypt(b"same", b"e").unwrap();
        assert_ne!(first.nonce, second.nonce);
        assert_ne!(first.ciphertext, second.ciphertext);
        assert_eq!(STANDARD.decode(&first.nonce).unwrap().len(), NONCE_BYTES);
    }

    #[test]
    fn ciphertext_moved_to_another_event_does_not_decrypt() {
        let key = key(5);
        let envelope = key.encrypt(b"secret", b"event-1").unwrap();
        let error = key.decrypt(&envelope, b"event-2").unwrap_err();
        assert!(matches!(error, WriterError::Decrypt { .. }));
    }

    #[test]
    fn altered_ciphertext_is_rejected() {
        let key = key(5);
        let mut envelope = key.encrypt(b"secret", b"e").unwrap();
        let mut bytes = STANDARD.decode(&envelope.ciphertext).unwrap();
        bytes[0] ^= 1;
        envelope.ciphertext = STANDARD.encode(bytes);
        assert!(key.decrypt(&envelope, b"e").is_err());
    }

    #[test]
    fn unknown_key_id_is_named() {
        let envelope = key(1).encrypt(b"x", b"e").unwrap();
        let error = KeyRing::new(vec![key(2)])
            .decrypt_json(&envelope, b"e")
            .unwrap_err();
        assert_eq!(
            error.to_string(),
            format!("no key with id `{}` was given", envelope.kid)
        );
    }

    #[test]
    fn key_id_is_derived_from_the_key_unless_configured() {
        let derived = key(9);
        assert_eq!(derived.key_id().len(), 8);
        assert!(derived.key_id().chars().all(|c| c.is_ascii_hexdigit()));
        let named = EncryptionKey::from_bytes(&[9; KEY_BYTES], Some("2026-12".into())).unwrap();
        assert_eq!(named.key_id(), "2026-12");
    }

    #[test]
    fn keys_of_the_wrong_length_are_rejected() {
        let error = EncryptionKey::from_base64("AAEC", None).unwrap_err();
        assert_eq!(
            error.to_string(),
            "invalid encryption key: expected 32 bytes, got 3"
        );
        assert!(EncryptionKey::from_base64("not base64!", None).is_err());
    }
}
