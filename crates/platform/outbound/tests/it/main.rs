//! The outbound client against real local receivers. Every name is resolved
//! by the fixture resolver (except in the hickory test); the only addresses
//! ever connected to are on the loopback interface. 127.0.0.2 plays the
//! "forbidden" destination: it is loopback like the rest, but outside the
//! allow-list, and a receiver listens there to prove nothing reached it.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use hub_platform_outbound::{
    AllowList, Bytes, ErrorKind, FixtureResolver, Forbidden, HeaderMap, HeaderValue,
    HickoryResolver, NameResolver, OutboundClient, OutboundConfig, OutboundError, OutboundResponse,
    UrlError, WebhookUrl,
};
use hub_platform_test_receiver::{Receiver, Reply, test_pki};

const ALLOWED: &str = "127.0.0.1";
const FORBIDDEN: &str = "127.0.0.2";
const BODY: &[u8] = br#"{"event_id":"0190f0c2","event_type":"chantier.created","data":{}}"#;

fn ip(text: &str) -> IpAddr {
    text.parse().unwrap()
}

fn config(allowed_cidrs: &str) -> OutboundConfig {
    OutboundConfig {
        allow_http: true,
        allowed_cidrs: AllowList::parse(allowed_cidrs).unwrap(),
        ..OutboundConfig::default()
    }
}

fn client(allowed_cidrs: &str, resolver: &Arc<FixtureResolver>) -> OutboundClient {
    OutboundClient::new(config(allowed_cidrs), resolver.clone()).unwrap()
}

/// A URL built under a permissive policy, to prove the client re-checks it.
fn loose_url(raw: &str) -> WebhookUrl {
    WebhookUrl::parse(raw, true, &AllowList::parse("0.0.0.0/0, ::/0").unwrap()).unwrap()
}

fn webhook_headers() -> HeaderMap {
    let mut headers = HeaderMap::new();
    headers.insert("content-type", HeaderValue::from_static("application/json"));
    headers.insert("webhook-id", HeaderValue::from_static("0190f0c2"));
    headers.insert("webhook-timestamp", HeaderValue::from_static("1764115200"));
    headers.insert(
        "webhook-signature",
        HeaderValue::from_static("v1,K5oZfzN95Z9UVu1EsfQmfVNQhnkZ2pj9o9NDN/H/pI4="),
    );
    headers
}

async fn post(
    client: &OutboundClient,
    url: &WebhookUrl,
) -> Result<OutboundResponse, OutboundError> {
    client
        .post(url, webhook_headers(), Bytes::from_static(BODY))
        .await
}

fn assert_kind(result: Result<OutboundResponse, OutboundError>, kind: ErrorKind) -> OutboundError {
    match result {
        Err(err) => {
            assert_eq!(err.kind(), kind, "unexpected error: {err}");
            err
        }
        Ok(response) => panic!("expected a {kind} error, got {response:?}"),
    }
}

/// What a refused name reads as wherever users see it (delivery log).
const NAME_REFUSED: &str =
    "refused by the outbound policy: the URL resolves to a forbidden address";
/// The same for an IP-literal host (the first URL or a redirect target).
const LITERAL_REFUSED: &str = "refused by the outbound policy: the URL host is a forbidden address";

/// `text` may reach the webhook's owner: it must not tell which address a
/// name resolved to, nor which kind of address it is.
fn assert_reveals_nothing(text: &str, address: &str) {
    for leak in [address, "loopback", "private", "link-local"] {
        assert!(!text.contains(leak), "{leak:?} leaked in {text:?}");
    }
}

// ---------------------------------------------------------------------------
// DNS answers and the policy
// ---------------------------------------------------------------------------

#[tokio::test]
async fn a_name_with_one_allowed_and_one_forbidden_address_is_refused_without_connecting() {
    let receiver = Receiver::ok().await;
    let resolver =
        Arc::new(FixtureResolver::new().with("mixed.test", [ip(ALLOWED), ip(FORBIDDEN)]));
    let client = client("127.0.0.1/32", &resolver);
    let url = client
        .parse_url(&format!("http://mixed.test:{}/hook", receiver.port()))
        .unwrap();

    let err = client.check_destination(&url).await.unwrap_err();
    assert_eq!(err.to_string(), "resolves to a forbidden address");
    assert!(
        matches!(&err, UrlError::Refused(refused) if refused.ip() == ip(FORBIDDEN)),
        "{err:?}"
    );

    let err = assert_kind(post(&client, &url).await, ErrorKind::SsrfRefused);
    assert_eq!(err.message(), NAME_REFUSED);
    assert_eq!(
        receiver.connections(),
        0,
        "the allowed address must not be tried either"
    );
}

#[tokio::test]
async fn a_name_resolving_to_loopback_is_refused_by_default() {
    let receiver = Receiver::ok().await;
    let resolver = Arc::new(FixtureResolver::new().with("receiver.test", [ip(ALLOWED)]));
    let client = client("", &resolver);
    let url = client
        .parse_url(&format!("http://receiver.test:{}/hook", receiver.port()))
        .unwrap();

    assert!(matches!(
        client.check_destination(&url).await,
        Err(UrlError::Refused(_))
    ));
    let err = assert_kind(post(&client, &url).await, ErrorKind::SsrfRefused);
    assert_eq!(err.message(), NAME_REFUSED);
    assert_reveals_nothing(&err.message(), ALLOWED);
    assert_eq!(receiver.connections(), 0);
}

#[tokio::test]
async fn an_allow_listed_receiver_gets_the_exact_post() {
    let receiver = Receiver::start(|_| Reply::status(202).body("accepted")).await;
    let resolver = Arc::new(FixtureResolver::new().with("receiver.test", [ip(ALLOWED)]));
    let client = client("127.0.0.0/8", &resolver);
    let url = client
        .parse_url(&format!(
            "http://receiver.test:{}/hooks/in?x=1",
            receiver.port()
        ))
        .unwrap();
    assert_eq!(client.check_destination(&url).await, Ok(vec![ip(ALLOWED)]));

    let response = post(&client, &url).await.unwrap();
    assert_eq!(response.status, 202);
    assert_eq!(&response.body_prefix[..], b"accepted");
    assert!(!response.body_truncated);
    assert_eq!(response.redirects, 0);
    assert_eq!(response.final_url, url);

    let requests = receiver.requests();
    assert_eq!(requests.len(), 1);
    let request = &requests[0];
    assert_eq!(request.method, "POST");
    assert_eq!(request.path, "/hooks/in?x=1");
    assert_eq!(request.body, BODY);
    for (name, value) in &webhook_headers() {
        assert_eq!(
            request.header(name.as_str()),
            Some(value.to_str().unwrap()),
            "{name}"
        );
    }
    assert_eq!(
        request.header("user-agent"),
        Some("Hub-Chantier-Webhooks/1.0")
    );
    assert_eq!(
        request.header("host"),
        Some(format!("receiver.test:{}", receiver.port()).as_str())
    );
}

#[tokio::test]
async fn dns_rebinding_between_the_check_and_the_connection_is_refused_at_connect() {
    // Same port on both addresses, so only the DNS answer decides where it goes.
    let good = Receiver::ok().await;
    let evil = Receiver::ok_at((ip(FORBIDDEN), good.port())).await;
    let resolver = Arc::new(FixtureResolver::new());
    resolver.set_sequence("rebind.test", vec![vec![ip(ALLOWED)], vec![ip(FORBIDDEN)]]);
    let client = client("127.0.0.1/32", &resolver);
    let url = client
        .parse_url(&format!("http://rebind.test:{}/", good.port()))
        .unwrap();

    assert_eq!(client.check_destination(&url).await, Ok(vec![ip(ALLOWED)]));
    let err = assert_kind(post(&client, &url).await, ErrorKind::SsrfRefused);
    assert_eq!(err.message(), NAME_REFUSED);
    assert_reveals_nothing(&err.message(), FORBIDDEN);
    assert_eq!(resolver.lookups("rebind.test"), 2);
    assert_eq!(evil.connections(), 0, "the rebound address was reached");
    assert_eq!(good.connections(), 0);
}

// ---------------------------------------------------------------------------
// IP literals (reqwest never asks the DNS hook about them)
// ---------------------------------------------------------------------------

#[tokio::test]
async fn an_ip_literal_url_is_refused_without_the_allow_list() {
    let receiver = Receiver::ok().await;
    let resolver = Arc::new(FixtureResolver::new());
    let client = client("", &resolver);
    let raw = format!("http://127.0.0.1:{}/", receiver.port());

    let err = client.parse_url(&raw).unwrap_err();
    assert_eq!(err.to_string(), "host is a forbidden address");
    let err = assert_kind(
        post(&client, &loose_url(&raw)).await,
        ErrorKind::SsrfRefused,
    );
    assert_eq!(err.message(), LITERAL_REFUSED);
    assert_eq!(receiver.connections(), 0);
}

#[tokio::test]
async fn numeric_spellings_of_loopback_are_refused() {
    let receiver = Receiver::ok().await;
    let resolver = Arc::new(FixtureResolver::new());
    let strict = client("", &resolver);
    let port = receiver.port();
    let spellings = [
        format!("http://2130706433:{port}/"),
        format!("http://0x7f.1:{port}/"),
        format!("http://0x7f000001:{port}/"),
        format!("http://017700000001:{port}/"),
        format!("http://127.1:{port}/"),
        format!("http://127.0.0.1.:{port}/"),
        format!("http://[::ffff:127.0.0.1]:{port}/"),
        format!("http://[::ffff:7f00:1]:{port}/"),
    ];
    for raw in &spellings {
        let err = strict.parse_url(raw).unwrap_err();
        assert!(
            matches!(&err, UrlError::Refused(refused) if refused.reason() == Forbidden::Loopback),
            "{raw}: {err:?}"
        );
        assert_kind(post(&strict, &loose_url(raw)).await, ErrorKind::SsrfRefused);
    }
    assert_eq!(receiver.connections(), 0);
    assert_eq!(resolver.lookups("2130706433"), 0);

    // Control: the spellings really point at the receiver.
    let allowed = client("127.0.0.0/8", &resolver);
    let url = allowed.parse_url(&spellings[0]).unwrap();
    assert_eq!(post(&allowed, &url).await.unwrap().status, 200);
    assert_eq!(receiver.requests().len(), 1);
}

// ---------------------------------------------------------------------------
// Redirects
// ---------------------------------------------------------------------------

fn redirecting(status: u16, location: &str) -> Reply {
    Reply::status(status).header("location", location)
}

#[tokio::test]
async fn redirects_307_and_308_are_followed_with_method_body_and_headers() {
    let receiver = Receiver::start(|request| match request.path.as_str() {
        "/temporary" => redirecting(307, "/final"),
        "/permanent" => redirecting(308, "/final?from=308"),
        _ => Reply::status(200).body("done"),
    })
    .await;
    let resolver = Arc::new(FixtureResolver::new().with("receiver.test", [ip(ALLOWED)]));
    let client = client("127.0.0.0/8", &resolver);
    let base = format!("http://receiver.test:{}", receiver.port());

    for (path, final_path) in [("/temporary", "/final"), ("/permanent", "/final?from=308")] {
        let url = client.parse_url(&format!("{base}{path}")).unwrap();
        let response = post(&client, &url).await.unwrap();
        assert_eq!(response.status, 200, "{path}");
        assert_eq!(response.redirects, 1);
        assert_eq!(response.final_url.as_str(), format!("{base}{final_path}"));
        assert_eq!(&response.body_prefix[..], b"done");
    }
    let requests = receiver.requests();
    let paths: Vec<&str> = requests.iter().map(|r| r.path.as_str()).collect();
    assert_eq!(
        paths,
        ["/temporary", "/final", "/permanent", "/final?from=308"]
    );
    for request in &requests {
        assert_eq!(request.method, "POST");
        assert_eq!(request.body, BODY);
        assert_eq!(request.header("webhook-id"), Some("0190f0c2"));
        assert_eq!(request.header("content-type"), Some("application/json"));
    }
}

#[tokio::test]
async fn a_redirect_to_another_origin_drops_credential_headers_only() {
    let receiver = Receiver::start(|request| {
        if request
            .header("host")
            .is_some_and(|h| h.starts_with("first.test"))
        {
            let port = request
                .header("host")
                .unwrap()
                .rsplit(':')
                .next()
                .unwrap()
                .to_owned();
            redirecting(307, &format!("http://second.test:{port}/"))
        } else {
            Reply::status(204)
        }
    })
    .await;
    let resolver = Arc::new(
        FixtureResolver::new()
            .with("first.test", [ip(ALLOWED)])
            .with("second.test", [ip(ALLOWED)]),
    );
    let client = client("127.0.0.0/8", &resolver);
    let url = client
        .parse_url(&format!("http://first.test:{}/", receiver.port()))
        .unwrap();
    let mut headers = webhook_headers();
    headers.insert("authorization", HeaderValue::from_static("Bearer secret"));

    let response = client
        .post(&url, headers, Bytes::from_static(BODY))
        .await
        .unwrap();
    assert_eq!(response.status, 204);
    let requests = receiver.requests();
    assert_eq!(requests[0].header("authorization"), Some("Bearer secret"));
    assert_eq!(requests[1].header("authorization"), None);
    assert_eq!(
        requests[1].header("webhook-signature"),
        requests[0].header("webhook-signature")
    );
}

#[tokio::test]
async fn other_3xx_statuses_are_redirect_failures() {
    let receiver = Receiver::start(|request| {
        let status = request.path.trim_start_matches('/').parse().unwrap();
        redirecting(status, "/elsewhere")
    })
    .await;
    let resolver = Arc::new(FixtureResolver::new().with("receiver.test", [ip(ALLOWED)]));
    let client = client("127.0.0.0/8", &resolver);
    for status in [301, 302, 303, 300] {
        let url = client
            .parse_url(&format!(
                "http://receiver.test:{}/{status}",
                receiver.port()
            ))
            .unwrap();
        let err = assert_kind(post(&client, &url).await, ErrorKind::Redirect);
        assert_eq!(
            err.message(),
            format!("redirect: status {status} is not followed (only 307 and 308 are)")
        );
    }
    assert!(receiver.requests().iter().all(|r| r.path != "/elsewhere"));
}

#[tokio::test]
async fn a_redirect_to_a_forbidden_literal_is_refused_and_not_followed() {
    let target = Receiver::ok_at((ip(FORBIDDEN), 0)).await;
    let location = format!("http://{FORBIDDEN}:{}/", target.port());
    let receiver = Receiver::start(move |_| redirecting(307, &location)).await;
    let resolver = Arc::new(FixtureResolver::new().with("receiver.test", [ip(ALLOWED)]));
    let client = client("127.0.0.1/32", &resolver);
    let url = client
        .parse_url(&format!("http://receiver.test:{}/", receiver.port()))
        .unwrap();

    let err = assert_kind(post(&client, &url).await, ErrorKind::SsrfRefused);
    assert_eq!(err.message(), LITERAL_REFUSED);
    assert_eq!(receiver.requests().len(), 1);
    assert_eq!(target.connections(), 0);
}

#[tokio::test]
async fn a_redirect_to_a_name_resolving_to_a_forbidden_address_is_refused() {
    let target = Receiver::ok_at((ip(FORBIDDEN), 0)).await;
    let location = format!("http://internal.test:{}/", target.port());
    let receiver = Receiver::start(move |_| redirecting(308, &location)).await;
    let resolver = Arc::new(
        FixtureResolver::new()
            .with("receiver.test", [ip(ALLOWED)])
            .with("internal.test", [ip(FORBIDDEN)]),
    );
    let client = client("127.0.0.1/32", &resolver);
    let url = client
        .parse_url(&format!("http://receiver.test:{}/", receiver.port()))
        .unwrap();

    let err = assert_kind(post(&client, &url).await, ErrorKind::SsrfRefused);
    assert_eq!(err.message(), NAME_REFUSED);
    assert_reveals_nothing(&err.message(), FORBIDDEN);
    assert_eq!(
        resolver.lookups("internal.test"),
        1,
        "the hop is vetted by DNS"
    );
    assert_eq!(target.connections(), 0);
}

#[tokio::test]
async fn a_redirect_breaking_the_url_rules_is_a_redirect_failure() {
    let receiver = Receiver::start(|request| match request.path.as_str() {
        "/ftp" => redirecting(307, "ftp://receiver.test/"),
        "/credentials" => redirecting(307, "http://user:pw@receiver.test/"),
        _ => Reply::status(307),
    })
    .await;
    let resolver = Arc::new(FixtureResolver::new().with("receiver.test", [ip(ALLOWED)]));
    let client = client("127.0.0.0/8", &resolver);
    let base = format!("http://receiver.test:{}", receiver.port());
    for (path, expected) in [
        ("/ftp", "must use http or https"),
        ("/credentials", "must not contain credentials"),
        ("/no-location", "without a Location header"),
    ] {
        let url = client.parse_url(&format!("{base}{path}")).unwrap();
        let err = assert_kind(post(&client, &url).await, ErrorKind::Redirect);
        assert!(err.message().contains(expected), "{path}: {err}");
    }
}

#[tokio::test]
async fn three_hops_are_followed_and_a_fourth_is_a_redirect_failure() {
    let receiver = Receiver::start(|request| {
        let hops_left: u8 = request.path.trim_start_matches("/hop/").parse().unwrap();
        if hops_left == 0 {
            Reply::status(200)
        } else {
            redirecting(307, &format!("/hop/{}", hops_left - 1))
        }
    })
    .await;
    let resolver = Arc::new(FixtureResolver::new().with("receiver.test", [ip(ALLOWED)]));
    let client = client("127.0.0.0/8", &resolver);
    let base = format!("http://receiver.test:{}", receiver.port());

    let three = client.parse_url(&format!("{base}/hop/3")).unwrap();
    let response = post(&client, &three).await.unwrap();
    assert_eq!(response.redirects, 3);
    assert_eq!(response.final_url.as_str(), format!("{base}/hop/0"));
    assert_eq!(receiver.requests().len(), 4);

    let four = client.parse_url(&format!("{base}/hop/4")).unwrap();
    let err = assert_kind(post(&client, &four).await, ErrorKind::Redirect);
    assert_eq!(err.message(), "redirect: more than 3 redirects");
    assert_eq!(
        receiver.requests().len(),
        8,
        "initial request + 3 followed hops"
    );
}

// ---------------------------------------------------------------------------
// Transport failures and responses
// ---------------------------------------------------------------------------

#[tokio::test]
async fn a_slow_receiver_is_a_timeout() {
    let receiver = Receiver::start(|_| Reply::status(200).delayed(Duration::from_secs(5))).await;
    let resolver = Arc::new(FixtureResolver::new().with("slow.test", [ip(ALLOWED)]));
    let client = OutboundClient::new(
        OutboundConfig {
            timeout: Duration::from_millis(300),
            ..config("127.0.0.0/8")
        },
        resolver,
    )
    .unwrap();
    let url = client
        .parse_url(&format!("http://slow.test:{}/", receiver.port()))
        .unwrap();

    let err = assert_kind(post(&client, &url).await, ErrorKind::Timeout);
    assert!(err.message().starts_with("timed out"), "{err}");
    assert_eq!(receiver.requests().len(), 1);
}

#[tokio::test]
async fn dns_failures_are_dns_errors_with_a_clear_message() {
    let resolver = Arc::new(FixtureResolver::new().with("empty.test", []));
    resolver.set_failure("broken.test", "no name server answered");
    let client = client("127.0.0.0/8", &resolver);
    for (host, message) in [
        (
            "broken.test",
            "DNS: host could not be resolved (broken.test: no name server answered)",
        ),
        ("unknown.test", "DNS: host not found (unknown.test)"),
        ("empty.test", "DNS: host not found (empty.test)"),
    ] {
        let url = client.parse_url(&format!("http://{host}:9/")).unwrap();
        let err = assert_kind(post(&client, &url).await, ErrorKind::Dns);
        assert_eq!(err.message(), message);
        assert!(matches!(
            client.check_destination(&url).await,
            Err(UrlError::Dns(_))
        ));
    }
}

#[tokio::test]
async fn nothing_listening_is_a_connect_error() {
    let port = {
        let listener = tokio::net::TcpListener::bind((ip(ALLOWED), 0))
            .await
            .unwrap();
        listener.local_addr().unwrap().port()
    };
    let resolver = Arc::new(FixtureResolver::new().with("closed.test", [ip(ALLOWED)]));
    let client = client("127.0.0.0/8", &resolver);
    for raw in [
        format!("http://closed.test:{port}/"),
        format!("http://127.0.0.1:{port}/"),
    ] {
        let url = client.parse_url(&raw).unwrap();
        let err = assert_kind(post(&client, &url).await, ErrorKind::Connect);
        assert!(err.message().to_lowercase().contains("refused"), "{err}");
    }
}

#[tokio::test]
async fn response_bodies_are_capped_and_never_read_past_the_cap() {
    let receiver = Receiver::start(|request| match request.path.as_str() {
        "/big" => Reply::status(500).body(vec![b'a'; 200 * 1024]),
        "/endless" => Reply::status(200).endless(),
        "/busy" => Reply::status(503)
            .header("retry-after", "120")
            .body("later"),
        _ => Reply::status(200).body(vec![b'b'; 64 * 1024]),
    })
    .await;
    let resolver = Arc::new(FixtureResolver::new().with("receiver.test", [ip(ALLOWED)]));
    let client = client("127.0.0.0/8", &resolver);
    let base = format!("http://receiver.test:{}", receiver.port());
    let send = |path: &str| {
        let url = client.parse_url(&format!("{base}{path}")).unwrap();
        let client = &client;
        async move { post(client, &url).await.unwrap() }
    };

    let big = send("/big").await;
    assert_eq!(
        big.status, 500,
        "a non-2xx answer is a response, not an error"
    );
    assert_eq!(big.body_prefix.len(), 64 * 1024);
    assert!(big.body_truncated);

    // 1 GiB announced and streamed: finishing at all (within the 10 s timeout)
    // proves the client stopped reading at the cap.
    let endless = send("/endless").await;
    assert_eq!(endless.status, 200);
    assert_eq!(endless.body_prefix.len(), 64 * 1024);
    assert!(endless.body_truncated);

    let exact = send("/exact").await;
    assert_eq!(exact.body_prefix.len(), 64 * 1024);
    assert!(
        !exact.body_truncated,
        "a body of exactly the cap is complete"
    );

    let busy = send("/busy").await;
    assert_eq!(busy.status, 503);
    assert_eq!(busy.retry_after.as_deref(), Some("120"));
    assert_eq!(&busy.body_prefix[..], b"later");
}

// ---------------------------------------------------------------------------
// TLS
// ---------------------------------------------------------------------------

#[tokio::test]
async fn https_to_a_receiver_trusted_through_an_extra_root_works_and_fails_as_tls_without_it() {
    let pki = test_pki("tls.test");
    let receiver = Receiver::start_tls(pki.acceptor.clone(), |request| {
        Reply::status(200).body(request.body.clone())
    })
    .await;
    let resolver = Arc::new(FixtureResolver::new().with("tls.test", [ip(ALLOWED)]));
    let https_only = OutboundConfig {
        allow_http: false,
        allowed_cidrs: AllowList::parse("127.0.0.0/8").unwrap(),
        ..OutboundConfig::default()
    };
    let raw = format!("https://tls.test:{}/hook", receiver.port());

    let trusting = OutboundClient::new(
        OutboundConfig {
            extra_root_certificates: vec![pki.ca_pem.clone().into_bytes()],
            ..https_only.clone()
        },
        resolver.clone(),
    )
    .unwrap();
    let url = trusting.parse_url(&raw).unwrap();
    let response = post(&trusting, &url).await.unwrap();
    assert_eq!(response.status, 200);
    assert_eq!(
        &response.body_prefix[..],
        BODY,
        "the receiver echoed the body"
    );

    let untrusting = OutboundClient::new(https_only, resolver).unwrap();
    let err = assert_kind(post(&untrusting, &url).await, ErrorKind::Tls);
    assert!(
        err.message().to_lowercase().contains("certificate"),
        "{err}"
    );
    assert_eq!(receiver.requests().len(), 1);
}

// ---------------------------------------------------------------------------
// The real resolver
// ---------------------------------------------------------------------------

#[tokio::test]
async fn hickory_resolves_localhost_and_the_policy_refuses_it() {
    let resolver = Arc::new(HickoryResolver::from_system_conf().unwrap());
    let ips = resolver.lookup("localhost").await.unwrap();
    assert!(ips.contains(&ip("127.0.0.1")), "{ips:?}");

    let receiver = Receiver::ok().await;
    let client = OutboundClient::new(config(""), resolver).unwrap();
    let url = client
        .parse_url(&format!("http://localhost:{}/", receiver.port()))
        .unwrap();
    let err = client.check_destination(&url).await.unwrap_err();
    assert!(
        matches!(&err, UrlError::Refused(refused) if refused.reason() == Forbidden::Loopback),
        "{err:?}"
    );
    assert_kind(post(&client, &url).await, ErrorKind::SsrfRefused);
    assert_eq!(receiver.connections(), 0);
}
