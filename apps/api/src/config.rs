//! Configuration from the environment (see `.env.example`). Every value is
//! checked at start-up; a missing or invalid one stops the process with a
//! message naming the variable.

use std::net::SocketAddr;
use std::time::Duration;

use hub_identity_infrastructure::JwtSecret;
use hub_platform_http::client_ip::TrustedProxies;
use hub_platform_http::rate_limit::RateLimits;
use hub_platform_outbound::AllowList;
use hub_webhooks_domain::RetrySchedule;
use hub_webhooks_infrastructure::SecretKey;

/// Why the configuration was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
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

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    /// One JSON object per line (default; what log collectors expect).
    Json,
    /// Human-readable, for a terminal.
    Pretty,
}

/// Everything `serve` needs.
#[derive(Debug, Clone)]
pub struct Config {
    pub database_url: String,
    /// Signs access tokens (`JWT_SECRET`, at least 32 bytes).
    pub jwt_secret: JwtSecret,
    /// Lifetime of an access token.
    pub jwt_ttl: Duration,
    /// Per-route limits (`RATE_LIMITS` over the declared defaults); their
    /// per-address keys honour `trusted_proxies`.
    pub rate_limits: RateLimits,
    /// Reverse proxies whose `X-Forwarded-For` is believed (`TRUSTED_PROXIES`).
    pub trusted_proxies: TrustedProxies,
    pub database_pool_size: usize,
    pub http_addr: SocketAddr,
    /// Largest accepted JSON body.
    pub http_body_limit: usize,
    /// Where `GET /metrics` is served (`METRICS_ADDR`); `None` when `off`.
    pub metrics_addr: Option<SocketAddr>,
    /// The bearer token a scrape must present (`METRICS_TOKEN`), if any.
    pub metrics_token: Option<crate::ops::metrics::MetricsToken>,
    /// How often the gauges read from the database are refreshed
    /// (`METRICS_REFRESH_INTERVAL`).
    pub metrics_refresh_interval: Duration,
    pub log_format: LogFormat,
    pub outbox_poll_interval: Duration,
    pub outbox_batch_size: u32,
    pub event_history_capacity: usize,
    pub event_handler_timeout: Duration,
    /// How long shutdown waits for in-flight requests and workers.
    pub shutdown_timeout: Duration,
    /// Encrypts webhook secrets at rest (`WEBHOOK_SECRETS_KEY`, base64 of 32 bytes).
    pub webhook_secrets_key: SecretKey,
    /// Older keys that still decrypt what they encrypted (`WEBHOOK_SECRETS_OLD_KEYS`).
    pub webhook_secrets_old_keys: Vec<SecretKey>,
    /// Accept `http://` receivers (`WEBHOOKS_ALLOW_HTTP`, development only).
    pub webhooks_allow_http: bool,
    /// Receivers allowed despite the SSRF policy (`WEBHOOKS_ALLOWED_CIDRS`).
    pub webhooks_allowed_cidrs: AllowList,
    /// Extra trusted CA certificates, PEM (read from `WEBHOOKS_EXTRA_CA_FILE`).
    pub webhooks_extra_ca: Option<Vec<u8>>,
    /// Delivery requests in flight per process (`WEBHOOKS_MAX_IN_FLIGHT`).
    pub webhooks_max_in_flight: usize,
    /// …and per webhook (`WEBHOOKS_MAX_IN_FLIGHT_PER_ENDPOINT`).
    pub webhooks_max_in_flight_per_endpoint: usize,
    /// Delays between delivery attempts (`WEBHOOKS_RETRY_SCHEDULE`).
    pub webhooks_retry_schedule: RetrySchedule,
    /// Whole delivery request, redirects and body included (`WEBHOOKS_TIMEOUT`).
    pub webhooks_timeout: Duration,
    /// Fallback polling of the delivery queue (`WEBHOOKS_POLL_INTERVAL`).
    pub webhooks_poll_interval: Duration,
    /// How long a claimed delivery stays leased (`WEBHOOKS_LEASE_DURATION`).
    pub webhooks_lease: Duration,
    /// When the daily retention job runs (`RETENTION_CRON_TIME`, `RETENTION_TZ_OFFSET`).
    pub retention_at: crate::ops::retention::DailyAt,
    /// Days dispatched events are kept (`EVENT_LOG_RETENTION_DAYS`).
    pub event_log_retention_days: u32,
    /// Days delivery attempts are kept (`WEBHOOK_DELIVERY_RETENTION_DAYS`).
    pub delivery_retention_days: u32,
}

impl Config {
    /// Reads the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads configuration through `lookup` (the environment, or a map in tests).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let env = Env(&lookup);
        let trusted_proxies = env.parse_or("TRUSTED_PROXIES", TrustedProxies::none(), |v| {
            TrustedProxies::parse(v).map_err(|e| e.to_string())
        })?;
        Self {
            database_url: database_url(&env)?,
            jwt_secret: env.required(
                "JWT_SECRET",
                "set it to at least 32 random bytes, e.g. `openssl rand -base64 48` (`make run` generates one under .data/)",
                |v| JwtSecret::new(v).map_err(|e| e.to_string()),
            )?,
            jwt_ttl: env.parse_or("JWT_TTL", Duration::from_secs(3600), parse_duration)?,
            rate_limits: {
                let spec = env.get("RATE_LIMITS");
                RateLimits::from_spec(spec.as_deref(), &crate::rate_limit_rules())
                    .map_err(|e| invalid("RATE_LIMITS", spec.as_deref().unwrap_or_default(), e.to_string()))?
                    .with_trusted_proxies(trusted_proxies.clone())
            },
            trusted_proxies,
            database_pool_size: env.parse_or("DATABASE_POOL_SIZE", 16, parse_positive)?,
            http_addr: env.parse_or("HTTP_ADDR", SocketAddr::from(([127, 0, 0, 1], 8080)), |v| {
                v.parse().map_err(|e| format!("{e} (expected host:port, e.g. 127.0.0.1:8080)"))
            })?,
            http_body_limit: env.parse_or("HTTP_BODY_LIMIT", 64 * 1024, parse_positive)?,
            // Loopback by default: metrics are for the operator, not the public.
            metrics_addr: env.parse_or("METRICS_ADDR", Some(SocketAddr::from(([127, 0, 0, 1], 9464))), |v| {
                if v.eq_ignore_ascii_case("off") {
                    return Ok(None);
                }
                v.parse().map(Some).map_err(|e| format!("{e} (expected host:port, e.g. 127.0.0.1:9464, or off)"))
            })?,
            metrics_token: env.parse_or("METRICS_TOKEN", None, |v| {
                crate::ops::metrics::MetricsToken::new(v).map(Some).map_err(|e| e.to_string())
            })?,
            metrics_refresh_interval: env.parse_or(
                "METRICS_REFRESH_INTERVAL",
                Duration::from_secs(15),
                parse_positive_duration,
            )?,
            log_format: env.parse_or("LOG_FORMAT", LogFormat::Json, |v| match v {
                "json" => Ok(LogFormat::Json),
                "pretty" => Ok(LogFormat::Pretty),
                _ => Err("expected `json` or `pretty`".into()),
            })?,
            outbox_poll_interval: env.parse_or(
                "OUTBOX_POLL_INTERVAL",
                Duration::from_secs(1),
                parse_duration,
            )?,
            outbox_batch_size: env.parse_or("OUTBOX_BATCH_SIZE", 100, |v| {
                let n: usize = parse_positive(v)?;
                u32::try_from(n).map_err(|_| "too large".to_string())
            })?,
            event_history_capacity: env.parse_or("EVENT_HISTORY_CAPACITY", 1000, |v| {
                v.parse().map_err(|e| format!("{e}"))
            })?,
            event_handler_timeout: env.parse_or(
                "EVENT_HANDLER_TIMEOUT",
                Duration::from_secs(5),
                parse_duration,
            )?,
            shutdown_timeout: env.parse_or("SHUTDOWN_TIMEOUT", Duration::from_secs(30), parse_duration)?,
            webhook_secrets_key: env.required(
                "WEBHOOK_SECRETS_KEY",
                "set it to the base64 of 32 random bytes, e.g. `openssl rand -base64 32` (`make run` generates one under .data/)",
                |v| SecretKey::from_base64(v).map_err(|e| e.to_string()),
            )?,
            webhook_secrets_old_keys: env.parse_or("WEBHOOK_SECRETS_OLD_KEYS", Vec::new(), |v| {
                SecretKey::parse_list(v).map_err(|e| format!("a key {e}"))
            })?,
            webhooks_allow_http: env.parse_or("WEBHOOKS_ALLOW_HTTP", false, parse_bool)?,
            webhooks_allowed_cidrs: env.parse_or("WEBHOOKS_ALLOWED_CIDRS", AllowList::default(), |v| {
                AllowList::parse(v).map_err(|e| e.to_string())
            })?,
            webhooks_extra_ca: env.parse_or("WEBHOOKS_EXTRA_CA_FILE", None, |path| {
                std::fs::read(path).map(Some).map_err(|e| format!("cannot read the file: {e}"))
            })?,
            webhooks_max_in_flight: env.parse_or("WEBHOOKS_MAX_IN_FLIGHT", 50, parse_positive)?,
            webhooks_max_in_flight_per_endpoint: env.parse_or(
                "WEBHOOKS_MAX_IN_FLIGHT_PER_ENDPOINT",
                10,
                parse_positive,
            )?,
            webhooks_retry_schedule: env.parse_or(
                "WEBHOOKS_RETRY_SCHEDULE",
                RetrySchedule::default(),
                parse_retry_schedule,
            )?,
            webhooks_timeout: env.parse_or("WEBHOOKS_TIMEOUT", Duration::from_secs(10), parse_positive_duration)?,
            webhooks_poll_interval: env.parse_or(
                "WEBHOOKS_POLL_INTERVAL",
                Duration::from_millis(500),
                parse_positive_duration,
            )?,
            webhooks_lease: env.parse_or("WEBHOOKS_LEASE_DURATION", Duration::from_secs(60), parse_positive_duration)?,
            retention_at: {
                let at = env.get("RETENTION_CRON_TIME").unwrap_or_else(|| "03:00".to_owned());
                let offset = env.get("RETENTION_TZ_OFFSET").unwrap_or_else(|| "Z".to_owned());
                crate::ops::retention::DailyAt::parse(&at, &offset).map_err(|reason| {
                    let var = if reason.contains("offset") { "RETENTION_TZ_OFFSET" } else { "RETENTION_CRON_TIME" };
                    invalid(var, if var == "RETENTION_TZ_OFFSET" { &offset } else { &at }, reason)
                })?
            },
            event_log_retention_days: env.parse_or("EVENT_LOG_RETENTION_DAYS", 90, parse_days)?,
            delivery_retention_days: env.parse_or("WEBHOOK_DELIVERY_RETENTION_DAYS", 90, parse_days)?,
        }
        .checked(&env)
    }

    /// Rules between variables.
    fn checked<F: Fn(&str) -> Option<String>>(self, env: &Env<'_, F>) -> Result<Self, ConfigError> {
        if self.webhooks_max_in_flight_per_endpoint > self.webhooks_max_in_flight {
            return Err(invalid(
                "WEBHOOKS_MAX_IN_FLIGHT_PER_ENDPOINT",
                &env.get("WEBHOOKS_MAX_IN_FLIGHT_PER_ENDPOINT")
                    .unwrap_or_default(),
                format!(
                    "must not exceed WEBHOOKS_MAX_IN_FLIGHT ({})",
                    self.webhooks_max_in_flight
                ),
            ));
        }
        // A lease shorter than a request would let another worker send the
        // same delivery while the first is still waiting for its answer.
        if self.webhooks_lease <= self.webhooks_timeout + Duration::from_secs(1) {
            return Err(invalid(
                "WEBHOOKS_LEASE_DURATION",
                &env.get("WEBHOOKS_LEASE_DURATION")
                    .unwrap_or_else(|| "60s".to_owned()),
                format!(
                    "must be more than WEBHOOKS_TIMEOUT ({}) plus 1s",
                    humantime::format_duration(self.webhooks_timeout)
                ),
            ));
        }
        Ok(self)
    }
}

/// A comma-separated list of delays, e.g. `5s,5m,30m,2h,5h,10h`.
pub fn parse_retry_schedule(value: &str) -> Result<RetrySchedule, String> {
    let delays = value
        .split(',')
        .enumerate()
        .map(|(index, entry)| {
            let entry = entry.trim();
            humantime::parse_duration(entry).map_err(|e| {
                format!(
                    "delay #{} `{entry}`: {e} (expected e.g. 2s,4s,8s or 5s,5m,30m,2h)",
                    index + 1
                )
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    RetrySchedule::new(delays).map_err(|e| e.to_string())
}

fn parse_positive_duration(value: &str) -> Result<Duration, String> {
    match parse_duration(value)? {
        zero if zero.is_zero() => Err("must be longer than zero".into()),
        duration => Ok(duration),
    }
}

/// Only the database URL, for commands that need nothing else (`migrate`,
/// `create-admin`).
pub fn database_url_from_env() -> Result<String, ConfigError> {
    let lookup = |name: &str| std::env::var(name).ok();
    database_url(&Env(&lookup))
}

fn database_url<F: Fn(&str) -> Option<String>>(env: &Env<'_, F>) -> Result<String, ConfigError> {
    env.required(
        "DATABASE_URL",
        "set it to a PostgreSQL URL (`make run` provisions a local database when it is unset)",
        parse_database_url,
    )
}

struct Env<'a, F: Fn(&str) -> Option<String>>(&'a F);

impl<F: Fn(&str) -> Option<String>> Env<'_, F> {
    fn get(&self, var: &str) -> Option<String> {
        (self.0)(var).filter(|v| !v.trim().is_empty())
    }

    fn required<T>(
        &self,
        var: &'static str,
        hint: &'static str,
        parse: impl Fn(&str) -> Result<T, String>,
    ) -> Result<T, ConfigError> {
        let value = self.get(var).ok_or(ConfigError::Missing { var, hint })?;
        parse(value.trim()).map_err(|reason| invalid(var, &value, reason))
    }

    fn parse_or<T>(
        &self,
        var: &'static str,
        default: T,
        parse: impl Fn(&str) -> Result<T, String>,
    ) -> Result<T, ConfigError> {
        match self.get(var) {
            None => Ok(default),
            Some(value) => parse(value.trim()).map_err(|reason| invalid(var, &value, reason)),
        }
    }
}

fn invalid(var: &'static str, value: &str, reason: String) -> ConfigError {
    // Never echo a URL's password back into logs.
    let value = match var {
        "DATABASE_URL" => redact_url(value),
        "JWT_SECRET" | "WEBHOOK_SECRETS_KEY" | "WEBHOOK_SECRETS_OLD_KEYS" | "METRICS_TOKEN" => {
            "***".to_owned()
        }
        _ => value.to_owned(),
    };
    ConfigError::Invalid { var, value, reason }
}

fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            format!("{}://***@{}", &url[..scheme], &url[at + 1..])
        }
        _ => url.to_owned(),
    }
}

fn parse_database_url(value: &str) -> Result<String, String> {
    if value.starts_with("postgres://") || value.starts_with("postgresql://") {
        Ok(value.to_owned())
    } else {
        Err("expected a postgres:// or postgresql:// URL".into())
    }
}

fn parse_positive(value: &str) -> Result<usize, String> {
    match value.parse::<usize>() {
        Ok(0) => Err("must be at least 1".into()),
        Ok(n) => Ok(n),
        Err(e) => Err(e.to_string()),
    }
}

/// A retention period: 1 to 3650 days.
pub fn parse_days(value: &str) -> Result<u32, String> {
    match value.parse::<u32>() {
        Ok(days) if (1..=3650).contains(&days) => Ok(days),
        _ => Err("expected a number of days between 1 and 3650".into()),
    }
}

/// Switches are written `true` or `false` (also `1`/`0`, `yes`/`no`).
fn parse_bool(value: &str) -> Result<bool, String> {
    match value.to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" => Ok(true),
        "false" | "0" | "no" => Ok(false),
        _ => Err("expected true or false".into()),
    }
}

/// Durations are written like `500ms`, `1s`, `5m`, `2h`.
pub fn parse_duration(value: &str) -> Result<Duration, String> {
    humantime::parse_duration(value).map_err(|e| format!("{e} (expected e.g. 500ms, 1s, 5m)"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn config(vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
        // A valid webhook secrets key unless the test sets its own ("" unsets it).
        let map: HashMap<String, String> = std::iter::once(KEY)
            .chain(vars.iter().copied())
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect();
        Config::from_lookup(|name| map.get(name).cloned())
    }

    /// base64 of 32 bytes.
    const KEY: (&str, &str) = (
        "WEBHOOK_SECRETS_KEY",
        "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=",
    );

    #[test]
    fn webhook_settings_have_safe_defaults_and_name_the_variable() {
        let defaults = config(&[URL, JWT]).unwrap();
        assert!(!defaults.webhooks_allow_http);
        assert!(defaults.webhooks_allowed_cidrs.is_empty());
        assert!(defaults.webhooks_extra_ca.is_none());
        assert!(defaults.webhook_secrets_old_keys.is_empty());
        assert_eq!(defaults.webhook_secrets_key.id().len(), 16);

        let missing = config_error(&[URL, JWT, ("WEBHOOK_SECRETS_KEY", "")]);
        assert!(
            missing.starts_with("WEBHOOK_SECRETS_KEY is not set"),
            "{missing}"
        );
        let short = config_error(&[URL, JWT, ("WEBHOOK_SECRETS_KEY", "c2hvcnQ=")]);
        assert!(
            short.starts_with("WEBHOOK_SECRETS_KEY=\"***\" is invalid")
                && short.contains("32 bytes"),
            "{short}"
        );
        let old = config_error(&[URL, JWT, ("WEBHOOK_SECRETS_OLD_KEYS", "MDEy,???")]);
        assert!(old.starts_with("WEBHOOK_SECRETS_OLD_KEYS=\"***\""), "{old}");

        let set = config(&[
            URL,
            JWT,
            ("WEBHOOKS_ALLOW_HTTP", "true"),
            ("WEBHOOKS_ALLOWED_CIDRS", "127.0.0.0/8, 10.1.0.0/16"),
            (
                "WEBHOOK_SECRETS_OLD_KEYS",
                "YWJjZGVmZ2hpamtsbW5vcHFyc3R1dnd4eXoxMjM0NTY=",
            ),
        ])
        .unwrap();
        assert!(set.webhooks_allow_http);
        assert!(
            set.webhooks_allowed_cidrs
                .contains("127.0.0.1".parse().unwrap())
        );
        assert_eq!(set.webhook_secrets_old_keys.len(), 1);
        for (var, value) in [
            ("WEBHOOKS_ALLOW_HTTP", "maybe"),
            ("WEBHOOKS_ALLOWED_CIDRS", "10.0.0.0/33"),
            ("WEBHOOKS_EXTRA_CA_FILE", "/nonexistent/ca.pem"),
        ] {
            let error = config_error(&[URL, JWT, (var, value)]);
            assert!(error.starts_with(var), "{error}");
        }
    }

    const URL: (&str, &str) = ("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/hub");
    const JWT: (&str, &str) = ("JWT_SECRET", "0123456789abcdef0123456789abcdef");

    #[test]
    fn defaults_apply_when_only_the_database_is_given() {
        let config = config(&[URL, JWT]).unwrap();
        assert_eq!(config.http_addr, "127.0.0.1:8080".parse().unwrap());
        assert_eq!(config.database_pool_size, 16);
        assert_eq!(config.outbox_poll_interval, Duration::from_secs(1));
        assert_eq!(config.event_history_capacity, 1000);
        assert_eq!(config.log_format, LogFormat::Json);
    }

    #[test]
    fn metrics_listen_on_loopback_by_default_and_are_checked() {
        let defaults = config(&[URL, JWT]).unwrap();
        assert_eq!(
            defaults.metrics_addr,
            Some("127.0.0.1:9464".parse().unwrap())
        );
        assert!(defaults.metrics_token.is_none());
        assert_eq!(defaults.metrics_refresh_interval, Duration::from_secs(15));

        let set = config(&[
            URL,
            JWT,
            ("METRICS_ADDR", "0.0.0.0:9100"),
            ("METRICS_TOKEN", "  scrape-token-0123456789  "),
            ("METRICS_REFRESH_INTERVAL", "1m"),
        ])
        .unwrap();
        assert_eq!(set.metrics_addr, Some("0.0.0.0:9100".parse().unwrap()));
        assert!(
            set.metrics_token
                .unwrap()
                .accepts(b"scrape-token-0123456789")
        );
        assert_eq!(set.metrics_refresh_interval, Duration::from_secs(60));
        for off in ["off", "OFF"] {
            assert_eq!(
                config(&[URL, JWT, ("METRICS_ADDR", off)])
                    .unwrap()
                    .metrics_addr,
                None
            );
        }

        for (var, value, says) in [
            ("METRICS_ADDR", "localhost", "expected host:port"),
            ("METRICS_TOKEN", "too-short", "at least 16 characters"),
            ("METRICS_REFRESH_INTERVAL", "0s", "longer than zero"),
        ] {
            let error = config_error(&[URL, JWT, (var, value)]);
            assert!(error.starts_with(var), "{error}");
            assert!(error.contains(says), "{error}");
        }
        let error = config_error(&[URL, JWT, ("METRICS_TOKEN", "too-short")]);
        assert!(
            !error.contains("too-short"),
            "tokens are not echoed: {error}"
        );
    }

    #[test]
    fn values_are_read_and_trimmed() {
        let config = config(&[
            URL,
            JWT,
            ("HTTP_ADDR", " 0.0.0.0:9000 "),
            ("OUTBOX_POLL_INTERVAL", "250ms"),
            ("LOG_FORMAT", "pretty"),
        ])
        .unwrap();
        assert_eq!(config.http_addr, "0.0.0.0:9000".parse().unwrap());
        assert_eq!(config.outbox_poll_interval, Duration::from_millis(250));
        assert_eq!(config.log_format, LogFormat::Pretty);
    }

    #[test]
    fn missing_database_url_names_the_variable() {
        let error = config(&[JWT]).unwrap_err();
        assert!(matches!(
            error,
            ConfigError::Missing {
                var: "DATABASE_URL",
                ..
            }
        ));
        assert!(error.to_string().starts_with("DATABASE_URL is not set"));
    }

    #[test]
    fn retention_settings_are_checked() {
        let config = config(&[URL, JWT]).unwrap();
        assert_eq!(config.event_log_retention_days, 90);
        assert_eq!(config.delivery_retention_days, 90);
        assert_eq!(
            config.retention_at,
            crate::ops::retention::DailyAt::parse("03:00", "Z").unwrap()
        );
        let custom = config_error(&[URL, JWT, ("RETENTION_CRON_TIME", "3 am")]);
        assert!(custom.starts_with("RETENTION_CRON_TIME"), "{custom}");
        let offset = config_error(&[URL, JWT, ("RETENTION_TZ_OFFSET", "Europe/Paris")]);
        assert!(offset.starts_with("RETENTION_TZ_OFFSET"), "{offset}");
        let days = config_error(&[URL, JWT, ("EVENT_LOG_RETENTION_DAYS", "0")]);
        assert!(days.starts_with("EVENT_LOG_RETENTION_DAYS"), "{days}");
    }

    #[test]
    fn delivery_settings_default_to_the_design_and_are_checked() {
        let defaults = config(&[URL, JWT]).unwrap();
        assert_eq!(defaults.webhooks_max_in_flight, 50);
        assert_eq!(defaults.webhooks_max_in_flight_per_endpoint, 10);
        assert_eq!(
            defaults.webhooks_retry_schedule.delays(),
            [
                Duration::from_secs(2),
                Duration::from_secs(4),
                Duration::from_secs(8)
            ]
        );
        assert_eq!(defaults.webhooks_timeout, Duration::from_secs(10));
        assert_eq!(defaults.webhooks_poll_interval, Duration::from_millis(500));
        assert_eq!(defaults.webhooks_lease, Duration::from_secs(60));

        let set = config(&[
            URL,
            JWT,
            ("WEBHOOKS_RETRY_SCHEDULE", " 5s, 5m,30m ,2h,5h,10h"),
            ("WEBHOOKS_MAX_IN_FLIGHT", "8"),
            ("WEBHOOKS_MAX_IN_FLIGHT_PER_ENDPOINT", "8"),
            ("WEBHOOKS_TIMEOUT", "300ms"),
            ("WEBHOOKS_LEASE_DURATION", "2s"),
        ])
        .unwrap();
        let hours = |h: u64| Duration::from_secs(h * 3600);
        assert_eq!(
            set.webhooks_retry_schedule.delays(),
            [
                Duration::from_secs(5),
                Duration::from_secs(300),
                Duration::from_secs(1800),
                hours(2),
                hours(5),
                hours(10)
            ]
        );
        assert_eq!(set.webhooks_timeout, Duration::from_millis(300));
        let tests = config(&[URL, JWT, ("WEBHOOKS_RETRY_SCHEDULE", "50ms,100ms,150ms")]).unwrap();
        assert_eq!(
            tests.webhooks_retry_schedule.delays()[0],
            Duration::from_millis(50)
        );

        for (var, value, says) in [
            ("WEBHOOKS_RETRY_SCHEDULE", "2s,soon", "delay #2 `soon`"),
            ("WEBHOOKS_RETRY_SCHEDULE", "2s,,4s", "delay #2"),
            ("WEBHOOKS_RETRY_SCHEDULE", "2s,0s", "delay #2 is zero"),
            (
                "WEBHOOKS_RETRY_SCHEDULE",
                "1s,1s,1s,1s,1s,1s,1s,1s,1s,1s,1s",
                "at most 10",
            ),
            ("WEBHOOKS_RETRY_SCHEDULE", "8days", "longer than 7 days"),
            ("WEBHOOKS_MAX_IN_FLIGHT", "0", "at least 1"),
            (
                "WEBHOOKS_MAX_IN_FLIGHT_PER_ENDPOINT",
                "51",
                "must not exceed WEBHOOKS_MAX_IN_FLIGHT (50)",
            ),
            ("WEBHOOKS_TIMEOUT", "0s", "longer than zero"),
            (
                "WEBHOOKS_LEASE_DURATION",
                "10s",
                "more than WEBHOOKS_TIMEOUT (10s)",
            ),
            ("WEBHOOKS_POLL_INTERVAL", "often", "WEBHOOKS_POLL_INTERVAL"),
        ] {
            let error = config_error(&[URL, JWT, (var, value)]);
            assert!(error.starts_with(var), "{error}");
            assert!(error.contains(says), "{error}");
        }
    }

    #[test]
    fn jwt_secret_is_required_and_long() {
        let error = config(&[URL]).unwrap_err();
        assert!(
            error.to_string().starts_with("JWT_SECRET is not set"),
            "{error}"
        );
        let error = config(&[URL, ("JWT_SECRET", "too-short")]).unwrap_err();
        assert!(error.to_string().contains("at least 32 bytes"), "{error}");
        assert!(
            !error.to_string().contains("too-short"),
            "secrets are not echoed: {error}"
        );
    }

    #[test]
    fn rate_limits_are_checked_at_start_up() {
        let limited = config(&[URL, JWT, ("RATE_LIMITS", "auth.login=30/min")]).unwrap();
        assert_eq!(
            limited.rate_limits.limit("auth.login").unwrap().to_string(),
            "30/min"
        );
        let error = config_error(&[URL, JWT, ("RATE_LIMITS", "auth.logon=30/min")]);
        assert!(error.contains("unknown key `auth.logon`"), "{error}");
        let error = config_error(&[URL, JWT, ("RATE_LIMITS", "auth.login=lots")]);
        assert!(error.contains("RATE_LIMITS"), "{error}");
        let off = config(&[URL, JWT, ("RATE_LIMITS", "off")]).unwrap();
        assert_eq!(off.rate_limits.limit("auth.login"), None);
    }

    #[test]
    fn trusted_proxies_default_to_none_and_are_checked() {
        let none = config(&[URL, JWT]).unwrap();
        assert!(none.trusted_proxies.is_empty());
        let set = config(&[URL, JWT, ("TRUSTED_PROXIES", "10.0.0.0/8, 192.0.2.7")]).unwrap();
        assert!(set.trusted_proxies.contains("10.9.8.7".parse().unwrap()));
        assert!(set.trusted_proxies.contains("192.0.2.7".parse().unwrap()));
        for (value, says) in [
            (
                "10.0.0.0/8, proxy.internal",
                "`proxy.internal` is not an IP address",
            ),
            ("10.0.0.0/40", "`10.0.0.0/40`"),
            ("0.0.0.0/0", "trust every client"),
        ] {
            let error = config_error(&[URL, JWT, ("TRUSTED_PROXIES", value)]);
            assert!(error.starts_with("TRUSTED_PROXIES="), "{error}");
            assert!(error.contains(says), "{error}");
        }
    }

    fn config_error(vars: &[(&str, &str)]) -> String {
        config(vars).unwrap_err().to_string()
    }

    #[test]
    fn invalid_values_name_the_variable_and_hide_passwords() {
        let error = config(&[URL, JWT, ("HTTP_ADDR", "localhost")]).unwrap_err();
        assert!(
            error
                .to_string()
                .starts_with("HTTP_ADDR=\"localhost\" is invalid"),
            "{error}"
        );
        let error = config(&[URL, JWT, ("DATABASE_POOL_SIZE", "0")]).unwrap_err();
        assert!(error.to_string().contains("DATABASE_POOL_SIZE"), "{error}");
        let error = config(&[URL, JWT, ("OUTBOX_POLL_INTERVAL", "soon")]).unwrap_err();
        assert!(
            error.to_string().contains("OUTBOX_POLL_INTERVAL"),
            "{error}"
        );
        let error = config(&[("DATABASE_URL", "mysql://u:secret@h/db"), JWT]).unwrap_err();
        assert!(!error.to_string().contains("secret"), "{error}");
        assert!(error.to_string().contains("DATABASE_URL"), "{error}");
    }
}
