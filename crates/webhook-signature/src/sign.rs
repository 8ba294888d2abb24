//! Producing the signature header values (server side).

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use ring::hmac;

use crate::WebhookSecret;

/// Version tag of the symmetric (HMAC-SHA256) Standard Webhooks signature.
pub(crate) const VERSION_V1: &str = "v1";

/// Prefix of the legacy header value.
pub(crate) const LEGACY_PREFIX: &str = "sha256=";

/// The bytes both sides sign: `"{msg_id}.{timestamp}.{body}"`.
pub(crate) fn signed_content(msg_id: &str, timestamp: i64, body: &[u8]) -> Vec<u8> {
    let timestamp = timestamp.to_string();
    let mut content = Vec::with_capacity(msg_id.len() + timestamp.len() + body.len() + 2);
    content.extend_from_slice(msg_id.as_bytes());
    content.push(b'.');
    content.extend_from_slice(timestamp.as_bytes());
    content.push(b'.');
    content.extend_from_slice(body);
    content
}

/// The `webhook-signature` header value: one `v1,<base64 HMAC-SHA256>` entry
/// per secret, in the order given, separated by single spaces (several secrets
/// during a rotation grace period).
///
/// `msg_id` is the `webhook-id` header and `timestamp` the `webhook-timestamp`
/// header (unix seconds of this attempt); `body` must be the exact bytes sent.
/// `msg_id` must not contain `.` (the specification forbids it, and
/// [`Verifier`](crate::Verifier) rejects it). With no secret the result is
/// empty, which every verifier rejects.
#[must_use]
pub fn sign(secrets: &[&WebhookSecret], msg_id: &str, timestamp: i64, body: &[u8]) -> String {
    let content = signed_content(msg_id, timestamp, body);
    secrets
        .iter()
        .map(|secret| {
            let tag = hmac::sign(&secret.key(), &content);
            format!("{VERSION_V1},{}", STANDARD.encode(tag.as_ref()))
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// The `X-Hub-Chantier-Signature` header value of the original product:
/// `sha256=<lowercase hex HMAC-SHA256 of the raw body>`, keyed with the UTF-8
/// bytes of the whole secret string (`whsec_` included).
#[must_use]
pub fn legacy_signature(secret: &WebhookSecret, body: &[u8]) -> String {
    let tag = hmac::sign(&secret.legacy_key(), body);
    format!("{LEGACY_PREFIX}{}", hex::encode(tag.as_ref()))
}

#[cfg(test)]
mod tests {
    use super::*;

    // The Standard Webhooks test vector, as published in the official
    // libraries' test suites (e.g. standard-webhooks/standard-webhooks
    // libraries/php/tests/WebhookTest.php `testSignFunctionWorks`, also used by
    // the svix libraries), and recomputed independently with Python's
    // hmac/hashlib/base64 before being written here.
    const SPEC_SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    const SPEC_MSG_ID: &str = "msg_p5jXN8AQM9LWM0D4loKWxJek";
    const SPEC_TIMESTAMP: i64 = 1_614_265_330;
    const SPEC_PAYLOAD: &[u8] = br#"{"test": 2432232314}"#;
    const SPEC_SIGNATURE: &str = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";

    #[test]
    fn reproduces_the_standard_webhooks_test_vector_exactly() {
        let secret = WebhookSecret::parse(SPEC_SECRET).unwrap();
        assert_eq!(
            sign(&[&secret], SPEC_MSG_ID, SPEC_TIMESTAMP, SPEC_PAYLOAD),
            SPEC_SIGNATURE
        );
    }

    #[test]
    fn signed_content_is_id_dot_timestamp_dot_body() {
        assert_eq!(
            signed_content(SPEC_MSG_ID, SPEC_TIMESTAMP, SPEC_PAYLOAD),
            br#"msg_p5jXN8AQM9LWM0D4loKWxJek.1614265330.{"test": 2432232314}"#
        );
    }

    #[test]
    fn several_secrets_give_space_separated_entries_in_order() {
        let old = WebhookSecret::parse(SPEC_SECRET).unwrap();
        let new = WebhookSecret::generate_from([3; 32]);
        let one_old = sign(&[&old], SPEC_MSG_ID, SPEC_TIMESTAMP, SPEC_PAYLOAD);
        let one_new = sign(&[&new], SPEC_MSG_ID, SPEC_TIMESTAMP, SPEC_PAYLOAD);
        assert_eq!(
            sign(&[&new, &old], SPEC_MSG_ID, SPEC_TIMESTAMP, SPEC_PAYLOAD),
            format!("{one_new} {one_old}")
        );
        assert_eq!(sign(&[], SPEC_MSG_ID, SPEC_TIMESTAMP, SPEC_PAYLOAD), "");
    }

    #[test]
    fn legacy_signature_known_answers() {
        // Expected values computed with Python:
        // hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
        let spec = WebhookSecret::parse(SPEC_SECRET).unwrap();
        assert_eq!(
            legacy_signature(&spec, SPEC_PAYLOAD),
            "sha256=80ec8a89ce3cd22133a1066caecb4d04fea7467657c8514d717ec42c38a5c94c"
        );
        // Secret "whsec_AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=", empty body.
        let bytes: [u8; 32] = std::array::from_fn(|i| u8::try_from(i).unwrap());
        let generated = WebhookSecret::generate_from(bytes);
        assert_eq!(
            legacy_signature(&generated, b""),
            "sha256=3869a63cbe73c747431cf9ff4d38cbaa6ad6adb0541c4753e1c90f7b6920620f"
        );
    }
}
