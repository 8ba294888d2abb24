//! Topic patterns: which event types a subscriber wants.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// Longest accepted pattern or event type, in bytes. Event types of the
/// catalog are far shorter; the bound keeps user input from growing matching
/// cost or storage.
pub const MAX_TOPIC_LEN: usize = 255;

/// Why a pattern or an event type was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TopicError {
    #[error("is empty")]
    Empty,
    #[error("is longer than {MAX_TOPIC_LEN} characters")]
    TooLong,
    #[error("has an empty segment (two dots in a row, or a dot at an end)")]
    EmptySegment,
    #[error("segment `{0}` must be `*` or made of lowercase letters, digits and `_`")]
    InvalidSegment(String),
    #[error("segment `{0}` must be made of lowercase letters, digits and `_`")]
    InvalidTypeSegment(String),
    #[error("must have the form `<aggregate>.<action>`")]
    MissingAction,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Segment {
    Literal(Box<str>),
    Wildcard,
}

/// A parsed subscription pattern such as `*`, `chantier.*` or `*.created`.
///
/// Segments are separated by dots. `*` as a segment matches exactly one
/// segment of the event type, except as the last segment of the pattern,
/// where it matches one or more remaining segments: `chantier.*` matches
/// `chantier.created` and `chantier.statut.changed`, but not `chantier`.
/// The pattern `*` alone therefore matches every event type.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TopicPattern {
    source: Box<str>,
    segments: Box<[Segment]>,
}

impl TopicPattern {
    /// What the API documents: dot-separated segments, each `*` or made of
    /// `[a-z0-9_]`, at most [`MAX_TOPIC_LEN`] bytes in all. A proptest checks
    /// that every text it matches parses, and that it matches every text
    /// that parses.
    pub const PATTERN: &'static str = r"^(\*|[a-z0-9_]+)(\.(\*|[a-z0-9_]+))*$";

    /// Parses and validates a pattern.
    pub fn parse(input: &str) -> Result<Self, TopicError> {
        check_length(input)?;
        let segments = input
            .split('.')
            .map(|segment| match segment {
                "" => Err(TopicError::EmptySegment),
                "*" => Ok(Segment::Wildcard),
                s if is_name_segment(s) => Ok(Segment::Literal(s.into())),
                s => Err(TopicError::InvalidSegment(s.to_owned())),
            })
            .collect::<Result<Box<[_]>, _>>()?;
        Ok(Self {
            source: input.into(),
            segments,
        })
    }

    /// The pattern matching every event.
    pub fn all() -> Self {
        Self {
            source: "*".into(),
            segments: Box::new([Segment::Wildcard]),
        }
    }

    /// The pattern as written.
    pub fn as_str(&self) -> &str {
        &self.source
    }

    /// Whether the pattern has no wildcard, so that it matches one event type only.
    pub fn is_exact(&self) -> bool {
        self.segments
            .iter()
            .all(|s| matches!(s, Segment::Literal(_)))
    }

    /// The pattern as an anchored POSIX regular expression over event types,
    /// for filtering stored events in the database with the same semantics
    /// as [`TopicPattern::matches`].
    pub fn to_regex(&self) -> String {
        const SEGMENT: &str = "[a-z0-9_]+";
        let last = self.segments.len().saturating_sub(1);
        let parts: Vec<String> = self
            .segments
            .iter()
            .enumerate()
            .map(|(index, segment)| match segment {
                Segment::Wildcard if index == last => format!("{SEGMENT}(\\.{SEGMENT})*"),
                Segment::Wildcard => SEGMENT.to_owned(),
                // Literal segments are [a-z0-9_]+: nothing to escape.
                Segment::Literal(literal) => literal.to_string(),
            })
            .collect();
        format!("^{}$", parts.join("\\."))
    }

    /// Whether `event_type` is selected by this pattern. Does not allocate.
    pub fn matches(&self, event_type: &str) -> bool {
        let mut parts = event_type.split('.');
        let last = self.segments.len().saturating_sub(1);
        for (index, segment) in self.segments.iter().enumerate() {
            let Some(part) = parts.next() else {
                return false;
            };
            match segment {
                Segment::Wildcard if index == last => return !part.is_empty(),
                Segment::Wildcard => {}
                Segment::Literal(literal) => {
                    if **literal != *part {
                        return false;
                    }
                }
            }
        }
        parts.next().is_none()
    }
}

impl fmt::Display for TopicPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.source)
    }
}

impl FromStr for TopicPattern {
    type Err = TopicError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl Serialize for TopicPattern {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.source)
    }
}

impl<'de> Deserialize<'de> for TopicPattern {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(deserializer)?;
        Self::parse(&raw).map_err(|e| serde::de::Error::custom(format!("pattern `{raw}` {e}")))
    }
}

/// What the API documents of an event type name: two or more `[a-z0-9_]+`
/// segments, at most [`MAX_TOPIC_LEN`] bytes.
pub const EVENT_TYPE_PATTERN: &str = r"^[a-z0-9_]+(\.[a-z0-9_]+)+$";

/// Validates an event type name: two or more `[a-z0-9_]+` segments.
pub(crate) fn validate_event_type(input: &str) -> Result<(), TopicError> {
    check_length(input)?;
    let mut count = 0;
    for segment in input.split('.') {
        if segment.is_empty() {
            return Err(TopicError::EmptySegment);
        }
        if !is_name_segment(segment) {
            return Err(TopicError::InvalidTypeSegment(segment.to_owned()));
        }
        count += 1;
    }
    if count < 2 {
        return Err(TopicError::MissingAction);
    }
    Ok(())
}

fn check_length(input: &str) -> Result<(), TopicError> {
    if input.is_empty() {
        return Err(TopicError::Empty);
    }
    if input.len() > MAX_TOPIC_LEN {
        return Err(TopicError::TooLong);
    }
    Ok(())
}

fn is_name_segment(segment: &str) -> bool {
    !segment.is_empty()
        && segment
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn pattern(p: &str) -> TopicPattern {
        TopicPattern::parse(p).unwrap()
    }

    #[test]
    fn star_alone_matches_everything() {
        for t in ["chantier.created", "a.b", "a.b.c.d", "webhook.test"] {
            assert!(pattern("*").matches(t), "{t}");
        }
    }

    #[test]
    fn trailing_star_matches_one_or_more_segments() {
        let p = pattern("chantier.*");
        assert!(p.matches("chantier.created"));
        assert!(p.matches("chantier.statut_changed"));
        assert!(p.matches("chantier.statut.changed"));
        assert!(!p.matches("chantier"));
        assert!(!p.matches("chantiers.created"));
        assert!(!p.matches("affectation.created"));
    }

    #[test]
    fn leading_star_matches_exactly_one_segment() {
        let p = pattern("*.created");
        assert!(p.matches("chantier.created"));
        assert!(p.matches("user.created"));
        assert!(!p.matches("chantier.deleted"));
        assert!(!p.matches("a.b.created"));
        assert!(!p.matches("created"));
    }

    #[test]
    fn exact_pattern_matches_only_itself() {
        let p = pattern("chantier.created");
        assert!(p.is_exact());
        assert!(p.matches("chantier.created"));
        assert!(!p.matches("chantier.created.again"));
        assert!(!p.matches("chantier.create"));
        assert!(!pattern("chantier.*").is_exact());
    }

    #[test]
    fn middle_star_matches_one_segment() {
        let p = pattern("a.*.c");
        assert!(p.matches("a.b.c"));
        assert!(!p.matches("a.c"));
        assert!(!p.matches("a.b.b.c"));
    }

    #[test]
    fn regex_form_of_patterns() {
        assert_eq!(pattern("*").to_regex(), "^[a-z0-9_]+(\\.[a-z0-9_]+)*$");
        assert_eq!(
            pattern("chantier.*").to_regex(),
            "^chantier\\.[a-z0-9_]+(\\.[a-z0-9_]+)*$"
        );
        assert_eq!(pattern("*.created").to_regex(), "^[a-z0-9_]+\\.created$");
        assert_eq!(pattern("user.created").to_regex(), "^user\\.created$");
    }

    #[test]
    fn bad_patterns_are_refused_with_a_reason() {
        assert_eq!(TopicPattern::parse(""), Err(TopicError::Empty));
        assert_eq!(TopicPattern::parse("a..b"), Err(TopicError::EmptySegment));
        assert_eq!(TopicPattern::parse(".a"), Err(TopicError::EmptySegment));
        assert_eq!(TopicPattern::parse("a."), Err(TopicError::EmptySegment));
        assert_eq!(
            TopicPattern::parse("Chantier.*"),
            Err(TopicError::InvalidSegment("Chantier".into()))
        );
        assert_eq!(
            TopicPattern::parse("chantier.cr*"),
            Err(TopicError::InvalidSegment("cr*".into()))
        );
        assert_eq!(
            TopicPattern::parse("chantier.#"),
            Err(TopicError::InvalidSegment("#".into()))
        );
        assert_eq!(
            TopicPattern::parse(&"a".repeat(256)),
            Err(TopicError::TooLong)
        );
    }

    #[test]
    fn event_types_need_two_plain_segments() {
        assert!(validate_event_type("chantier.created").is_ok());
        assert!(validate_event_type("feuille_heures.exported").is_ok());
        assert_eq!(
            validate_event_type("chantier"),
            Err(TopicError::MissingAction)
        );
        assert_eq!(
            validate_event_type("chantier.*"),
            Err(TopicError::InvalidTypeSegment("*".into()))
        );
        assert_eq!(validate_event_type(""), Err(TopicError::Empty));
    }

    #[test]
    fn serde_round_trip_and_refusal() {
        let p: TopicPattern = serde_json::from_str("\"chantier.*\"").unwrap();
        assert_eq!(serde_json::to_string(&p).unwrap(), "\"chantier.*\"");
        let err = serde_json::from_str::<TopicPattern>("\"Bad\"").unwrap_err();
        assert!(err.to_string().contains("pattern `Bad`"), "{err}");
    }

    fn segment() -> impl Strategy<Value = String> {
        "[a-z0-9_]{1,8}"
    }

    fn event_type() -> impl Strategy<Value = Vec<String>> {
        prop::collection::vec(segment(), 2..5)
    }

    proptest! {
        #[test]
        fn an_event_type_used_as_a_pattern_matches_exactly_itself(
            a in event_type(), b in event_type()
        ) {
            let pa = TopicPattern::parse(&a.join(".")).unwrap();
            prop_assert!(pa.matches(&a.join(".")));
            prop_assert_eq!(pa.matches(&b.join(".")), a == b);
        }

        #[test]
        fn a_trailing_star_matches_every_longer_name_with_that_prefix(
            t in event_type(), keep in 1usize..4
        ) {
            let keep = keep.min(t.len() - 1);
            let prefix = &t[..keep];
            let p = TopicPattern::parse(&format!("{}.*", prefix.join("."))).unwrap();
            prop_assert!(p.matches(&t.join(".")));
            // The prefix alone has no remaining segment for the star.
            prop_assert!(!p.matches(&prefix.join(".")));
        }

        #[test]
        fn replacing_any_non_last_segment_by_star_keeps_the_match(
            t in event_type(), index in 0usize..4
        ) {
            let index = index % t.len();
            let mut p = t.clone();
            p[index] = "*".into();
            let pattern = TopicPattern::parse(&p.join(".")).unwrap();
            prop_assert!(pattern.matches(&t.join(".")));
            // A name with a different segment count never matches an all-literal-but-one pattern
            // unless the star is last.
            let mut longer = t.clone();
            longer.push("x".into());
            let is_last = index == t.len() - 1;
            prop_assert_eq!(pattern.matches(&longer.join(".")), is_last);
        }

        #[test]
        fn matching_agrees_with_a_reference_model(
            pattern_segments in prop::collection::vec(prop_oneof![Just("*".to_string()), "[ab]{1}"], 1..4),
            name in prop::collection::vec("[ab]{1}", 1..5)
        ) {
            let p = TopicPattern::parse(&pattern_segments.join(".")).unwrap();
            prop_assert_eq!(p.matches(&name.join(".")), reference_match(&pattern_segments, &name));
        }

        #[test]
        fn star_matches_every_valid_event_type(t in event_type()) {
            prop_assert!(TopicPattern::all().matches(&t.join(".")));
        }
    }

    fn unanchored(pattern: &str) -> &str {
        pattern.trim_start_matches('^').trim_end_matches('$')
    }

    /// A few characters that make valid and invalid names alike.
    fn near_miss() -> impl Strategy<Value = String> {
        "[ab_9*.A#-]{0,10}"
    }

    proptest! {
        /// The document can never be looser than the server, nor stricter:
        /// the documented expressions, run by a regex engine, accept exactly
        /// what parses.
        #[test]
        fn the_documented_patterns_accept_exactly_what_parses(
            pattern in proptest::string::string_regex(unanchored(TopicPattern::PATTERN)).unwrap(),
            name in proptest::string::string_regex(unanchored(EVENT_TYPE_PATTERN)).unwrap(),
            other in near_miss(),
        ) {
            prop_assume!(pattern.len() <= MAX_TOPIC_LEN && name.len() <= MAX_TOPIC_LEN);
            prop_assert!(TopicPattern::parse(&pattern).is_ok(), "{pattern:?}");
            prop_assert!(validate_event_type(&name).is_ok(), "{name:?}");
            let documented_pattern = regex::Regex::new(TopicPattern::PATTERN).unwrap();
            let documented_type = regex::Regex::new(EVENT_TYPE_PATTERN).unwrap();
            prop_assert_eq!(TopicPattern::parse(&other).is_ok(), documented_pattern.is_match(&other), "{:?}", other);
            prop_assert_eq!(validate_event_type(&other).is_ok(), documented_type.is_match(&other), "{:?}", other);
        }
    }

    /// A deliberately naive restatement of the matching rules.
    fn reference_match(pattern: &[String], name: &[String]) -> bool {
        let last = pattern.len() - 1;
        if pattern[last] == "*" {
            if name.len() < pattern.len() {
                return false;
            }
        } else if name.len() != pattern.len() {
            return false;
        }
        pattern.iter().zip(name).all(|(p, n)| p == "*" || p == n)
    }
}
