//! The delivery outcome policy: from what an attempt got (a status, a
//! failure kind, a `Retry-After`) or why none was made, and from the job's
//! facts (attempt number, attempts allowed, test or not, webhook active or
//! not) and the retry schedule, what becomes of the delivery job —
//! delivered, retried when, failed for good, cancelled, postponed — and
//! what the webhook's record learns from it, up to its deactivation (a
//! `410 Gone`, or the [`AUTO_DISABLE_AFTER`]th consecutive failure). Pure:
//! the caller gives the times and the randomness; the delivery engine keeps
//! only the I/O.

use std::time::Duration;

use time::OffsetDateTime;

use crate::{AUTO_DISABLE_AFTER, AttemptResult, DeliveryStatus, NextStep, RetrySchedule};

/// Why a webhook whose receiver answered `410 Gone` was deactivated.
pub const GONE_REASON: &str = "the receiver answered 410 Gone";

/// Why a delivery was cancelled: its webhook was deactivated before its turn.
pub const CANCELLED_REASON: &str = "the webhook was deactivated";

/// A leased delivery job, as the policy sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JobFacts {
    /// Attempts made before this one.
    pub attempts_made: u32,
    /// Attempts allowed: the webhook's retry settings and the schedule, as
    /// they were when the job was queued.
    pub max_attempts: u32,
    /// A `webhook.test` delivery, a diagnostic its owner asked for.
    pub is_test: bool,
    /// Whether the webhook is active now.
    pub webhook_active: bool,
}

/// What the webhook's record learns from a delivery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WebhookEffect {
    /// Nothing: a retry is coming, or the job was a test, cancelled or
    /// postponed.
    None,
    /// Delivered: the run of consecutive failures ends.
    Delivered,
    /// Failed for good: one more consecutive failure ([`streak_deactivation`]).
    Failed { reason: String },
    /// The receiver answered `410 Gone`: the webhook is deactivated at once
    /// ([`GONE_REASON`]), and the failure counts like any other.
    Gone { reason: String },
}

impl WebhookEffect {
    /// A failure the webhook's counter must record.
    pub fn is_failure(&self) -> bool {
        matches!(self, Self::Failed { .. } | Self::Gone { .. })
    }
}

/// What becomes of a delivery job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    pub status: DeliveryStatus,
    /// Attempts made, this one included when one was made.
    pub attempts: u32,
    /// For [`DeliveryStatus::Pending`]: when the next attempt is due.
    pub next_attempt_at: Option<OffsetDateTime>,
    pub last_error: Option<String>,
    pub effect: WebhookEffect,
}

impl JobFacts {
    /// Before sending: a webhook deactivated since the fan-out gets nothing
    /// more — except the test events its owner asks for — and its job is
    /// cancelled, no attempt counted. `None`: send it.
    pub fn before_sending(&self) -> Option<Verdict> {
        if self.webhook_active || self.is_test {
            return None;
        }
        Some(Verdict {
            status: DeliveryStatus::Cancelled,
            attempts: self.attempts_made,
            next_attempt_at: None,
            last_error: Some(CANCELLED_REASON.to_owned()),
            effect: WebhookEffect::None,
        })
    }

    /// The job cannot be signed (a secret that does not open, say): not the
    /// receiver's fault, so no attempt is counted and nothing is recorded on
    /// the webhook; the job waits `wait` for the configuration to be fixed.
    pub fn postponed(&self, reason: &str, now: OffsetDateTime, wait: Duration) -> Verdict {
        Verdict {
            status: DeliveryStatus::Pending,
            attempts: self.attempts_made,
            next_attempt_at: Some(now + wait),
            last_error: Some(format!("cannot sign: {reason}")),
            effect: WebhookEffect::None,
        }
    }

    /// After an attempt that ended at `finished_at` with `result`
    /// (`failure` describes a failed one). The wait before a retry is the
    /// schedule's ([`NextStep::after`], `random` uniform in `[0, 1)` for the
    /// jitter) and counts from the end of the attempt. Test deliveries are
    /// diagnostics: they never move the webhook's failure counter.
    pub fn after_attempt(
        &self,
        result: &AttemptResult,
        failure: Option<String>,
        finished_at: OffsetDateTime,
        schedule: &RetrySchedule,
        random: f64,
    ) -> Verdict {
        let attempts = self.attempts_made.saturating_add(1);
        let next = NextStep::after(result, attempts, self.max_attempts, schedule, random);
        let last_error = match result {
            AttemptResult::Delivered => None,
            AttemptResult::Failed { .. } => failure,
        };
        let (status, next_attempt_at) = match next {
            NextStep::Succeeded => (DeliveryStatus::Succeeded, None),
            NextStep::RetryIn(wait) => (DeliveryStatus::Pending, Some(finished_at + wait)),
            NextStep::Failed { .. } => (DeliveryStatus::Failed, None),
        };
        let reason = || last_error.clone().unwrap_or_default();
        let effect = match (self.is_test, next) {
            (true, _) | (false, NextStep::RetryIn(_)) => WebhookEffect::None,
            (false, NextStep::Succeeded) => WebhookEffect::Delivered,
            (false, NextStep::Failed { gone: true }) => WebhookEffect::Gone { reason: reason() },
            (false, NextStep::Failed { gone: false }) => WebhookEffect::Failed { reason: reason() },
        };
        Verdict {
            status,
            attempts,
            next_attempt_at,
            last_error,
            effect,
        }
    }
}

/// After a webhook's `consecutive_failures`th failed delivery in a row
/// (`last_failure` describing it): the reason to deactivate it with, from
/// the [`AUTO_DISABLE_AFTER`]th on; `None` before.
pub fn streak_deactivation(consecutive_failures: u32, last_failure: &str) -> Option<String> {
    (consecutive_failures >= AUTO_DISABLE_AFTER).then(|| {
        format!(
            "deactivated after {consecutive_failures} consecutive failed deliveries (last: {last_failure})"
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::FailureKind;
    use proptest::prelude::*;
    use time::macros::datetime;

    const AT: OffsetDateTime = datetime!(2026-11-26 10:00:00 UTC);

    fn secs(s: u64) -> Duration {
        Duration::from_secs(s)
    }

    fn millis(ms: u64) -> Duration {
        Duration::from_millis(ms)
    }

    fn job(attempts_made: u32, max_attempts: u32) -> JobFacts {
        JobFacts {
            attempts_made,
            max_attempts,
            is_test: false,
            webhook_active: true,
        }
    }

    fn test_job(attempts_made: u32, max_attempts: u32) -> JobFacts {
        JobFacts {
            is_test: true,
            ..job(attempts_made, max_attempts)
        }
    }

    fn answered(status: u16, retry_after: Option<Duration>) -> AttemptResult {
        AttemptResult::from_status(status, retry_after)
    }

    fn transport(kind: FailureKind) -> AttemptResult {
        AttemptResult::Failed {
            kind,
            status: None,
            retry_after: None,
        }
    }

    fn failed(reason: &str) -> WebhookEffect {
        WebhookEffect::Failed {
            reason: reason.into(),
        }
    }

    fn gone() -> WebhookEffect {
        WebhookEffect::Gone {
            reason: "HTTP 410".into(),
        }
    }

    #[test]
    fn only_active_webhooks_and_test_events_are_sent() {
        let cancelled = Verdict {
            status: DeliveryStatus::Cancelled,
            attempts: 2,
            next_attempt_at: None,
            last_error: Some("the webhook was deactivated".into()),
            effect: WebhookEffect::None,
        };
        for (active, is_test, expected) in [
            (true, false, None),
            (true, true, None),
            (false, true, None),
            (false, false, Some(cancelled)),
        ] {
            let facts = JobFacts {
                webhook_active: active,
                is_test,
                ..job(2, 4)
            };
            assert_eq!(
                facts.before_sending(),
                expected,
                "active {active}, test {is_test}"
            );
        }
    }

    #[test]
    fn a_job_that_cannot_be_signed_waits_without_counting_an_attempt() {
        assert_eq!(
            job(1, 4).postponed("unknown key `k2`", AT, secs(60)),
            Verdict {
                status: DeliveryStatus::Pending,
                attempts: 1,
                next_attempt_at: Some(AT + secs(60)),
                last_error: Some("cannot sign: unknown key `k2`".into()),
                effect: WebhookEffect::None,
            }
        );
    }

    /// One row of the outcome table.
    struct Case<'a> {
        case: &'a str,
        job: JobFacts,
        result: AttemptResult,
        schedule: &'a RetrySchedule,
        random: f64,
        status: DeliveryStatus,
        wait: Option<Duration>,
        effect: WebhookEffect,
    }

    #[test]
    fn each_outcome_gives_its_verdict() {
        let schedule = RetrySchedule::default(); // 2 s, 4 s, 8 s
        let empty = RetrySchedule::new(Vec::new()).unwrap();
        let reason = "HTTP 5xx";
        let table = [
            Case {
                case: "2xx",
                job: job(0, 4),
                result: answered(204, None),
                schedule: &schedule,
                random: 0.5,
                status: DeliveryStatus::Succeeded,
                wait: None,
                effect: WebhookEffect::Delivered,
            },
            Case {
                case: "2xx on the last attempt",
                job: job(3, 4),
                result: answered(200, None),
                schedule: &schedule,
                random: 0.5,
                status: DeliveryStatus::Succeeded,
                wait: None,
                effect: WebhookEffect::Delivered,
            },
            Case {
                case: "a test event delivered",
                job: test_job(0, 4),
                result: answered(200, None),
                schedule: &schedule,
                random: 0.5,
                status: DeliveryStatus::Succeeded,
                wait: None,
                effect: WebhookEffect::None,
            },
            Case {
                case: "500 on the first of 4",
                job: job(0, 4),
                result: answered(500, None),
                schedule: &schedule,
                random: 0.5,
                status: DeliveryStatus::Pending,
                wait: Some(secs(2)),
                effect: WebhookEffect::None,
            },
            Case {
                case: "timeout on the third of 4",
                job: job(2, 4),
                result: transport(FailureKind::Timeout),
                schedule: &schedule,
                random: 0.5,
                status: DeliveryStatus::Pending,
                wait: Some(secs(8)),
                effect: WebhookEffect::None,
            },
            Case {
                case: "lowest jitter",
                job: job(0, 4),
                result: transport(FailureKind::Connect),
                schedule: &schedule,
                random: 0.0,
                status: DeliveryStatus::Pending,
                wait: Some(millis(1600)),
                effect: WebhookEffect::None,
            },
            Case {
                case: "500 on the last of 4",
                job: job(3, 4),
                result: answered(500, None),
                schedule: &schedule,
                random: 0.5,
                status: DeliveryStatus::Failed,
                wait: None,
                effect: failed(reason),
            },
            Case {
                case: "retries disabled: one attempt",
                job: job(0, 1),
                result: answered(503, None),
                schedule: &schedule,
                random: 0.5,
                status: DeliveryStatus::Failed,
                wait: None,
                effect: failed(reason),
            },
            Case {
                case: "a test event failing for good moves no counter",
                job: test_job(3, 4),
                result: answered(500, None),
                schedule: &schedule,
                random: 0.5,
                status: DeliveryStatus::Failed,
                wait: None,
                effect: WebhookEffect::None,
            },
            Case {
                case: "410 stops at once",
                job: job(0, 4),
                result: answered(410, None),
                schedule: &schedule,
                random: 0.5,
                status: DeliveryStatus::Failed,
                wait: None,
                effect: gone(),
            },
            Case {
                case: "410 to a test event deactivates nothing",
                job: test_job(0, 4),
                result: answered(410, None),
                schedule: &schedule,
                random: 0.5,
                status: DeliveryStatus::Failed,
                wait: None,
                effect: WebhookEffect::None,
            },
            Case {
                case: "a longer Retry-After is honoured",
                job: job(0, 4),
                result: answered(429, Some(millis(2200))),
                schedule: &schedule,
                random: 0.0,
                status: DeliveryStatus::Pending,
                wait: Some(millis(2200)),
                effect: WebhookEffect::None,
            },
            Case {
                case: "…up to the step's bound",
                job: job(0, 4),
                result: answered(503, Some(secs(3600))),
                schedule: &schedule,
                random: 0.5,
                status: DeliveryStatus::Pending,
                wait: Some(millis(2400)),
                effect: WebhookEffect::None,
            },
            Case {
                case: "a shorter Retry-After changes nothing",
                job: job(1, 4),
                result: answered(503, Some(secs(1))),
                schedule: &schedule,
                random: 0.5,
                status: DeliveryStatus::Pending,
                wait: Some(secs(4)),
                effect: WebhookEffect::None,
            },
            Case {
                case: "more attempts than steps: the last step repeats",
                job: job(4, 8),
                result: answered(500, None),
                schedule: &schedule,
                random: 0.5,
                status: DeliveryStatus::Pending,
                wait: Some(secs(8)),
                effect: WebhookEffect::None,
            },
            Case {
                case: "no step at all: no retry",
                job: job(0, 4),
                result: answered(500, None),
                schedule: &empty,
                random: 0.5,
                status: DeliveryStatus::Failed,
                wait: None,
                effect: failed(reason),
            },
        ];
        for Case {
            case,
            job: facts,
            result,
            schedule,
            random,
            status,
            wait,
            effect,
        } in table
        {
            let message = if effect == gone() { "HTTP 410" } else { reason };
            let verdict = facts.after_attempt(&result, Some(message.into()), AT, schedule, random);
            assert_eq!(verdict.status, status, "{case}");
            assert_eq!(verdict.attempts, facts.attempts_made + 1, "{case}");
            assert_eq!(verdict.next_attempt_at, wait.map(|w| AT + w), "{case}");
            assert_eq!(verdict.effect, effect, "{case}");
            let expected_error =
                matches!(result, AttemptResult::Failed { .. }).then(|| message.into());
            assert_eq!(verdict.last_error, expected_error, "{case}");
        }
    }

    #[test]
    fn the_tenth_consecutive_failure_deactivates() {
        for (failures, expected) in [
            (0, None),
            (1, None),
            (9, None),
            (
                10,
                Some("deactivated after 10 consecutive failed deliveries (last: HTTP 500)"),
            ),
            (
                11,
                Some("deactivated after 11 consecutive failed deliveries (last: HTTP 500)"),
            ),
        ] {
            assert_eq!(
                streak_deactivation(failures, "HTTP 500").as_deref(),
                expected,
                "{failures}"
            );
        }
        assert!(failed("x").is_failure() && gone().is_failure());
        assert!(!WebhookEffect::Delivered.is_failure() && !WebhookEffect::None.is_failure());
    }

    fn schedules() -> impl Strategy<Value = RetrySchedule> {
        prop::collection::vec(1_u64..=RetrySchedule::MAX_DELAY.as_millis() as u64, 0..=10).prop_map(
            |delays| RetrySchedule::new(delays.into_iter().map(millis).collect()).unwrap(),
        )
    }

    /// Any failure but `410 Gone`.
    fn failures() -> impl Strategy<Value = AttemptResult> {
        let retry_after = prop::option::of((0_u64..=30 * 86_400).prop_map(secs));
        prop_oneof![
            (300_u16..600)
                .prop_filter("not 410", |s| *s != 410)
                .prop_flat_map(move |status| retry_after
                    .clone()
                    .prop_map(move |r| answered(status, r))),
            prop::sample::select(FailureKind::ALL.to_vec()).prop_map(transport),
        ]
    }

    proptest! {
        /// A retry waits its step's delay within the jitter bounds (a
        /// receiver's `Retry-After` included), and none is scheduled once the
        /// attempts allowed are spent or past the schedule's last step.
        #[test]
        fn a_retry_waits_within_the_jitter_of_its_step_and_never_past_the_schedule(
            schedule in schedules(),
            attempts_made in 0_u32..20,
            max_attempts in 1_u32..20,
            result in failures(),
            random in 0.0_f64..1.0,
            is_test in any::<bool>(),
        ) {
            let facts = JobFacts { is_test, ..job(attempts_made, max_attempts) };
            let verdict = facts.after_attempt(&result, Some("failed".into()), AT, &schedule, random);
            let attempts = attempts_made + 1;
            prop_assert_eq!(verdict.attempts, attempts);
            match verdict.status {
                DeliveryStatus::Pending => {
                    prop_assert!(attempts < max_attempts, "no retry past the attempts allowed");
                    let delays = schedule.delays();
                    prop_assert!(!delays.is_empty(), "no retry without a step");
                    // Past the last step, the last step repeats.
                    let step = delays[(attempts as usize).min(delays.len()) - 1];
                    let wait = verdict.next_attempt_at.unwrap() - AT;
                    // Float products: a nanosecond either way is rounding.
                    let bound = |factor: f64| time::Duration::try_from(step.mul_f64(factor)).unwrap();
                    let tolerance = time::Duration::nanoseconds(1);
                    prop_assert!(wait >= bound(0.8) - tolerance, "{wait} < 80 % of {step:?}");
                    prop_assert!(wait <= bound(1.2) + tolerance, "{wait} > 120 % of {step:?}");
                    prop_assert_eq!(verdict.effect, WebhookEffect::None);
                }
                DeliveryStatus::Failed => {
                    prop_assert!(
                        attempts >= max_attempts || schedule.delays().is_empty(),
                        "failed with attempts and steps left"
                    );
                    prop_assert_eq!(verdict.next_attempt_at, None);
                    let effect = if is_test { WebhookEffect::None } else { failed("failed") };
                    prop_assert_eq!(verdict.effect, effect);
                }
                other => return Err(TestCaseError::fail(format!("a failure gave {other}"))),
            }
        }

        /// `410 Gone` fails the job at once and deactivates the webhook,
        /// however many attempts are left.
        #[test]
        fn gone_always_ends_the_job_and_deactivates(
            schedule in schedules(),
            attempts_made in 0_u32..20,
            max_attempts in 1_u32..20,
            retry_after in prop::option::of((0_u64..=86_400).prop_map(secs)),
            random in 0.0_f64..1.0,
        ) {
            let verdict = job(attempts_made, max_attempts).after_attempt(
                &answered(410, retry_after), Some("HTTP 410".into()), AT, &schedule, random,
            );
            prop_assert_eq!(verdict.status, DeliveryStatus::Failed);
            prop_assert_eq!(verdict.next_attempt_at, None);
            prop_assert_eq!(verdict.effect, gone());
        }
    }
}
