//! Checking a received request (receiver side).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use ring::hmac;

use crate::sign::{LEGACY_PREFIX, VERSION_V1, signed_content};
use crate::{
    HEADER_ID, HEADER_SIGNATURE, HEADER_TIMESTAMP, LEGACY_SIGNATURE_HEADER, WebhookSecret,
};

/// How far `webhook-timestamp` may be from the receiver's clock, either way.
pub const DEFAULT_TOLERANCE: Duration = Duration::from_mins(5);

/// At most this many `v1` entries are tried, so that a forged header cannot make
/// the receiver hash a large body hundreds of times (a rotation needs two).
const MAX_V1_SIGNATURES: usize = 8;

/// Length of an HMAC-SHA256 tag.
const TAG_LEN: usize = 32;

/// Why a request was not accepted as signed by the expected secret.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum VerifyError {
    /// A header is absent or empty (the payload is the header's name).
    #[error("missing or empty `{0}` header")]
    MissingHeader(&'static str),
    /// `webhook-id` contains a `.`, which would make the signed content ambiguous.
    #[error("invalid `webhook-id` header: it must not contain '.'")]
    InvalidMessageId,
    /// `webhook-timestamp` is not unix seconds written as decimal digits.
    #[error("invalid `webhook-timestamp` header: expected unix seconds as decimal digits")]
    InvalidTimestamp,
    /// `webhook-timestamp` is further in the past than the tolerance (replay?).
    #[error("`webhook-timestamp` is too old")]
    TimestampTooOld,
    /// `webhook-timestamp` is further in the future than the tolerance.
    #[error("`webhook-timestamp` is too far in the future")]
    TimestampTooNew,
    /// The signature header does not have the expected syntax.
    #[error("malformed signature header")]
    MalformedSignatureHeader,
    /// The signature header carries more `v1` entries than are ever sent.
    #[error("too many `v1` signatures (at most {MAX_V1_SIGNATURES} are accepted)")]
    TooManySignatures,
    /// The signature header has no `v1` entry (only other versions).
    #[error("no `v1` signature in the `webhook-signature` header")]
    NoSupportedSignature,
    /// No signature was produced by this secret over these id, timestamp and body.
    #[error("no signature matches")]
    NoMatchingSignature,
}

/// The three Standard Webhooks headers of a received request, as text.
///
/// `None` (or an empty value) means the header is absent.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WebhookHeaders<'a> {
    /// `webhook-id`.
    pub id: Option<&'a str>,
    /// `webhook-timestamp`.
    pub timestamp: Option<&'a str>,
    /// `webhook-signature`.
    pub signature: Option<&'a str>,
}

impl<'a> WebhookHeaders<'a> {
    /// All three headers present.
    #[must_use]
    pub fn new(id: &'a str, timestamp: &'a str, signature: &'a str) -> Self {
        Self {
            id: Some(id),
            timestamp: Some(timestamp),
            signature: Some(signature),
        }
    }

    /// Reads the headers through `get`, called with [`HEADER_ID`],
    /// [`HEADER_TIMESTAMP`] and [`HEADER_SIGNATURE`] (lowercase names), e.g.
    /// `WebhookHeaders::from_fn(|name| request.headers().get(name)?.to_str().ok())`.
    pub fn from_fn(mut get: impl FnMut(&'static str) -> Option<&'a str>) -> Self {
        Self {
            id: get(HEADER_ID),
            timestamp: get(HEADER_TIMESTAMP),
            signature: get(HEADER_SIGNATURE),
        }
    }
}

/// Verifies Standard Webhooks signatures made with one secret.
///
/// A request is accepted when its timestamp is within the tolerance of `now`
/// (both ways, bounds included) and ANY `v1` entry of `webhook-signature` is the
/// HMAC of `"{id}.{timestamp}.{body}"`; entries of other versions are ignored.
/// Comparisons are constant-time (`ring::hmac::verify`).
#[derive(Debug, Clone, Copy)]
pub struct Verifier<'s> {
    secret: &'s WebhookSecret,
    tolerance: Duration,
}

impl<'s> Verifier<'s> {
    /// A verifier with the [`DEFAULT_TOLERANCE`] of 5 minutes.
    #[must_use]
    pub fn new(secret: &'s WebhookSecret) -> Self {
        Self {
            secret,
            tolerance: DEFAULT_TOLERANCE,
        }
    }

    /// Replaces the timestamp tolerance.
    #[must_use]
    pub fn with_tolerance(self, tolerance: Duration) -> Self {
        Self { tolerance, ..self }
    }

    /// Verifies a request received at `now` (unix seconds).
    ///
    /// # Errors
    /// [`VerifyError`] says which check failed: header missing or malformed,
    /// timestamp out of tolerance, or no matching signature.
    pub fn verify(
        &self,
        headers: &WebhookHeaders<'_>,
        body: &[u8],
        now: i64,
    ) -> Result<(), VerifyError> {
        let msg_id = required(headers.id, HEADER_ID)?;
        let timestamp = required(headers.timestamp, HEADER_TIMESTAMP)?;
        let signature = required(headers.signature, HEADER_SIGNATURE)?;

        if msg_id.contains('.') {
            return Err(VerifyError::InvalidMessageId);
        }
        let timestamp = parse_timestamp(timestamp)?;
        let candidates = parse_v1_signatures(signature)?;
        self.check_timestamp(timestamp, now)?;

        let content = signed_content(msg_id, timestamp, body);
        let key = self.secret.key();
        candidates
            .iter()
            .any(|tag| hmac::verify(&key, &content, tag).is_ok())
            .then_some(())
            .ok_or(VerifyError::NoMatchingSignature)
    }

    /// [`Verifier::verify`] with `now` taken from the system clock.
    ///
    /// # Errors
    /// As [`Verifier::verify`].
    pub fn verify_now(&self, headers: &WebhookHeaders<'_>, body: &[u8]) -> Result<(), VerifyError> {
        self.verify(headers, body, unix_now())
    }

    fn check_timestamp(&self, timestamp: i64, now: i64) -> Result<(), VerifyError> {
        let tolerance = i128::from(self.tolerance.as_secs());
        let age = i128::from(now) - i128::from(timestamp);
        if age > tolerance {
            Err(VerifyError::TimestampTooOld)
        } else if -age > tolerance {
            Err(VerifyError::TimestampTooNew)
        } else {
            Ok(())
        }
    }
}

/// Verifies a request with the [`DEFAULT_TOLERANCE`]; see [`Verifier`].
///
/// # Errors
/// As [`Verifier::verify`].
pub fn verify(
    secret: &WebhookSecret,
    headers: &WebhookHeaders<'_>,
    body: &[u8],
    now: i64,
) -> Result<(), VerifyError> {
    Verifier::new(secret).verify(headers, body, now)
}

/// Verifies an `X-Hub-Chantier-Signature` header value (`sha256=<hex>`) in
/// constant time. It covers the body only: prefer the Standard Webhooks
/// headers, which also bind the id and the timestamp (replay protection).
///
/// # Errors
/// [`VerifyError::MissingHeader`] for an empty value,
/// [`VerifyError::MalformedSignatureHeader`] if it is not `sha256=` and 64 hex
/// digits, [`VerifyError::NoMatchingSignature`] if it does not match.
pub fn verify_legacy(
    secret: &WebhookSecret,
    body: &[u8],
    header_value: &str,
) -> Result<(), VerifyError> {
    let value = required(Some(header_value), LEGACY_SIGNATURE_HEADER)?;
    let tag = value
        .strip_prefix(LEGACY_PREFIX)
        .and_then(|hex_tag| hex::decode(hex_tag).ok())
        .filter(|tag| tag.len() == TAG_LEN)
        .ok_or(VerifyError::MalformedSignatureHeader)?;
    hmac::verify(&secret.legacy_key(), body, &tag).map_err(|_| VerifyError::NoMatchingSignature)
}

fn required<'a>(value: Option<&'a str>, name: &'static str) -> Result<&'a str, VerifyError> {
    value
        .map(str::trim)
        .filter(|value| !value.is_empty())
        .ok_or(VerifyError::MissingHeader(name))
}

/// Unix seconds as plain decimal digits (no sign, no fraction, no spaces).
fn parse_timestamp(value: &str) -> Result<i64, VerifyError> {
    if !value.bytes().all(|b| b.is_ascii_digit()) {
        return Err(VerifyError::InvalidTimestamp);
    }
    value.parse().map_err(|_| VerifyError::InvalidTimestamp)
}

/// The decoded tags of the `v1` entries of a `webhook-signature` value.
///
/// Entries are `<version>,<signature>` separated by spaces. Entries of other
/// versions are skipped unread; a `v1` entry must be the standard base64 of a
/// 32-byte tag.
fn parse_v1_signatures(header: &str) -> Result<Vec<Vec<u8>>, VerifyError> {
    let mut tags = Vec::new();
    for entry in header.split_ascii_whitespace() {
        let (version, signature) = entry
            .split_once(',')
            .filter(|(version, signature)| !version.is_empty() && !signature.is_empty())
            .ok_or(VerifyError::MalformedSignatureHeader)?;
        if version != VERSION_V1 {
            continue;
        }
        if tags.len() == MAX_V1_SIGNATURES {
            return Err(VerifyError::TooManySignatures);
        }
        let tag = STANDARD
            .decode(signature)
            .ok()
            .filter(|tag| tag.len() == TAG_LEN)
            .ok_or(VerifyError::MalformedSignatureHeader)?;
        tags.push(tag);
    }
    if tags.is_empty() {
        Err(VerifyError::NoSupportedSignature)
    } else {
        Ok(tags)
    }
}

/// The system clock in unix seconds (negative before 1970, saturating).
fn unix_now() -> i64 {
    match SystemTime::now().duration_since(UNIX_EPOCH) {
        Ok(since) => i64::try_from(since.as_secs()).unwrap_or(i64::MAX),
        Err(before) => i64::try_from(before.duration().as_secs()).map_or(i64::MIN, |s| -s),
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::{legacy_signature, sign};

    // Standard Webhooks test vector (see `sign::tests` for its provenance).
    const SPEC_SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    const SPEC_MSG_ID: &str = "msg_p5jXN8AQM9LWM0D4loKWxJek";
    const SPEC_TIMESTAMP: &str = "1614265330";
    const SPEC_PAYLOAD: &[u8] = br#"{"test": 2432232314}"#;
    const SPEC_SIGNATURE: &str = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";
    const SPEC_NOW: i64 = 1_614_265_330;

    const ID: &str = "0190f1c2-7d4e-7a1b-9c3d-2e4f5a6b7c8d";
    const NOW: i64 = 1_700_000_000;
    const BODY: &[u8] = br#"{"event_type":"chantier.created","data":{"id":42}}"#;

    fn secret() -> WebhookSecret {
        WebhookSecret::generate_from([0x42; 32])
    }

    /// Signs `BODY` with `secret` at `timestamp` and verifies it at `NOW`.
    fn check_at(secret: &WebhookSecret, timestamp: i64) -> Result<(), VerifyError> {
        let signature = sign(&[secret], ID, timestamp, BODY);
        let timestamp = timestamp.to_string();
        verify(
            secret,
            &WebhookHeaders::new(ID, &timestamp, &signature),
            BODY,
            NOW,
        )
    }

    fn check_signature_header(signature: &str) -> Result<(), VerifyError> {
        let secret = WebhookSecret::parse(SPEC_SECRET).unwrap();
        let headers = WebhookHeaders::new(SPEC_MSG_ID, SPEC_TIMESTAMP, signature);
        verify(&secret, &headers, SPEC_PAYLOAD, SPEC_NOW)
    }

    #[test]
    fn accepts_the_standard_webhooks_test_vector() {
        assert_eq!(check_signature_header(SPEC_SIGNATURE), Ok(()));
    }

    #[test]
    fn accepts_its_own_signature() {
        assert_eq!(check_at(&secret(), NOW), Ok(()));
    }

    #[test]
    fn rejects_another_secret() {
        let signature = sign(&[&secret()], ID, NOW, BODY);
        let timestamp = NOW.to_string();
        let headers = WebhookHeaders::new(ID, &timestamp, &signature);
        let other = WebhookSecret::generate_from([0x43; 32]);
        assert_eq!(
            verify(&other, &headers, BODY, NOW),
            Err(VerifyError::NoMatchingSignature)
        );
    }

    #[test]
    fn rejects_a_tampered_body_id_or_timestamp() {
        let secret = secret();
        let signature = sign(&[&secret], ID, NOW, BODY);
        let timestamp = NOW.to_string();
        let headers = WebhookHeaders::new(ID, &timestamp, &signature);
        let tampered = br#"{"event_type":"chantier.created","data":{"id":43}}"#;
        assert_eq!(
            verify(&secret, &headers, tampered, NOW),
            Err(VerifyError::NoMatchingSignature)
        );
        let other_id = WebhookHeaders {
            id: Some("0190f1c2-7d4e-7a1b-9c3d-2e4f5a6b7c8e"),
            ..headers
        };
        assert_eq!(
            verify(&secret, &other_id, BODY, NOW),
            Err(VerifyError::NoMatchingSignature)
        );
        let later = (NOW + 1).to_string();
        let other_timestamp = WebhookHeaders {
            timestamp: Some(&later),
            ..headers
        };
        assert_eq!(
            verify(&secret, &other_timestamp, BODY, NOW),
            Err(VerifyError::NoMatchingSignature)
        );
    }

    #[test]
    fn timestamp_must_be_within_five_minutes_either_way() {
        let secret = secret();
        assert_eq!(
            check_at(&secret, NOW - 6 * 60),
            Err(VerifyError::TimestampTooOld)
        );
        assert_eq!(
            check_at(&secret, NOW + 6 * 60),
            Err(VerifyError::TimestampTooNew)
        );
        assert_eq!(check_at(&secret, NOW - 4 * 60), Ok(()));
        assert_eq!(check_at(&secret, NOW + 4 * 60), Ok(()));
        // The bounds themselves are accepted, one second more is not.
        assert_eq!(check_at(&secret, NOW - 300), Ok(()));
        assert_eq!(check_at(&secret, NOW + 300), Ok(()));
        assert_eq!(
            check_at(&secret, NOW - 301),
            Err(VerifyError::TimestampTooOld)
        );
        assert_eq!(
            check_at(&secret, NOW + 301),
            Err(VerifyError::TimestampTooNew)
        );
        // Far away values do not overflow.
        assert_eq!(check_at(&secret, 0), Err(VerifyError::TimestampTooOld));
        assert_eq!(
            check_at(&secret, i64::MAX),
            Err(VerifyError::TimestampTooNew)
        );
    }

    #[test]
    fn tolerance_is_configurable() {
        let secret = secret();
        let signature = sign(&[&secret], ID, NOW - 60, BODY);
        let timestamp = (NOW - 60).to_string();
        let headers = WebhookHeaders::new(ID, &timestamp, &signature);
        let strict = Verifier::new(&secret).with_tolerance(Duration::from_secs(30));
        assert_eq!(
            strict.verify(&headers, BODY, NOW),
            Err(VerifyError::TimestampTooOld)
        );
        let lax = Verifier::new(&secret).with_tolerance(Duration::from_hours(1));
        assert_eq!(lax.verify(&headers, BODY, NOW + 3000), Ok(()));
    }

    #[test]
    fn verify_now_uses_the_system_clock() {
        let secret = secret();
        let now = unix_now();
        assert!(now > NOW, "the clock is set before 2023");
        let signature = sign(&[&secret], ID, now, BODY);
        let timestamp = now.to_string();
        let headers = WebhookHeaders::new(ID, &timestamp, &signature);
        assert_eq!(Verifier::new(&secret).verify_now(&headers, BODY), Ok(()));
    }

    #[test]
    fn accepts_when_only_the_second_signature_matches() {
        // Rotation: the server signs with the new and the old secret; a
        // receiver still configured with the old one matches the second entry.
        let new = WebhookSecret::generate_from([1; 32]);
        let old = secret();
        let signature = sign(&[&new, &old], ID, NOW, BODY);
        let timestamp = NOW.to_string();
        let headers = WebhookHeaders::new(ID, &timestamp, &signature);
        assert_eq!(verify(&old, &headers, BODY, NOW), Ok(()));
        assert_eq!(verify(&new, &headers, BODY, NOW), Ok(()));
        let stranger = WebhookSecret::generate_from([2; 32]);
        assert_eq!(
            verify(&stranger, &headers, BODY, NOW),
            Err(VerifyError::NoMatchingSignature)
        );
    }

    #[test]
    fn ignores_entries_of_other_versions() {
        let header = format!(
            "v1a,hnO3f9T8Ytu9HwrXslvumlUpqtNVqkhqw/enGzPCXe5BdqzCInXqYXFymVJaA7AZdpXwVLPo3mNl8EM+m7TBAg== \
             v2,whatever {SPEC_SIGNATURE}"
        );
        assert_eq!(check_signature_header(&header), Ok(()));
        // Extra spaces between entries are tolerated.
        assert_eq!(
            check_signature_header(&format!("  v2,x   {SPEC_SIGNATURE}  ")),
            Ok(())
        );
        assert_eq!(
            check_signature_header("v1a,c2lnbmF0dXJl v2,x"),
            Err(VerifyError::NoSupportedSignature)
        );
    }

    #[test]
    fn missing_headers_are_named() {
        let full = WebhookHeaders::new(SPEC_MSG_ID, SPEC_TIMESTAMP, SPEC_SIGNATURE);
        let secret = WebhookSecret::parse(SPEC_SECRET).unwrap();
        let check = |headers: WebhookHeaders<'_>| verify(&secret, &headers, SPEC_PAYLOAD, SPEC_NOW);
        assert_eq!(
            check(WebhookHeaders { id: None, ..full }),
            Err(VerifyError::MissingHeader(HEADER_ID))
        );
        assert_eq!(
            check(WebhookHeaders {
                timestamp: Some(" "),
                ..full
            }),
            Err(VerifyError::MissingHeader(HEADER_TIMESTAMP))
        );
        assert_eq!(
            check(WebhookHeaders {
                signature: Some(""),
                ..full
            }),
            Err(VerifyError::MissingHeader(HEADER_SIGNATURE))
        );
        assert_eq!(
            check(WebhookHeaders::default()),
            Err(VerifyError::MissingHeader(HEADER_ID))
        );
    }

    #[test]
    fn malformed_id_and_timestamp_are_typed_errors() {
        let secret = WebhookSecret::parse(SPEC_SECRET).unwrap();
        let check = |id: &str, timestamp: &str| {
            let headers = WebhookHeaders::new(id, timestamp, SPEC_SIGNATURE);
            verify(&secret, &headers, SPEC_PAYLOAD, SPEC_NOW)
        };
        assert_eq!(
            check("msg.1", SPEC_TIMESTAMP),
            Err(VerifyError::InvalidMessageId)
        );
        for timestamp in [
            "abc",
            "-1614265330",
            "+1614265330",
            "1614265330.5",
            "1614265330 1",
            "1_614_265_330",
            "0x6037d6f2",
            "99999999999999999999",
        ] {
            assert_eq!(
                check(SPEC_MSG_ID, timestamp),
                Err(VerifyError::InvalidTimestamp),
                "{timestamp:?}"
            );
        }
    }

    #[test]
    fn malformed_signature_headers_are_typed_errors() {
        for header in [
            "v1",
            "g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=",
            ",g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=",
            "v1,",
            "v1,not base64!",
            // base64url alphabet
            "v1,g0hM9SsE-OTPJTGt_tmIKtSyZlE3uFJELVlNIOLJ1OE=",
            // a 16-byte value: not an HMAC-SHA256 tag
            "v1,AAAAAAAAAAAAAAAAAAAAAA==",
            // one bad entry spoils the header even next to a good one
            "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE= v1,%%%",
            "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE= garbage",
        ] {
            assert_eq!(
                check_signature_header(header),
                Err(VerifyError::MalformedSignatureHeader),
                "{header:?}"
            );
        }
    }

    #[test]
    fn too_many_v1_entries_are_refused() {
        let decoy = "v1,AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=";
        let mut entries = vec![decoy; MAX_V1_SIGNATURES - 1];
        entries.push(SPEC_SIGNATURE);
        assert_eq!(check_signature_header(&entries.join(" ")), Ok(()));
        entries.push(decoy);
        assert_eq!(
            check_signature_header(&entries.join(" ")),
            Err(VerifyError::TooManySignatures)
        );
    }

    #[test]
    fn headers_from_fn_reads_the_standard_names() {
        let pairs = [
            ("webhook-id", "a"),
            ("webhook-timestamp", "1"),
            ("webhook-signature", "v1,x"),
        ];
        let headers =
            WebhookHeaders::from_fn(|name| pairs.iter().find(|(n, _)| *n == name).map(|(_, v)| *v));
        assert_eq!(headers, WebhookHeaders::new("a", "1", "v1,x"));
    }

    #[test]
    fn legacy_signature_verifies() {
        let secret = secret();
        let header = legacy_signature(&secret, BODY);
        assert_eq!(verify_legacy(&secret, BODY, &header), Ok(()));
        // Hex is case-insensitive on input.
        let upper = format!("sha256={}", header["sha256=".len()..].to_uppercase());
        assert_eq!(verify_legacy(&secret, BODY, &upper), Ok(()));
        assert_eq!(
            verify_legacy(&secret, b"{}", &header),
            Err(VerifyError::NoMatchingSignature)
        );
        let other = WebhookSecret::generate_from([0x43; 32]);
        assert_eq!(
            verify_legacy(&other, BODY, &header),
            Err(VerifyError::NoMatchingSignature)
        );
    }

    #[test]
    fn legacy_known_answer_verifies() {
        // Same Python-computed value as in `sign::tests`.
        let secret = WebhookSecret::parse(SPEC_SECRET).unwrap();
        let header = "sha256=80ec8a89ce3cd22133a1066caecb4d04fea7467657c8514d717ec42c38a5c94c";
        assert_eq!(verify_legacy(&secret, SPEC_PAYLOAD, header), Ok(()));
    }

    #[test]
    fn malformed_legacy_headers_are_typed_errors() {
        let secret = secret();
        let hex_tag = &legacy_signature(&secret, BODY)["sha256=".len()..];
        assert_eq!(
            verify_legacy(&secret, BODY, ""),
            Err(VerifyError::MissingHeader(LEGACY_SIGNATURE_HEADER))
        );
        for header in [
            hex_tag.to_owned(),
            format!("sha1={hex_tag}"),
            format!("sha256={}", &hex_tag[..62]),
            format!("sha256={hex_tag}00"),
            format!("sha256={}zz", &hex_tag[..62]),
            "sha256=".to_owned(),
        ] {
            assert_eq!(
                verify_legacy(&secret, BODY, &header),
                Err(VerifyError::MalformedSignatureHeader),
                "{header:?}"
            );
        }
    }

    proptest! {
        #[test]
        fn sign_then_verify_round_trips(
            body in proptest::collection::vec(any::<u8>(), 0..512),
            id in "[A-Za-z0-9_-]{1,40}",
            key in any::<[u8; 32]>(),
            offset in -300_i64..=300,
        ) {
            let secret = WebhookSecret::generate_from(key);
            let signature = sign(&[&secret], &id, NOW + offset, &body);
            let timestamp = (NOW + offset).to_string();
            let headers = WebhookHeaders::new(&id, &timestamp, &signature);
            prop_assert_eq!(verify(&secret, &headers, &body, NOW), Ok(()));
            prop_assert_eq!(
                verify_legacy(&secret, &body, &legacy_signature(&secret, &body)),
                Ok(())
            );
        }

        #[test]
        fn flipping_any_body_byte_breaks_the_signatures(
            body in proptest::collection::vec(any::<u8>(), 1..512),
            id in "[A-Za-z0-9_-]{1,40}",
            key in any::<[u8; 32]>(),
            index in any::<prop::sample::Index>(),
            flip in 1_u8..=255,
        ) {
            let secret = WebhookSecret::generate_from(key);
            let signature = sign(&[&secret], &id, NOW, &body);
            let legacy = legacy_signature(&secret, &body);
            let mut tampered = body.clone();
            tampered[index.index(body.len())] ^= flip;
            let timestamp = NOW.to_string();
            let headers = WebhookHeaders::new(&id, &timestamp, &signature);
            prop_assert_eq!(
                verify(&secret, &headers, &tampered, NOW),
                Err(VerifyError::NoMatchingSignature)
            );
            prop_assert_eq!(
                verify_legacy(&secret, &tampered, &legacy),
                Err(VerifyError::NoMatchingSignature)
            );
        }
    }
}
