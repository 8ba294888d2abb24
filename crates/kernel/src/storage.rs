//! The failure of whatever stores a context's data, as its ports report it.

use std::error::Error;

/// A storage failure (database down, query refused, row unreadable). The
/// cause is kept, not flattened to text, so that the one place that turns
/// it into a 500 can log the whole chain; the client never sees it.
#[derive(Debug, thiserror::Error)]
#[error("storage failure: {source}")]
pub struct StorageError {
    #[source]
    source: Box<dyn Error + Send + Sync>,
}

impl StorageError {
    pub fn new(source: impl Into<Box<dyn Error + Send + Sync>>) -> Self {
        Self {
            source: source.into(),
        }
    }

    /// A failure described by a message only (e.g. a stored row that no
    /// longer reads as a valid value).
    pub fn corrupt(message: impl Into<String>) -> Self {
        Self::new(message.into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cause_is_kept_as_the_source() {
        let io = std::io::Error::other("connection reset");
        let error = StorageError::new(io);
        assert_eq!(error.to_string(), "storage failure: connection reset");
        assert_eq!(
            error.source().map(ToString::to_string).as_deref(),
            Some("connection reset")
        );
        assert!(StorageError::corrupt("bad row").source().is_some());
    }
}
