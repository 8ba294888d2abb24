//! Authentication and role checks for every route.
//!
//! The identity context provides an [`Authenticator`] (token → [`Actor`]);
//! handlers declare what they need in their signature:
//! [`Authenticated`] for any signed-in user, or [`Authorized<P>`] where the
//! [`RolePolicy`] `P` lists the roles the route accepts.
//!
//! A browser session (the token in the `access_token` cookie, which the
//! browser attaches by itself) must also prove, on every state-changing
//! request, that the page making it could read the session's CSRF cookie
//! ([`CSRF_COOKIE`] echoed in [`CSRF_HEADER`]: a double-submit token). API
//! clients sending `Authorization: Bearer` are not concerned: no browser
//! attaches that header on its own.

use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;
use std::sync::Arc;

use actix_web::dev::Payload;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{FromRequest, HttpMessage, HttpRequest, web};
use async_trait::async_trait;
use hub_kernel::{Actor, Role};

use crate::Problem;

/// Name of the cookie that carries the access token for browsers.
pub const ACCESS_TOKEN_COOKIE: &str = "access_token";

/// Name of the cookie holding a browser session's CSRF token. The
/// `__Host-` prefix makes browsers refuse it unless it is `Secure`, for
/// path `/` and set by this host itself (not by a sibling subdomain, which
/// could otherwise plant a token of its choosing).
pub const CSRF_COOKIE: &str = "__Host-csrf_token";

/// Header in which the page echoes [`CSRF_COOKIE`] on state-changing requests.
pub const CSRF_HEADER: &str = "x-csrf-token";

/// The CSRF cookie for `token`: readable by the page's script (that is the
/// point: another site's page cannot read it), sent to this site only.
pub fn csrf_cookie(token: &str) -> actix_web::cookie::Cookie<'static> {
    actix_web::cookie::Cookie::build(CSRF_COOKIE, token.to_owned())
        .secure(true)
        .http_only(false)
        .same_site(actix_web::cookie::SameSite::Strict)
        .path("/")
        .finish()
}

/// Why a token was not accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    #[error("no credentials: send `Authorization: Bearer <token>` or the access_token cookie")]
    Missing,
    #[error("the token is invalid")]
    Invalid,
    #[error("the token has expired")]
    Expired,
    #[error(
        "the token was revoked (signed out), or the account is deactivated or no longer exists"
    )]
    Revoked,
    #[error("authentication is temporarily unavailable")]
    Unavailable,
    #[error(
        "a state-changing request authenticated by the access_token cookie must echo the \
         __Host-csrf_token cookie in the X-CSRF-Token header"
    )]
    CsrfMismatch,
}

impl From<AuthError> for Problem {
    fn from(error: AuthError) -> Self {
        match error {
            AuthError::Unavailable => {
                Problem::service_unavailable("auth_unavailable", error.to_string())
            }
            AuthError::CsrfMismatch => Problem::new(
                actix_web::http::StatusCode::FORBIDDEN,
                "csrf_failed",
                error.to_string(),
            ),
            other => Problem::unauthorized(other.to_string())
                .with_header(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer")),
        }
    }
}

/// Turns a bearer token into the acting user. Implemented by the identity
/// context, which also checks that the user is still active.
#[async_trait]
pub trait Authenticator: Send + Sync {
    async fn authenticate(&self, token: &str) -> Result<Actor, AuthError>;
}

/// Registers `authenticator` for the extractors of this module.
pub fn authenticator_data(authenticator: Arc<dyn Authenticator>) -> web::Data<dyn Authenticator> {
    web::Data::from(authenticator)
}

/// The outcome of authenticating one request, cached in its extensions so
/// that a middleware (rate limiting per user) and the handler's extractor
/// share one token check.
#[derive(Clone)]
struct Outcome(Result<Actor, AuthError>);

/// Where a request's token came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Carrier {
    Header,
    /// Attached by the browser itself: needs the CSRF proof on writes.
    Cookie,
}

/// The bearer token of a request: the `Authorization` header first, then
/// the cookie.
fn token(req: &HttpRequest) -> Option<(String, Carrier)> {
    if let Some(value) = req.headers().get(header::AUTHORIZATION) {
        let value = value.to_str().ok()?;
        let (scheme, token) = value.split_once(' ')?;
        return (scheme.eq_ignore_ascii_case("bearer") && !token.trim().is_empty())
            .then(|| (token.trim().to_owned(), Carrier::Header));
    }
    req.cookie(ACCESS_TOKEN_COOKIE)
        .map(|cookie| cookie.value().to_owned())
        .filter(|value| !value.is_empty())
        .map(|token| (token, Carrier::Cookie))
}

/// Whether a cookie-authenticated `req` passes the double-submit check:
/// safe methods always do (they change nothing); others must carry
/// [`CSRF_HEADER`] equal to the non-empty [`CSRF_COOKIE`].
fn csrf_ok(req: &HttpRequest) -> bool {
    if req.method().is_safe() {
        return true;
    }
    let Some(cookie) = req.cookie(CSRF_COOKIE) else {
        return false;
    };
    let Some(sent) = req
        .headers()
        .get(CSRF_HEADER)
        .and_then(|value| value.to_str().ok())
    else {
        return false;
    };
    let expected = cookie.value().as_bytes();
    let sent = sent.as_bytes();
    // Compared without an early exit: the time taken says nothing about
    // how much of a guess was right.
    !expected.is_empty()
        && expected.len() == sent.len()
        && expected
            .iter()
            .zip(sent)
            .fold(0u8, |diff, (a, b)| diff | (a ^ b))
            == 0
}

/// Authenticates `req` once; later calls return the cached outcome.
pub async fn authenticate(req: &HttpRequest) -> Result<Actor, AuthError> {
    if let Some(Outcome(outcome)) = req.extensions().get::<Outcome>() {
        return outcome.clone();
    }
    let outcome = match token(req) {
        None => Err(AuthError::Missing),
        // Refused before the token is even checked: a forged request
        // learns nothing about the session it rode on.
        Some((_, Carrier::Cookie)) if !csrf_ok(req) => Err(AuthError::CsrfMismatch),
        Some((token, _)) => match req.app_data::<web::Data<dyn Authenticator>>() {
            Some(authenticator) => authenticator.authenticate(&token).await,
            None => {
                tracing::error!(
                    "no Authenticator registered: every authenticated route answers 503"
                );
                Err(AuthError::Unavailable)
            }
        },
    };
    req.extensions_mut().insert(Outcome(outcome.clone()));
    outcome
}

/// The user the request is authenticated as; 401 problem otherwise.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Authenticated(pub Actor);

impl FromRequest for Authenticated {
    type Error = Problem;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Problem>>>>;

    fn from_request(req: &HttpRequest, _payload: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move { Ok(Authenticated(authenticate(&req).await?)) })
    }
}

/// Which roles may call a route.
pub trait RolePolicy {
    const ROLES: &'static [Role];
}

/// An authenticated user holding one of `P::ROLES`; 401 when not
/// authenticated, 403 when the role is not allowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Authorized<P: RolePolicy> {
    pub actor: Actor,
    policy: PhantomData<P>,
}

impl<P: RolePolicy> Authorized<P> {
    pub fn actor(&self) -> Actor {
        self.actor
    }
}

impl<P: RolePolicy + 'static> FromRequest for Authorized<P> {
    type Error = Problem;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Problem>>>>;

    fn from_request(req: &HttpRequest, _payload: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move {
            let actor = authenticate(&req).await?;
            if !actor.has_any_role(P::ROLES) {
                let allowed: Vec<&str> = P::ROLES.iter().map(|r| r.as_str()).collect();
                return Err(Problem::forbidden(format!(
                    "this action requires the role {}; you are {}",
                    allowed.join(" or "),
                    actor.role
                )));
            }
            Ok(Self {
                actor,
                policy: PhantomData,
            })
        })
    }
}

/// Administrators only.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AdminOnly;
impl RolePolicy for AdminOnly {
    const ROLES: &'static [Role] = &[Role::Admin];
}

/// Administrators and conducteurs de travaux.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AdminOrConducteur;
impl RolePolicy for AdminOrConducteur {
    const ROLES: &'static [Role] = &[Role::Admin, Role::Conducteur];
}

/// Administrators, conducteurs and chefs de chantier (site management).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Encadrement;
impl RolePolicy for Encadrement {
    const ROLES: &'static [Role] = &[Role::Admin, Role::Conducteur, Role::ChefChantier];
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::{App, HttpResponse, test};
    use std::sync::atomic::{AtomicUsize, Ordering};
    use uuid::Uuid;

    /// Accepts `"<role>"` as a token for a fixed user; counts its calls.
    #[derive(Default)]
    struct RoleTokens {
        calls: AtomicUsize,
    }

    #[async_trait]
    impl Authenticator for RoleTokens {
        async fn authenticate(&self, token: &str) -> Result<Actor, AuthError> {
            self.calls.fetch_add(1, Ordering::SeqCst);
            match token {
                "expired" => Err(AuthError::Expired),
                "revoked" => Err(AuthError::Revoked),
                role => role
                    .parse::<Role>()
                    .map(|role| Actor {
                        user_id: Uuid::nil(),
                        role,
                    })
                    .map_err(|_| AuthError::Invalid),
            }
        }
    }

    async fn me(user: Authenticated) -> HttpResponse {
        HttpResponse::Ok().body(user.0.role.as_str())
    }

    async fn admin_or_conducteur(
        user: Authorized<AdminOrConducteur>,
        again: Authenticated,
    ) -> HttpResponse {
        assert_eq!(user.actor, again.0);
        HttpResponse::Ok().body(user.actor.role.as_str())
    }

    async fn call(
        authenticator: Arc<RoleTokens>,
        req: test::TestRequest,
    ) -> (u16, String, Option<String>) {
        let app = test::init_service(
            App::new()
                .app_data(authenticator_data(authenticator))
                .route("/me", web::get().to(me))
                .route("/me", web::post().to(me))
                .route("/gestion", web::get().to(admin_or_conducteur)),
        )
        .await;
        let response = test::call_service(&app, req.to_request()).await;
        let status = response.status().as_u16();
        let challenge = response
            .headers()
            .get("www-authenticate")
            .map(|v| v.to_str().unwrap().to_owned());
        let body = String::from_utf8(test::read_body(response).await.to_vec()).unwrap();
        (status, body, challenge)
    }

    #[actix_web::test]
    async fn bearer_header_then_cookie_and_401_otherwise() {
        let tokens = Arc::new(RoleTokens::default());
        let get = |uri: &str| test::TestRequest::get().uri(uri);

        let (status, body, _) = call(
            tokens.clone(),
            get("/me").insert_header(("authorization", "Bearer compagnon")),
        )
        .await;
        assert_eq!((status, body.as_str()), (200, "compagnon"));

        let (status, body, _) = call(
            tokens.clone(),
            get("/me").cookie(actix_web::cookie::Cookie::new(
                ACCESS_TOKEN_COOKIE,
                "conducteur",
            )),
        )
        .await;
        assert_eq!((status, body.as_str()), (200, "conducteur"));

        // The header wins over the cookie.
        let (_, body, _) = call(
            tokens.clone(),
            get("/me")
                .insert_header(("authorization", "bearer admin"))
                .cookie(actix_web::cookie::Cookie::new(
                    ACCESS_TOKEN_COOKIE,
                    "compagnon",
                )),
        )
        .await;
        assert_eq!(body, "admin");

        for (request, fragment) in [
            (get("/me"), "no credentials"),
            (
                get("/me").insert_header(("authorization", "Basic YTpi")),
                "no credentials",
            ),
            (
                get("/me").insert_header(("authorization", "Bearer nonsense")),
                "invalid",
            ),
            (
                get("/me").insert_header(("authorization", "Bearer expired")),
                "expired",
            ),
            (
                get("/me").insert_header(("authorization", "Bearer revoked")),
                "deactivated",
            ),
        ] {
            let (status, body, challenge) = call(tokens.clone(), request).await;
            assert_eq!(status, 401, "{body}");
            assert!(body.contains(fragment), "{body}");
            assert!(body.contains("\"code\":\"unauthorized\""), "{body}");
            assert_eq!(challenge.as_deref(), Some("Bearer"));
        }
    }

    #[actix_web::test]
    async fn role_policy_gives_403_to_other_roles_and_checks_the_token_once() {
        let tokens = Arc::new(RoleTokens::default());
        for (role, expected) in [
            ("admin", 200),
            ("conducteur", 200),
            ("chef_chantier", 403),
            ("compagnon", 403),
        ] {
            let before = tokens.calls.load(Ordering::SeqCst);
            let (status, body, _) = call(
                tokens.clone(),
                test::TestRequest::get()
                    .uri("/gestion")
                    .insert_header(("authorization", format!("Bearer {role}"))),
            )
            .await;
            assert_eq!(status, expected, "{role}: {body}");
            if expected == 403 {
                assert!(body.contains("\"code\":\"forbidden\""), "{body}");
                assert!(body.contains("admin or conducteur"), "{body}");
            }
            assert_eq!(
                tokens.calls.load(Ordering::SeqCst) - before,
                1,
                "one token check per request"
            );
        }
        let (status, _, _) = call(tokens.clone(), test::TestRequest::get().uri("/gestion")).await;
        assert_eq!(status, 401, "no token is 401, not 403");
    }

    #[actix_web::test]
    async fn cookie_sessions_must_echo_the_csrf_cookie_on_writes_bearer_clients_need_not() {
        use actix_web::cookie::Cookie;
        let tokens = Arc::new(RoleTokens::default());
        let session = || Cookie::new(ACCESS_TOKEN_COOKIE, "conducteur");
        let csrf = |value: &str| Cookie::new(CSRF_COOKIE, value.to_owned());
        let post = || test::TestRequest::post().uri("/me");

        // Reads need no proof: they change nothing.
        let (status, body, _) = call(
            tokens.clone(),
            test::TestRequest::get().uri("/me").cookie(session()),
        )
        .await;
        assert_eq!((status, body.as_str()), (200, "conducteur"));

        for (name, request) in [
            ("no csrf cookie, no header", post().cookie(session())),
            (
                "cookie but no header",
                post().cookie(session()).cookie(csrf("jeton-1")),
            ),
            (
                "header but no cookie",
                post()
                    .cookie(session())
                    .insert_header((CSRF_HEADER, "jeton-1")),
            ),
            (
                "different values",
                post()
                    .cookie(session())
                    .cookie(csrf("jeton-1"))
                    .insert_header((CSRF_HEADER, "jeton-2")),
            ),
            (
                "a prefix of the value",
                post()
                    .cookie(session())
                    .cookie(csrf("jeton-1"))
                    .insert_header((CSRF_HEADER, "jeton")),
            ),
            (
                "both empty",
                post()
                    .cookie(session())
                    .cookie(csrf(""))
                    .insert_header((CSRF_HEADER, "")),
            ),
        ] {
            let before = tokens.calls.load(Ordering::SeqCst);
            let (status, body, _) = call(tokens.clone(), request).await;
            assert_eq!(status, 403, "{name}: {body}");
            assert!(body.contains("\"code\":\"csrf_failed\""), "{name}: {body}");
            assert_eq!(
                tokens.calls.load(Ordering::SeqCst),
                before,
                "{name}: the token is not checked for a forged request"
            );
        }

        let (status, body, _) = call(
            tokens.clone(),
            post()
                .cookie(session())
                .cookie(csrf("jeton-1"))
                .insert_header((CSRF_HEADER, "jeton-1")),
        )
        .await;
        assert_eq!((status, body.as_str()), (200, "conducteur"));

        // A bearer client is not a browser session: no proof asked, even
        // when a stale session cookie rides along.
        let (status, body, _) = call(
            tokens.clone(),
            post()
                .insert_header(("authorization", "Bearer admin"))
                .cookie(session()),
        )
        .await;
        assert_eq!((status, body.as_str()), (200, "admin"));
    }

    #[actix_web::test]
    async fn the_csrf_cookie_is_host_only_secure_strict_and_readable_by_the_page() {
        let cookie = csrf_cookie("abc");
        assert!(CSRF_COOKIE.starts_with("__Host-"));
        assert_eq!(cookie.name(), CSRF_COOKIE);
        assert_eq!(cookie.value(), "abc");
        assert_eq!(cookie.secure(), Some(true));
        assert_eq!(cookie.http_only(), Some(false));
        assert_eq!(cookie.path(), Some("/"));
        assert_eq!(cookie.domain(), None);
        assert_eq!(
            cookie.same_site(),
            Some(actix_web::cookie::SameSite::Strict)
        );
    }

    #[actix_web::test]
    async fn missing_authenticator_is_503_not_a_pass() {
        let app = test::init_service(App::new().route("/me", web::get().to(me))).await;
        let response = test::call_service(
            &app,
            test::TestRequest::get()
                .uri("/me")
                .insert_header(("authorization", "Bearer admin"))
                .to_request(),
        )
        .await;
        assert_eq!(response.status().as_u16(), 503);
    }
}
