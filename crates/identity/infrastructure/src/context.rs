//! The identity context as the app lists it: its configuration section
//! (`JWT_SECRET`, `JWT_TTL`, `PASSWORD_HASHING_CONCURRENCY`,
//! `PASSWORD_HASHING_MAX_WAIT`) and what it runs — the `/api/v1/auth` and
//! `/api/v1/users` routes and the authenticator behind every route.

use std::sync::Arc;
use std::time::Duration;

use actix_web::web;
use hub_identity_application::{Authenticate, IdentityPorts};
use hub_platform_context::{
    ConfigError, Context, Env, Module, ModuleError, Platform, Worker, parse,
};
use utoipa::OpenApi;

use crate::{
    Argon2Hasher, BoundedHasher, DieselUserRepository, HashingLimit, IdentityApi,
    IdentityAuthenticator, IdentityHttp, InMemorySignInThrottle, JwtSecret, JwtTokenService,
    RATE_LIMIT_RULES, SignInLimit, UserCache,
};

/// How long an authenticated user stays cached at most. Changes are heard
/// at once (`users_changed`); this bounds what a listener that lost its
/// connection without noticing could miss, and the memory.
const USER_CACHE_TTL: Duration = Duration::from_secs(10);
/// How many users stay cached at most (beyond, lookups go uncached).
const USER_CACHE_CAPACITY: usize = 10_000;

/// The identity context.
pub const CONTEXT: Context = Context {
    name: "identity",
    openapi: IdentityApi::openapi,
    event_catalog: hub_identity_domain::event_catalog,
    rate_limits: RATE_LIMIT_RULES,
    build,
};

/// Identity's section of the configuration.
#[derive(Debug, Clone)]
pub struct IdentitySettings {
    /// Signs access tokens (`JWT_SECRET`, at least 32 bytes).
    pub jwt_secret: JwtSecret,
    /// Lifetime of an access token (`JWT_TTL`, 60 minutes by default).
    pub jwt_ttl: Duration,
    /// How many password hashes run at once (`PASSWORD_HASHING_CONCURRENCY`,
    /// one per CPU by default) and how long a sign-in waits for its turn
    /// before a 503 (`PASSWORD_HASHING_MAX_WAIT`, 2 s by default).
    pub hashing: HashingLimit,
}

impl IdentitySettings {
    pub fn from_env(env: &Env<'_>) -> Result<Self, ConfigError> {
        Ok(Self {
            jwt_secret: env.required_secret(
                "JWT_SECRET",
                "set it to at least 32 random bytes, e.g. `openssl rand -base64 48` (`make run` generates one under .data/)",
                |v| JwtSecret::new(v).map_err(|e| e.to_string()),
            )?,
            jwt_ttl: env.parse_or("JWT_TTL", Duration::from_secs(3600), parse::positive_duration)?,
            hashing: {
                let default = HashingLimit::for_this_machine();
                HashingLimit {
                    max_concurrent: env.parse_or(
                        "PASSWORD_HASHING_CONCURRENCY",
                        default.max_concurrent,
                        parse::positive,
                    )?,
                    max_wait: env.parse_or(
                        "PASSWORD_HASHING_MAX_WAIT",
                        default.max_wait,
                        parse::positive_duration,
                    )?,
                }
            },
        })
    }
}

fn build(platform: &Platform) -> Result<Module, ModuleError> {
    let settings = IdentitySettings::from_env(&platform.env())?;
    let hasher = Arc::new(BoundedHasher::new(
        Arc::new(Argon2Hasher::new().map_err(|e| ModuleError::start("identity", e))?),
        settings.hashing,
    ));
    let cache = Arc::new(UserCache::new(USER_CACHE_TTL, USER_CACHE_CAPACITY));
    let listener = {
        let (cache, database) = (cache.clone(), platform.database.clone());
        Worker::new("identity-user-cache", move |shutdown| {
            Box::pin(crate::user_cache::listen(cache, database, shutdown))
        })
    };
    let ports = IdentityPorts {
        users: Arc::new(DieselUserRepository::with_cache(
            platform.database.clone(),
            cache,
        )),
        hasher,
        tokens: Arc::new(JwtTokenService::new(&settings.jwt_secret, settings.jwt_ttl)),
        throttle: Arc::new(InMemorySignInThrottle::new(SignInLimit::default())),
        clock: platform.clock.clone(),
    };
    let authenticator = Arc::new(IdentityAuthenticator::new(Authenticate::new(ports.clone())));
    let login_limit = platform
        .rate_limits
        .layer("auth.login")
        .map_err(|e| ModuleError::start("identity", e))?;
    let state = web::Data::new(IdentityHttp::new(ports));
    Ok(Module::new()
        .authenticator(authenticator)
        .worker(listener)
        .routes(move |cfg| crate::http::configure(cfg, state.clone(), login_limit.clone())))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn settings(vars: &[(&'static str, &'static str)]) -> Result<IdentitySettings, ConfigError> {
        let vars = vars.to_vec();
        let lookup = move |name: &str| {
            vars.iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| (*v).to_owned())
        };
        IdentitySettings::from_env(&Env::new(&lookup))
    }

    #[test]
    fn the_jwt_secret_is_required_long_and_never_echoed() {
        let missing = settings(&[]).unwrap_err().to_string();
        assert!(missing.starts_with("JWT_SECRET is not set"), "{missing}");
        let short = settings(&[("JWT_SECRET", "short-secret")])
            .unwrap_err()
            .to_string();
        assert!(
            short.starts_with("JWT_SECRET=\"***\" is invalid"),
            "{short}"
        );
        assert!(!short.contains("short-secret"));
        let ok = settings(&[
            ("JWT_SECRET", "0123456789abcdef0123456789abcdef"),
            ("JWT_TTL", "15m"),
        ])
        .unwrap();
        assert_eq!(ok.jwt_ttl, Duration::from_secs(900));
        assert!(
            settings(&[
                ("JWT_SECRET", "0123456789abcdef0123456789abcdef"),
                ("JWT_TTL", "0s")
            ])
            .is_err()
        );
    }

    #[test]
    fn password_hashing_is_bounded_by_default_and_configurable() {
        const SECRET: (&str, &str) = ("JWT_SECRET", "0123456789abcdef0123456789abcdef");
        assert_eq!(
            settings(&[SECRET]).unwrap().hashing,
            HashingLimit::for_this_machine()
        );
        let set = settings(&[
            SECRET,
            ("PASSWORD_HASHING_CONCURRENCY", "3"),
            ("PASSWORD_HASHING_MAX_WAIT", "250ms"),
        ])
        .unwrap();
        assert_eq!(
            set.hashing,
            HashingLimit {
                max_concurrent: 3,
                max_wait: Duration::from_millis(250),
            }
        );
        assert!(settings(&[SECRET, ("PASSWORD_HASHING_CONCURRENCY", "0")]).is_err());
    }
}
