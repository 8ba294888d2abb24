//! Webhook destination URLs: [`WebhookUrl`] can only hold a URL that passed
//! the static rules, and [`check_destination`] adds the DNS check done when a
//! webhook is created or changed.

use std::fmt;
use std::net::IpAddr;

use url::{Host, Url};

use crate::policy::{AllowList, Forbidden, ForbiddenAddress};
use crate::resolve::{NameResolver, ResolveError, VetError, resolve_and_vet};

/// Longest accepted URL, in characters (`docs/DESIGN.md` §3 limits).
pub const MAX_URL_CHARS: usize = 2048;

/// A destination the policy refused: the URL's host is, or resolves to, a
/// forbidden address.
///
/// Its `Display` is the only part meant for users and names neither the
/// address nor its range: "resolves to a forbidden address" for a host name
/// (telling which address, or even "a loopback address", would let a user
/// map internal DNS names), "host is a forbidden address" for an IP literal.
/// The details are logged (`warn`) when the refusal is made and are
/// otherwise reachable only through the accessors below.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DestinationRefused {
    host: String,
    address: ForbiddenAddress,
    form: HostForm,
}

/// How the URL named the refused address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum HostForm {
    /// The host is an IP address, in any spelling the parser normalises.
    IpLiteral,
    /// The host is a name that resolved to the address.
    Name,
}

impl DestinationRefused {
    /// The URL's host is the refused address itself.
    pub(crate) fn ip_literal(address: ForbiddenAddress) -> Self {
        Self::logged(address.ip().to_string(), address, HostForm::IpLiteral)
    }

    /// The name `host` resolved to the refused address.
    pub(crate) fn resolved(host: &str, address: ForbiddenAddress) -> Self {
        Self::logged(host.to_owned(), address, HostForm::Name)
    }

    /// Every refusal is built here, so every one is logged with what the
    /// user-facing text leaves out.
    fn logged(host: String, address: ForbiddenAddress, form: HostForm) -> Self {
        tracing::warn!(
            %host,
            ip = %address.ip(),
            range = %address.reason().code(),
            "destination refused by the SSRF policy"
        );
        Self {
            host,
            address,
            form,
        }
    }

    /// The URL's host as normalised by the URL parser (`127.0.0.1` for
    /// `2130706433`, `::ffff:7f00:1`, `localhost.`…).
    #[must_use]
    pub fn host(&self) -> &str {
        &self.host
    }

    /// The refused address. For server-side logs only.
    #[must_use]
    pub fn ip(&self) -> IpAddr {
        self.address.ip()
    }

    /// The refused range. For server-side logs only.
    #[must_use]
    pub fn reason(&self) -> Forbidden {
        self.address.reason()
    }

    /// `true` when the URL's host is the address itself, not a name.
    #[must_use]
    pub fn is_ip_literal(&self) -> bool {
        self.form == HostForm::IpLiteral
    }
}

impl fmt::Display for DestinationRefused {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self.form {
            HostForm::IpLiteral => "host is a forbidden address",
            HostForm::Name => "resolves to a forbidden address",
        })
    }
}

// No `source()`: the chain must not lead to the details either.
impl std::error::Error for DestinationRefused {}

/// Why a URL cannot be a webhook destination. `Display` completes "the URL …",
/// so an API can answer 422 with e.g. "url must use https".
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UrlError {
    /// Longer than [`MAX_URL_CHARS`], before or after normalisation.
    #[error("is longer than {MAX_URL_CHARS} characters")]
    TooLong,
    /// Not an absolute URL.
    #[error("is not a valid URL ({0})")]
    Invalid(#[from] url::ParseError),
    /// A scheme other than https (or http when allowed).
    #[error("must use {expected} (got {scheme:?})")]
    Scheme {
        /// The scheme found.
        scheme: String,
        /// `"https"`, or `"http or https"` when http is allowed.
        expected: &'static str,
    },
    /// A user name or password in the URL.
    #[error("must not contain credentials")]
    Credentials,
    /// No host (only possible for non-http schemes, kept for completeness).
    #[error("must have a host")]
    MissingHost,
    /// The host is, or resolves to, a forbidden address.
    #[error(transparent)]
    Refused(#[from] DestinationRefused),
    /// The host name could not be resolved.
    #[error(transparent)]
    Dns(#[from] ResolveError),
}

impl From<VetError> for UrlError {
    fn from(err: VetError) -> Self {
        match err {
            VetError::Refused(refused) => Self::Refused(refused),
            VetError::Dns(dns) => Self::Dns(dns),
        }
    }
}

/// An absolute `https` (or, when allowed, `http`) URL without credentials,
/// at most [`MAX_URL_CHARS`] long, whose host — if an IP literal in any
/// spelling — passed the policy. Host names are checked by DNS later
/// ([`check_destination`] and at every connection).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct WebhookUrl {
    url: Url,
}

impl WebhookUrl {
    /// Parses and checks `raw`.
    ///
    /// The host is judged as the WHATWG parser normalises it, never as
    /// written: `http://2130706433/`, `http://0x7f.1/`, `https://127.1/` are
    /// all 127.0.0.1, and `[::ffff:127.0.0.1]` is judged by its embedded IPv4.
    ///
    /// # Errors
    /// The first rule `raw` breaks.
    pub fn parse(raw: &str, allow_http: bool, allow_list: &AllowList) -> Result<Self, UrlError> {
        if raw.chars().count() > MAX_URL_CHARS {
            return Err(UrlError::TooLong);
        }
        let url = Url::parse(raw)?;
        // Normalisation can lengthen a URL (punycode, percent-encoding).
        if url.as_str().len() > MAX_URL_CHARS {
            return Err(UrlError::TooLong);
        }
        match url.scheme() {
            "https" => {}
            "http" if allow_http => {}
            other => {
                return Err(UrlError::Scheme {
                    scheme: other.to_owned(),
                    expected: if allow_http { "http or https" } else { "https" },
                });
            }
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(UrlError::Credentials);
        }
        let ip = match url.host() {
            None => return Err(UrlError::MissingHost),
            Some(Host::Domain(_)) => None,
            Some(Host::Ipv4(v4)) => Some(IpAddr::V4(v4)),
            Some(Host::Ipv6(v6)) => Some(IpAddr::V6(v6)),
        };
        // reqwest never asks the DNS hook about IP literals: they are judged here.
        if let Some(ip) = ip {
            allow_list.vet(ip).map_err(DestinationRefused::ip_literal)?;
        }
        Ok(Self { url })
    }

    /// The normalised URL.
    #[must_use]
    pub fn as_str(&self) -> &str {
        self.url.as_str()
    }

    /// The parsed URL.
    #[must_use]
    pub fn as_url(&self) -> &Url {
        &self.url
    }

    /// The IP address when the host is an IP literal.
    #[must_use]
    pub fn ip_literal(&self) -> Option<IpAddr> {
        match self.url.host() {
            Some(Host::Ipv4(v4)) => Some(IpAddr::V4(v4)),
            Some(Host::Ipv6(v6)) => Some(IpAddr::V6(v6)),
            Some(Host::Domain(_)) | None => None,
        }
    }

    /// The host name to resolve, `None` for an IP literal.
    #[must_use]
    pub fn domain(&self) -> Option<&str> {
        self.url.domain()
    }
}

impl fmt::Display for WebhookUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl AsRef<str> for WebhookUrl {
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

impl From<WebhookUrl> for String {
    fn from(url: WebhookUrl) -> Self {
        url.url.into()
    }
}

/// The creation/update-time check: resolves the host and refuses when ANY
/// address is forbidden and not allow-listed. Returns the vetted addresses.
///
/// This does not replace the check at connection time (the name may change
/// in between): [`crate::OutboundClient`] re-checks on every connection.
///
/// # Errors
/// [`UrlError::Refused`] for the first forbidden address (named in the log
/// only),
/// [`UrlError::Dns`] when the name does not resolve.
pub async fn check_destination(
    url: &WebhookUrl,
    resolver: &dyn NameResolver,
    allow_list: &AllowList,
) -> Result<Vec<IpAddr>, UrlError> {
    if let Some(ip) = url.ip_literal() {
        allow_list.vet(ip).map_err(DestinationRefused::ip_literal)?;
        return Ok(vec![ip]);
    }
    let host = url.domain().ok_or(UrlError::MissingHost)?;
    Ok(resolve_and_vet(resolver, allow_list, host).await?)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use std::io;
    use std::sync::Arc;

    use parking_lot::Mutex;
    use tracing_subscriber::fmt::MakeWriter;

    use super::*;
    use crate::resolve::FixtureResolver;

    fn parse(raw: &str) -> Result<WebhookUrl, UrlError> {
        WebhookUrl::parse(raw, false, &AllowList::default())
    }

    fn refusal(raw: &str, allow_http: bool) -> (String, Forbidden) {
        match WebhookUrl::parse(raw, allow_http, &AllowList::default()) {
            Err(UrlError::Refused(refused)) => (refused.host().to_owned(), refused.reason()),
            other => panic!("{raw}: expected a refusal, got {other:?}"),
        }
    }

    #[test]
    fn a_public_https_url_is_accepted_and_normalised() {
        let url = parse("HTTPS://Hooks.Example.COM/in?x=1").unwrap();
        assert_eq!(url.as_str(), "https://hooks.example.com/in?x=1");
        assert_eq!(url.domain(), Some("hooks.example.com"));
        assert_eq!(url.ip_literal(), None);
        assert!(parse("https://8.8.8.8:8443/hook").is_ok());
        assert!(parse("https://[2606:4700:4700::1111]/").is_ok());
    }

    #[test]
    fn http_needs_the_switch() {
        let err = parse("http://hooks.example.com/").unwrap_err();
        assert_eq!(err.to_string(), "must use https (got \"http\")");
        assert!(
            WebhookUrl::parse("http://hooks.example.com/", true, &AllowList::default()).is_ok()
        );
    }

    #[test]
    fn other_schemes_are_refused_even_with_http_allowed() {
        for raw in [
            "ftp://example.com/",
            "file:///etc/passwd",
            "gopher://example.com/",
            "data:,x",
        ] {
            let err = WebhookUrl::parse(raw, true, &AllowList::default()).unwrap_err();
            assert!(
                matches!(
                    err,
                    UrlError::Scheme {
                        expected: "http or https",
                        ..
                    }
                ),
                "{raw}: {err:?}"
            );
        }
    }

    #[test]
    fn credentials_are_refused() {
        for raw in [
            "https://user@example.com/",
            "https://user:secret@example.com/",
            "https://:secret@example.com/",
        ] {
            let err = parse(raw).unwrap_err();
            assert_eq!(err, UrlError::Credentials, "{raw}");
            assert_eq!(err.to_string(), "must not contain credentials");
        }
    }

    #[test]
    fn the_length_limit_is_2048_characters() {
        let base = "https://example.com/";
        let exact = format!("{base}{}", "a".repeat(MAX_URL_CHARS - base.len()));
        assert!(parse(&exact).is_ok());
        let over = format!("{exact}a");
        let err = parse(&over).unwrap_err();
        assert_eq!(err, UrlError::TooLong);
        assert_eq!(err.to_string(), "is longer than 2048 characters");
        // Spaces become %20 when normalised: 2048 characters as written, more once parsed.
        let grows = format!("{base}{}", " x".repeat((MAX_URL_CHARS - base.len()) / 2));
        assert_eq!(parse(&grows).unwrap_err(), UrlError::TooLong);
    }

    #[test]
    fn garbage_is_invalid() {
        for raw in [
            "",
            "not a url",
            "https://",
            "//example.com/",
            "https://exa mple.com/",
        ] {
            assert!(matches!(parse(raw), Err(UrlError::Invalid(_))), "{raw}");
        }
    }

    #[test]
    fn numeric_tricks_are_normalised_before_the_check() {
        for raw in [
            "http://2130706433/",
            "http://0x7f.1/",
            "http://0x7f000001/",
            "http://017700000001/",
            "http://0177.0.0.1/",
            "https://127.1/",
            "https://127.0.0.1./",
            "http://[::ffff:127.0.0.1]/",
            "http://[::ffff:7f00:1]/",
            "http://[0:0:0:0:0:ffff:127.0.0.1]/",
            "https://[64:ff9b::127.0.0.1]/",
        ] {
            let (_, reason) = refusal(raw, true);
            assert_eq!(reason, Forbidden::Loopback, "{raw}");
        }
        assert_eq!(refusal("http://2130706433/", true).0, "127.0.0.1");
        assert_eq!(refusal("https://[::1]/", false).1, Forbidden::Loopback);
        assert_eq!(refusal("https://0/", false).1, Forbidden::Unspecified);
        assert_eq!(
            refusal("https://169.254.169.254/latest/meta-data/", false).1,
            Forbidden::LinkLocal
        );
        assert_eq!(refusal("https://[fd00::1]/", false).1, Forbidden::Private);
        assert_eq!(refusal("https://10.0.0.5/", false).1, Forbidden::Private);
    }

    #[test]
    fn a_refused_literal_says_so_without_the_range_or_the_normalised_address() {
        for raw in [
            "https://10.0.0.5/hook",
            "https://0x7f.1/",
            "https://[::ffff:169.254.169.254]/",
        ] {
            let err = parse(raw).unwrap_err();
            assert_eq!(err.to_string(), "host is a forbidden address", "{raw}");
        }
        let UrlError::Refused(refused) = parse("https://0x7f.1/").unwrap_err() else {
            panic!("expected a refusal");
        };
        assert!(refused.is_ip_literal());
        assert_eq!(refused.host(), "127.0.0.1");
        assert_eq!(refused.ip(), "127.0.0.1".parse::<IpAddr>().unwrap());
        assert_eq!(refused.reason(), Forbidden::Loopback);
    }

    #[test]
    fn ipv6_transition_and_special_purpose_literals_are_refused() {
        for (raw, reason) in [
            // SIIT and ISATAP-style forms of 127.0.0.1, local-use NAT64 of 10.0.0.1.
            ("https://[::ffff:0:7f00:1]/", Forbidden::Reserved),
            ("https://[::5efe:7f00:1]/", Forbidden::Reserved),
            ("https://[64:ff9b:1::a00:1]/", Forbidden::Reserved),
            // Teredo, benchmarking, documentation, SRv6.
            (
                "https://[2001:0:4136:e378:8000:63bf:3fff:fdd2]/",
                Forbidden::Reserved,
            ),
            ("https://[2001:2::1]/", Forbidden::Benchmarking),
            ("https://[3fff::1]/", Forbidden::Documentation),
            ("https://[5f00::1]/", Forbidden::Reserved),
        ] {
            assert_eq!(refusal(raw, false).1, reason, "{raw}");
        }
        assert!(parse("https://[2001:200::1]/").is_ok());
        assert!(parse("https://[64:ff9b::808:808]/").is_ok());
    }

    #[test]
    fn allow_listed_literals_are_accepted() {
        let allow = AllowList::parse("127.0.0.0/8").unwrap();
        let url = WebhookUrl::parse("http://2130706433:8080/", true, &allow).unwrap();
        assert_eq!(url.as_str(), "http://127.0.0.1:8080/");
        assert_eq!(url.ip_literal(), Some("127.0.0.1".parse().unwrap()));
        assert!(WebhookUrl::parse("http://[::ffff:127.0.0.1]/", true, &allow).is_ok());
        assert!(WebhookUrl::parse("http://10.0.0.1/", true, &allow).is_err());
    }

    #[test]
    fn names_are_left_to_dns_and_trailing_dots_kept() {
        let url = parse("https://localhost./").unwrap();
        assert_eq!(url.domain(), Some("localhost."));
    }

    #[tokio::test]
    async fn check_destination_refuses_a_name_with_any_forbidden_address() {
        let ips = |list: &[&str]| {
            list.iter()
                .map(|ip| ip.parse().unwrap())
                .collect::<Vec<IpAddr>>()
        };
        let resolver = FixtureResolver::new()
            .with("public.example", ips(&["8.8.8.8", "2606:4700:4700::1111"]))
            .with("mixed.example", ips(&["8.8.8.8", "10.0.0.5"]))
            .with("metadata.example", ips(&["169.254.169.254"]));
        resolver.set_failure("broken.example", "no name server answered");
        let none = AllowList::default();
        let check = |raw: &str| {
            let url = parse(raw).unwrap();
            let resolver = &resolver;
            let none = &none;
            async move { check_destination(&url, resolver, none).await }
        };

        assert_eq!(
            check("https://public.example/").await,
            Ok(ips(&["8.8.8.8", "2606:4700:4700::1111"]))
        );
        // The address and its range stay out of the text: a user could
        // otherwise map internal names to addresses.
        for raw in ["https://mixed.example/", "https://metadata.example/"] {
            let err = check(raw).await.unwrap_err();
            assert_eq!(err.to_string(), "resolves to a forbidden address", "{raw}");
        }
        let Err(UrlError::Refused(refused)) = check("https://mixed.example/").await else {
            panic!("expected a refusal");
        };
        assert!(!refused.is_ip_literal());
        assert_eq!(refused.host(), "mixed.example");
        assert_eq!(refused.ip(), ips(&["10.0.0.5"])[0]);
        assert_eq!(refused.reason(), Forbidden::Private);
        let err = check("https://unknown.example/").await.unwrap_err();
        assert_eq!(err.to_string(), "host not found (unknown.example)");
        let err = check("https://broken.example/").await.unwrap_err();
        assert_eq!(
            err.to_string(),
            "host could not be resolved (broken.example: no name server answered)"
        );
        assert_eq!(check("https://8.8.8.8/").await, Ok(ips(&["8.8.8.8"])));
        // Literals never reach the resolver.
        assert_eq!(resolver.lookups("8.8.8.8"), 0);
    }

    /// Whatever the subscriber writes, kept for the test to read.
    #[derive(Clone, Default)]
    struct Captured(Arc<Mutex<Vec<u8>>>);

    impl Captured {
        fn text(&self) -> String {
            String::from_utf8_lossy(&self.0.lock()).into_owned()
        }
    }

    impl io::Write for Captured {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.0.lock().extend_from_slice(buf);
            Ok(buf.len())
        }

        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    impl<'a> MakeWriter<'a> for Captured {
        type Writer = Self;

        fn make_writer(&'a self) -> Self::Writer {
            self.clone()
        }
    }

    #[tokio::test]
    async fn every_refusal_is_logged_with_the_address_and_its_range() {
        let logs = Captured::default();
        let subscriber = tracing_subscriber::fmt()
            .with_writer(logs.clone())
            .with_ansi(false)
            .without_time()
            .finish();
        // Current-thread runtime: the thread-local default sees every event.
        let _guard = tracing::subscriber::set_default(subscriber);
        let resolver =
            FixtureResolver::new().with("intranet.example", ["10.0.0.5".parse().unwrap()]);

        let named = parse("https://intranet.example/").unwrap();
        check_destination(&named, &resolver, &AllowList::default())
            .await
            .unwrap_err();
        parse("https://0xa9fea9fe/").unwrap_err();

        let text = logs.text();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 2, "{text}");
        for (line, fields) in lines.iter().zip([
            ["host=intranet.example", "ip=10.0.0.5", "range=private"],
            [
                "host=169.254.169.254",
                "ip=169.254.169.254",
                "range=link_local",
            ],
        ]) {
            assert!(line.contains("WARN"), "{line}");
            for field in fields {
                assert!(line.contains(field), "{field} missing: {line}");
            }
        }
    }

    #[tokio::test]
    async fn check_destination_honours_its_own_allow_list() {
        let resolver = FixtureResolver::new().with("receiver.test", ["127.0.0.1".parse().unwrap()]);
        let url = parse("https://receiver.test/").unwrap();
        assert!(matches!(
            check_destination(&url, &resolver, &AllowList::default()).await,
            Err(UrlError::Refused(_))
        ));
        let allow = AllowList::parse("127.0.0.0/8").unwrap();
        assert!(check_destination(&url, &resolver, &allow).await.is_ok());
    }
}
