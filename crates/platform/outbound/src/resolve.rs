//! Name resolution: the [`NameResolver`] port, its hickory implementation, a
//! fixture for tests, and the adapter that lets reqwest connect only to
//! addresses the policy has vetted.

use std::collections::HashMap;
use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use async_trait::async_trait;
use hickory_resolver::TokioResolver;
use hickory_resolver::config::{CLOUDFLARE, LookupIpStrategy, ResolverConfig, ResolverOpts};
use hickory_resolver::net::runtime::TokioRuntimeProvider;
use parking_lot::Mutex;

use crate::policy::AllowList;
use crate::url::DestinationRefused;

/// A failed lookup; its `Display` completes a sentence about the URL's host.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ResolveError {
    /// The name does not exist or has no A/AAAA record.
    #[error("host not found ({host})")]
    NotFound {
        /// The name looked up.
        host: String,
    },
    /// The lookup itself failed (no answer from the name servers, timeout…).
    #[error("host could not be resolved ({host}: {reason})")]
    Failed {
        /// The name looked up.
        host: String,
        /// What the resolver said.
        reason: String,
    },
}

impl ResolveError {
    /// The name whose lookup failed.
    #[must_use]
    pub fn host(&self) -> &str {
        match self {
            Self::NotFound { host } | Self::Failed { host, .. } => host,
        }
    }
}

/// Resolves a host name to every address it has (A and AAAA).
///
/// The port through which the SSRF policy sees DNS: the webhook creation check
/// and every connection go through the same implementation.
#[async_trait]
pub trait NameResolver: Send + Sync + fmt::Debug {
    /// All addresses of `host` (a domain name, never an IP literal).
    ///
    /// # Errors
    /// [`ResolveError::NotFound`] when the name has no address (an empty
    /// answer is treated the same way by the callers), [`ResolveError::Failed`]
    /// when the lookup could not be done.
    async fn lookup(&self, host: &str) -> Result<Vec<IpAddr>, ResolveError>;
}

/// The DNS resolver could not be built.
#[derive(Debug, Clone, thiserror::Error)]
#[error("cannot build the DNS resolver: {0}")]
pub struct ResolverInitError(String);

/// The production [`NameResolver`]: hickory over UDP/TCP, configured from
/// `/etc/resolv.conf` and honouring `/etc/hosts`.
#[derive(Clone)]
pub struct HickoryResolver {
    inner: TokioResolver,
}

impl fmt::Debug for HickoryResolver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HickoryResolver").finish_non_exhaustive()
    }
}

impl HickoryResolver {
    /// Uses the system configuration; when it cannot be read (no
    /// resolv.conf, as in some minimal containers) falls back to Cloudflare's
    /// public resolvers and logs a warning.
    ///
    /// # Errors
    /// hickory refused the resulting configuration.
    pub fn from_system_conf() -> Result<Self, ResolverInitError> {
        let (config, options) = match hickory_resolver::system_conf::read_system_conf() {
            Ok(conf) => conf,
            Err(err) => {
                tracing::warn!(
                    error = %err,
                    "cannot read the system DNS configuration; falling back to Cloudflare's public resolvers"
                );
                (
                    ResolverConfig::udp_and_tcp(&CLOUDFLARE),
                    ResolverOpts::default(),
                )
            }
        };
        Self::with_config(config, options)
    }

    fn with_config(
        config: ResolverConfig,
        mut options: ResolverOpts,
    ) -> Result<Self, ResolverInitError> {
        // Both families, so the policy sees every address a connection could use.
        options.ip_strategy = LookupIpStrategy::Ipv4AndIpv6;
        let inner = TokioResolver::builder_with_config(config, TokioRuntimeProvider::default())
            .with_options(options)
            .build()
            .map_err(|err| ResolverInitError(err.to_string()))?;
        Ok(Self { inner })
    }
}

#[async_trait]
impl NameResolver for HickoryResolver {
    async fn lookup(&self, host: &str) -> Result<Vec<IpAddr>, ResolveError> {
        match self.inner.lookup_ip(host).await {
            Ok(lookup) => {
                let ips: Vec<IpAddr> = lookup.iter().collect();
                if ips.is_empty() {
                    Err(ResolveError::NotFound {
                        host: host.to_owned(),
                    })
                } else {
                    Ok(ips)
                }
            }
            Err(err) if err.is_no_records_found() => Err(ResolveError::NotFound {
                host: host.to_owned(),
            }),
            Err(err) => Err(ResolveError::Failed {
                host: host.to_owned(),
                reason: err.to_string(),
            }),
        }
    }
}

/// **Test fixture**: a [`NameResolver`] answering from a table, for unit,
/// integration and end-to-end tests (e.g. to point `receiver.test` at
/// 127.0.0.1). Unknown names are [`ResolveError::NotFound`]. Never use it in
/// production wiring.
#[derive(Debug, Default)]
pub struct FixtureResolver {
    state: Mutex<FixtureState>,
}

#[derive(Debug, Default)]
struct FixtureState {
    answers: HashMap<String, FixtureAnswer>,
    lookups: HashMap<String, usize>,
}

#[derive(Debug, Clone)]
enum FixtureAnswer {
    Fixed(Vec<IpAddr>),
    /// The n-th lookup gets the n-th answer, the last one repeating: a DNS
    /// rebinding attacker's server.
    Sequence(Vec<Vec<IpAddr>>),
    Failure(String),
}

fn fixture_key(host: &str) -> String {
    host.trim_end_matches('.').to_ascii_lowercase()
}

impl FixtureResolver {
    /// An empty table: every name is not found.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Builder form of [`FixtureResolver::set`].
    #[must_use]
    pub fn with(self, host: &str, ips: impl IntoIterator<Item = IpAddr>) -> Self {
        self.set(host, ips);
        self
    }

    /// `host` answers `ips` on every lookup (an empty list: found, no address).
    pub fn set(&self, host: &str, ips: impl IntoIterator<Item = IpAddr>) {
        self.insert(host, FixtureAnswer::Fixed(ips.into_iter().collect()));
    }

    /// The n-th lookup of `host` answers `answers[n]`, the last answer
    /// repeating once the list is exhausted.
    pub fn set_sequence(&self, host: &str, answers: Vec<Vec<IpAddr>>) {
        self.insert(host, FixtureAnswer::Sequence(answers));
    }

    /// Every lookup of `host` fails as if the name servers did not answer.
    pub fn set_failure(&self, host: &str, reason: &str) {
        self.insert(host, FixtureAnswer::Failure(reason.to_owned()));
    }

    /// How many times `host` was looked up.
    #[must_use]
    pub fn lookups(&self, host: &str) -> usize {
        self.state
            .lock()
            .lookups
            .get(&fixture_key(host))
            .copied()
            .unwrap_or(0)
    }

    fn insert(&self, host: &str, answer: FixtureAnswer) {
        self.state.lock().answers.insert(fixture_key(host), answer);
    }
}

#[async_trait]
impl NameResolver for FixtureResolver {
    async fn lookup(&self, host: &str) -> Result<Vec<IpAddr>, ResolveError> {
        let key = fixture_key(host);
        let mut state = self.state.lock();
        let seen = state.lookups.entry(key.clone()).or_insert(0);
        let nth = *seen;
        *seen += 1;
        let not_found = || ResolveError::NotFound {
            host: host.to_owned(),
        };
        match state.answers.get(&key) {
            None => Err(not_found()),
            Some(FixtureAnswer::Fixed(ips)) => Ok(ips.clone()),
            Some(FixtureAnswer::Sequence(answers)) => answers
                .get(nth)
                .or_else(|| answers.last())
                .cloned()
                .ok_or_else(not_found),
            Some(FixtureAnswer::Failure(reason)) => Err(ResolveError::Failed {
                host: host.to_owned(),
                reason: reason.clone(),
            }),
        }
    }
}

/// Why a set of DNS answers cannot be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum VetError {
    Refused(DestinationRefused),
    Dns(ResolveError),
}

/// Resolves `host` and keeps the answers only if EVERY one passes the policy:
/// a name with one public and one private address is refused outright, since
/// which one a connection uses is not ours to choose.
pub(crate) async fn resolve_and_vet(
    resolver: &dyn NameResolver,
    allow_list: &AllowList,
    host: &str,
) -> Result<Vec<IpAddr>, VetError> {
    let mut ips = resolver.lookup(host).await.map_err(VetError::Dns)?;
    if ips.is_empty() {
        return Err(VetError::Dns(ResolveError::NotFound {
            host: host.to_owned(),
        }));
    }
    for &ip in &ips {
        allow_list
            .vet(ip)
            .map_err(|address| VetError::Refused(DestinationRefused::resolved(host, address)))?;
    }
    let mut seen = std::collections::HashSet::new();
    ips.retain(|ip| seen.insert(*ip));
    Ok(ips)
}

/// reqwest's DNS hook: the only addresses reqwest may connect to are the ones
/// vetted here, in the same lookup, so a name cannot be re-pointed (rebinding)
/// between the check and the connection.
///
/// Failures are boxed as the typed [`DestinationRefused`] / [`ResolveError`]
/// so the client can classify them from reqwest's error chain.
#[derive(Debug, Clone)]
pub(crate) struct VettingResolver {
    pub(crate) resolver: Arc<dyn NameResolver>,
    pub(crate) allow_list: AllowList,
}

impl reqwest::dns::Resolve for VettingResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let this = self.clone();
        let host = name.as_str().to_owned();
        Box::pin(async move {
            match resolve_and_vet(this.resolver.as_ref(), &this.allow_list, &host).await {
                Ok(ips) => {
                    tracing::debug!(%host, ?ips, "vetted DNS answers");
                    // Port 0 is replaced by the URL's port (or the scheme's default).
                    let addrs: reqwest::dns::Addrs =
                        Box::new(ips.into_iter().map(|ip| SocketAddr::new(ip, 0)));
                    Ok(addrs)
                }
                // Already logged with its details where the refusal was made.
                Err(VetError::Refused(refused)) => {
                    Err(Box::new(refused) as Box<dyn std::error::Error + Send + Sync>)
                }
                Err(VetError::Dns(err)) => Err(Box::new(err) as _),
            }
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;
    use crate::policy::Forbidden;

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[tokio::test]
    async fn the_fixture_answers_from_its_table_whatever_the_case_or_trailing_dot() {
        let resolver = FixtureResolver::new().with("Receiver.Test", [ip("127.0.0.1")]);
        assert_eq!(
            resolver.lookup("receiver.test.").await,
            Ok(vec![ip("127.0.0.1")])
        );
        assert_eq!(
            resolver.lookup("other.test").await,
            Err(ResolveError::NotFound {
                host: "other.test".into()
            })
        );
        assert_eq!(resolver.lookups("RECEIVER.test"), 1);
    }

    #[tokio::test]
    async fn a_sequence_changes_its_answer_on_each_lookup_then_repeats_the_last() {
        let resolver = FixtureResolver::new();
        resolver.set_sequence(
            "rebind.test",
            vec![vec![ip("8.8.8.8")], vec![ip("10.0.0.1")]],
        );
        assert_eq!(
            resolver.lookup("rebind.test").await,
            Ok(vec![ip("8.8.8.8")])
        );
        assert_eq!(
            resolver.lookup("rebind.test").await,
            Ok(vec![ip("10.0.0.1")])
        );
        assert_eq!(
            resolver.lookup("rebind.test").await,
            Ok(vec![ip("10.0.0.1")])
        );
    }

    #[tokio::test]
    async fn one_forbidden_answer_refuses_the_whole_name() {
        let resolver = FixtureResolver::new().with("mixed.test", [ip("8.8.8.8"), ip("10.0.0.1")]);
        let err = resolve_and_vet(&resolver, &AllowList::default(), "mixed.test")
            .await
            .unwrap_err();
        let VetError::Refused(refused) = err else {
            panic!("expected a refusal, got {err:?}");
        };
        assert_eq!(refused.ip(), ip("10.0.0.1"));
        assert_eq!(refused.reason(), Forbidden::Private);
    }

    #[tokio::test]
    async fn allow_listed_answers_pass_and_an_empty_answer_is_not_found() {
        let resolver = FixtureResolver::new()
            .with("local.test", [ip("127.0.0.1")])
            .with("empty.test", []);
        let allow = AllowList::parse("127.0.0.0/8").unwrap();
        assert_eq!(
            resolve_and_vet(&resolver, &allow, "local.test").await,
            Ok(vec![ip("127.0.0.1")])
        );
        assert_eq!(
            resolve_and_vet(&resolver, &allow, "empty.test").await,
            Err(VetError::Dns(ResolveError::NotFound {
                host: "empty.test".into()
            }))
        );
    }
}
