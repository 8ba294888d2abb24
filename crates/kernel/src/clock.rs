//! The clock port: use cases ask it for the time so tests can fix it.

use time::OffsetDateTime;

/// Source of the current time (UTC).
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
pub trait Clock: Send + Sync {
    fn now(&self) -> OffsetDateTime;
}

/// The real clock, at the microsecond precision PostgreSQL stores, so that
/// what a use case returns equals what a later read returns.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> OffsetDateTime {
        crate::envelope::to_storage_precision(OffsetDateTime::now_utc())
    }
}

/// A clock stopped at one instant, for tests and replays.
#[derive(Debug, Clone, Copy)]
pub struct FixedClock(pub OffsetDateTime);

impl Clock for FixedClock {
    fn now(&self) -> OffsetDateTime {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn fixed_clock_does_not_move_and_system_clock_is_utc() {
        let at = datetime!(2026-01-02 03:04:05 UTC);
        let clock = FixedClock(at);
        assert_eq!(clock.now(), at);
        assert_eq!(clock.now(), at);
        let now = SystemClock.now();
        assert_eq!(now.offset(), time::UtcOffset::UTC);
        assert_eq!(now.nanosecond() % 1_000, 0, "microsecond precision");
    }
}
