//! Configuration from the environment (see `.env.example`): the app's own
//! settings here, each context's section in its infrastructure crate (read
//! when the context is built, before anything starts). Every value is
//! checked at start-up; a missing or invalid one stops the process with a
//! message naming the variable.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

pub use hub_platform_context::{ConfigError, parse};
use hub_platform_context::{Env, Lookup};
use hub_platform_http::client_ip::TrustedProxies;
use hub_platform_http::rate_limit::RateLimits;

/// Where configuration values come from: the process environment, or a
/// map in tests. Contexts read their own sections through it.
#[derive(Clone)]
pub struct Source(Lookup);

impl std::fmt::Debug for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Source")
    }
}

impl Source {
    pub fn lookup(&self) -> Lookup {
        self.0.clone()
    }
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
    /// When the daily retention job runs (`RETENTION_CRON_TIME`, `RETENTION_TZ_OFFSET`).
    pub retention_at: crate::ops::retention::DailyAt,
    /// Days dispatched events are kept (`EVENT_LOG_RETENTION_DAYS`).
    pub event_log_retention_days: u32,
    /// The cluster bus (`EVENT_BUS_URL=nats://…` and `EVENT_BUS_*`); `None`:
    /// the in-process bus alone.
    pub event_bus: Option<hub_platform_nats::NatsConfig>,
    /// Where the values came from, for the contexts' own sections.
    pub source: Source,
}

impl Config {
    /// Reads the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads configuration through `lookup` (the environment, or a map in tests).
    pub fn from_lookup(
        lookup: impl Fn(&str) -> Option<String> + Send + Sync + 'static,
    ) -> Result<Self, ConfigError> {
        let source = Source(Arc::new(lookup));
        let lookup = source.lookup();
        let env = Env::new(&*lookup);
        let trusted_proxies = env.parse_or("TRUSTED_PROXIES", TrustedProxies::none(), |v| {
            TrustedProxies::parse(v).map_err(|e| e.to_string())
        })?;
        Ok(Self {
            database_url: database_url(&env)?,
            rate_limits: {
                let spec = env.get("RATE_LIMITS");
                RateLimits::from_spec(spec.as_deref(), &crate::rate_limit_rules())
                    .map_err(|e| {
                        ConfigError::invalid(
                            "RATE_LIMITS",
                            spec.as_deref().unwrap_or_default(),
                            e.to_string(),
                        )
                    })?
                    .with_trusted_proxies(trusted_proxies.clone())
            },
            trusted_proxies,
            database_pool_size: env.parse_or("DATABASE_POOL_SIZE", 16, parse::positive)?,
            http_addr: env.parse_or(
                "HTTP_ADDR",
                SocketAddr::from(([127, 0, 0, 1], 8080)),
                |v| {
                    v.parse()
                        .map_err(|e| format!("{e} (expected host:port, e.g. 127.0.0.1:8080)"))
                },
            )?,
            http_body_limit: env.parse_or("HTTP_BODY_LIMIT", 64 * 1024, parse::positive)?,
            // Loopback by default: metrics are for the operator, not the public.
            metrics_addr: env.parse_or(
                "METRICS_ADDR",
                Some(SocketAddr::from(([127, 0, 0, 1], 9464))),
                |v| {
                    if v.eq_ignore_ascii_case("off") {
                        return Ok(None);
                    }
                    v.parse().map(Some).map_err(|e| {
                        format!("{e} (expected host:port, e.g. 127.0.0.1:9464, or off)")
                    })
                },
            )?,
            metrics_token: env.secret_or("METRICS_TOKEN", None, |v| {
                crate::ops::metrics::MetricsToken::new(v)
                    .map(Some)
                    .map_err(|e| e.to_string())
            })?,
            metrics_refresh_interval: env.parse_or(
                "METRICS_REFRESH_INTERVAL",
                Duration::from_secs(15),
                parse::positive_duration,
            )?,
            log_format: env.parse_or("LOG_FORMAT", LogFormat::Json, |v| match v {
                "json" => Ok(LogFormat::Json),
                "pretty" => Ok(LogFormat::Pretty),
                _ => Err("expected `json` or `pretty`".into()),
            })?,
            outbox_poll_interval: env.parse_or(
                "OUTBOX_POLL_INTERVAL",
                Duration::from_secs(1),
                parse::duration,
            )?,
            outbox_batch_size: env.parse_or("OUTBOX_BATCH_SIZE", 100, |v| {
                let n: usize = parse::positive(v)?;
                u32::try_from(n).map_err(|_| "too large".to_string())
            })?,
            event_history_capacity: env.parse_or("EVENT_HISTORY_CAPACITY", 1000, |v| {
                v.parse().map_err(|e| format!("{e}"))
            })?,
            event_handler_timeout: env.parse_or(
                "EVENT_HANDLER_TIMEOUT",
                Duration::from_secs(5),
                parse::duration,
            )?,
            shutdown_timeout: env.parse_or(
                "SHUTDOWN_TIMEOUT",
                Duration::from_secs(30),
                parse::duration,
            )?,
            retention_at: {
                let at = env
                    .get("RETENTION_CRON_TIME")
                    .unwrap_or_else(|| "03:00".to_owned());
                let offset = env
                    .get("RETENTION_TZ_OFFSET")
                    .unwrap_or_else(|| "Z".to_owned());
                crate::ops::retention::DailyAt::parse(&at, &offset).map_err(|reason| {
                    let var = if reason.contains("offset") {
                        "RETENTION_TZ_OFFSET"
                    } else {
                        "RETENTION_CRON_TIME"
                    };
                    ConfigError::invalid(
                        var,
                        if var == "RETENTION_TZ_OFFSET" {
                            &offset
                        } else {
                            &at
                        },
                        reason,
                    )
                })?
            },
            event_log_retention_days: env.parse_or("EVENT_LOG_RETENTION_DAYS", 90, parse::days)?,
            event_bus: event_bus(&env)?,
            source: source.clone(),
        })
    }
}

/// The JetStream bus's settings, when `EVENT_BUS_URL` names a NATS server.
fn event_bus(env: &Env<'_>) -> Result<Option<hub_platform_nats::NatsConfig>, ConfigError> {
    // The URL may carry credentials: never echoed.
    let Some(url) = env.secret_or("EVENT_BUS_URL", None, |v| {
        let schemes = v.split(',').all(|url| {
            let url = url.trim();
            url.starts_with("nats://") || url.starts_with("tls://")
        });
        if schemes {
            Ok(Some(v.to_owned()))
        } else {
            Err("expected nats://host:port (several separated by commas), or unset for the in-process bus".into())
        }
    })?
    else {
        return Ok(None);
    };
    let defaults = hub_platform_nats::NatsConfig::new(url);
    let name = |v: &str| {
        if v.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        {
            Ok(v.to_owned())
        } else {
            Err("letters, digits, `_` and `-` only".to_owned())
        }
    };
    Ok(Some(hub_platform_nats::NatsConfig {
        stream: env.parse_or("EVENT_BUS_STREAM", defaults.stream.clone(), name)?,
        subject_prefix: env.parse_or(
            "EVENT_BUS_SUBJECT_PREFIX",
            defaults.subject_prefix.clone(),
            |v| {
                if v.split('.')
                    .all(|token| name(token).is_ok() && !token.is_empty())
                {
                    Ok(v.to_owned())
                } else {
                    Err("dot-separated tokens of letters, digits, `_` and `-`".to_owned())
                }
            },
        )?,
        consumer: env.parse_or("EVENT_BUS_GROUP", defaults.consumer.clone(), name)?,
        max_age: env.parse_or(
            "EVENT_BUS_MAX_AGE",
            defaults.max_age,
            parse::positive_duration,
        )?,
        max_bytes: env.parse_or("EVENT_BUS_MAX_BYTES", defaults.max_bytes, |v| {
            match v.parse::<u64>() {
                Ok(0) | Err(_) => Err("a number of bytes, at least 1".to_owned()),
                Ok(bytes) => Ok(Some(bytes)),
            }
        })?,
        replicas: env.parse_or(
            "EVENT_BUS_REPLICAS",
            defaults.replicas,
            |v| match parse::positive(v)? {
                n @ 1..=5 => Ok(n),
                _ => Err("JetStream allows 1 to 5 replicas".to_owned()),
            },
        )?,
        duplicate_window: env.parse_or(
            "EVENT_BUS_DUPLICATE_WINDOW",
            defaults.duplicate_window,
            parse::positive_duration,
        )?,
        ..defaults
    }))
}

/// Only the database URL, for commands that need nothing else (`migrate`,
/// `create-admin`).
pub fn database_url_from_env() -> Result<String, ConfigError> {
    let lookup = |name: &str| std::env::var(name).ok();
    database_url(&Env::new(&lookup))
}

fn database_url(env: &Env<'_>) -> Result<String, ConfigError> {
    env.required(
        "DATABASE_URL",
        "set it to a PostgreSQL URL (`make run` provisions a local database when it is unset)",
        parse_database_url,
    )
    // Never echo a URL's password back into logs.
    .map_err(|error| match error {
        ConfigError::Invalid { var, value, reason } => ConfigError::Invalid {
            var,
            value: redact_url(&value),
            reason,
        },
        missing => missing,
    })
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn config(vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        Config::from_lookup(move |name| map.get(name).cloned())
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
    fn the_nats_bus_is_chosen_by_event_bus_url_and_its_settings_are_checked() {
        assert_eq!(config(&[URL, JWT]).unwrap().event_bus, None);
        let nats = config(&[
            URL,
            JWT,
            (
                "EVENT_BUS_URL",
                "nats://hub:secret@nats-1:4222,nats://nats-2:4222",
            ),
            ("EVENT_BUS_GROUP", "reporting"),
            ("EVENT_BUS_MAX_AGE", "3d"),
            ("EVENT_BUS_MAX_BYTES", "1073741824"),
            ("EVENT_BUS_REPLICAS", "3"),
        ])
        .unwrap()
        .event_bus
        .unwrap();
        assert_eq!(nats.url, "nats://hub:secret@nats-1:4222,nats://nats-2:4222");
        assert_eq!(nats.consumer, "reporting");
        assert_eq!(nats.stream, "HUB_EVENTS");
        assert_eq!(
            nats.subject("chantier.created"),
            "hub.events.chantier.created"
        );
        assert_eq!(nats.max_age, Duration::from_secs(3 * 24 * 3600));
        assert_eq!(nats.max_bytes, Some(1 << 30));
        assert_eq!(nats.replicas, 3);

        let error = config_error(&[URL, JWT, ("EVENT_BUS_URL", "redis://hub:secret@x:6379")]);
        assert!(error.starts_with("EVENT_BUS_URL"), "{error}");
        assert!(
            !error.contains("secret"),
            "credentials are not echoed: {error}"
        );
        for (var, value) in [
            ("EVENT_BUS_GROUP", "a.b"),
            ("EVENT_BUS_STREAM", "HUB EVENTS"),
            ("EVENT_BUS_SUBJECT_PREFIX", "hub.>"),
            ("EVENT_BUS_MAX_AGE", "0s"),
            ("EVENT_BUS_MAX_BYTES", "0"),
            ("EVENT_BUS_REPLICAS", "7"),
        ] {
            let error = config_error(&[
                URL,
                JWT,
                ("EVENT_BUS_URL", "nats://127.0.0.1:4222"),
                (var, value),
            ]);
            assert!(error.starts_with(var), "{error}");
        }
    }

    #[test]
    fn retention_settings_are_checked() {
        let config = config(&[URL, JWT]).unwrap();
        assert_eq!(config.event_log_retention_days, 90);
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
