//! `hub-chantier listen`: a local webhook receiver for developers, like
//! `stripe listen` or `svix listen`. It prints every request it receives
//! (event type, `webhook-id`, timestamp, pretty JSON body), checks the
//! Standard Webhooks signature with the project's receiver-side crate
//! (`hub-webhook-signature`, exactly as an integrator's Rust receiver would)
//! when given the webhook's secret, says why a check fails, and answers with
//! a chosen status so that retries can be watched live.

use std::io::Write;
use std::net::{Ipv4Addr, SocketAddr, TcpListener};
use std::sync::atomic::{AtomicU64, Ordering};

use actix_web::http::StatusCode;
use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use anyhow::Context;
use hub_webhook_signature::{
    DEFAULT_TOLERANCE, HEADER_ID, HEADER_SIGNATURE, HEADER_TIMESTAMP, Verifier, VerifyError,
    WebhookHeaders, WebhookSecret,
};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// The header carrying the event type (set by the delivery engine).
const EVENT_HEADER: &str = "x-hub-chantier-event";
/// Largest body accepted: far above any delivery (events are a few KiB).
const BODY_LIMIT: usize = 4 * 1024 * 1024;

/// What `listen` was asked to do.
#[derive(Debug, Clone)]
pub struct ListenOptions {
    /// Port on 127.0.0.1 (0: any free port, printed at start-up).
    pub port: u16,
    /// The webhook's secret: signatures are checked when given.
    pub secret: Option<WebhookSecret>,
    /// The status of the answer to a verified (or unchecked) request.
    pub status: StatusCode,
    /// Every N-th request (the N-th, 2N-th…) is answered 500 instead.
    pub fail_every: Option<u64>,
}

/// The outcome of the signature check of one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// No `--secret`: nothing was checked.
    Unchecked,
    Verified,
    /// Refused, with the reason in words.
    Failed(String),
}

/// Checks one request's signature with `secret` at `now` (unix seconds).
pub fn verify(
    secret: Option<&WebhookSecret>,
    headers: &WebhookHeaders<'_>,
    body: &[u8],
    now: i64,
) -> Verdict {
    let Some(secret) = secret else {
        return Verdict::Unchecked;
    };
    match Verifier::new(secret).verify(headers, body, now) {
        Ok(()) => Verdict::Verified,
        Err(error) => Verdict::Failed(explain(error, headers.timestamp, now)),
    }
}

/// Why verification failed, in the words a developer needs to fix it.
fn explain(error: VerifyError, timestamp: Option<&str>, now: i64) -> String {
    let age = timestamp
        .and_then(|t| t.trim().parse::<i64>().ok())
        .map(|t| now.saturating_sub(t));
    let tolerance = DEFAULT_TOLERANCE.as_secs();
    match error {
        // HMAC cannot tell the two apart: a wrong key and altered bytes give
        // the same mismatch; both causes are named.
        VerifyError::NoMatchingSignature => "signature mismatch: wrong secret (use the `secret` \
             shown when this webhook was created or its secret rotated), or the body, \
             webhook-id or webhook-timestamp was altered after signing"
            .to_owned(),
        VerifyError::TimestampTooOld => format!(
            "stale timestamp: signed {} s ago, more than the {tolerance} s tolerance \
             (a replayed request, or a clock that is off)",
            age.unwrap_or_default()
        ),
        VerifyError::TimestampTooNew => format!(
            "timestamp in the future: {} s ahead, more than the {tolerance} s tolerance \
             (a clock that is off)",
            age.map(i64::saturating_neg).unwrap_or_default()
        ),
        VerifyError::MissingHeader(name) => {
            format!("not a signed delivery: the `{name}` header is missing")
        }
        other => format!("invalid signature headers: {other}"),
    }
}

/// The status of the `n`-th request (1-based) whose signature did not fail.
fn status_for(options: &ListenOptions, n: u64) -> StatusCode {
    match options.fail_every {
        Some(every) if every > 0 && n.is_multiple_of(every) => StatusCode::INTERNAL_SERVER_ERROR,
        _ => options.status,
    }
}

/// One received request, as printed.
#[derive(Debug)]
pub struct Received<'a> {
    pub number: u64,
    pub method: &'a str,
    pub path: &'a str,
    pub event_type: Option<&'a str>,
    pub headers: WebhookHeaders<'a>,
    pub body: &'a [u8],
    pub now: i64,
    pub verdict: &'a Verdict,
    pub status: StatusCode,
}

fn instant(unix: i64) -> Option<String> {
    OffsetDateTime::from_unix_timestamp(unix)
        .ok()?
        .format(&Rfc3339)
        .ok()
}

/// The text printed for one request.
pub fn report(received: &Received<'_>) -> String {
    let mut out = String::new();
    let now = instant(received.now).unwrap_or_else(|| received.now.to_string());
    out.push_str(&format!(
        "--- #{} {} {} at {now}\n",
        received.number, received.method, received.path
    ));
    let event_type = received.event_type.map_or_else(
        || {
            serde_json::from_slice::<serde_json::Value>(received.body)
                .ok()
                .and_then(|body| body["event_type"].as_str().map(str::to_owned))
                .unwrap_or_else(|| "(none)".to_owned())
        },
        str::to_owned,
    );
    out.push_str(&format!("event type:  {event_type}\n"));
    out.push_str(&format!(
        "webhook-id:  {}\n",
        received.headers.id.unwrap_or("(missing)")
    ));
    let timestamp = match received.headers.timestamp {
        None => "(missing)".to_owned(),
        Some(raw) => match raw
            .trim()
            .parse::<i64>()
            .ok()
            .and_then(|unix| instant(unix).map(|at| (at, received.now.saturating_sub(unix))))
        {
            Some((at, age)) => format!("{raw} ({at}, {age} s ago)"),
            None => format!("{raw} (not unix seconds)"),
        },
    };
    out.push_str(&format!("timestamp:   {timestamp}\n"));
    let signature = match received.verdict {
        Verdict::Unchecked => "not checked (start with --secret whsec_… to verify it)".to_owned(),
        Verdict::Verified => "verified (Standard Webhooks, with the given secret)".to_owned(),
        Verdict::Failed(reason) => format!("FAILED: {reason}"),
    };
    out.push_str(&format!("signature:   {signature}\n"));
    out.push_str(&format!("answered:    {}\n", received.status.as_u16()));
    match serde_json::from_slice::<serde_json::Value>(received.body) {
        Ok(json) => {
            let pretty = serde_json::to_string_pretty(&json).unwrap_or_default();
            out.push_str(&pretty);
            out.push('\n');
        }
        Err(_) if received.body.is_empty() => out.push_str("(empty body)\n"),
        Err(_) => {
            out.push_str("(body is not JSON)\n");
            out.push_str(&String::from_utf8_lossy(received.body));
            out.push('\n');
        }
    }
    out
}

struct State {
    options: ListenOptions,
    received: AtomicU64,
}

/// Writes `text` to stdout at once (concurrent requests do not interleave)
/// and flushes it: a pipe would otherwise hold it back.
fn print(text: &str) {
    let mut stdout = std::io::stdout().lock();
    // A closed stdout (the terminal went away) must not fail the answer.
    let _ = stdout.write_all(text.as_bytes());
    let _ = stdout.flush();
}

fn unix_now() -> i64 {
    OffsetDateTime::now_utc().unix_timestamp()
}

async fn receive(request: HttpRequest, body: web::Bytes, state: web::Data<State>) -> HttpResponse {
    let number = state.received.fetch_add(1, Ordering::Relaxed) + 1;
    let header = |name: &str| request.headers().get(name).and_then(|v| v.to_str().ok());
    let headers = WebhookHeaders {
        id: header(HEADER_ID),
        timestamp: header(HEADER_TIMESTAMP),
        signature: header(HEADER_SIGNATURE),
    };
    let now = unix_now();
    let verdict = verify(state.options.secret.as_ref(), &headers, &body, now);
    // A real receiver refuses what it cannot verify; the engine retries it.
    let status = match &verdict {
        Verdict::Failed(_) => StatusCode::UNAUTHORIZED,
        _ => status_for(&state.options, number),
    };
    print(&report(&Received {
        number,
        method: request.method().as_str(),
        path: request.path(),
        event_type: header(EVENT_HEADER),
        headers,
        body: &body,
        now,
        verdict: &verdict,
        status,
    }));
    let answer = match &verdict {
        Verdict::Failed(reason) => serde_json::json!({ "error": reason }),
        _ => serde_json::json!({ "received": number }),
    };
    HttpResponse::build(status).json(answer)
}

/// Binds 127.0.0.1:`options.port` (loopback only: this is a developer's
/// tool), prints where it listens, and serves until Ctrl-C.
pub async fn run(options: ListenOptions) -> anyhow::Result<()> {
    let listener = TcpListener::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, options.port)))
        .with_context(|| format!("cannot listen on 127.0.0.1:{}", options.port))?;
    let addr = listener.local_addr()?;
    let checking = match &options.secret {
        Some(_) => "signatures are verified with the given secret",
        None => "signatures are NOT checked (no --secret)",
    };
    let answering = match options.fail_every {
        Some(every) => format!(
            "answering {} (500 to every request number divisible by {every})",
            options.status.as_u16()
        ),
        None => format!("answering {}", options.status.as_u16()),
    };
    print(&format!(
        "listening on http://{addr}/ ; {checking}; {answering}; Ctrl-C stops\n"
    ));
    let state = web::Data::new(State {
        options,
        received: AtomicU64::new(0),
    });
    let server = HttpServer::new(move || {
        App::new()
            .app_data(state.clone())
            .app_data(web::PayloadConfig::new(BODY_LIMIT))
            .default_service(web::to(receive))
    })
    .workers(1)
    .disable_signals()
    .shutdown_timeout(1)
    .listen(listener)?
    .run();
    let handle = server.handle();
    let stopper = tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            handle.stop(true).await;
        }
    });
    server.await.context("the listener failed")?;
    stopper.abort();
    Ok(())
}

#[cfg(test)]
mod tests {
    use hub_webhook_signature::sign;

    use super::*;

    const ID: &str = "0190f1c2-7d4e-7a1b-9c3d-2e4f5a6b7c8d";
    const NOW: i64 = 1_700_000_000;
    // Keys in sorted order: the pretty print is the same whether or not
    // serde_json preserves the order.
    const BODY: &[u8] = br#"{"data":{"code":"A1"},"event_type":"chantier.created"}"#;

    fn secret() -> WebhookSecret {
        WebhookSecret::generate_from([7; 32])
    }

    fn check(secret: &WebhookSecret, signed_at: i64, body: &[u8]) -> Verdict {
        let signature = sign(&[secret], ID, signed_at, BODY);
        let timestamp = signed_at.to_string();
        verify(
            Some(secret),
            &WebhookHeaders::new(ID, &timestamp, &signature),
            body,
            NOW,
        )
    }

    fn options(fail_every: Option<u64>) -> ListenOptions {
        ListenOptions {
            port: 0,
            secret: None,
            status: StatusCode::OK,
            fail_every,
        }
    }

    #[test]
    fn a_genuine_delivery_is_verified() {
        assert_eq!(check(&secret(), NOW - 2, BODY), Verdict::Verified);
    }

    #[test]
    fn failures_say_why() {
        let Verdict::Failed(wrong) = verify(
            Some(&WebhookSecret::generate_from([8; 32])),
            &WebhookHeaders::new(ID, &NOW.to_string(), &sign(&[&secret()], ID, NOW, BODY)),
            BODY,
            NOW,
        ) else {
            panic!("another secret verified");
        };
        assert!(wrong.contains("wrong secret"), "{wrong}");
        let Verdict::Failed(altered) = check(&secret(), NOW, b"{}") else {
            panic!("an altered body verified");
        };
        assert!(altered.contains("altered"), "{altered}");
        assert_eq!(
            check(&secret(), NOW - 3600, BODY),
            Verdict::Failed(
                "stale timestamp: signed 3600 s ago, more than the 300 s tolerance \
                 (a replayed request, or a clock that is off)"
                    .to_owned()
            )
        );
        let Verdict::Failed(future) = check(&secret(), NOW + 900, BODY) else {
            panic!("a future timestamp verified");
        };
        assert!(future.contains("900 s ahead"), "{future}");
        let Verdict::Failed(missing) =
            verify(Some(&secret()), &WebhookHeaders::default(), BODY, NOW)
        else {
            panic!("an unsigned request verified");
        };
        assert_eq!(
            missing,
            "not a signed delivery: the `webhook-id` header is missing"
        );
    }

    #[test]
    fn without_a_secret_nothing_is_checked() {
        assert_eq!(
            verify(None, &WebhookHeaders::default(), BODY, NOW),
            Verdict::Unchecked
        );
    }

    #[test]
    fn fail_every_fails_each_nth_request_only() {
        let every_third = options(Some(3));
        let statuses: Vec<u16> = (1..=7)
            .map(|n| status_for(&every_third, n).as_u16())
            .collect();
        assert_eq!(statuses, [200, 200, 500, 200, 200, 500, 200]);
        assert_eq!(status_for(&options(None), 3), StatusCode::OK);
        assert_eq!(
            status_for(&options(Some(1)), 1),
            StatusCode::INTERNAL_SERVER_ERROR
        );
    }

    #[test]
    fn the_report_shows_type_id_timestamp_verdict_and_pretty_body() {
        let timestamp = (NOW - 1).to_string();
        let text = report(&Received {
            number: 4,
            method: "POST",
            path: "/hooks",
            event_type: None,
            headers: WebhookHeaders::new(ID, &timestamp, "v1,x"),
            body: BODY,
            now: NOW,
            verdict: &Verdict::Verified,
            status: StatusCode::OK,
        });
        assert_eq!(
            text,
            "--- #4 POST /hooks at 2023-11-14T22:13:20Z\n\
             event type:  chantier.created\n\
             webhook-id:  0190f1c2-7d4e-7a1b-9c3d-2e4f5a6b7c8d\n\
             timestamp:   1699999999 (2023-11-14T22:13:19Z, 1 s ago)\n\
             signature:   verified (Standard Webhooks, with the given secret)\n\
             answered:    200\n\
             {\n  \"data\": {\n    \"code\": \"A1\"\n  },\n  \"event_type\": \"chantier.created\"\n}\n"
        );
    }
}
