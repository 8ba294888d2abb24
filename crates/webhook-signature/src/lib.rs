//! Signing and verification of Hub Chantier webhook requests: the
//! [Standard Webhooks](https://www.standardwebhooks.com/) `webhook-signature`
//! header and the legacy `X-Hub-Chantier-Signature` header, for the server and
//! for receivers written in Rust (no framework or async runtime involved).
//!
//! Every delivery carries `webhook-id`, `webhook-timestamp` (unix seconds of the
//! attempt) and `webhook-signature` (`v1,<base64 HMAC-SHA256 of
//! "id.timestamp.body">`, one entry per secret during a rotation). Webhooks
//! that opt in also get `X-Hub-Chantier-Signature: sha256=<hex HMAC-SHA256 of
//! the body>` keyed with the whole secret string; it signs no timestamp, so a
//! captured request verifies forever: prefer the Standard Webhooks header.
//!
//! # Example
//!
//! ```
//! use hub_webhook_signature::{
//!     HEADER_ID, HEADER_SIGNATURE, HEADER_TIMESTAMP, LEGACY_SIGNATURE_HEADER, Verifier,
//!     VerifyError, WebhookHeaders, WebhookSecret, legacy_signature, sign, verify_legacy,
//! };
//!
//! // Server: the secret is generated once (32 random bytes) and stored.
//! let secret = WebhookSecret::generate(&ring::rand::SystemRandom::new())?;
//! let body = br#"{"event_type":"chantier.created","data":{}}"#;
//! let (id, timestamp) = ("0190f1c2-7d4e-7a1b-9c3d-2e4f5a6b7c8d", 1_700_000_000);
//! let request_headers = [
//!     (HEADER_ID, id.to_owned()),
//!     (HEADER_TIMESTAMP, timestamp.to_string()),
//!     (HEADER_SIGNATURE, sign(&[&secret], id, timestamp, body)),
//!     (LEGACY_SIGNATURE_HEADER, legacy_signature(&secret, body)),
//! ];
//!
//! // Receiver: the owner was shown `secret.as_str()` once and configured it.
//! let secret = WebhookSecret::parse(secret.as_str())?;
//! let header = |name: &str| {
//!     request_headers.iter().find(|(n, _)| *n == name).map(|(_, v)| v.as_str())
//! };
//! let headers = WebhookHeaders::from_fn(header);
//! let verifier = Verifier::new(&secret);
//! let received_at = timestamp + 20; // in practice: verifier.verify_now(&headers, body)
//! verifier.verify(&headers, body, received_at)?;
//! verify_legacy(&secret, body, header(LEGACY_SIGNATURE_HEADER).unwrap_or(""))?;
//!
//! // A modified body, or the same request replayed later, is refused.
//! assert_eq!(
//!     verifier.verify(&headers, b"{}", received_at),
//!     Err(VerifyError::NoMatchingSignature)
//! );
//! assert_eq!(
//!     verifier.verify(&headers, body, timestamp + 3600),
//!     Err(VerifyError::TimestampTooOld)
//! );
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod secret;
mod sign;
mod verify;

pub use secret::{SecretError, WebhookSecret};
pub use sign::{legacy_signature, sign};
pub use verify::{DEFAULT_TOLERANCE, Verifier, VerifyError, WebhookHeaders, verify, verify_legacy};

/// Name of the header carrying the message id (the event id, stable across retries).
pub const HEADER_ID: &str = "webhook-id";
/// Name of the header carrying the unix seconds of the attempt.
pub const HEADER_TIMESTAMP: &str = "webhook-timestamp";
/// Name of the header carrying the Standard Webhooks signature(s).
pub const HEADER_SIGNATURE: &str = "webhook-signature";
/// Name of the legacy signature header of the original product.
pub const LEGACY_SIGNATURE_HEADER: &str = "X-Hub-Chantier-Signature";
