//! Value objects of the webhooks domain: valid by construction.

use std::fmt;
use std::time::Duration;

use hub_kernel::{TopicError, TopicPattern};
use zeroize::{Zeroize, ZeroizeOnDrop};

/// Why a value was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ValueError {
    #[error("is required")]
    Required,
    #[error("must be at most {0} characters")]
    TooLong(usize),
    #[error("must not contain control characters other than line breaks and tabs")]
    ControlCharacters,
    #[error("must be between {min} and {max}")]
    OutOfRange { min: u64, max: u64 },
}

/// The event type sent by `POST /webhooks/{id}/test` to one endpoint only:
/// it is in the catalog, but no subscription can select it.
pub const TEST_EVENT_TYPE: &str = "webhook.test";

/// Why the list of patterns of a webhook was refused as a whole.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PatternListError {
    #[error("must list at least one event pattern")]
    Empty,
    #[error("must list at most {0} event patterns")]
    TooMany(usize),
}

/// Why one pattern was refused. Each message names the pattern.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PatternError {
    #[error("pattern `{pattern}` {reason}")]
    Invalid { pattern: String, reason: TopicError },
    #[error(
        "pattern `{0}` matches no event type of the catalog (GET /api/v1/event-types lists them)"
    )]
    NoMatch(String),
    #[error(
        "`webhook.test` cannot be subscribed to: it is sent only to the endpoint being tested (POST /api/v1/webhooks/{{id}}/test)"
    )]
    TestEvent,
}

impl PatternError {
    /// Stable machine-readable code, for field errors.
    pub fn code(&self) -> &'static str {
        match self {
            PatternError::Invalid { .. } => "invalid_pattern",
            PatternError::NoMatch(_) => "unknown_event_type",
            PatternError::TestEvent => "not_subscribable",
        }
    }
}

/// Everything wrong with a submitted list of patterns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EventPatternsError {
    List(PatternListError),
    /// `(position in the submitted list, what is wrong with it)`.
    Patterns(Vec<(usize, PatternError)>),
}

/// The topic patterns a webhook subscribes to: 1 to [`EventPatterns::MAX`]
/// valid patterns, each selecting at least one subscribable event type of
/// the catalog, without duplicates (a repeated pattern is kept once).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventPatterns(Vec<TopicPattern>);

impl EventPatterns {
    pub const MAX: usize = 50;

    /// Checks `raw` against the catalog's event types. `webhook.test` is never
    /// subscribable: a pattern must select at least one other type.
    pub fn parse(raw: &[String], catalog: &[&str]) -> Result<Self, EventPatternsError> {
        if raw.is_empty() {
            return Err(EventPatternsError::List(PatternListError::Empty));
        }
        if raw.len() > Self::MAX {
            return Err(EventPatternsError::List(PatternListError::TooMany(
                Self::MAX,
            )));
        }
        let subscribable: Vec<&str> = catalog
            .iter()
            .copied()
            .filter(|t| *t != TEST_EVENT_TYPE)
            .collect();
        let mut errors = Vec::new();
        let mut patterns: Vec<TopicPattern> = Vec::with_capacity(raw.len());
        for (index, input) in raw.iter().enumerate() {
            let pattern = match TopicPattern::parse(input) {
                Ok(pattern) => pattern,
                Err(reason) => {
                    errors.push((
                        index,
                        PatternError::Invalid {
                            pattern: input.clone(),
                            reason,
                        },
                    ));
                    continue;
                }
            };
            if pattern.as_str() == TEST_EVENT_TYPE {
                errors.push((index, PatternError::TestEvent));
            } else if !subscribable.iter().any(|t| pattern.matches(t)) {
                errors.push((index, PatternError::NoMatch(input.clone())));
            } else if !patterns.contains(&pattern) {
                patterns.push(pattern);
            }
        }
        if errors.is_empty() {
            Ok(Self(patterns))
        } else {
            Err(EventPatternsError::Patterns(errors))
        }
    }

    /// Rebuilds stored patterns (repositories only). The catalog is not
    /// consulted: a pattern accepted once stays valid even if the catalog
    /// changed since.
    pub fn restore(stored: &[String]) -> Result<Self, TopicError> {
        stored
            .iter()
            .map(|p| TopicPattern::parse(p))
            .collect::<Result<Vec<_>, _>>()
            .map(Self)
    }

    /// Whether any pattern selects `event_type`. `webhook.test` is never
    /// selected: it is sent only on demand, to one endpoint.
    pub fn matches(&self, event_type: &str) -> bool {
        event_type != TEST_EVENT_TYPE && self.0.iter().any(|p| p.matches(event_type))
    }

    pub fn patterns(&self) -> &[TopicPattern] {
        &self.0
    }

    /// The patterns as written.
    pub fn to_strings(&self) -> Vec<String> {
        self.0.iter().map(|p| p.as_str().to_owned()).collect()
    }
}

/// Free text describing a webhook: trimmed, at most 500 characters, line
/// breaks and tabs allowed, no other control characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Description(String);

impl Description {
    pub const MAX_LEN: usize = 500;

    /// `None` for an empty (or blank) description.
    pub fn parse(input: &str) -> Result<Option<Self>, ValueError> {
        let text = input.trim();
        if text.is_empty() {
            return Ok(None);
        }
        if text.chars().count() > Self::MAX_LEN {
            return Err(ValueError::TooLong(Self::MAX_LEN));
        }
        if text
            .chars()
            .any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
        {
            return Err(ValueError::ControlCharacters);
        }
        Ok(Some(Self(text.to_owned())))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Retries after a failed first attempt: 0 to 10, 3 by default (so at most
/// four attempts per event).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct MaxRetries(u8);

impl MaxRetries {
    pub const MAX: u8 = 10;
    pub const DEFAULT: MaxRetries = MaxRetries(3);

    pub fn new(value: u64) -> Result<Self, ValueError> {
        u8::try_from(value)
            .ok()
            .filter(|v| *v <= Self::MAX)
            .map(Self)
            .ok_or(ValueError::OutOfRange {
                min: 0,
                max: u64::from(Self::MAX),
            })
    }

    pub fn get(self) -> u8 {
        self.0
    }
}

impl Default for MaxRetries {
    fn default() -> Self {
        Self::DEFAULT
    }
}

/// How long the previous secret keeps signing after a rotation: 0 to 7 days,
/// 24 hours by default. Zero drops the previous secret at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GracePeriod(u32);

impl GracePeriod {
    /// 7 days.
    pub const MAX_SECONDS: u32 = 7 * 24 * 3600;
    /// 24 hours.
    pub const DEFAULT: GracePeriod = GracePeriod(24 * 3600);

    pub fn from_seconds(seconds: u64) -> Result<Self, ValueError> {
        u32::try_from(seconds)
            .ok()
            .filter(|s| *s <= Self::MAX_SECONDS)
            .map(Self)
            .ok_or(ValueError::OutOfRange {
                min: 0,
                max: u64::from(Self::MAX_SECONDS),
            })
    }

    pub fn seconds(self) -> u32 {
        self.0
    }

    pub fn duration(self) -> Duration {
        Duration::from_secs(u64::from(self.0))
    }
}

impl Default for GracePeriod {
    fn default() -> Self {
        Self::DEFAULT
    }
}

/// The receiver's URL, as normalised by the outbound policy that accepted it
/// (the application checks it through its `DestinationPolicy` port before
/// building this value). Never put in events or logs: such URLs often carry
/// a token in their path or query.
#[derive(Clone, PartialEq, Eq)]
pub struct EndpointUrl(String);

impl EndpointUrl {
    pub const MAX_LEN: usize = 2048;

    /// Wraps a URL the outbound policy has accepted.
    pub fn from_checked(url: String) -> Result<Self, ValueError> {
        if url.is_empty() {
            return Err(ValueError::Required);
        }
        if url.chars().count() > Self::MAX_LEN {
            return Err(ValueError::TooLong(Self::MAX_LEN));
        }
        Ok(Self(url))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for EndpointUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Only the origin: the path and query may hold a token.
        let origin = self
            .0
            .split_once("://")
            .map(|(scheme, rest)| {
                let host = rest.split(['/', '?', '#']).next().unwrap_or_default();
                format!("{scheme}://{host}/…")
            })
            .unwrap_or_else(|| "…".to_owned());
        write!(f, "EndpointUrl({origin})")
    }
}

/// A signing secret in clear (`whsec_…`). Shown once to its owner, handed to
/// the signer, never printed: `Debug` hides it and there is no `Display`.
/// Its bytes are wiped when it is dropped.
#[derive(Clone, PartialEq, Eq, Zeroize, ZeroizeOnDrop)]
pub struct PlainSecret(String);

impl PlainSecret {
    pub fn new(secret: String) -> Self {
        Self(secret)
    }

    /// The secret itself. Handle with care.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for PlainSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PlainSecret(***)")
    }
}

/// A signing secret encrypted at rest, with the id of the key that sealed it
/// (so that keys can be rotated).
#[derive(Clone, PartialEq, Eq)]
pub struct SealedSecret {
    pub ciphertext: Vec<u8>,
    pub nonce: Vec<u8>,
    pub key_id: String,
}

impl fmt::Debug for SealedSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SealedSecret")
            .field("key_id", &self.key_id)
            .field("ciphertext_len", &self.ciphertext.len())
            .finish_non_exhaustive()
    }
}

/// The secret that was current before the last rotation, still signing
/// until `expires_at`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PreviousSecret {
    pub sealed: SealedSecret,
    pub expires_at: time::OffsetDateTime,
}

#[cfg(test)]
mod tests {
    use super::*;

    const CATALOG: &[&str] = &[
        "user.created",
        "user.updated",
        "chantier.created",
        "chantier.statut_changed",
        "webhook.test",
        "webhook.created",
    ];

    fn strings(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn patterns_must_be_valid_and_match_the_catalog() {
        let patterns = EventPatterns::parse(
            &strings(&["chantier.*", "*.created", "user.updated"]),
            CATALOG,
        )
        .unwrap();
        assert_eq!(
            patterns.to_strings(),
            ["chantier.*", "*.created", "user.updated"]
        );
        assert!(patterns.matches("chantier.statut_changed"));
        assert!(patterns.matches("webhook.created"));
        assert!(!patterns.matches("user.deactivated"));

        let Err(EventPatternsError::Patterns(errors)) = EventPatterns::parse(
            &strings(&["chantier.*", "Chantier.*", "devis.*", "a..b", "*.signed"]),
            CATALOG,
        ) else {
            panic!("expected pattern errors");
        };
        let summary: Vec<(usize, &str)> = errors.iter().map(|(i, e)| (*i, e.code())).collect();
        assert_eq!(
            summary,
            [
                (1, "invalid_pattern"),
                (2, "unknown_event_type"),
                (3, "invalid_pattern"),
                (4, "unknown_event_type")
            ]
        );
        assert!(errors[0].1.to_string().starts_with("pattern `Chantier.*`"));
        assert_eq!(
            errors[1].1.to_string(),
            "pattern `devis.*` matches no event type of the catalog (GET /api/v1/event-types lists them)"
        );
    }

    #[test]
    fn the_list_is_bounded_and_deduplicated() {
        assert_eq!(
            EventPatterns::parse(&[], CATALOG),
            Err(EventPatternsError::List(PatternListError::Empty))
        );
        let fifty = vec!["user.created".to_owned(); 50];
        assert_eq!(
            EventPatterns::parse(&fifty, CATALOG).unwrap().to_strings(),
            ["user.created"]
        );
        let fifty_one = vec!["user.created".to_owned(); 51];
        assert_eq!(
            EventPatterns::parse(&fifty_one, CATALOG),
            Err(EventPatternsError::List(PatternListError::TooMany(50)))
        );
    }

    #[test]
    fn webhook_test_is_never_subscribable_nor_matched() {
        let Err(EventPatternsError::Patterns(errors)) =
            EventPatterns::parse(&strings(&["webhook.test"]), CATALOG)
        else {
            panic!("webhook.test must be refused");
        };
        assert_eq!(errors, [(0, PatternError::TestEvent)]);
        // A pattern whose only match is webhook.test selects nothing.
        let Err(EventPatternsError::Patterns(errors)) =
            EventPatterns::parse(&strings(&["*.test"]), CATALOG)
        else {
            panic!("*.test must be refused");
        };
        assert_eq!(errors[0].1.code(), "unknown_event_type");
        // Wider patterns are fine but never select the test event.
        let all = EventPatterns::parse(&strings(&["*"]), CATALOG).unwrap();
        assert!(all.matches("user.created"));
        assert!(!all.matches("webhook.test"));
        let webhooks = EventPatterns::parse(&strings(&["webhook.*"]), CATALOG).unwrap();
        assert!(webhooks.matches("webhook.created"));
        assert!(!webhooks.matches("webhook.test"));
    }

    #[test]
    fn stored_patterns_restore_without_the_catalog() {
        let restored = EventPatterns::restore(&strings(&["devis.*"])).unwrap();
        assert!(restored.matches("devis.signed"));
        assert!(EventPatterns::restore(&strings(&["Bad"])).is_err());
    }

    #[test]
    fn description_is_trimmed_bounded_and_printable() {
        assert_eq!(Description::parse("   ").unwrap(), None);
        assert_eq!(
            Description::parse("  ERP paie\nligne 2 ")
                .unwrap()
                .unwrap()
                .as_str(),
            "ERP paie\nligne 2"
        );
        assert!(Description::parse(&"é".repeat(500)).unwrap().is_some());
        assert_eq!(
            Description::parse(&"é".repeat(501)),
            Err(ValueError::TooLong(500))
        );
        assert_eq!(
            Description::parse("bip\u{7}"),
            Err(ValueError::ControlCharacters)
        );
    }

    #[test]
    fn max_retries_is_zero_to_ten_defaulting_to_three() {
        assert_eq!(MaxRetries::default().get(), 3);
        assert_eq!(MaxRetries::new(0).unwrap().get(), 0);
        assert_eq!(MaxRetries::new(10).unwrap().get(), 10);
        for bad in [11, 255, 256, u64::MAX] {
            assert_eq!(
                MaxRetries::new(bad),
                Err(ValueError::OutOfRange { min: 0, max: 10 }),
                "{bad}"
            );
        }
    }

    #[test]
    fn grace_period_is_zero_to_seven_days_defaulting_to_a_day() {
        assert_eq!(GracePeriod::default().seconds(), 86_400);
        assert_eq!(GracePeriod::from_seconds(0).unwrap().seconds(), 0);
        assert_eq!(
            GracePeriod::from_seconds(604_800).unwrap().duration(),
            Duration::from_secs(604_800)
        );
        for bad in [604_801, u64::from(u32::MAX) + 1] {
            assert!(GracePeriod::from_seconds(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn urls_are_bounded_and_never_printed_whole() {
        assert_eq!(
            EndpointUrl::from_checked(String::new()),
            Err(ValueError::Required)
        );
        let long = format!("https://example.com/{}", "a".repeat(2048));
        assert_eq!(
            EndpointUrl::from_checked(long),
            Err(ValueError::TooLong(2048))
        );
        let url = EndpointUrl::from_checked("https://hooks.example.com/T000/B000/token?x=1".into())
            .unwrap();
        let printed = format!("{url:?}");
        assert!(printed.contains("hooks.example.com"), "{printed}");
        assert!(!printed.contains("token"), "{printed}");
    }

    #[test]
    fn a_plain_secret_is_wiped_on_drop() {
        // Dropping runs `zeroize` (the derive's Drop); what it clears is
        // checked on a live value, since freed memory cannot be read.
        fn wiped_on_drop<T: ZeroizeOnDrop>() {}
        wiped_on_drop::<PlainSecret>();
        let mut plain = PlainSecret::new("whsec_c2VjcmV0".into());
        plain.zeroize();
        assert_eq!(plain.expose(), "");
    }

    #[test]
    fn secrets_are_never_printed() {
        let plain = PlainSecret::new("whsec_c2VjcmV0".into());
        assert_eq!(format!("{plain:?}"), "PlainSecret(***)");
        let sealed = SealedSecret {
            ciphertext: b"whsec_c2VjcmV0".to_vec(),
            nonce: vec![0; 12],
            key_id: "0123456789abcdef".into(),
        };
        let printed = format!("{sealed:?}");
        assert!(printed.contains("0123456789abcdef"));
        assert!(
            !printed.contains("whsec") && !printed.contains("119"),
            "{printed}"
        );
    }
}
