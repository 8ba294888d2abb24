//! Configuration from the environment, read by the app and by each
//! context for its own section. Every value is checked at start-up; a
//! missing or invalid one stops the process with a message naming the
//! variable (and never echoing a secret).

use std::time::Duration;

/// Why the configuration was refused.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum ConfigError {
    #[error("{var} is not set: {hint}")]
    Missing {
        var: &'static str,
        hint: &'static str,
    },
    #[error("{var}={value:?} is invalid: {reason}")]
    Invalid {
        var: &'static str,
        value: String,
        reason: String,
    },
}

impl ConfigError {
    /// `var` has the value `value`, refused for `reason`.
    pub fn invalid(var: &'static str, value: &str, reason: impl Into<String>) -> Self {
        ConfigError::Invalid {
            var,
            value: value.to_owned(),
            reason: reason.into(),
        }
    }
}

/// Where configuration values come from: the process environment, or a map
/// in tests.
pub type Lookup = std::sync::Arc<dyn Fn(&str) -> Option<String> + Send + Sync>;

/// Reads variables through a lookup (the process environment, or a map in
/// tests). Blank values count as unset; values are trimmed before parsing.
#[derive(Clone, Copy)]
pub struct Env<'a> {
    lookup: &'a (dyn Fn(&str) -> Option<String> + Send + Sync),
}

impl std::fmt::Debug for Env<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Env")
    }
}

impl<'a> Env<'a> {
    pub fn new(lookup: &'a (dyn Fn(&str) -> Option<String> + Send + Sync)) -> Self {
        Self { lookup }
    }

    /// The raw value of `var`, if set and not blank.
    pub fn get(&self, var: &str) -> Option<String> {
        (self.lookup)(var).filter(|v| !v.trim().is_empty())
    }

    /// A variable that must be set.
    pub fn required<T>(
        &self,
        var: &'static str,
        hint: &'static str,
        parse: impl Fn(&str) -> Result<T, String>,
    ) -> Result<T, ConfigError> {
        let value = self.get(var).ok_or(ConfigError::Missing { var, hint })?;
        parse(value.trim()).map_err(|reason| ConfigError::invalid(var, &value, reason))
    }

    /// A variable with a default.
    pub fn parse_or<T>(
        &self,
        var: &'static str,
        default: T,
        parse: impl Fn(&str) -> Result<T, String>,
    ) -> Result<T, ConfigError> {
        match self.get(var) {
            None => Ok(default),
            Some(value) => {
                parse(value.trim()).map_err(|reason| ConfigError::invalid(var, &value, reason))
            }
        }
    }

    /// [`Env::required`] for a secret: an invalid value is reported as `***`.
    pub fn required_secret<T>(
        &self,
        var: &'static str,
        hint: &'static str,
        parse: impl Fn(&str) -> Result<T, String>,
    ) -> Result<T, ConfigError> {
        self.required(var, hint, parse).map_err(redacted)
    }

    /// [`Env::parse_or`] for a secret: an invalid value is reported as `***`.
    pub fn secret_or<T>(
        &self,
        var: &'static str,
        default: T,
        parse: impl Fn(&str) -> Result<T, String>,
    ) -> Result<T, ConfigError> {
        self.parse_or(var, default, parse).map_err(redacted)
    }
}

fn redacted(error: ConfigError) -> ConfigError {
    match error {
        ConfigError::Invalid { var, reason, .. } => ConfigError::Invalid {
            var,
            value: "***".to_owned(),
            reason,
        },
        missing => missing,
    }
}

/// Parsers of the usual value shapes, for [`Env::required`] and [`Env::parse_or`].
pub mod parse {
    use super::Duration;

    /// Durations are written like `500ms`, `1s`, `5m`, `2h`.
    pub fn duration(value: &str) -> Result<Duration, String> {
        humantime::parse_duration(value).map_err(|e| format!("{e} (expected e.g. 500ms, 1s, 5m)"))
    }

    /// A duration longer than zero.
    pub fn positive_duration(value: &str) -> Result<Duration, String> {
        match duration(value)? {
            zero if zero.is_zero() => Err("must be longer than zero".into()),
            duration => Ok(duration),
        }
    }

    /// A count of at least 1.
    pub fn positive(value: &str) -> Result<usize, String> {
        match value.parse::<usize>() {
            Ok(0) => Err("must be at least 1".into()),
            Ok(n) => Ok(n),
            Err(e) => Err(e.to_string()),
        }
    }

    /// A retention period: 1 to 3650 days.
    pub fn days(value: &str) -> Result<u32, String> {
        match value.parse::<u32>() {
            Ok(days) if (1..=3650).contains(&days) => Ok(days),
            _ => Err("expected a number of days between 1 and 3650".into()),
        }
    }

    /// Switches are written `true` or `false` (also `1`/`0`, `yes`/`no`).
    pub fn switch(value: &str) -> Result<bool, String> {
        match value.to_ascii_lowercase().as_str() {
            "true" | "1" | "yes" => Ok(true),
            "false" | "0" | "no" => Ok(false),
            _ => Err("expected true or false".into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn with(vars: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> + Send + Sync + use<> {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        move |name| map.get(name).cloned()
    }

    #[test]
    fn values_are_trimmed_blank_is_unset_and_errors_name_the_variable() {
        let lookup = with(&[
            ("A", " 5s "),
            ("BLANK", "  "),
            ("BAD", "soon"),
            ("KEY", "hunter2"),
        ]);
        let env = Env::new(&lookup);
        assert_eq!(
            env.parse_or("A", Duration::ZERO, parse::duration),
            Ok(Duration::from_secs(5))
        );
        assert_eq!(env.parse_or("BLANK", 7, parse::positive), Ok(7));
        assert_eq!(
            env.required("MISSING", "set it", parse::positive),
            Err(ConfigError::Missing {
                var: "MISSING",
                hint: "set it"
            })
        );
        let bad = env
            .parse_or("BAD", Duration::ZERO, parse::duration)
            .unwrap_err();
        assert!(
            bad.to_string().starts_with("BAD=\"soon\" is invalid"),
            "{bad}"
        );
        let secret = env
            .required_secret("KEY", "", |_| Err::<(), _>("too short".to_owned()))
            .unwrap_err();
        assert_eq!(secret.to_string(), "KEY=\"***\" is invalid: too short");
    }

    #[test]
    fn parsers_accept_the_documented_shapes() {
        assert_eq!(
            parse::positive_duration("0s"),
            Err("must be longer than zero".into())
        );
        assert_eq!(parse::days("90"), Ok(90));
        assert!(parse::days("0").is_err() && parse::days("3651").is_err());
        assert_eq!(parse::switch("YES"), Ok(true));
        assert!(parse::switch("maybe").is_err());
        assert!(parse::positive("0").is_err());
    }
}
