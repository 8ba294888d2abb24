//! Signing secrets at rest: AES-256-GCM (ring) under `WEBHOOK_SECRETS_KEY`,
//! a random 96-bit nonce per encryption, the webhook id as associated data
//! (a sealed secret copied onto another webhook does not open). Each sealed
//! secret records the id of its key, so that older keys listed in
//! `WEBHOOK_SECRETS_OLD_KEYS` still open what they sealed after a key rotation.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use hub_webhook_signature::WebhookSecret;
use hub_webhooks_application::{SecretVault, VaultError};
use hub_webhooks_domain::{PlainSecret, SealedSecret};
use ring::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use ring::digest::{SHA256, digest};
use ring::rand::{SecureRandom, SystemRandom};
use uuid::Uuid;
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

/// Length of a key, in bytes.
pub const KEY_LEN: usize = 32;

/// Why a key was refused. Never carries key material.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SecretKeyError {
    #[error("is not valid standard base64")]
    Base64,
    #[error(
        "must be the base64 of exactly {KEY_LEN} bytes (it decodes to {0}); generate one with `openssl rand -base64 32`"
    )]
    Length(usize),
}

/// One AES-256-GCM key and its id (first 16 hex chars of its SHA-256). The
/// key bytes are wiped when it is dropped.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct SecretKey {
    #[zeroize(skip)]
    id: String,
    bytes: [u8; KEY_LEN],
}

impl SecretKey {
    /// Parses the base64 of exactly 32 bytes (surrounding spaces ignored).
    pub fn from_base64(text: &str) -> Result<Self, SecretKeyError> {
        // The decoded bytes are the key (or most of one): wiped either way.
        let decoded = Zeroizing::new(
            STANDARD
                .decode(text.trim())
                .map_err(|_| SecretKeyError::Base64)?,
        );
        if decoded.len() != KEY_LEN {
            return Err(SecretKeyError::Length(decoded.len()));
        }
        let mut bytes = Zeroizing::new([0_u8; KEY_LEN]);
        bytes.copy_from_slice(&decoded);
        Ok(Self::from_bytes(*bytes))
    }

    pub fn from_bytes(mut bytes: [u8; KEY_LEN]) -> Self {
        let id = hex::encode(digest(&SHA256, &bytes).as_ref())[..16].to_owned();
        let key = Self { id, bytes };
        // The argument is a copy: wipe it, the key keeps its own.
        bytes.zeroize();
        key
    }

    /// Parses a comma-separated list of keys (empty entries ignored).
    pub fn parse_list(text: &str) -> Result<Vec<Self>, SecretKeyError> {
        text.split(',')
            .map(str::trim)
            .filter(|entry| !entry.is_empty())
            .map(Self::from_base64)
            .collect()
    }

    /// The key id stored beside each secret it seals.
    pub fn id(&self) -> &str {
        &self.id
    }
}

impl fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SecretKey({})", self.id)
    }
}

impl PartialEq for SecretKey {
    fn eq(&self, other: &Self) -> bool {
        self.id == other.id
    }
}

/// A key ready for use. ring's `LessSafeKey` (the expanded AES key schedule)
/// offers no way to be wiped; the raw bytes it came from are the
/// [`SecretKey`]'s, wiped when that is dropped. See
/// `docs/decisions/zeroize-secrets.md`.
struct KeyEntry {
    id: String,
    key: LessSafeKey,
}

impl KeyEntry {
    fn new(key: &SecretKey) -> Self {
        // AES-256-GCM takes any 32-byte key; the length is guaranteed by SecretKey.
        #[allow(clippy::expect_used)]
        let unbound = UnboundKey::new(&AES_256_GCM, &key.bytes).expect("a 32-byte AES-256 key");
        Self {
            id: key.id.clone(),
            key: LessSafeKey::new(unbound),
        }
    }
}

/// [`SecretVault`] with AES-256-GCM: seals with the current key, opens with
/// the current key or any older one still configured.
pub struct AeadSecretVault {
    current: KeyEntry,
    older: Vec<KeyEntry>,
    rng: SystemRandom,
}

impl fmt::Debug for AeadSecretVault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AeadSecretVault")
            .field("current", &self.current.id)
            .field(
                "older",
                &self.older.iter().map(|k| k.id.as_str()).collect::<Vec<_>>(),
            )
            .finish()
    }
}

impl AeadSecretVault {
    pub fn new(current: &SecretKey, older: &[SecretKey]) -> Self {
        Self {
            current: KeyEntry::new(current),
            older: older
                .iter()
                .filter(|key| key.id != current.id)
                .map(KeyEntry::new)
                .collect(),
            rng: SystemRandom::new(),
        }
    }

    /// The id of the key new secrets are sealed with.
    pub fn current_key_id(&self) -> &str {
        &self.current.id
    }

    fn key(&self, id: &str) -> Option<&LessSafeKey> {
        std::iter::once(&self.current)
            .chain(&self.older)
            .find(|entry| entry.id == id)
            .map(|entry| &entry.key)
    }
}

impl SecretVault for AeadSecretVault {
    fn generate(&self) -> Result<PlainSecret, VaultError> {
        let secret = WebhookSecret::generate(&self.rng).map_err(|_| VaultError::Random)?;
        Ok(PlainSecret::new(secret.as_str().to_owned()))
    }

    fn seal(&self, webhook_id: Uuid, secret: &PlainSecret) -> Result<SealedSecret, VaultError> {
        let mut nonce = [0_u8; NONCE_LEN];
        self.rng.fill(&mut nonce).map_err(|_| VaultError::Random)?;
        // The clear secret is copied here and encrypted in place. Room for
        // the tag is reserved up front (appending it must not reallocate and
        // leave a clear copy behind), and the buffer is wiped if sealing fails.
        let plain = secret.expose().as_bytes();
        let mut in_out = Zeroizing::new(Vec::with_capacity(plain.len() + AES_256_GCM.tag_len()));
        in_out.extend_from_slice(plain);
        self.current
            .key
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(webhook_id.as_bytes()),
                &mut *in_out,
            )
            .map_err(|_| VaultError::Corrupt)?;
        Ok(SealedSecret {
            ciphertext: std::mem::take(&mut *in_out),
            nonce: nonce.to_vec(),
            key_id: self.current.id.clone(),
        })
    }

    fn open(&self, webhook_id: Uuid, sealed: &SealedSecret) -> Result<PlainSecret, VaultError> {
        let key = self
            .key(&sealed.key_id)
            .ok_or_else(|| VaultError::UnknownKey(sealed.key_id.clone()))?;
        let nonce =
            Nonce::try_assume_unique_for_key(&sealed.nonce).map_err(|_| VaultError::Corrupt)?;
        // Decrypted in place: the buffer holds the clear secret afterwards,
        // and is wiped when dropped; the one copy kept is the PlainSecret's.
        let mut in_out = Zeroizing::new(sealed.ciphertext.clone());
        let plain = key
            .open_in_place(nonce, Aad::from(webhook_id.as_bytes()), &mut in_out)
            .map_err(|_| VaultError::Corrupt)?;
        let text = std::str::from_utf8(plain).map_err(|_| VaultError::Corrupt)?;
        Ok(PlainSecret::new(text.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;

    fn key(byte: u8) -> SecretKey {
        SecretKey::from_bytes([byte; KEY_LEN])
    }

    #[test]
    fn keys_are_base64_of_32_bytes_with_a_stable_id() {
        let text = STANDARD.encode([7_u8; 32]);
        let parsed = SecretKey::from_base64(&format!(" {text}\n")).unwrap();
        assert_eq!(parsed.id().len(), 16);
        assert_eq!(parsed.id(), key(7).id());
        assert_ne!(parsed.id(), key(8).id());
        assert_eq!(
            SecretKey::from_base64(&STANDARD.encode([1_u8; 16])),
            Err(SecretKeyError::Length(16))
        );
        assert_eq!(
            SecretKey::from_base64("not base64!"),
            Err(SecretKeyError::Base64)
        );
        assert!(!format!("{parsed:?}").contains(&text));
        let list =
            SecretKey::parse_list(&format!("{text}, ,{}", STANDARD.encode([9_u8; 32]))).unwrap();
        assert_eq!(list.len(), 2);
        assert!(SecretKey::parse_list("abc").is_err());
    }

    #[test]
    fn key_bytes_are_wiped_on_drop() {
        // Dropping runs `zeroize` (the derive's Drop); what it clears is
        // checked on a live value, since freed memory cannot be read.
        fn wiped_on_drop<T: ZeroizeOnDrop>() {}
        wiped_on_drop::<SecretKey>();
        let mut key = key(7);
        let id = key.id().to_owned();
        key.zeroize();
        assert_eq!(key.bytes, [0; KEY_LEN]);
        assert_eq!(key.id(), id, "the id is not secret");
    }

    #[test]
    fn a_sealed_secret_opens_only_for_its_webhook_and_hides_the_secret() {
        let vault = AeadSecretVault::new(&key(1), &[]);
        let secret = vault.generate().unwrap();
        assert!(secret.expose().starts_with("whsec_"));
        assert_eq!(secret.expose().len(), "whsec_".len() + 44);
        let id = Uuid::now_v7();
        let sealed = vault.seal(id, &secret).unwrap();
        assert_eq!(sealed.nonce.len(), 12);
        assert_eq!(sealed.key_id, key(1).id());
        assert_eq!(sealed.ciphertext.len(), secret.expose().len() + 16);
        assert!(
            !sealed.ciphertext.windows(6).any(|w| w == b"whsec_"),
            "ciphertext must not contain the clear secret"
        );
        assert_eq!(vault.open(id, &sealed).unwrap(), secret);
        // Another webhook's id: the associated data does not match.
        assert_eq!(
            vault.open(Uuid::now_v7(), &sealed),
            Err(VaultError::Corrupt)
        );
        // Tampered ciphertext.
        let mut tampered = sealed.clone();
        tampered.ciphertext[0] ^= 1;
        assert_eq!(vault.open(id, &tampered), Err(VaultError::Corrupt));
    }

    #[test]
    fn nonces_are_fresh_for_every_seal() {
        let vault = AeadSecretVault::new(&key(1), &[]);
        let secret = vault.generate().unwrap();
        let id = Uuid::now_v7();
        let a = vault.seal(id, &secret).unwrap();
        let b = vault.seal(id, &secret).unwrap();
        assert_ne!(a.nonce, b.nonce);
        assert_ne!(a.ciphertext, b.ciphertext);
        assert_ne!(vault.generate().unwrap(), secret);
    }

    #[test]
    fn older_keys_open_what_they_sealed_and_new_seals_use_the_current_key() {
        let old = AeadSecretVault::new(&key(1), &[]);
        let secret = old.generate().unwrap();
        let id = Uuid::now_v7();
        let sealed_by_old = old.seal(id, &secret).unwrap();

        let rotated = AeadSecretVault::new(&key(2), &[key(1)]);
        assert_eq!(rotated.open(id, &sealed_by_old).unwrap(), secret);
        assert_eq!(rotated.seal(id, &secret).unwrap().key_id, key(2).id());

        let forgot = AeadSecretVault::new(&key(2), &[]);
        assert_eq!(
            forgot.open(id, &sealed_by_old),
            Err(VaultError::UnknownKey(key(1).id().to_owned()))
        );
    }
}
