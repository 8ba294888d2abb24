//! The webhooks context as the app lists it: its configuration section
//! (`WEBHOOK_SECRETS_*`, `WEBHOOKS_*`, `WEBHOOK_DELIVERY_RETENTION_DAYS`)
//! and what it runs — the `/api/v1/webhooks*` and `/api/v1/event-types`
//! routes, the access-scoping read models, the delivery fan-out, the
//! delivery workers and the retention of its logs.

use std::sync::Arc;
use std::time::Duration;

use actix_web::web;
use futures::FutureExt;
use hub_platform_context::{
    ConfigError, Context, Env, Module, ModuleError, Platform, Worker, parse,
};
use hub_platform_outbound::{
    AllowList, HickoryResolver, NameResolver, OutboundClient, OutboundConfig,
};
use hub_webhooks_application::WebhookPorts;
use hub_webhooks_domain::RetrySchedule;
use utoipa::OpenApi;

use crate::{
    AeadSecretVault, DeliveryAttemptsRetention, DeliveryConfig, DeliveryEngine, DeliveryFanOut,
    DeliveryWaker, DieselDeliveryRepository, DieselScopeReadModel, DieselWebhookRepository,
    ExpiredPreviousSecrets, FinishedDeliveriesRetention, OutboundDestinations, OwnerProjector,
    RATE_LIMIT_RULES, SecretKey, StaticEventCatalog, WebhookRateLimits, WebhooksApi, WebhooksHttp,
    chantier_scope,
};

/// The webhooks context.
pub const CONTEXT: Context = Context {
    name: "webhooks",
    openapi: WebhooksApi::openapi,
    event_catalog: hub_webhooks_domain::event_catalog,
    rate_limits: RATE_LIMIT_RULES,
    build,
};

/// The webhooks context's section of the configuration.
#[derive(Debug, Clone)]
pub struct WebhooksSettings {
    /// Encrypts webhook secrets at rest (`WEBHOOK_SECRETS_KEY`, base64 of 32 bytes).
    pub secrets_key: SecretKey,
    /// Older keys that still decrypt what they encrypted (`WEBHOOK_SECRETS_OLD_KEYS`).
    pub secrets_old_keys: Vec<SecretKey>,
    /// Accept `http://` receivers (`WEBHOOKS_ALLOW_HTTP`, development only).
    pub allow_http: bool,
    /// Receivers allowed despite the SSRF policy (`WEBHOOKS_ALLOWED_CIDRS`).
    pub allowed_cidrs: AllowList,
    /// Extra trusted CA certificates, PEM (read from `WEBHOOKS_EXTRA_CA_FILE`).
    pub extra_ca: Option<Vec<u8>>,
    /// Delivery requests in flight per process (`WEBHOOKS_MAX_IN_FLIGHT`).
    pub max_in_flight: usize,
    /// …and per webhook (`WEBHOOKS_MAX_IN_FLIGHT_PER_ENDPOINT`).
    pub max_in_flight_per_endpoint: usize,
    /// …per owner, all their webhooks together (`WEBHOOKS_MAX_IN_FLIGHT_PER_OWNER`).
    pub max_in_flight_per_owner: usize,
    /// …per destination `host[:port]` (`WEBHOOKS_MAX_IN_FLIGHT_PER_HOST`).
    pub max_in_flight_per_host: usize,
    /// Delays between delivery attempts (`WEBHOOKS_RETRY_SCHEDULE`).
    pub retry_schedule: RetrySchedule,
    /// Whole delivery request, redirects and body included (`WEBHOOKS_TIMEOUT`).
    pub timeout: Duration,
    /// Fallback polling of the delivery queue (`WEBHOOKS_POLL_INTERVAL`).
    pub poll_interval: Duration,
    /// How long a claimed delivery stays leased (`WEBHOOKS_LEASE_DURATION`).
    pub lease: Duration,
    /// What deliveries held for a free slot may weigh in all
    /// (`WEBHOOKS_MAX_HELD_BYTES`; 0: none held).
    pub max_held_bytes: usize,
    /// Days delivery attempts are kept (`WEBHOOK_DELIVERY_RETENTION_DAYS`).
    pub delivery_retention_days: u32,
}

impl WebhooksSettings {
    pub fn from_env(env: &Env<'_>) -> Result<Self, ConfigError> {
        let settings = Self {
            secrets_key: env.required_secret(
                "WEBHOOK_SECRETS_KEY",
                "set it to the base64 of 32 random bytes, e.g. `openssl rand -base64 32` (`make run` generates one under .data/)",
                |v| SecretKey::from_base64(v).map_err(|e| e.to_string()),
            )?,
            secrets_old_keys: env.secret_or("WEBHOOK_SECRETS_OLD_KEYS", Vec::new(), |v| {
                SecretKey::parse_list(v).map_err(|e| format!("a key {e}"))
            })?,
            allow_http: env.parse_or("WEBHOOKS_ALLOW_HTTP", false, parse::switch)?,
            allowed_cidrs: env.parse_or("WEBHOOKS_ALLOWED_CIDRS", AllowList::default(), |v| {
                AllowList::parse(v).map_err(|e| e.to_string())
            })?,
            extra_ca: env.parse_or("WEBHOOKS_EXTRA_CA_FILE", None, |path| {
                std::fs::read(path)
                    .map(Some)
                    .map_err(|e| format!("cannot read the file: {e}"))
            })?,
            max_in_flight: env.parse_or("WEBHOOKS_MAX_IN_FLIGHT", 50, parse::positive)?,
            max_in_flight_per_endpoint: env.parse_or(
                "WEBHOOKS_MAX_IN_FLIGHT_PER_ENDPOINT",
                10,
                parse::positive,
            )?,
            max_in_flight_per_owner: env.parse_or(
                "WEBHOOKS_MAX_IN_FLIGHT_PER_OWNER",
                20,
                parse::positive,
            )?,
            max_in_flight_per_host: env.parse_or(
                "WEBHOOKS_MAX_IN_FLIGHT_PER_HOST",
                20,
                parse::positive,
            )?,
            retry_schedule: env.parse_or(
                "WEBHOOKS_RETRY_SCHEDULE",
                RetrySchedule::default(),
                parse_retry_schedule,
            )?,
            timeout: env.parse_or(
                "WEBHOOKS_TIMEOUT",
                Duration::from_secs(10),
                parse::positive_duration,
            )?,
            poll_interval: env.parse_or(
                "WEBHOOKS_POLL_INTERVAL",
                Duration::from_millis(500),
                parse::positive_duration,
            )?,
            lease: env.parse_or(
                "WEBHOOKS_LEASE_DURATION",
                Duration::from_secs(60),
                parse::positive_duration,
            )?,
            max_held_bytes: env.parse_or(
                "WEBHOOKS_MAX_HELD_BYTES",
                DeliveryConfig::default().max_held_bytes,
                |v| {
                    v.parse::<usize>()
                        .map_err(|_| "expected a number of bytes, e.g. 8388608 (0: hold none)".to_owned())
                },
            )?,
            delivery_retention_days: env.parse_or(
                "WEBHOOK_DELIVERY_RETENTION_DAYS",
                90,
                parse::days,
            )?,
        };
        settings.checked(env)
    }

    /// Rules between variables.
    fn checked(self, env: &Env<'_>) -> Result<Self, ConfigError> {
        if self.max_in_flight_per_endpoint > self.max_in_flight {
            return Err(ConfigError::invalid(
                "WEBHOOKS_MAX_IN_FLIGHT_PER_ENDPOINT",
                &env.get("WEBHOOKS_MAX_IN_FLIGHT_PER_ENDPOINT")
                    .unwrap_or_default(),
                format!(
                    "must not exceed WEBHOOKS_MAX_IN_FLIGHT ({})",
                    self.max_in_flight
                ),
            ));
        }
        // A lease shorter than a request would let another worker send the
        // same delivery while the first is still waiting for its answer.
        if self.lease <= self.timeout + Duration::from_secs(1) {
            return Err(ConfigError::invalid(
                "WEBHOOKS_LEASE_DURATION",
                &env.get("WEBHOOKS_LEASE_DURATION")
                    .unwrap_or_else(|| "60s".to_owned()),
                format!(
                    "must be more than WEBHOOKS_TIMEOUT ({}) plus 1s",
                    humantime::format_duration(self.timeout)
                ),
            ));
        }
        Ok(self)
    }

    /// The SSRF-safe client deliveries and URL checks use, resolving names
    /// with `resolver` (the system's DNS in production).
    pub fn outbound_client(
        &self,
        resolver: Arc<dyn NameResolver>,
    ) -> Result<OutboundClient, hub_platform_outbound::BuildError> {
        let defaults = OutboundConfig::default();
        OutboundClient::new(
            OutboundConfig {
                allow_http: self.allow_http,
                allowed_cidrs: self.allowed_cidrs.clone(),
                extra_root_certificates: self.extra_ca.iter().cloned().collect(),
                timeout: self.timeout,
                connect_timeout: defaults.connect_timeout.min(self.timeout),
                ..defaults
            },
            resolver,
        )
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

fn start(error: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> ModuleError {
    ModuleError::start("webhooks", error)
}

fn build(platform: &Platform) -> Result<Module, ModuleError> {
    let settings = WebhooksSettings::from_env(&platform.env())?;
    // One client: the same SSRF policy checks URLs at creation and at delivery.
    let resolver: Arc<dyn NameResolver> = match platform.seam::<Arc<dyn NameResolver>>() {
        Some(resolver) => resolver,
        None => Arc::new(HickoryResolver::from_system_conf().map_err(start)?),
    };
    let outbound = settings.outbound_client(resolver).map_err(|e| {
        start(format!(
            "cannot build the webhooks HTTP client (is WEBHOOKS_EXTRA_CA_FILE a PEM certificate?): {e}"
        ))
    })?;
    let database = &platform.database;
    // Rung by the fan-out and the test route for the workers.
    let waker = DeliveryWaker::new();
    let ports = WebhookPorts {
        webhooks: Arc::new(DieselWebhookRepository::new(database.clone())),
        deliveries: Arc::new(DieselDeliveryRepository::new(
            database.clone(),
            waker.clone(),
        )),
        catalog: Arc::new(StaticEventCatalog::from(&*platform.catalog)),
        destinations: Arc::new(OutboundDestinations::new(outbound.clone())),
        scope: Arc::new(DieselScopeReadModel::new(database.clone())),
        vault: Arc::new(AeadSecretVault::new(
            &settings.secrets_key,
            &settings.secrets_old_keys,
        )),
        clock: platform.clock.clone(),
        schedule: settings.retry_schedule.clone(),
    };
    let engine = DeliveryEngine::new(
        database.clone(),
        outbound,
        ports.clone(),
        waker.clone(),
        DeliveryConfig {
            max_in_flight: settings.max_in_flight,
            max_in_flight_per_endpoint: settings.max_in_flight_per_endpoint,
            max_in_flight_per_owner: settings.max_in_flight_per_owner,
            max_in_flight_per_host: settings.max_in_flight_per_host,
            slow_after: DeliveryConfig::default().slow_after,
            poll_interval: settings.poll_interval,
            lease: settings.lease,
            max_held_bytes: settings.max_held_bytes,
            // What is left of the lease must cover a request (checked above:
            // the lease is longer than the timeout plus 1 s).
            hold_for: settings
                .lease
                .saturating_sub(settings.timeout + Duration::from_secs(1)),
            // What is left of SHUTDOWN_TIMEOUT serves to record the
            // outcomes and release the leases.
            shutdown_grace: platform.shutdown_timeout.mul_f64(0.8),
        },
    );
    let state = web::Data::new(WebhooksHttp::new(ports).with_body_limit(platform.http_body_limit));
    let limits = WebhookRateLimits::from_limits(&platform.rate_limits).map_err(start)?;
    let days = settings.delivery_retention_days;
    Ok(Module::new()
        .routes(move |cfg| crate::http::configure(cfg, state.clone(), limits.clone()))
        // Access scoping: read models kept in step with the events.
        .projection(chantier_scope())
        .projection(OwnerProjector::new())
        // After the projections, so that an event is fanned out to the
        // recipients it itself makes (a chantier.created naming a conducteur).
        .durable_subscriber(Arc::new(DeliveryFanOut::new(
            settings.retry_schedule,
            waker,
        )))
        .worker(Worker::new("webhook deliveries", move |shutdown| {
            engine.run(shutdown).boxed()
        }))
        .retention(Arc::new(DeliveryAttemptsRetention), days)
        .retention(Arc::new(FinishedDeliveriesRetention), days)
        // A previous secret is useless once its grace period is over: its
        // ciphertext goes at the first run after it expired.
        .retention(Arc::new(ExpiredPreviousSecrets), 0))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    /// base64 of 32 bytes.
    const KEY: (&str, &str) = (
        "WEBHOOK_SECRETS_KEY",
        "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=",
    );

    /// The settings read from `vars`, with a valid secrets key unless the
    /// test sets its own (`""` unsets it).
    fn settings(vars: &[(&str, &str)]) -> Result<WebhooksSettings, ConfigError> {
        let map: std::collections::HashMap<String, String> = std::iter::once(KEY)
            .chain(vars.iter().copied())
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect();
        let lookup = move |name: &str| map.get(name).cloned();
        WebhooksSettings::from_env(&Env::new(&lookup))
    }

    fn settings_error(vars: &[(&str, &str)]) -> String {
        settings(vars).unwrap_err().to_string()
    }

    #[test]
    fn webhook_settings_have_safe_defaults_and_name_the_variable() {
        let defaults = settings(&[]).unwrap();
        assert!(!defaults.allow_http);
        assert!(defaults.allowed_cidrs.is_empty());
        assert!(defaults.extra_ca.is_none());
        assert!(defaults.secrets_old_keys.is_empty());
        assert_eq!(defaults.secrets_key.id().len(), 16);

        let missing = settings_error(&[("WEBHOOK_SECRETS_KEY", "")]);
        assert!(
            missing.starts_with("WEBHOOK_SECRETS_KEY is not set"),
            "{missing}"
        );
        let short = settings_error(&[("WEBHOOK_SECRETS_KEY", "c2hvcnQ=")]);
        assert!(
            short.starts_with("WEBHOOK_SECRETS_KEY=\"***\" is invalid")
                && short.contains("32 bytes"),
            "{short}"
        );
        let old = settings_error(&[("WEBHOOK_SECRETS_OLD_KEYS", "MDEy,???")]);
        assert!(old.starts_with("WEBHOOK_SECRETS_OLD_KEYS=\"***\""), "{old}");

        let set = settings(&[
            ("WEBHOOKS_ALLOW_HTTP", "true"),
            ("WEBHOOKS_ALLOWED_CIDRS", "127.0.0.0/8, 10.1.0.0/16"),
            (
                "WEBHOOK_SECRETS_OLD_KEYS",
                "YWJjZGVmZ2hpamtsbW5vcHFyc3R1dnd4eXoxMjM0NTY=",
            ),
        ])
        .unwrap();
        assert!(set.allow_http);
        assert!(set.allowed_cidrs.contains("127.0.0.1".parse().unwrap()));
        assert_eq!(set.secrets_old_keys.len(), 1);
        for (var, value) in [
            ("WEBHOOKS_ALLOW_HTTP", "maybe"),
            ("WEBHOOKS_ALLOWED_CIDRS", "10.0.0.0/33"),
            ("WEBHOOKS_EXTRA_CA_FILE", "/nonexistent/ca.pem"),
        ] {
            let error = settings_error(&[(var, value)]);
            assert!(error.starts_with(var), "{error}");
        }
    }

    #[test]
    fn delivery_settings_default_to_the_design_and_are_checked() {
        let defaults = settings(&[]).unwrap();
        assert_eq!(defaults.max_in_flight, 50);
        assert_eq!(defaults.max_in_flight_per_endpoint, 10);
        assert_eq!(
            defaults.retry_schedule.delays(),
            [
                Duration::from_secs(2),
                Duration::from_secs(4),
                Duration::from_secs(8)
            ]
        );
        assert_eq!(defaults.timeout, Duration::from_secs(10));
        assert_eq!(defaults.poll_interval, Duration::from_millis(500));
        assert_eq!(defaults.lease, Duration::from_secs(60));
        assert_eq!(defaults.max_held_bytes, 8 * 1024 * 1024);
        assert_eq!(defaults.delivery_retention_days, 90);
        assert!(
            settings_error(&[("WEBHOOK_DELIVERY_RETENTION_DAYS", "0")])
                .starts_with("WEBHOOK_DELIVERY_RETENTION_DAYS")
        );

        let set = settings(&[
            ("WEBHOOKS_RETRY_SCHEDULE", " 5s, 5m,30m ,2h,5h,10h"),
            ("WEBHOOKS_MAX_IN_FLIGHT", "8"),
            ("WEBHOOKS_MAX_IN_FLIGHT_PER_ENDPOINT", "8"),
            ("WEBHOOKS_TIMEOUT", "300ms"),
            ("WEBHOOKS_LEASE_DURATION", "2s"),
        ])
        .unwrap();
        let hours = |h: u64| Duration::from_secs(h * 3600);
        assert_eq!(
            set.retry_schedule.delays(),
            [
                Duration::from_secs(5),
                Duration::from_secs(300),
                Duration::from_secs(1800),
                hours(2),
                hours(5),
                hours(10)
            ]
        );
        assert_eq!(set.timeout, Duration::from_millis(300));
        let tests = settings(&[("WEBHOOKS_RETRY_SCHEDULE", "50ms,100ms,150ms")]).unwrap();
        assert_eq!(tests.retry_schedule.delays()[0], Duration::from_millis(50));

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
            ("WEBHOOKS_MAX_HELD_BYTES", "8MB", "a number of bytes"),
        ] {
            let error = settings_error(&[(var, value)]);
            assert!(error.starts_with(var), "{error}");
            assert!(error.contains(says), "{error}");
        }
    }
}
