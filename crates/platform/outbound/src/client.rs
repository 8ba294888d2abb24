//! [`OutboundClient`]: reqwest wired so that every connection goes through the
//! vetting resolver, with manual redirects and capped response bodies.

use std::error::Error as StdError;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use reqwest::header::{self, HeaderMap};
use reqwest::{StatusCode, redirect};
use tokio::time::Instant;

use crate::policy::AllowList;
use crate::resolve::{NameResolver, ResolveError, VettingResolver};
use crate::url::{DestinationRefused, UrlError, WebhookUrl};

/// How the client behaves; the defaults are those of `docs/DESIGN.md` §3.
#[derive(Debug, Clone)]
pub struct OutboundConfig {
    /// Accept `http://` destinations (`WEBHOOKS_ALLOW_HTTP`, development only).
    pub allow_http: bool,
    /// Destinations allowed despite the policy (`WEBHOOKS_ALLOWED_CIDRS`).
    pub allowed_cidrs: AllowList,
    /// Whole exchange, redirects and body included.
    pub timeout: Duration,
    /// TCP (and TLS) connection establishment, per attempt.
    pub connect_timeout: Duration,
    /// 307/308 hops followed at most.
    pub max_redirects: u8,
    /// Response body bytes kept; reading stops there.
    pub max_body_bytes: usize,
    /// Extra trusted roots, DER or PEM (a PEM may hold several), added to the
    /// system's: for self-hosted receivers with a private CA and for tests.
    pub extra_root_certificates: Vec<Vec<u8>>,
    /// `User-Agent` of every request.
    pub user_agent: String,
}

impl Default for OutboundConfig {
    fn default() -> Self {
        Self {
            allow_http: false,
            allowed_cidrs: AllowList::default(),
            timeout: Duration::from_secs(10),
            connect_timeout: Duration::from_secs(5),
            max_redirects: 3,
            max_body_bytes: 64 * 1024,
            extra_root_certificates: Vec::new(),
            user_agent: "Hub-Chantier-Webhooks/1.0".to_owned(),
        }
    }
}

/// The client could not be built from its configuration.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    /// An entry of `extra_root_certificates` is not a certificate.
    #[error("extra root certificate #{index} is invalid: {reason}")]
    Certificate {
        /// Position in `extra_root_certificates`.
        index: usize,
        /// What was wrong.
        reason: String,
    },
    /// reqwest refused the configuration.
    #[error("cannot build the HTTP client: {0}")]
    Client(String),
}

/// What the receiver answered. Any status, 2xx or not, is a response: judging
/// it is the caller's business.
#[derive(Debug, Clone)]
pub struct OutboundResponse {
    /// The final status (after followed redirects).
    pub status: u16,
    /// At most `max_body_bytes` of the body.
    pub body_prefix: Bytes,
    /// `true` when the body was cut at the cap, or could not be read to its
    /// end (reset, timeout) after the status arrived.
    pub body_truncated: bool,
    /// The `Retry-After` header, verbatim, when present and readable.
    pub retry_after: Option<String>,
    /// The URL that produced this response.
    pub final_url: WebhookUrl,
    /// 307/308 hops followed.
    pub redirects: u8,
}

/// Failure categories, as stored with each delivery attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// The exchange did not finish in time (connection or whole request).
    Timeout,
    /// The connection could not be made or broke (refused, reset…).
    Connect,
    /// The host name did not resolve.
    Dns,
    /// The outbound policy refused the destination.
    SsrfRefused,
    /// The TLS handshake failed (untrusted or invalid certificate…).
    Tls,
    /// A non-2xx answer. Never produced by [`OutboundClient`], which returns
    /// those as responses; here so callers classify attempts with one type.
    HttpStatus,
    /// A redirect that is not followed (not 307/308, too many, bad Location).
    Redirect,
}

impl ErrorKind {
    /// The stable snake_case name.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Timeout => "timeout",
            Self::Connect => "connect",
            Self::Dns => "dns",
            Self::SsrfRefused => "ssrf_refused",
            Self::Tls => "tls",
            Self::HttpStatus => "http_status",
            Self::Redirect => "redirect",
        }
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A redirect that was not followed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RedirectError {
    /// A 3xx other than 307/308: 301/302/303 would turn the POST into a GET.
    #[error("status {status} is not followed (only 307 and 308 are)")]
    NotFollowed {
        /// The status received.
        status: u16,
    },
    /// More hops than `max_redirects`.
    #[error("more than {max} redirects")]
    TooMany {
        /// The configured maximum.
        max: u8,
    },
    /// A 307/308 without a usable `Location`.
    #[error("status {status} without a Location header")]
    MissingLocation {
        /// The status received.
        status: u16,
    },
    /// A `Location` that is not a valid destination (bad URL, scheme,
    /// credentials, length).
    #[error("Location {location:?} is not a valid destination: {reason}")]
    InvalidLocation {
        /// The header value.
        location: String,
        /// Which rule it broke.
        reason: String,
    },
}

/// Why a request produced no response.
#[derive(Debug, thiserror::Error)]
pub enum OutboundError {
    /// The destination (first URL, redirect target or resolved address) is
    /// refused by the policy. No connection was made to it.
    #[error("refused by the outbound policy: the URL {0}")]
    SsrfRefused(UrlError),
    /// The host name did not resolve.
    #[error("DNS: {0}")]
    Dns(ResolveError),
    /// Timed out.
    #[error("timed out: {0}")]
    Timeout(String),
    /// Connection failed or broke.
    #[error("connection failed: {0}")]
    Connect(String),
    /// TLS handshake failed.
    #[error("TLS failed: {0}")]
    Tls(String),
    /// A redirect was not followed.
    #[error("redirect: {0}")]
    Redirect(RedirectError),
}

impl OutboundError {
    /// The category to store with the attempt.
    #[must_use]
    pub fn kind(&self) -> ErrorKind {
        match self {
            Self::SsrfRefused(_) => ErrorKind::SsrfRefused,
            Self::Dns(_) => ErrorKind::Dns,
            Self::Timeout(_) => ErrorKind::Timeout,
            Self::Connect(_) => ErrorKind::Connect,
            Self::Tls(_) => ErrorKind::Tls,
            Self::Redirect(_) => ErrorKind::Redirect,
        }
    }

    /// The human message to store with the attempt. It may be shown to the
    /// webhook's owner, so a refusal never names the refused address.
    #[must_use]
    pub fn message(&self) -> String {
        self.to_string()
    }
}

/// Headers that must not follow a redirect to another origin (as browsers and
/// reqwest's own redirect policy do).
const CREDENTIAL_HEADERS: [header::HeaderName; 3] = [
    header::AUTHORIZATION,
    header::COOKIE,
    header::PROXY_AUTHORIZATION,
];

/// The only HTTP client allowed to reach webhook receivers.
///
/// Every request re-checks its URL (IP literals are judged here because
/// reqwest never resolves them), every connection goes through the vetting
/// resolver (all answers checked, only those used), proxies are ignored (a
/// proxy would resolve names itself), and redirects are followed by hand.
#[derive(Clone)]
pub struct OutboundClient {
    http: reqwest::Client,
    config: Arc<OutboundConfig>,
    resolver: Arc<dyn NameResolver>,
}

impl fmt::Debug for OutboundClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OutboundClient")
            .field("config", &self.config)
            .field("resolver", &self.resolver)
            .finish_non_exhaustive()
    }
}

impl OutboundClient {
    /// Builds the client; `resolver` is used for every connection.
    ///
    /// # Errors
    /// An invalid extra root certificate or a configuration reqwest refuses.
    pub fn new(
        config: OutboundConfig,
        resolver: Arc<dyn NameResolver>,
    ) -> Result<Self, BuildError> {
        // reqwest is built without a default provider; an already installed
        // one (by the app or another client) is fine, hence the ignored result.
        let _ = rustls::crypto::ring::default_provider().install_default();

        let mut roots = Vec::new();
        for (index, bytes) in config.extra_root_certificates.iter().enumerate() {
            let invalid = |reason: String| BuildError::Certificate { index, reason };
            if bytes.trim_ascii_start().starts_with(b"-----BEGIN") {
                let bundle = reqwest::Certificate::from_pem_bundle(bytes)
                    .map_err(|err| invalid(err.to_string()))?;
                if bundle.is_empty() {
                    return Err(invalid("no certificate in the PEM data".to_owned()));
                }
                roots.extend(bundle);
            } else {
                roots.push(
                    reqwest::Certificate::from_der(bytes)
                        .map_err(|err| invalid(err.to_string()))?,
                );
            }
        }

        let vetting = VettingResolver {
            resolver: Arc::clone(&resolver),
            allow_list: config.allowed_cidrs.clone(),
        };
        let http = reqwest::Client::builder()
            .no_proxy()
            .dns_resolver(vetting)
            .redirect(redirect::Policy::none())
            .referer(false)
            .https_only(!config.allow_http)
            .timeout(config.timeout)
            .connect_timeout(config.connect_timeout)
            .user_agent(config.user_agent.as_str())
            .tls_certs_merge(roots)
            .build()
            .map_err(|err| BuildError::Client(error_chain(&err)))?;
        Ok(Self {
            http,
            config: Arc::new(config),
            resolver,
        })
    }

    /// The configuration in force.
    #[must_use]
    pub fn config(&self) -> &OutboundConfig {
        &self.config
    }

    /// [`WebhookUrl::parse`] with this client's `allow_http` and allow-list.
    ///
    /// # Errors
    /// See [`WebhookUrl::parse`].
    pub fn parse_url(&self, raw: &str) -> Result<WebhookUrl, UrlError> {
        WebhookUrl::parse(raw, self.config.allow_http, &self.config.allowed_cidrs)
    }

    /// [`crate::check_destination`] with this client's resolver and allow-list:
    /// the check to run when a webhook is created or its URL changed.
    ///
    /// # Errors
    /// See [`crate::check_destination`].
    pub async fn check_destination(
        &self,
        url: &WebhookUrl,
    ) -> Result<Vec<std::net::IpAddr>, UrlError> {
        crate::url::check_destination(url, self.resolver.as_ref(), &self.config.allowed_cidrs).await
    }

    /// POSTs `body` with `headers` to `url`, following at most
    /// `max_redirects` 307/308 hops (same method, body and headers; credential
    /// headers dropped across origins), each hop checked like the first.
    ///
    /// # Errors
    /// Everything that is not an HTTP response; see [`OutboundError::kind`].
    pub async fn post(
        &self,
        url: &WebhookUrl,
        headers: HeaderMap,
        body: Bytes,
    ) -> Result<OutboundResponse, OutboundError> {
        let deadline = Instant::now() + self.config.timeout;
        match tokio::time::timeout_at(deadline, self.post_following(url, headers, body, deadline))
            .await
        {
            Ok(result) => result,
            Err(_) => Err(OutboundError::Timeout(format!(
                "no response within {}",
                humanize(self.config.timeout)
            ))),
        }
    }

    async fn post_following(
        &self,
        url: &WebhookUrl,
        mut headers: HeaderMap,
        body: Bytes,
        deadline: Instant,
    ) -> Result<OutboundResponse, OutboundError> {
        // The URL may have been parsed under other rules (or stored long ago).
        let mut current = self
            .parse_url(url.as_str())
            .map_err(OutboundError::SsrfRefused)?;
        let mut redirects: u8 = 0;
        loop {
            let mut response = self
                .http
                .post(current.as_url().clone())
                .headers(headers.clone())
                .body(body.clone())
                .send()
                .await
                .map_err(|err| self.classify(&err))?;
            let status = response.status();
            if !status.is_redirection() {
                let retry_after = response
                    .headers()
                    .get(header::RETRY_AFTER)
                    .and_then(|value| value.to_str().ok())
                    .map(str::to_owned);
                let (body_prefix, body_truncated) =
                    read_capped(&mut response, self.config.max_body_bytes, deadline).await;
                return Ok(OutboundResponse {
                    status: status.as_u16(),
                    body_prefix,
                    body_truncated,
                    retry_after,
                    final_url: current,
                    redirects,
                });
            }
            if status != StatusCode::TEMPORARY_REDIRECT && status != StatusCode::PERMANENT_REDIRECT
            {
                return Err(OutboundError::Redirect(RedirectError::NotFollowed {
                    status: status.as_u16(),
                }));
            }
            if redirects >= self.config.max_redirects {
                return Err(OutboundError::Redirect(RedirectError::TooMany {
                    max: self.config.max_redirects,
                }));
            }
            let next = self.redirect_target(&current, &response)?;
            drop(response);
            if next.as_url().origin() != current.as_url().origin() {
                for name in &CREDENTIAL_HEADERS {
                    headers.remove(name);
                }
            }
            tracing::debug!(from = %current, to = %next, %status, "following redirect");
            current = next;
            redirects += 1;
        }
    }

    /// The `Location` of a 307/308, resolved against the current URL and held
    /// to the same rules as the first URL (its DNS is vetted when connecting).
    fn redirect_target(
        &self,
        current: &WebhookUrl,
        response: &reqwest::Response,
    ) -> Result<WebhookUrl, OutboundError> {
        let status = response.status().as_u16();
        let location = response
            .headers()
            .get(header::LOCATION)
            .and_then(|value| value.to_str().ok())
            .filter(|value| !value.trim().is_empty())
            .ok_or(OutboundError::Redirect(RedirectError::MissingLocation {
                status,
            }))?;
        let invalid = |reason: String| {
            OutboundError::Redirect(RedirectError::InvalidLocation {
                location: location.to_owned(),
                reason,
            })
        };
        let joined = current
            .as_url()
            .join(location)
            .map_err(|err| invalid(err.to_string()))?;
        self.parse_url(joined.as_str()).map_err(|err| match err {
            UrlError::Refused(_) => OutboundError::SsrfRefused(err),
            other => invalid(other.to_string()),
        })
    }

    fn classify(&self, err: &reqwest::Error) -> OutboundError {
        // Our resolver's verdicts travel inside reqwest's error chain.
        for cause in causes(err) {
            if let Some(refused) = cause.downcast_ref::<DestinationRefused>() {
                return OutboundError::SsrfRefused(UrlError::Refused(refused.clone()));
            }
            if let Some(dns) = cause.downcast_ref::<ResolveError>() {
                return OutboundError::Dns(dns.clone());
            }
        }
        let message = error_chain(err);
        if err.is_timeout() {
            return OutboundError::Timeout(if err.is_connect() {
                format!(
                    "no connection within {}: {message}",
                    humanize(self.config.connect_timeout)
                )
            } else {
                message
            });
        }
        if has_tls_error(err) {
            return OutboundError::Tls(message);
        }
        OutboundError::Connect(message)
    }
}

/// Reads at most `cap` bytes, then stops (the connection is dropped, not
/// drained). A body that breaks or runs past the deadline once the status is
/// known keeps what arrived: the status is the receiver's answer.
async fn read_capped(
    response: &mut reqwest::Response,
    cap: usize,
    deadline: Instant,
) -> (Bytes, bool) {
    let mut body = BytesMut::with_capacity(cap.min(16 * 1024));
    loop {
        let chunk = match tokio::time::timeout_at(deadline, response.chunk()).await {
            Ok(Ok(Some(chunk))) => chunk,
            Ok(Ok(None)) => return (body.freeze(), false),
            Ok(Err(_)) | Err(_) => return (body.freeze(), true),
        };
        let room = cap - body.len();
        if chunk.len() > room {
            body.extend_from_slice(&chunk[..room]);
            return (body.freeze(), true);
        }
        body.extend_from_slice(&chunk);
    }
}

fn has_tls_error(err: &reqwest::Error) -> bool {
    causes(err).any(|cause| cause.is::<rustls::Error>())
}

/// `err` and its causes, looking inside `io::Error`s: their `source()` skips
/// the error they wrap (hyper-rustls nests rustls errors two `io::Error`s deep).
fn causes<'a>(
    err: &'a (dyn StdError + 'static),
) -> impl Iterator<Item = &'a (dyn StdError + 'static)> {
    std::iter::successors(
        Some(err),
        |&current: &&'a (dyn StdError + 'static)| match current.downcast_ref::<std::io::Error>() {
            Some(io) => match io.get_ref() {
                Some(inner) => Some(inner as &(dyn StdError + 'static)),
                None => io.source(),
            },
            None => current.source(),
        },
    )
}

/// "error sending request for url (…): client error (Connect): tcp connect
/// error: Connection refused (os error 111)".
fn error_chain(err: &(dyn StdError + 'static)) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut source = Some(err);
    while let Some(current) = source {
        let text = current.to_string();
        if parts.last().is_none_or(|last| !last.contains(&text)) {
            parts.push(text);
        }
        source = current.source();
    }
    parts.join(": ")
}

fn humanize(duration: Duration) -> String {
    if duration.subsec_millis() == 0 {
        format!("{}s", duration.as_secs())
    } else {
        format!("{}ms", duration.as_millis())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;
    use crate::resolve::FixtureResolver;

    #[test]
    fn kinds_have_stable_names() {
        let names: Vec<&str> = [
            ErrorKind::Timeout,
            ErrorKind::Connect,
            ErrorKind::Dns,
            ErrorKind::SsrfRefused,
            ErrorKind::Tls,
            ErrorKind::HttpStatus,
            ErrorKind::Redirect,
        ]
        .into_iter()
        .map(ErrorKind::as_str)
        .collect();
        assert_eq!(
            names,
            [
                "timeout",
                "connect",
                "dns",
                "ssrf_refused",
                "tls",
                "http_status",
                "redirect"
            ]
        );
    }

    #[test]
    fn the_defaults_are_the_design_s() {
        let config = OutboundConfig::default();
        assert!(!config.allow_http);
        assert!(config.allowed_cidrs.is_empty());
        assert_eq!(config.timeout, Duration::from_secs(10));
        assert_eq!(config.connect_timeout, Duration::from_secs(5));
        assert_eq!(config.max_redirects, 3);
        assert_eq!(config.max_body_bytes, 65_536);
        assert_eq!(config.user_agent, "Hub-Chantier-Webhooks/1.0");
    }

    #[test]
    fn an_invalid_extra_root_is_named() {
        let config = OutboundConfig {
            extra_root_certificates: vec![b"-----BEGIN NOTHING-----\n".to_vec()],
            ..OutboundConfig::default()
        };
        let err = OutboundClient::new(config, Arc::new(FixtureResolver::new())).unwrap_err();
        assert!(
            matches!(err, BuildError::Certificate { index: 0, .. }),
            "{err:?}"
        );
    }

    #[tokio::test]
    async fn a_url_parsed_under_looser_rules_is_refused_before_any_lookup() {
        let resolver = Arc::new(FixtureResolver::new());
        let client = OutboundClient::new(OutboundConfig::default(), resolver.clone()).unwrap();
        let loose =
            WebhookUrl::parse("http://receiver.test/", true, &AllowList::default()).unwrap();
        let err = client
            .post(&loose, HeaderMap::new(), Bytes::from_static(b"{}"))
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::SsrfRefused);
        assert_eq!(
            err.message(),
            "refused by the outbound policy: the URL must use https (got \"http\")"
        );
        assert_eq!(resolver.lookups("receiver.test"), 0);
    }

    #[test]
    fn durations_read_naturally() {
        assert_eq!(humanize(Duration::from_secs(10)), "10s");
        assert_eq!(humanize(Duration::from_millis(300)), "300ms");
    }
}
