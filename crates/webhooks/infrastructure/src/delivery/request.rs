//! The headers of one delivery attempt.

use hub_platform_outbound::{HeaderMap, HeaderName, HeaderValue};
use hub_webhook_signature::{
    HEADER_ID, HEADER_SIGNATURE, HEADER_TIMESTAMP, WebhookSecret, legacy_signature, sign,
};
use uuid::Uuid;

/// `User-Agent` of every delivery.
pub const USER_AGENT: &str = "Hub-Chantier-Webhooks/1.0";
/// The event type, for receivers that route without parsing the body.
pub const EVENT_HEADER: &str = "x-hub-chantier-event";
/// The original product's signature header (lower case: header names are
/// case-insensitive and HTTP/2 requires lower case).
pub const LEGACY_HEADER: &str = "x-hub-chantier-signature";

/// A header value could not be built (an event type is `[a-z0-9_.]`, so
/// this does not happen with stored events).
#[derive(Debug, thiserror::Error)]
#[error("header `{name}` cannot hold this value")]
pub struct HeaderError {
    name: &'static str,
}

fn value(name: &'static str, text: &str) -> Result<HeaderValue, HeaderError> {
    HeaderValue::from_str(text).map_err(|_| HeaderError { name })
}

/// The headers of an attempt made at `timestamp` (unix seconds):
/// `Content-Type`, `User-Agent`, `webhook-id` (the event id: the same at
/// every attempt, so receivers deduplicate on it), `webhook-timestamp`,
/// `webhook-signature` (one `v1,` entry per secret, the current one first,
/// space-separated), `X-Hub-Chantier-Event`, and with `legacy` the
/// `X-Hub-Chantier-Signature` (`sha256=` + hex HMAC of the body keyed with
/// the whole current secret string). `secrets` must not be empty.
///
/// The legacy header signs the body alone, so a captured request verifies
/// forever: it is sent only to webhooks that opted in (`legacy_signature`).
pub fn delivery_headers(
    event_id: Uuid,
    event_type: &str,
    timestamp: i64,
    body: &[u8],
    secrets: &[WebhookSecret],
    legacy: bool,
) -> Result<HeaderMap, HeaderError> {
    let id = event_id.to_string();
    let signers: Vec<&WebhookSecret> = secrets.iter().collect();
    let mut headers = HeaderMap::with_capacity(7);
    headers.insert(
        hub_platform_outbound::HeaderName::from_static("content-type"),
        HeaderValue::from_static("application/json"),
    );
    headers.insert(
        HeaderName::from_static("user-agent"),
        HeaderValue::from_static(USER_AGENT),
    );
    headers.insert(HeaderName::from_static(HEADER_ID), value(HEADER_ID, &id)?);
    headers.insert(
        HeaderName::from_static(HEADER_TIMESTAMP),
        value(HEADER_TIMESTAMP, &timestamp.to_string())?,
    );
    headers.insert(
        HeaderName::from_static(HEADER_SIGNATURE),
        value(HEADER_SIGNATURE, &sign(&signers, &id, timestamp, body))?,
    );
    headers.insert(
        HeaderName::from_static(EVENT_HEADER),
        value(EVENT_HEADER, event_type)?,
    );
    // Receivers of the original product know one secret: the current one.
    if let Some(current) = secrets.first().filter(|_| legacy) {
        headers.insert(
            HeaderName::from_static(LEGACY_HEADER),
            value(LEGACY_HEADER, &legacy_signature(current, body))?,
        );
    }
    Ok(headers)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use base64::Engine as _;
    use hub_webhook_signature::{Verifier, WebhookHeaders, verify_legacy};
    use ring::hmac;

    const BODY: &[u8] = br#"{"event_id":"0193","event_type":"chantier.created"}"#;
    const AT: i64 = 1_764_151_200;

    fn text<'a>(headers: &'a HeaderMap, name: &str) -> &'a str {
        headers.get(name).unwrap().to_str().unwrap()
    }

    #[test]
    fn without_legacy_only_the_standard_headers_sign() {
        let secret = WebhookSecret::generate_from([7; 32]);
        let event_id = Uuid::now_v7();
        let headers = delivery_headers(
            event_id,
            "chantier.created",
            AT,
            BODY,
            std::slice::from_ref(&secret),
            false,
        )
        .unwrap();
        let mut names: Vec<&str> = headers.keys().map(HeaderName::as_str).collect();
        names.sort_unstable();
        assert_eq!(
            names,
            [
                "content-type",
                "user-agent",
                "webhook-id",
                "webhook-signature",
                "webhook-timestamp",
                "x-hub-chantier-event"
            ]
        );
        let id = event_id.to_string();
        let received = WebhookHeaders::new(&id, "1764151200", text(&headers, "webhook-signature"));
        Verifier::new(&secret).verify(&received, BODY, AT).unwrap();
    }

    #[test]
    fn the_headers_are_exactly_the_documented_ones() {
        let secret = WebhookSecret::generate_from([7; 32]);
        let event_id = Uuid::now_v7();
        let headers = delivery_headers(
            event_id,
            "chantier.created",
            AT,
            BODY,
            std::slice::from_ref(&secret),
            true,
        )
        .unwrap();
        let mut names: Vec<&str> = headers.keys().map(HeaderName::as_str).collect();
        names.sort_unstable();
        assert_eq!(
            names,
            [
                "content-type",
                "user-agent",
                "webhook-id",
                "webhook-signature",
                "webhook-timestamp",
                "x-hub-chantier-event",
                "x-hub-chantier-signature"
            ]
        );
        assert_eq!(text(&headers, "content-type"), "application/json");
        assert_eq!(text(&headers, "user-agent"), "Hub-Chantier-Webhooks/1.0");
        assert_eq!(text(&headers, "webhook-id"), event_id.to_string());
        assert_eq!(text(&headers, "webhook-timestamp"), "1764151200");
        assert_eq!(text(&headers, "x-hub-chantier-event"), "chantier.created");

        // Standard Webhooks: v1,base64(HMAC-SHA256(decoded key, "id.ts.body")),
        // recomputed here without the signature crate.
        let key = hmac::Key::new(hmac::HMAC_SHA256, &[7; 32]);
        let content = format!("{event_id}.{AT}.{}", std::str::from_utf8(BODY).unwrap());
        let expected = base64::engine::general_purpose::STANDARD
            .encode(hmac::sign(&key, content.as_bytes()).as_ref());
        assert_eq!(
            text(&headers, "webhook-signature"),
            format!("v1,{expected}")
        );
        // Legacy: sha256=hex(HMAC-SHA256(the whole secret string, body)).
        let legacy_key = hmac::Key::new(hmac::HMAC_SHA256, secret.as_str().as_bytes());
        assert_eq!(
            text(&headers, "x-hub-chantier-signature"),
            format!(
                "sha256={}",
                hex::encode(hmac::sign(&legacy_key, BODY).as_ref())
            )
        );
    }

    #[test]
    fn during_a_rotation_both_secrets_sign_and_either_verifies() {
        let new = WebhookSecret::generate_from([1; 32]);
        let old = WebhookSecret::generate_from([2; 32]);
        let event_id = Uuid::now_v7();
        let headers = delivery_headers(
            event_id,
            "chantier.updated",
            AT,
            BODY,
            &[new.clone(), old.clone()],
            true,
        )
        .unwrap();
        let signature = text(&headers, "webhook-signature");
        let entries: Vec<&str> = signature.split(' ').collect();
        assert_eq!(entries.len(), 2, "{signature}");
        assert!(entries.iter().all(|e| e.starts_with("v1,")));
        let id = event_id.to_string();
        let received = WebhookHeaders::new(&id, "1764151200", signature);
        for secret in [&new, &old] {
            Verifier::new(secret)
                .verify(&received, BODY, AT + 3)
                .unwrap();
        }
        let stranger = WebhookSecret::generate_from([3; 32]);
        assert!(
            Verifier::new(&stranger)
                .verify(&received, BODY, AT)
                .is_err()
        );
        // The legacy header is keyed with the current secret only.
        let legacy = text(&headers, "x-hub-chantier-signature");
        verify_legacy(&new, BODY, legacy).unwrap();
        assert!(verify_legacy(&old, BODY, legacy).is_err());
    }

    #[test]
    fn an_event_type_that_cannot_be_a_header_is_an_error() {
        let secret = WebhookSecret::generate_from([7; 32]);
        assert!(delivery_headers(Uuid::now_v7(), "bad\ntype", AT, BODY, &[secret], false).is_err());
    }
}
