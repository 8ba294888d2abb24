//! Test support: a real webhook receiver on a local address. It speaks plain
//! HTTP/1.1 (or TLS, with [`test_pki`]), records every request and every TCP
//! connection, and answers what the test's handler says, one request per
//! connection (`connection: close`), like many small receivers.
//!
//! It is a dev-dependency of the crates that send HTTP (the outbound client,
//! the app's end-to-end tests); it sends nothing itself and knows nothing of
//! webhooks beyond "a POST arrives".
//!
//! ```no_run
//! # async fn example() {
//! use hub_platform_test_receiver::{Receiver, Reply};
//!
//! let receiver = Receiver::start(|request| match request.path.as_str() {
//!     "/busy" => Reply::status(503).header("retry-after", "120"),
//!     _ => Reply::status(200).body("ok"),
//! })
//! .await;
//! let url = receiver.url("/hooks"); // http://127.0.0.1:<port>/hooks
//! // ... make the code under test POST to `url` ...
//! let requests = receiver.wait_for(1).await;
//! assert_eq!(requests[0].method, "POST");
//! # }
//! ```

// Test support: a receiver that cannot bind, or a certificate that cannot be
// built, is a broken test environment, and panicking with the reason is the
// clearest report a test can give.
#![allow(clippy::expect_used)]

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::task::{JoinHandle, JoinSet};
use tokio_rustls::TlsAcceptor;

/// How long [`Receiver::wait_for`] waits before failing the test: long
/// enough for a busy 2-core machine, short enough to fail rather than hang.
pub const WAIT_LIMIT: Duration = Duration::from_secs(30);

/// One request as received.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub method: String,
    /// Path and query, as sent on the request line.
    pub path: String,
    /// Names in lower case.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// When the whole request had been read.
    pub at: Instant,
}

impl Recorded {
    /// The first header called `name` (any case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
    }

    /// The body as JSON; panics when it is not JSON.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).expect("the request body is JSON")
    }
}

/// What the receiver sends back after the head.
#[derive(Debug, Clone)]
pub enum Body {
    Fixed(Vec<u8>),
    /// Announces 1 GiB and writes until the client goes away.
    Endless,
}

/// The answer to one request.
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Body,
    /// Waited before answering (a slow or hanging receiver).
    pub delay: Duration,
}

impl Reply {
    pub fn status(status: u16) -> Self {
        Self {
            status,
            headers: Vec::new(),
            body: Body::Fixed(Vec::new()),
            delay: Duration::ZERO,
        }
    }

    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.to_owned(), value.to_owned()));
        self
    }

    pub fn body(mut self, body: impl Into<Vec<u8>>) -> Self {
        self.body = Body::Fixed(body.into());
        self
    }

    pub fn endless(mut self) -> Self {
        self.body = Body::Endless;
        self
    }

    pub fn delayed(mut self, delay: Duration) -> Self {
        self.delay = delay;
        self
    }
}

type Handler = Arc<dyn Fn(&Recorded) -> Reply + Send + Sync>;

/// A listening receiver; dropping it closes the listener and every open
/// connection (a hanging answer included).
pub struct Receiver {
    pub addr: SocketAddr,
    requests: Arc<Mutex<Vec<Recorded>>>,
    connections: Arc<AtomicUsize>,
    task: JoinHandle<()>,
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.task.abort();
    }
}

const LOOPBACK: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);

impl Receiver {
    /// Listens on a free port of 127.0.0.1.
    pub async fn start(handler: impl Fn(&Recorded) -> Reply + Send + Sync + 'static) -> Self {
        Self::spawn((LOOPBACK, 0).into(), None, Arc::new(handler)).await
    }

    /// Answers 200 "ok" to everything, on a free port of 127.0.0.1.
    pub async fn ok() -> Self {
        Self::start(answer_ok).await
    }

    /// Listens on `addr` (port 0: any free port), e.g. another loopback
    /// address playing a forbidden destination.
    pub async fn start_at(
        addr: impl Into<SocketAddr>,
        handler: impl Fn(&Recorded) -> Reply + Send + Sync + 'static,
    ) -> Self {
        Self::spawn(addr.into(), None, Arc::new(handler)).await
    }

    /// [`Receiver::ok`] on `addr`.
    pub async fn ok_at(addr: impl Into<SocketAddr>) -> Self {
        Self::start_at(addr, answer_ok).await
    }

    /// Behind TLS (see [`test_pki`]), on a free port of 127.0.0.1.
    pub async fn start_tls(
        acceptor: TlsAcceptor,
        handler: impl Fn(&Recorded) -> Reply + Send + Sync + 'static,
    ) -> Self {
        Self::spawn((LOOPBACK, 0).into(), Some(acceptor), Arc::new(handler)).await
    }

    async fn spawn(addr: SocketAddr, tls: Option<TlsAcceptor>, handler: Handler) -> Self {
        let listener = TcpListener::bind(addr)
            .await
            .unwrap_or_else(|e| panic!("the test receiver cannot listen on {addr}: {e}"));
        let addr = listener
            .local_addr()
            .expect("a bound listener has an address");
        let requests = Arc::new(Mutex::new(Vec::new()));
        let connections = Arc::new(AtomicUsize::new(0));
        let task = tokio::spawn({
            let requests = Arc::clone(&requests);
            let connections = Arc::clone(&connections);
            async move {
                // Owned by this task, so aborting the receiver ends every
                // connection with it.
                let mut open = JoinSet::new();
                loop {
                    let Ok((stream, _)) = listener.accept().await else {
                        return;
                    };
                    connections.fetch_add(1, Ordering::SeqCst);
                    let requests = Arc::clone(&requests);
                    let handler = Arc::clone(&handler);
                    let tls = tls.clone();
                    open.spawn(async move {
                        match tls {
                            None => serve(stream, requests, handler).await,
                            Some(acceptor) => {
                                if let Ok(stream) = acceptor.accept(stream).await {
                                    serve(stream, requests, handler).await;
                                }
                            }
                        }
                    });
                    while open.try_join_next().is_some() {}
                }
            }
        });
        Self {
            addr,
            requests,
            connections,
            task,
        }
    }

    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// `http://<addr><path>`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// The requests received so far, in arrival order.
    pub fn requests(&self) -> Vec<Recorded> {
        self.requests
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// TCP connections accepted, whether or not a request followed.
    pub fn connections(&self) -> usize {
        self.connections.load(Ordering::SeqCst)
    }

    /// Waits until at least `n` requests arrived (at most [`WAIT_LIMIT`]);
    /// returns all of them.
    pub async fn wait_for(&self, n: usize) -> Vec<Recorded> {
        let started = Instant::now();
        loop {
            let requests = self.requests();
            if requests.len() >= n {
                return requests;
            }
            assert!(
                started.elapsed() < WAIT_LIMIT,
                "the receiver got {} requests, expected {n}",
                requests.len()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

fn answer_ok(_: &Recorded) -> Reply {
    Reply::status(200).body("ok")
}

async fn serve<S: AsyncRead + AsyncWrite + Unpin>(
    mut stream: S,
    requests: Arc<Mutex<Vec<Recorded>>>,
    handler: Handler,
) {
    let Some(request) = read_request(&mut stream).await else {
        return;
    };
    requests
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .push(request.clone());
    let reply = handler(&request);
    tokio::time::sleep(reply.delay).await;

    let length = match &reply.body {
        Body::Fixed(body) => body.len() as u64,
        Body::Endless => 1 << 30,
    };
    let mut head = format!(
        "HTTP/1.1 {} Test\r\ncontent-length: {length}\r\nconnection: close\r\n",
        reply.status
    );
    for (name, value) in &reply.headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    if stream.write_all(head.as_bytes()).await.is_err() {
        return;
    }
    match reply.body {
        Body::Fixed(body) => {
            let _ = stream.write_all(&body).await;
        }
        Body::Endless => {
            let chunk = vec![b'x'; 64 * 1024];
            while stream.write_all(&chunk).await.is_ok() {}
        }
    }
    let _ = stream.shutdown().await;
}

/// Reads one request (head, then `content-length` bytes of body); `None`
/// when the client went away or sent no request line.
async fn read_request<S: AsyncRead + Unpin>(stream: &mut S) -> Option<Recorded> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
    let head_end = loop {
        if let Some(at) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break at;
        }
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
    let mut lines = head.split("\r\n");
    let mut request_line = lines.next()?.split(' ');
    let method = request_line.next()?.to_owned();
    let path = request_line.next()?.to_owned();
    let headers: Vec<(String, String)> = lines
        .filter_map(|line| line.split_once(':'))
        .map(|(name, value)| (name.trim().to_ascii_lowercase(), value.trim().to_owned()))
        .collect();
    let length: usize = headers
        .iter()
        .find(|(name, _)| name == "content-length")
        .and_then(|(_, value)| value.parse().ok())
        .unwrap_or(0);
    let mut body = buf[head_end + 4..].to_vec();
    while body.len() < length {
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        body.extend_from_slice(&chunk[..n]);
    }
    Some(Recorded {
        method,
        path,
        headers,
        body,
        at: Instant::now(),
    })
}

/// A private CA, and a TLS acceptor serving a certificate for one host
/// signed by it.
pub struct TestPki {
    /// The CA certificate, to be trusted by the client under test.
    pub ca_pem: String,
    pub acceptor: TlsAcceptor,
}

/// A fresh CA and a server certificate for `host` (a DNS name).
pub fn test_pki(host: &str) -> TestPki {
    use rcgen::{
        BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair,
        KeyUsagePurpose,
    };
    use tokio_rustls::rustls;
    use tokio_rustls::rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};

    let mut ca_params = CertificateParams::new(Vec::<String>::new()).expect("CA parameters");
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "Hub Chantier test CA");
    ca_params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    let ca = CertifiedIssuer::self_signed(ca_params, KeyPair::generate().expect("CA key"))
        .expect("self-signed CA");

    let leaf_key = KeyPair::generate().expect("server key");
    let leaf = CertificateParams::new(vec![host.to_owned()])
        .expect("server certificate parameters")
        .signed_by(&leaf_key, &ca)
        .expect("server certificate");

    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let server = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("TLS versions")
        .with_no_client_auth()
        .with_single_cert(
            vec![leaf.der().clone(), ca.der().clone()],
            PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(leaf_key.serialize_der())),
        )
        .expect("server TLS configuration");
    TestPki {
        ca_pem: ca.pem(),
        acceptor: TlsAcceptor::from(Arc::new(server)),
    }
}
