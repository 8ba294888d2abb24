//! Rate limits per user or per client IP (governor's GCRA), one per route
//! family, configured by the `RATE_LIMITS` variable.
//!
//! Each context declares its limits as [`RateLimitRule`]s with defaults;
//! `RATE_LIMITS=auth.login=30/min,webhooks.create=5/min` overrides some,
//! `RATE_LIMITS=off` disables them all (load tests). A route wraps itself in
//! the [`RateLimit`] middleware for its key. A refused request gets 429 with
//! `Retry-After` and the `RateLimit-*` headers; allowed ones get the headers too.
//!
//! Per-address limits count the client that [`TrustedProxies`] resolves
//! (the TCP peer unless it is a trusted reverse proxy), IPv6 clients by
//! their /64 ([`client_ip::limit_key`]).

use std::collections::HashMap;
use std::fmt;
use std::future::{Ready, ready};
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::rc::Rc;
use std::str::FromStr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{Service, ServiceRequest, ServiceResponse, Transform, forward_ready};
use actix_web::http::StatusCode;
use actix_web::http::header::{HeaderName, HeaderValue, RETRY_AFTER};
use actix_web::{Error, ResponseError};
use futures::future::LocalBoxFuture;
use governor::clock::{Clock, DefaultClock};
use governor::middleware::StateInformationMiddleware;
use governor::state::keyed::DefaultKeyedStateStore;
use governor::{Quota, RateLimiter};
use uuid::Uuid;

use crate::client_ip::{self, TrustedProxies};
use crate::{Problem, auth};

const RATELIMIT_LIMIT: HeaderName = HeaderName::from_static("ratelimit-limit");
const RATELIMIT_REMAINING: HeaderName = HeaderName::from_static("ratelimit-remaining");
const RATELIMIT_RESET: HeaderName = HeaderName::from_static("ratelimit-reset");
const RATELIMIT_POLICY: HeaderName = HeaderName::from_static("ratelimit-policy");

/// Stale keys are swept after this many checks, so that the per-key state
/// of one-off clients does not accumulate.
const SWEEP_EVERY: u64 = 1024;

/// The window of a limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Period {
    Second,
    Minute,
    Hour,
}

impl Period {
    fn duration(self) -> Duration {
        match self {
            Period::Second => Duration::from_secs(1),
            Period::Minute => Duration::from_secs(60),
            Period::Hour => Duration::from_secs(3600),
        }
    }

    fn name(self) -> &'static str {
        match self {
            Period::Second => "s",
            Period::Minute => "min",
            Period::Hour => "hour",
        }
    }
}

/// `count` requests per `period`, e.g. `30/min`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limit {
    pub count: NonZeroU32,
    pub period: Period,
}

impl Limit {
    /// `count` per minute; a zero count fails to compile when used in a constant.
    pub const fn per_minute(count: u32) -> Self {
        let count = match NonZeroU32::new(count) {
            Some(count) => count,
            None => panic!("a rate limit needs a count of at least 1"),
        };
        Self {
            count,
            period: Period::Minute,
        }
    }
}

impl fmt::Display for Limit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.count, self.period.name())
    }
}

impl FromStr for Limit {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (count, period) = s
            .split_once('/')
            .ok_or_else(|| format!("`{s}` is not of the form <count>/<s|min|hour>"))?;
        let count: u32 = count
            .trim()
            .parse()
            .map_err(|_| format!("`{count}` is not a number"))?;
        let count = NonZeroU32::new(count)
            .ok_or("a limit of 0 would refuse everything; use RATE_LIMITS=off to disable")?;
        let period = match period.trim() {
            "s" | "sec" | "second" => Period::Second,
            "m" | "min" | "minute" => Period::Minute,
            "h" | "hour" => Period::Hour,
            other => return Err(format!("unknown period `{other}` (use s, min or hour)")),
        };
        Ok(Self { count, period })
    }
}

/// Whom a limit counts: each authenticated user, or each client address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// Per authenticated user (unauthenticated requests count per IP).
    PerUser,
    /// Per client IP: the TCP peer, or the address a trusted proxy reports
    /// (`TRUSTED_PROXIES`); IPv6 clients per /64.
    PerIp,
}

/// A limit a context declares: its key in `RATE_LIMITS` and its default.
#[derive(Debug, Clone, Copy)]
pub struct RateLimitRule {
    pub key: &'static str,
    pub default: Limit,
    pub scope: Scope,
}

/// `RATE_LIMITS` could not be understood.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RateLimitConfigError {
    #[error("RATE_LIMITS: unknown key `{key}` (known: {known})")]
    UnknownKey { key: String, known: String },
    #[error("RATE_LIMITS: `{entry}`: {reason}")]
    Syntax { entry: String, reason: String },
}

/// The limits in force, one limiter per key, shared by all workers.
#[derive(Debug, Clone)]
pub struct RateLimits {
    limits: HashMap<&'static str, RateLimit>,
    proxies: Arc<TrustedProxies>,
}

impl RateLimits {
    /// Builds the limiters from the declared `rules` and the `RATE_LIMITS`
    /// value (`None` or empty: the defaults).
    pub fn from_spec(
        spec: Option<&str>,
        rules: &[RateLimitRule],
    ) -> Result<Self, RateLimitConfigError> {
        let spec = spec.map(str::trim).unwrap_or_default();
        let disabled = spec.eq_ignore_ascii_case("off");
        let mut chosen: HashMap<&'static str, (Limit, Scope)> = rules
            .iter()
            .map(|r| (r.key, (r.default, r.scope)))
            .collect();
        if !disabled {
            for entry in spec.split(',').map(str::trim).filter(|e| !e.is_empty()) {
                let syntax = |reason: String| RateLimitConfigError::Syntax {
                    entry: entry.to_owned(),
                    reason,
                };
                let (key, value) = entry.split_once('=').ok_or_else(|| {
                    syntax("expected <key>=<count>/<period>, e.g. auth.login=30/min".into())
                })?;
                let key = key.trim();
                let Some((_, (limit, _))) = chosen.iter_mut().find(|(k, _)| **k == key) else {
                    let mut known: Vec<&str> = rules.iter().map(|r| r.key).collect();
                    known.sort_unstable();
                    return Err(RateLimitConfigError::UnknownKey {
                        key: key.to_owned(),
                        known: known.join(", "),
                    });
                };
                *limit = value.parse().map_err(syntax)?;
            }
        }
        let limits = chosen
            .into_iter()
            .map(|(key, (limit, scope))| {
                let layer = if disabled {
                    RateLimit::disabled()
                } else {
                    RateLimit::new(key, limit, scope)
                };
                (key, layer)
            })
            .collect();
        Ok(Self {
            limits,
            proxies: Arc::new(TrustedProxies::none()),
        })
    }

    /// Believes `X-Forwarded-For` from these proxies (`TRUSTED_PROXIES`)
    /// in every per-address limit handed out by [`RateLimits::layer`].
    pub fn with_trusted_proxies(mut self, proxies: TrustedProxies) -> Self {
        self.proxies = Arc::new(proxies);
        self
    }

    /// The middleware for `key`; a key no context declared is a wiring bug,
    /// reported at start-up.
    pub fn layer(&self, key: &str) -> Result<RateLimit, RateLimitConfigError> {
        let layer = self.limits.get(key).cloned().map(|layer| RateLimit {
            proxies: self.proxies.clone(),
            ..layer
        });
        layer.ok_or_else(|| {
            let mut known: Vec<&str> = self.limits.keys().copied().collect();
            known.sort_unstable();
            RateLimitConfigError::UnknownKey {
                key: key.to_owned(),
                known: known.join(", "),
            }
        })
    }

    /// The limit in force for `key` (`None` when disabled or unknown).
    pub fn limit(&self, key: &str) -> Option<Limit> {
        self.limits
            .get(key)?
            .inner
            .as_ref()
            .map(|inner| inner.limit)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Key {
    User(Uuid),
    Ip(IpAddr),
}

type KeyedLimiter =
    RateLimiter<Key, DefaultKeyedStateStore<Key>, DefaultClock, StateInformationMiddleware>;

struct Inner {
    key: &'static str,
    limit: Limit,
    scope: Scope,
    limiter: KeyedLimiter,
    checks: AtomicU64,
    policy: HeaderValue,
}

/// Middleware enforcing one limit; cheap to clone (the limiter is shared).
#[derive(Clone)]
pub struct RateLimit {
    inner: Option<Arc<Inner>>,
    proxies: Arc<TrustedProxies>,
}

impl fmt::Debug for RateLimit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.inner {
            None => f.write_str("RateLimit(off)"),
            Some(inner) => write!(
                f,
                "RateLimit({}={}, {:?})",
                inner.key, inner.limit, inner.scope
            ),
        }
    }
}

impl RateLimit {
    fn new(key: &'static str, limit: Limit, scope: Scope) -> Self {
        let period = limit.period.duration();
        // GCRA: a full burst of `count`, then one more every period/count.
        let quota = Quota::with_period(period / limit.count.get())
            .unwrap_or_else(|| Quota::per_second(limit.count))
            .allow_burst(limit.count);
        let policy = HeaderValue::from_str(&format!("{};w={}", limit.count, period.as_secs()))
            .unwrap_or(HeaderValue::from_static("0"));
        Self {
            inner: Some(Arc::new(Inner {
                key,
                limit,
                scope,
                limiter: RateLimiter::keyed(quota).with_middleware::<StateInformationMiddleware>(),
                checks: AtomicU64::new(0),
                policy,
            })),
            proxies: Arc::new(TrustedProxies::none()),
        }
    }

    /// A middleware that lets everything through.
    pub fn disabled() -> Self {
        Self {
            inner: None,
            proxies: Arc::new(TrustedProxies::none()),
        }
    }
}

enum Verdict {
    Allowed { remaining: u32 },
    Refused { retry_after: Duration },
}

impl Inner {
    fn check(&self, key: &Key) -> Verdict {
        if self.checks.fetch_add(1, Ordering::Relaxed) % SWEEP_EVERY == SWEEP_EVERY - 1 {
            self.limiter.retain_recent();
            self.limiter.shrink_to_fit();
        }
        match self.limiter.check_key(key) {
            Ok(snapshot) => Verdict::Allowed {
                remaining: snapshot.remaining_burst_capacity(),
            },
            Err(not_until) => Verdict::Refused {
                retry_after: not_until.wait_time_from(DefaultClock::default().now()),
            },
        }
    }

    fn insert_headers(
        &self,
        headers: &mut actix_web::http::header::HeaderMap,
        remaining: u32,
        reset: u64,
    ) {
        headers.insert(RATELIMIT_LIMIT, HeaderValue::from(self.limit.count.get()));
        headers.insert(RATELIMIT_REMAINING, HeaderValue::from(remaining));
        headers.insert(RATELIMIT_RESET, HeaderValue::from(reset));
        headers.insert(RATELIMIT_POLICY, self.policy.clone());
    }
}

impl<S, B> Transform<S, ServiceRequest> for RateLimit
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = Error> + 'static,
    B: MessageBody + 'static,
{
    type Response = ServiceResponse<EitherBody<B>>;
    type Error = Error;
    type Transform = RateLimitService<S>;
    type InitError = ();
    type Future = Ready<Result<Self::Transform, Self::InitError>>;

    fn new_transform(&self, service: S) -> Self::Future {
        ready(Ok(RateLimitService {
            service: Rc::new(service),
            limit: self.clone(),
        }))
    }
}

/// The service [`RateLimit`] wraps around a route.
#[allow(missing_debug_implementations)]
pub struct RateLimitService<S> {
    service: Rc<S>,
    limit: RateLimit,
}

impl<S, B> Service<ServiceRequest> for RateLimitService<S>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = Error> + 'static,
    B: MessageBody + 'static,
{
    type Response = ServiceResponse<EitherBody<B>>;
    type Error = Error;
    type Future = LocalBoxFuture<'static, Result<Self::Response, Self::Error>>;

    forward_ready!(service);

    fn call(&self, req: ServiceRequest) -> Self::Future {
        let service = Rc::clone(&self.service);
        let inner = self.limit.inner.clone();
        let proxies = self.limit.proxies.clone();
        Box::pin(async move {
            let Some(inner) = inner else {
                return Ok(service.call(req).await?.map_into_left_body());
            };
            let ip = client_ip::limit_key(proxies.client_ip_of(req.request()));
            let key = match inner.scope {
                Scope::PerIp => Key::Ip(ip),
                Scope::PerUser => match auth::authenticate(req.request()).await {
                    Ok(actor) => Key::User(actor.user_id),
                    Err(_) => Key::Ip(ip),
                },
            };
            match inner.check(&key) {
                Verdict::Allowed { remaining } => {
                    let mut response = service.call(req).await?;
                    let reset = if remaining == inner.limit.count.get() {
                        0
                    } else {
                        inner.limit.period.duration().as_secs()
                    };
                    inner.insert_headers(response.headers_mut(), remaining, reset);
                    Ok(response.map_into_left_body())
                }
                Verdict::Refused { retry_after } => {
                    // Round up: a client that waits exactly Retry-After must get through.
                    let seconds = retry_after.as_secs() + u64::from(retry_after.subsec_nanos() > 0);
                    let seconds = seconds.max(1);
                    let problem = Problem::new(
                        StatusCode::TOO_MANY_REQUESTS,
                        "rate_limited",
                        format!(
                            "too many requests ({} for `{}`); retry in {seconds} s",
                            inner.limit, inner.key
                        ),
                    )
                    .with_header(RETRY_AFTER, HeaderValue::from(seconds));
                    let mut response = problem.error_response();
                    inner.insert_headers(response.headers_mut(), 0, seconds);
                    Ok(req.into_response(response).map_into_right_body())
                }
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::{AuthError, Authenticator, authenticator_data};
    use actix_web::test as atest;
    use actix_web::{App, HttpResponse, web};
    use async_trait::async_trait;
    use hub_kernel::{Actor, Role};

    const LOGIN: RateLimitRule = RateLimitRule {
        key: "auth.login",
        default: Limit {
            count: NonZeroU32::new(2).unwrap(),
            period: Period::Minute,
        },
        scope: Scope::PerIp,
    };
    const WRITE: RateLimitRule = RateLimitRule {
        key: "things.write",
        default: Limit {
            count: NonZeroU32::new(1).unwrap(),
            period: Period::Hour,
        },
        scope: Scope::PerUser,
    };

    #[test]
    fn limits_parse_and_print() {
        let limit: Limit = "30/min".parse().unwrap();
        assert_eq!(limit.to_string(), "30/min");
        assert_eq!("5 / s".parse::<Limit>().unwrap().period, Period::Second);
        assert_eq!("100/hour".parse::<Limit>().unwrap().count.get(), 100);
        for bad in ["30", "0/min", "x/min", "3/day", "/min"] {
            assert!(bad.parse::<Limit>().is_err(), "{bad}");
        }
    }

    #[test]
    fn spec_overrides_defaults_refuses_unknown_keys_and_can_switch_off() {
        let rules = [LOGIN, WRITE];
        let limits = RateLimits::from_spec(None, &rules).unwrap();
        assert_eq!(limits.limit("auth.login").unwrap().to_string(), "2/min");

        let limits = RateLimits::from_spec(Some(" auth.login=30/min , "), &rules).unwrap();
        assert_eq!(limits.limit("auth.login").unwrap().to_string(), "30/min");
        assert_eq!(limits.limit("things.write").unwrap().to_string(), "1/hour");

        let off = RateLimits::from_spec(Some("off"), &rules).unwrap();
        assert_eq!(off.limit("auth.login"), None);
        assert!(off.layer("auth.login").is_ok());

        let unknown = RateLimits::from_spec(Some("auth.logon=3/min"), &rules).unwrap_err();
        assert_eq!(
            unknown.to_string(),
            "RATE_LIMITS: unknown key `auth.logon` (known: auth.login, things.write)"
        );
        let bad = RateLimits::from_spec(Some("auth.login"), &rules).unwrap_err();
        assert!(matches!(bad, RateLimitConfigError::Syntax { .. }), "{bad}");
        let bad = RateLimits::from_spec(Some("auth.login=3/fortnight"), &rules).unwrap_err();
        assert!(bad.to_string().contains("fortnight"), "{bad}");
        assert!(limits.layer("nope").is_err());
    }

    struct UserTokens;

    #[async_trait]
    impl Authenticator for UserTokens {
        async fn authenticate(&self, token: &str) -> Result<Actor, AuthError> {
            Ok(Actor {
                user_id: Uuid::parse_str(token).map_err(|_| AuthError::Invalid)?,
                role: Role::Conducteur,
            })
        }
    }

    async fn ok() -> HttpResponse {
        HttpResponse::Ok().finish()
    }

    #[actix_web::test]
    async fn per_ip_limit_answers_429_with_retry_after_and_headers() {
        let limits = RateLimits::from_spec(None, &[LOGIN]).unwrap();
        let app = atest::init_service(
            App::new().service(
                web::resource("/login")
                    .wrap(limits.layer("auth.login").unwrap())
                    .route(web::post().to(ok)),
            ),
        )
        .await;
        let request = |ip: &str| {
            atest::TestRequest::post()
                .uri("/login")
                .peer_addr(format!("{ip}:4000").parse().unwrap())
                .to_request()
        };
        let first = atest::call_service(&app, request("10.0.0.1")).await;
        assert_eq!(first.status(), 200);
        assert_eq!(first.headers().get("ratelimit-limit").unwrap(), "2");
        assert_eq!(first.headers().get("ratelimit-remaining").unwrap(), "1");
        assert_eq!(
            atest::call_service(&app, request("10.0.0.1"))
                .await
                .status(),
            200
        );

        let refused = atest::call_service(&app, request("10.0.0.1")).await;
        assert_eq!(refused.status(), 429);
        let retry_after: u64 = refused
            .headers()
            .get("retry-after")
            .unwrap()
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
        assert!((1..=30).contains(&retry_after), "{retry_after}");
        assert_eq!(refused.headers().get("ratelimit-remaining").unwrap(), "0");
        assert_eq!(
            refused.headers().get("content-type").unwrap(),
            crate::PROBLEM_CONTENT_TYPE
        );
        let body: serde_json::Value = atest::read_body_json(refused).await;
        assert_eq!(body["code"], "rate_limited");

        // Another client is not affected.
        assert_eq!(
            atest::call_service(&app, request("10.0.0.2"))
                .await
                .status(),
            200
        );
    }

    #[actix_web::test]
    async fn forwarded_for_counts_only_when_a_trusted_proxy_sends_it() {
        let limits = RateLimits::from_spec(None, &[LOGIN])
            .unwrap()
            .with_trusted_proxies(TrustedProxies::parse("10.0.0.0/8").unwrap());
        let app = atest::init_service(
            App::new().service(
                web::resource("/login")
                    .wrap(limits.layer("auth.login").unwrap())
                    .route(web::post().to(ok)),
            ),
        )
        .await;
        let status = |peer: &str, forwarded_for: &str| {
            let request = atest::TestRequest::post()
                .uri("/login")
                .peer_addr(format!("{peer}:4000").parse().unwrap())
                .insert_header(("x-forwarded-for", forwarded_for.to_owned()))
                .to_request();
            let app = &app;
            async move { atest::call_service(app, request).await.status() }
        };
        // Behind the trusted proxy, each forwarded client has its own budget of 2.
        for client in ["203.0.113.1", "203.0.113.2", "203.0.113.3"] {
            assert_eq!(status("10.0.0.1", client).await, 200, "{client}");
        }
        assert_eq!(status("10.0.0.2", "203.0.113.1").await, 200);
        assert_eq!(status("10.0.0.1", "203.0.113.1").await, 429);
        // An untrusted peer's header is ignored: it is counted as itself.
        for client in ["198.51.100.1", "198.51.100.2"] {
            assert_eq!(status("192.0.2.9", client).await, 200, "{client}");
        }
        assert_eq!(status("192.0.2.9", "198.51.100.3").await, 429);
    }

    #[actix_web::test]
    async fn ipv6_clients_are_counted_per_64_and_ipv4_per_address() {
        let limits = RateLimits::from_spec(None, &[LOGIN]).unwrap();
        let app = atest::init_service(
            App::new().service(
                web::resource("/login")
                    .wrap(limits.layer("auth.login").unwrap())
                    .route(web::post().to(ok)),
            ),
        )
        .await;
        let status = |peer: &str| {
            let request = atest::TestRequest::post()
                .uri("/login")
                .peer_addr(peer.parse().unwrap())
                .to_request();
            let app = &app;
            async move { atest::call_service(app, request).await.status() }
        };
        // Two addresses of one /64 (an attacker owns all of it) share the limit of 2.
        assert_eq!(status("[2001:db8:1:2::1]:4000").await, 200);
        assert_eq!(status("[2001:db8:1:2:ffff::9]:4000").await, 200);
        assert_eq!(status("[2001:db8:1:2:abcd::5]:4000").await, 429);
        // The next /64 is another client.
        assert_eq!(status("[2001:db8:1:3::1]:4000").await, 200);
        // IPv4 neighbours are distinct clients, and an IPv4-mapped peer is its IPv4 address.
        assert_eq!(status("192.0.2.1:4000").await, 200);
        assert_eq!(status("192.0.2.2:4000").await, 200);
        assert_eq!(status("[::ffff:192.0.2.1]:4000").await, 200);
        assert_eq!(status("192.0.2.1:4000").await, 429);
    }

    #[actix_web::test]
    async fn per_user_limit_counts_each_user_separately_and_off_lets_all_through() {
        let limits = RateLimits::from_spec(None, &[WRITE]).unwrap();
        let off = RateLimits::from_spec(Some("off"), &[WRITE]).unwrap();
        let app = atest::init_service(
            App::new()
                .app_data(authenticator_data(Arc::new(UserTokens)))
                .service(
                    web::resource("/things")
                        .wrap(limits.layer("things.write").unwrap())
                        .route(web::post().to(ok)),
                )
                .service(
                    web::resource("/free")
                        .wrap(off.layer("things.write").unwrap())
                        .route(web::post().to(ok)),
                ),
        )
        .await;
        let (alice, bob) = (Uuid::now_v7(), Uuid::now_v7());
        let as_user = |uri: &str, user: Uuid| {
            atest::TestRequest::post()
                .uri(uri)
                .insert_header(("authorization", format!("Bearer {user}")))
                .to_request()
        };
        assert_eq!(
            atest::call_service(&app, as_user("/things", alice))
                .await
                .status(),
            200
        );
        assert_eq!(
            atest::call_service(&app, as_user("/things", alice))
                .await
                .status(),
            429
        );
        assert_eq!(
            atest::call_service(&app, as_user("/things", bob))
                .await
                .status(),
            200
        );
        for _ in 0..5 {
            let response = atest::call_service(&app, as_user("/free", alice)).await;
            assert_eq!(response.status(), 200);
            assert!(!response.headers().contains_key("ratelimit-limit"));
        }
    }
}
