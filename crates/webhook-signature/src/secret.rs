//! The signing secret of one webhook endpoint.

use std::fmt;
use std::str::FromStr;

use base64::Engine as _;
use base64::alphabet;
use base64::engine::DecodePaddingMode;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig, STANDARD};
use ring::hmac;
use ring::rand::SecureRandom;
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

/// Prefix of every serialized secret (Standard Webhooks, symmetric scheme).
const PREFIX: &str = "whsec_";

/// Key sizes the Standard Webhooks specification allows for HMAC-SHA256:
/// "at least 24 bytes (192 bits, 512 maximum)", i.e. 24 to 64 bytes.
const MIN_KEY_LEN: usize = 24;
const MAX_KEY_LEN: usize = 64;

/// Standard alphabet; padding optional on input (some producers strip it),
/// trailing bits must still be zero. Output always uses [`STANDARD`] (padded).
const LENIENT_STANDARD: GeneralPurpose = GeneralPurpose::new(
    &alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// Why a webhook secret could not be parsed or generated.
///
/// The errors never carry any part of the rejected string.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SecretError {
    /// The string does not start with `whsec_`.
    #[error("a webhook secret must start with `whsec_`")]
    MissingPrefix,
    /// The part after `whsec_` is not standard base64.
    #[error("the part after `whsec_` is not valid standard base64")]
    InvalidBase64,
    /// The decoded key is shorter than 24 or longer than 64 bytes.
    #[error("the key is {len} bytes long; it must be {MIN_KEY_LEN} to {MAX_KEY_LEN} bytes")]
    InvalidKeyLength {
        /// Length of the decoded key, in bytes.
        len: usize,
    },
    /// The random number generator could not produce the key bytes.
    #[error("the random number generator failed")]
    RandomUnavailable,
}

/// A webhook signing secret: `whsec_` followed by the standard base64 of the
/// key bytes (the product generates 32 random bytes).
///
/// It signs both schemes: the Standard Webhooks signature is keyed with the
/// decoded bytes, the legacy `X-Hub-Chantier-Signature` with the UTF-8 bytes of
/// the whole string. `Debug` never shows the value and there is no `Display`;
/// use [`WebhookSecret::as_str`] where the value is really needed (storing it,
/// showing it once to its owner).
///
/// Both byte strings are wiped when the value is dropped. The HMAC keys are
/// derived for each signature or verification rather than kept: ring's
/// `hmac::Key` cannot be wiped, so none outlives the call that needs it.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct WebhookSecret {
    encoded: String,
    key: Vec<u8>,
}

impl WebhookSecret {
    /// Parses a serialized secret (`whsec_<base64>`, padding optional).
    ///
    /// # Errors
    /// [`SecretError`] if the prefix is missing, the rest is not standard
    /// base64, or the key is not 24 to 64 bytes long.
    pub fn parse(secret: &str) -> Result<Self, SecretError> {
        let key = decode_key(secret)?;
        Ok(Self {
            encoded: secret.to_owned(),
            key,
        })
    }

    /// Builds the secret for 32 key bytes (drawn by the caller from a CSPRNG).
    #[must_use]
    pub fn generate_from(mut bytes: [u8; 32]) -> Self {
        // Sized up front: a reallocation would leave a copy behind, unwiped.
        let mut encoded = String::with_capacity(PREFIX.len() + 44);
        encoded.push_str(PREFIX);
        STANDARD.encode_string(bytes, &mut encoded);
        let secret = Self {
            encoded,
            key: bytes.to_vec(),
        };
        bytes.zeroize();
        secret
    }

    /// Draws 32 key bytes from `rng` (e.g. `ring::rand::SystemRandom`).
    ///
    /// # Errors
    /// [`SecretError::RandomUnavailable`] if `rng` cannot produce the bytes.
    pub fn generate<R: SecureRandom + ?Sized>(rng: &R) -> Result<Self, SecretError> {
        let mut bytes = Zeroizing::new([0_u8; 32]);
        rng.fill(bytes.as_mut())
            .map_err(|_| SecretError::RandomUnavailable)?;
        Ok(Self::generate_from(*bytes))
    }

    /// The serialized secret, `whsec_…`. Handle with care: this is the secret.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.encoded
    }

    /// HMAC key of the Standard Webhooks scheme (the decoded bytes).
    pub(crate) fn key(&self) -> hmac::Key {
        hmac::Key::new(hmac::HMAC_SHA256, &self.key)
    }

    /// HMAC key of the legacy header (the whole string's UTF-8 bytes).
    pub(crate) fn legacy_key(&self) -> hmac::Key {
        hmac::Key::new(hmac::HMAC_SHA256, self.encoded.as_bytes())
    }
}

fn decode_key(secret: &str) -> Result<Vec<u8>, SecretError> {
    let encoded = secret
        .strip_prefix(PREFIX)
        .ok_or(SecretError::MissingPrefix)?;
    // The base64 error is dropped on purpose: it names the offending byte.
    // Wiped if refused for its length.
    let mut key = Zeroizing::new(
        LENIENT_STANDARD
            .decode(encoded)
            .map_err(|_| SecretError::InvalidBase64)?,
    );
    if (MIN_KEY_LEN..=MAX_KEY_LEN).contains(&key.len()) {
        Ok(std::mem::take(&mut *key))
    } else {
        Err(SecretError::InvalidKeyLength { len: key.len() })
    }
}

impl fmt::Debug for WebhookSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("WebhookSecret(whsec_***)")
    }
}

impl FromStr for WebhookSecret {
    type Err = SecretError;

    fn from_str(secret: &str) -> Result<Self, Self::Err> {
        Self::parse(secret)
    }
}

/// Takes ownership of the string instead of copying it.
impl TryFrom<String> for WebhookSecret {
    type Error = SecretError;

    fn try_from(secret: String) -> Result<Self, Self::Error> {
        // Refused or not, the string given is a secret: wiped when dropped.
        let mut secret = Zeroizing::new(secret);
        let key = decode_key(&secret)?;
        Ok(Self {
            encoded: std::mem::take(&mut *secret),
            key,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The Standard Webhooks test-vector secret (24-byte key).
    const SPEC_SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

    #[test]
    fn generate_from_encodes_the_bytes_with_padded_standard_base64() {
        // Expected value from Python:
        // "whsec_" + base64.b64encode(bytes(range(32))).decode()
        let bytes: [u8; 32] = std::array::from_fn(|i| u8::try_from(i).unwrap());
        let secret = WebhookSecret::generate_from(bytes);
        assert_eq!(
            secret.as_str(),
            "whsec_AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="
        );
        assert_eq!(
            WebhookSecret::parse(secret.as_str()).unwrap().as_str(),
            secret.as_str()
        );
    }

    #[test]
    fn generate_draws_32_fresh_bytes() {
        let rng = ring::rand::SystemRandom::new();
        let a = WebhookSecret::generate(&rng).unwrap();
        let b = WebhookSecret::generate(&rng as &dyn SecureRandom).unwrap();
        assert_ne!(a.as_str(), b.as_str());
        // 32 bytes -> 44 base64 characters (one padding `=`).
        assert_eq!(a.as_str().len(), PREFIX.len() + 44);
        assert!(WebhookSecret::parse(a.as_str()).is_ok());
    }

    #[test]
    fn parse_accepts_every_length_the_spec_allows() {
        for len in [MIN_KEY_LEN, 32, MAX_KEY_LEN] {
            let secret = format!("{PREFIX}{}", STANDARD.encode(vec![0xA5; len]));
            assert!(WebhookSecret::parse(&secret).is_ok(), "{len} bytes");
        }
        assert!(WebhookSecret::parse(SPEC_SECRET).is_ok());
    }

    #[test]
    fn parse_accepts_unpadded_base64() {
        let padded = WebhookSecret::generate_from([9; 32]);
        let unpadded = padded.as_str().trim_end_matches('=');
        assert_ne!(unpadded, padded.as_str());
        let parsed = WebhookSecret::parse(unpadded).unwrap();
        // Same key, so the same Standard Webhooks signature.
        assert_eq!(
            hmac::sign(&parsed.key(), b"x").as_ref(),
            hmac::sign(&padded.key(), b"x").as_ref()
        );
    }

    #[test]
    fn parse_rejects_bad_secrets_with_typed_errors() {
        let cases = [
            (
                "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
                SecretError::MissingPrefix,
            ),
            (
                "WHSEC_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
                SecretError::MissingPrefix,
            ),
            ("", SecretError::MissingPrefix),
            ("whsec_not base64!", SecretError::InvalidBase64),
            // URL-safe alphabet is not the standard one.
            (
                "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLa-_",
                SecretError::InvalidBase64,
            ),
            (
                " whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
                SecretError::MissingPrefix,
            ),
            (
                "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw\n",
                SecretError::InvalidBase64,
            ),
            ("whsec_", SecretError::InvalidKeyLength { len: 0 }),
        ];
        for (input, expected) in cases {
            assert_eq!(
                WebhookSecret::parse(input).unwrap_err(),
                expected,
                "{input:?}"
            );
        }
        for len in [16, MIN_KEY_LEN - 1, MAX_KEY_LEN + 1] {
            let secret = format!("{PREFIX}{}", STANDARD.encode(vec![1; len]));
            assert_eq!(
                WebhookSecret::parse(&secret).unwrap_err(),
                SecretError::InvalidKeyLength { len }
            );
        }
    }

    #[test]
    fn parse_errors_do_not_echo_the_input() {
        let err = WebhookSecret::parse("whsec_Sup3rS3cr3t!!").unwrap_err();
        let shown = format!("{err} {err:?}");
        assert!(!shown.contains("Sup3rS3cr3t"), "{shown}");
    }

    #[test]
    fn debug_never_shows_the_secret() {
        let secret = WebhookSecret::parse(SPEC_SECRET).unwrap();
        let shown = format!("{secret:?} {secret:#?} {:?}", Some(&secret));
        assert!(
            !shown.contains("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"),
            "{shown}"
        );
        assert_eq!(format!("{secret:?}"), "WebhookSecret(whsec_***)");
    }

    #[test]
    fn the_secret_bytes_are_wiped_on_drop() {
        // Dropping runs `zeroize` (the derive's Drop); what it clears is
        // checked here on a live value, since freed memory cannot be read.
        fn wiped_on_drop<T: ZeroizeOnDrop>() {}
        wiped_on_drop::<WebhookSecret>();
        let mut secret = WebhookSecret::generate_from([9; 32]);
        assert_eq!(secret.key, [9; 32]);
        secret.zeroize();
        assert_eq!(secret.as_str(), "");
        assert!(secret.key.is_empty());
    }

    #[test]
    fn from_str_and_try_from_string_agree_with_parse() {
        let a: WebhookSecret = SPEC_SECRET.parse().unwrap();
        let b = WebhookSecret::try_from(SPEC_SECRET.to_owned()).unwrap();
        assert_eq!(a.as_str(), SPEC_SECRET);
        assert_eq!(b.as_str(), SPEC_SECRET);
        assert_eq!(
            WebhookSecret::try_from(String::from("nope")).unwrap_err(),
            SecretError::MissingPrefix
        );
    }
}
