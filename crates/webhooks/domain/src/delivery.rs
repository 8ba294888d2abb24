//! Delivering events to webhooks: the states of a delivery job, the retry
//! schedule and what an attempt's result means for the next one, the exact
//! request body, and the attempt log entry. Pure: the caller gives the time
//! and the randomness.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use hub_kernel::EventEnvelope;
use serde::Serialize;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use uuid::Uuid;

use crate::MaxRetries;

/// Where a delivery job stands. `Pending` and `InFlight` are the queue;
/// the other three are final (until the owner asks for a redelivery).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DeliveryStatus {
    /// Waiting for its next attempt (`next_attempt_at`).
    Pending,
    /// Leased by a worker that is sending it.
    InFlight,
    /// An attempt got a 2xx answer.
    Succeeded,
    /// The last allowed attempt failed (or the receiver answered `410 Gone`).
    Failed,
    /// Not sent: the webhook was deactivated before its turn came.
    Cancelled,
}

impl DeliveryStatus {
    /// The stable name stored and shown by the API.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::InFlight => "in_flight",
            Self::Succeeded => "succeeded",
            Self::Failed => "failed",
            Self::Cancelled => "cancelled",
        }
    }

    /// Whether the job left the queue.
    pub fn is_final(self) -> bool {
        matches!(self, Self::Succeeded | Self::Failed | Self::Cancelled)
    }
}

impl fmt::Display for DeliveryStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A stored status that is not one of [`DeliveryStatus`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown delivery status `{0}`")]
pub struct UnknownStatus(pub String);

impl FromStr for DeliveryStatus {
    type Err = UnknownStatus;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Ok(match text {
            "pending" => Self::Pending,
            "in_flight" => Self::InFlight,
            "succeeded" => Self::Succeeded,
            "failed" => Self::Failed,
            "cancelled" => Self::Cancelled,
            other => return Err(UnknownStatus(other.to_owned())),
        })
    }
}

/// Why an attempt failed, as stored with it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FailureKind {
    /// No complete answer in time.
    Timeout,
    /// The connection could not be made or broke.
    Connect,
    /// The receiver's host name did not resolve.
    Dns,
    /// The outbound policy refused the destination (private address…).
    SsrfRefused,
    /// The TLS handshake failed.
    Tls,
    /// The receiver answered, with a status other than 2xx.
    HttpStatus,
    /// A redirect that is not followed (only 307/308 are, at most 3).
    Redirect,
}

impl FailureKind {
    pub const ALL: [FailureKind; 7] = [
        Self::Timeout,
        Self::Connect,
        Self::Dns,
        Self::SsrfRefused,
        Self::Tls,
        Self::HttpStatus,
        Self::Redirect,
    ];

    /// The stable snake_case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Timeout => "timeout",
            Self::Connect => "connect",
            Self::Dns => "dns",
            Self::SsrfRefused => "ssrf_refused",
            Self::Tls => "tls",
            Self::HttpStatus => "http_status",
            Self::Redirect => "redirect",
        }
    }
}

impl fmt::Display for FailureKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A stored failure kind that is not one of [`FailureKind`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown failure kind `{0}`")]
pub struct UnknownFailureKind(pub String);

impl FromStr for FailureKind {
    type Err = UnknownFailureKind;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|kind| kind.as_str() == text)
            .ok_or_else(|| UnknownFailureKind(text.to_owned()))
    }
}

/// Why a retry schedule was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScheduleError {
    #[error("must list at most {max} delays (a webhook retries at most {max} times)")]
    TooLong { max: usize },
    #[error("delay #{position} is zero; every delay must be positive")]
    Zero { position: usize },
    #[error("delay #{position} is longer than {max_days} days")]
    TooLarge { position: usize, max_days: u64 },
}

/// Relative jitter applied to every delay: ±20 %.
pub const JITTER: f64 = 0.2;

/// The delays between attempts, for the whole deployment
/// (`WEBHOOKS_RETRY_SCHEDULE`): after attempt *n* fails, attempt *n + 1*
/// comes `delays[n - 1]` later (± [`JITTER`]). A webhook makes
/// 1 + min(`max_retries`, number of delays) attempts, or one when its
/// retries are disabled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetrySchedule(Vec<Duration>);

impl RetrySchedule {
    /// More delays than this would never be used (`max_retries` ≤ 10).
    pub const MAX_STEPS: usize = MaxRetries::MAX as usize;
    /// Longest delay accepted: 7 days.
    pub const MAX_DELAY: Duration = Duration::from_secs(7 * 24 * 3600);

    pub fn new(delays: Vec<Duration>) -> Result<Self, ScheduleError> {
        if delays.len() > Self::MAX_STEPS {
            return Err(ScheduleError::TooLong {
                max: Self::MAX_STEPS,
            });
        }
        for (index, delay) in delays.iter().enumerate() {
            if delay.is_zero() {
                return Err(ScheduleError::Zero {
                    position: index + 1,
                });
            }
            if *delay > Self::MAX_DELAY {
                return Err(ScheduleError::TooLarge {
                    position: index + 1,
                    max_days: Self::MAX_DELAY.as_secs() / 86_400,
                });
            }
        }
        Ok(Self(delays))
    }

    /// 2 s, 4 s, 8 s.
    pub fn default_schedule() -> Self {
        Self(vec![
            Duration::from_secs(2),
            Duration::from_secs(4),
            Duration::from_secs(8),
        ])
    }

    pub fn delays(&self) -> &[Duration] {
        &self.0
    }

    /// How many attempts a delivery to a webhook with these settings gets.
    pub fn attempts_for(&self, retry_enabled: bool, max_retries: MaxRetries) -> u32 {
        if !retry_enabled {
            return 1;
        }
        let retries = usize::from(max_retries.get()).min(self.0.len());
        1 + u32::try_from(retries).unwrap_or(0)
    }

    /// The longest wait before the attempt after `attempt` (1-based): its
    /// delay plus the jitter. `None` when the schedule has no such step.
    pub fn bound_after(&self, attempt: u32) -> Option<Duration> {
        self.step(attempt).map(|delay| delay.mul_f64(1.0 + JITTER))
    }

    /// The wait before the attempt after `attempt` (1-based), jittered by
    /// `random` (uniform in `[0, 1)`: 0 gives −20 %, 1 would give +20 %). A
    /// `Retry-After` asked by the receiver is honoured when longer, up to
    /// [`RetrySchedule::bound_after`], so that a receiver cannot stretch a
    /// delivery's life beyond the schedule.
    pub fn delay_after(
        &self,
        attempt: u32,
        random: f64,
        retry_after: Option<Duration>,
    ) -> Option<Duration> {
        let delay = self.step(attempt)?;
        let factor = 1.0 - JITTER + 2.0 * JITTER * random.clamp(0.0, 1.0);
        let jittered = delay.mul_f64(factor);
        let bound = delay.mul_f64(1.0 + JITTER);
        Some(match retry_after {
            Some(asked) if asked > jittered => asked.min(bound),
            _ => jittered,
        })
    }

    fn step(&self, attempt: u32) -> Option<Duration> {
        let index = usize::try_from(attempt.checked_sub(1)?).ok()?;
        self.0.get(index).copied()
    }
}

impl Default for RetrySchedule {
    fn default() -> Self {
        Self::default_schedule()
    }
}

/// Reads a `Retry-After` header: delay-seconds (`120`) or an HTTP date
/// (`Wed, 21 Oct 2026 07:28:00 GMT`, relative to `now`; a past date is no
/// wait). Anything else is ignored (`None`).
pub fn parse_retry_after(value: &str, now: OffsetDateTime) -> Option<Duration> {
    let value = value.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let format = time::macros::format_description!(
        "[weekday repr:short], [day] [month repr:short] [year] [hour]:[minute]:[second] GMT"
    );
    let at = time::PrimitiveDateTime::parse(value, format)
        .ok()?
        .assume_utc();
    Some(Duration::try_from(at - now).unwrap_or(Duration::ZERO))
}

/// What one attempt got.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttemptResult {
    /// A 2xx answer.
    Delivered,
    /// Anything else.
    Failed {
        kind: FailureKind,
        /// The answer's status, when there was one.
        status: Option<u16>,
        /// The receiver's `Retry-After`, when readable.
        retry_after: Option<Duration>,
    },
}

impl AttemptResult {
    /// Any 2xx is a success; other answers fail as `http_status`.
    pub fn from_status(status: u16, retry_after: Option<Duration>) -> Self {
        if (200..300).contains(&status) {
            Self::Delivered
        } else {
            Self::Failed {
                kind: FailureKind::HttpStatus,
                status: Some(status),
                retry_after,
            }
        }
    }

    /// `410 Gone`: the receiver says the endpoint is gone for good.
    pub fn is_gone(&self) -> bool {
        matches!(
            self,
            Self::Failed {
                status: Some(410),
                ..
            }
        )
    }
}

/// What happens to a delivery after an attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NextStep {
    /// Done: delivered.
    Succeeded,
    /// Try again after this wait.
    RetryIn(Duration),
    /// Done: the last attempt failed. `gone` when the receiver answered
    /// `410 Gone` (the webhook is then deactivated at once).
    Failed { gone: bool },
}

impl NextStep {
    /// Decides after attempt number `attempt` (1-based) of at most
    /// `max_attempts`; `random` is uniform in `[0, 1)`, for the jitter.
    pub fn after(
        result: &AttemptResult,
        attempt: u32,
        max_attempts: u32,
        schedule: &RetrySchedule,
        random: f64,
    ) -> Self {
        match result {
            AttemptResult::Delivered => Self::Succeeded,
            failed if failed.is_gone() => Self::Failed { gone: true },
            AttemptResult::Failed { retry_after, .. } => {
                if attempt >= max_attempts {
                    return Self::Failed { gone: false };
                }
                // A job made before the schedule was shortened may allow more
                // attempts than it has steps: the last step repeats.
                let steps = u32::try_from(schedule.delays().len()).unwrap_or(u32::MAX);
                let step = attempt.min(steps);
                match schedule.delay_after(step, random, *retry_after) {
                    Some(wait) => Self::RetryIn(wait),
                    None => Self::Failed { gone: false },
                }
            }
        }
    }
}

/// Why the request body of a delivery could not be built.
#[derive(Debug, thiserror::Error)]
pub enum PayloadError {
    #[error("the event time cannot be formatted: {0}")]
    Time(#[from] time::error::Format),
    #[error("the event cannot be serialised: {0}")]
    Json(#[from] serde_json::Error),
}

/// The delivery body, fields in this order.
#[derive(Serialize)]
struct Body<'a> {
    event_id: Uuid,
    event_type: &'a str,
    timestamp: String,
    aggregate_type: &'a str,
    aggregate_id: &'a str,
    actor_id: Option<Uuid>,
    data: &'a serde_json::Value,
}

/// The request body sent for `event`:
/// `{"event_id","event_type","timestamp","aggregate_type","aggregate_id","actor_id","data"}`,
/// `timestamp` being the event's `occurred_at` in RFC 3339. Computed once per
/// delivery: these bytes are signed and sent at every attempt.
pub fn delivery_payload(event: &EventEnvelope) -> Result<String, PayloadError> {
    Ok(serde_json::to_string(&Body {
        event_id: event.event_id,
        event_type: event.event_type.as_str(),
        timestamp: event.occurred_at.format(&Rfc3339)?,
        aggregate_type: &event.aggregate_type,
        aggregate_id: &event.aggregate_id,
        actor_id: event.actor_id,
        data: &event.data,
    })?)
}

/// Bytes of a response body kept with an attempt.
pub const RESPONSE_EXCERPT_BYTES: usize = 1024;

/// The start of a response body as stored: at most
/// [`RESPONSE_EXCERPT_BYTES`] bytes of text, invalid UTF-8 replaced, cut on
/// a character boundary.
pub fn response_excerpt(body: &[u8]) -> String {
    // Only the first KiB is converted; replacement characters (3 bytes for
    // each invalid byte) may lengthen it past the cap, hence the cut.
    let head = &body[..body.len().min(RESPONSE_EXCERPT_BYTES)];
    let text = String::from_utf8_lossy(head);
    if text.len() <= RESPONSE_EXCERPT_BYTES {
        return text.into_owned();
    }
    let mut end = RESPONSE_EXCERPT_BYTES;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text[..end].to_owned()
}

/// A new delivery job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewDelivery {
    pub id: Uuid,
    pub webhook_id: Uuid,
    pub event_id: Uuid,
    pub event_type: String,
    /// The exact request body ([`delivery_payload`]).
    pub payload: String,
    pub max_attempts: u32,
}

/// One attempt of the delivery log, as the owner sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryAttempt {
    pub id: Uuid,
    /// The delivery job (one per webhook and event).
    pub delivery_id: Uuid,
    pub webhook_id: Uuid,
    pub event_id: Uuid,
    pub event_type: String,
    /// 1 for the first attempt.
    pub attempt: u32,
    pub success: bool,
    pub status_code: Option<u16>,
    /// The start of the answer's body ([`response_excerpt`]).
    pub response_body: Option<String>,
    pub error_kind: Option<FailureKind>,
    pub error_message: Option<String>,
    pub duration_ms: u32,
    pub attempted_at: OffsetDateTime,
    /// Where the delivery stands now.
    pub delivery_status: DeliveryStatus,
}

#[cfg(test)]
mod tests {
    use super::*;
    use hub_kernel::EventType;
    use time::macros::datetime;

    fn secs(s: u64) -> Duration {
        Duration::from_secs(s)
    }

    fn schedule(delays: &[u64]) -> RetrySchedule {
        RetrySchedule::new(delays.iter().map(|s| secs(*s)).collect()).unwrap()
    }

    #[test]
    fn statuses_and_kinds_round_trip_their_names() {
        for status in [
            DeliveryStatus::Pending,
            DeliveryStatus::InFlight,
            DeliveryStatus::Succeeded,
            DeliveryStatus::Failed,
            DeliveryStatus::Cancelled,
        ] {
            assert_eq!(status.as_str().parse::<DeliveryStatus>(), Ok(status));
        }
        assert!(DeliveryStatus::Failed.is_final());
        assert!(!DeliveryStatus::InFlight.is_final());
        assert!("done".parse::<DeliveryStatus>().is_err());
        let names: Vec<&str> = FailureKind::ALL.iter().map(|k| k.as_str()).collect();
        assert_eq!(
            names,
            [
                "timeout",
                "connect",
                "dns",
                "ssrf_refused",
                "tls",
                "http_status",
                "redirect"
            ]
        );
        for kind in FailureKind::ALL {
            assert_eq!(kind.as_str().parse::<FailureKind>(), Ok(kind));
        }
    }

    #[test]
    fn attempts_follow_max_retries_the_schedule_and_the_switch() {
        let three = RetrySchedule::default();
        assert_eq!(three.delays(), [secs(2), secs(4), secs(8)]);
        let retries = |n| MaxRetries::new(n).unwrap();
        assert_eq!(three.attempts_for(true, MaxRetries::DEFAULT), 4);
        assert_eq!(three.attempts_for(true, retries(0)), 1);
        assert_eq!(three.attempts_for(true, retries(1)), 2);
        // More retries than steps: the schedule's length wins.
        assert_eq!(three.attempts_for(true, retries(10)), 4);
        assert_eq!(three.attempts_for(false, retries(10)), 1);
        let six = schedule(&[5, 300, 1800, 7200, 18_000, 36_000]);
        assert_eq!(six.attempts_for(true, retries(10)), 7);
        assert_eq!(six.attempts_for(true, MaxRetries::DEFAULT), 4);
        let none = RetrySchedule::new(Vec::new()).unwrap();
        assert_eq!(none.attempts_for(true, MaxRetries::DEFAULT), 1);
    }

    #[test]
    fn schedules_are_bounded() {
        assert_eq!(
            RetrySchedule::new(vec![secs(1); 11]),
            Err(ScheduleError::TooLong { max: 10 })
        );
        assert_eq!(
            RetrySchedule::new(vec![secs(1), Duration::ZERO]),
            Err(ScheduleError::Zero { position: 2 })
        );
        assert_eq!(
            RetrySchedule::new(vec![secs(8 * 86_400)]),
            Err(ScheduleError::TooLarge {
                position: 1,
                max_days: 7
            })
        );
        assert!(RetrySchedule::new(vec![secs(1); 10]).is_ok());
    }

    #[test]
    fn jitter_stays_within_twenty_percent() {
        let s = RetrySchedule::default();
        assert_eq!(
            s.delay_after(1, 0.0, None),
            Some(Duration::from_millis(1600))
        );
        assert_eq!(s.delay_after(1, 0.5, None), Some(secs(2)));
        assert_eq!(s.delay_after(2, 0.5, None), Some(secs(4)));
        assert_eq!(s.delay_after(3, 0.5, None), Some(secs(8)));
        assert_eq!(s.delay_after(4, 0.5, None), None);
        assert_eq!(s.delay_after(0, 0.5, None), None);
        for i in 0..=1000 {
            let random = f64::from(i) / 1000.0;
            let delay = s.delay_after(3, random, None).unwrap();
            assert!(
                delay >= Duration::from_millis(6400) && delay <= Duration::from_millis(9600),
                "{delay:?}"
            );
        }
        // Out-of-range randomness is clamped, never beyond the bounds.
        assert_eq!(
            s.delay_after(1, -3.0, None),
            Some(Duration::from_millis(1600))
        );
        assert_eq!(s.delay_after(1, 7.0, None), s.bound_after(1));
        assert_eq!(s.bound_after(1), Some(Duration::from_millis(2400)));
    }

    #[test]
    fn retry_after_is_honoured_up_to_the_steps_bound() {
        let s = RetrySchedule::default();
        // Shorter than the schedule: the schedule's wait stands.
        assert_eq!(s.delay_after(1, 0.5, Some(secs(1))), Some(secs(2)));
        // Longer: honoured…
        assert_eq!(
            s.delay_after(1, 0.0, Some(Duration::from_millis(2200))),
            Some(Duration::from_millis(2200))
        );
        // …up to the step's upper bound (delay + 20 %).
        assert_eq!(
            s.delay_after(1, 0.5, Some(secs(120))),
            Some(Duration::from_millis(2400))
        );
        assert_eq!(
            s.delay_after(3, 0.5, Some(secs(3600))),
            Some(Duration::from_millis(9600))
        );
    }

    #[test]
    fn retry_after_reads_seconds_and_http_dates() {
        let now = datetime!(2026-10-21 07:27:00 UTC);
        assert_eq!(parse_retry_after("120", now), Some(secs(120)));
        assert_eq!(parse_retry_after(" 0 ", now), Some(Duration::ZERO));
        assert_eq!(
            parse_retry_after("Wed, 21 Oct 2026 07:28:00 GMT", now),
            Some(secs(60))
        );
        assert_eq!(
            parse_retry_after("Wed, 21 Oct 2026 07:00:00 GMT", now),
            Some(Duration::ZERO),
            "a past date means no wait"
        );
        for junk in ["-5", "soon", "1.5", "", "21/10/2026"] {
            assert_eq!(parse_retry_after(junk, now), None, "{junk}");
        }
    }

    #[test]
    fn next_step_after_each_result() {
        let s = RetrySchedule::default();
        let failed = |status: Option<u16>| AttemptResult::Failed {
            kind: if status.is_some() {
                FailureKind::HttpStatus
            } else {
                FailureKind::Timeout
            },
            status,
            retry_after: None,
        };
        assert_eq!(
            NextStep::after(&AttemptResult::Delivered, 1, 4, &s, 0.5),
            NextStep::Succeeded
        );
        assert_eq!(
            NextStep::after(&failed(Some(500)), 1, 4, &s, 0.5),
            NextStep::RetryIn(secs(2))
        );
        assert_eq!(
            NextStep::after(&failed(None), 3, 4, &s, 0.5),
            NextStep::RetryIn(secs(8))
        );
        assert_eq!(
            NextStep::after(&failed(Some(500)), 4, 4, &s, 0.5),
            NextStep::Failed { gone: false }
        );
        assert_eq!(
            NextStep::after(&failed(Some(503)), 1, 1, &s, 0.5),
            NextStep::Failed { gone: false },
            "retries disabled: one attempt"
        );
        assert_eq!(
            NextStep::after(&failed(Some(410)), 1, 4, &s, 0.5),
            NextStep::Failed { gone: true },
            "410 stops at once"
        );
        // A job that allows more attempts than the (shortened) schedule has
        // steps repeats the last step.
        assert_eq!(
            NextStep::after(&failed(Some(500)), 5, 8, &s, 0.5),
            NextStep::RetryIn(secs(8))
        );
        assert_eq!(
            AttemptResult::from_status(204, None),
            AttemptResult::Delivered
        );
        assert_eq!(
            AttemptResult::from_status(302, None),
            failed(Some(302)),
            "non-2xx answers fail as http_status"
        );
    }

    #[test]
    fn the_payload_has_the_documented_fields_in_order() {
        let event = EventEnvelope {
            event_id: Uuid::nil(),
            event_type: EventType::from_static("chantier.created").unwrap(),
            aggregate_type: "chantier".into(),
            aggregate_id: "42".into(),
            occurred_at: datetime!(2026-11-26 10:00:00.123456 UTC),
            actor_id: None,
            correlation_id: Some("req-1".into()),
            causation_id: None,
            schema_version: 1,
            data: serde_json::json!({"chantier_id": "42", "nom": "Tour A"}),
        };
        assert_eq!(
            delivery_payload(&event).unwrap(),
            r#"{"event_id":"00000000-0000-0000-0000-000000000000","event_type":"chantier.created","timestamp":"2026-11-26T10:00:00.123456Z","aggregate_type":"chantier","aggregate_id":"42","actor_id":null,"data":{"chantier_id":"42","nom":"Tour A"}}"#
        );
    }

    #[test]
    fn response_excerpts_are_capped_and_valid_text() {
        assert_eq!(response_excerpt(b"ok"), "ok");
        assert_eq!(response_excerpt(&[b'a'; 5000]).len(), 1024);
        // "é" is 2 bytes: 1024 bytes hold 512 of them exactly; an odd offset
        // cuts before the split character.
        let accents = "é".repeat(600);
        assert_eq!(response_excerpt(accents.as_bytes()), "é".repeat(512));
        let shifted = format!("a{accents}");
        let excerpt = response_excerpt(shifted.as_bytes());
        assert!(
            excerpt.len() <= 1024 && excerpt.ends_with('é'),
            "{}",
            excerpt.len()
        );
        // Invalid bytes become U+FFFD (3 bytes each) and still fit.
        let invalid = response_excerpt(&[0xff; 2000]);
        assert!(invalid.len() <= 1024);
        assert!(invalid.chars().all(|c| c == '\u{fffd}'));
    }
}
