//! Several instances, proven: three `hub-chantier serve` processes on one
//! database, one webhook receiver, the NATS JetStream bus between them.
//! Events are created through all three; one is SIGKILLed midway.
//!
//! `HUB_CLUSTER_EVENTS` sets how many events (600 here; the load script
//! `tests/load/cluster.sh` runs 5,000 and prints the figures).

use std::collections::{HashMap, HashSet};
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use async_nats::jetstream;
use futures::StreamExt;
use reqwest::StatusCode;
use serde_json::{Value, json};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::support::{ADMIN_EMAIL, ADMIN_PASSWORD, Receiver, TestHub, free_port, http, metric};

/// Requests in flight at once, over the live instances.
const CONCURRENCY: usize = 8;
/// How long the cluster may take to catch up after the last request: it
/// is a bound for a failure to show, not a performance assertion.
const CATCH_UP: Duration = Duration::from_secs(180);

fn event_count() -> usize {
    std::env::var("HUB_CLUSTER_EVENTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(600)
}

/// One `serve` process; its JSON log lines are kept for the assertions.
struct Instance {
    name: &'static str,
    child: Child,
    base: String,
    metrics: String,
    logs: Arc<parking_lot::Mutex<Vec<Value>>>,
}

impl Instance {
    fn spawn(name: &'static str, vars: &HashMap<String, String>) -> Self {
        let (port, metrics_port) = (free_port(), free_port());
        let mut child = Command::new(env!("CARGO_BIN_EXE_hub-chantier"))
            .arg("serve")
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .envs(vars)
            .env("HTTP_ADDR", format!("127.0.0.1:{port}"))
            .env("METRICS_ADDR", format!("127.0.0.1:{metrics_port}"))
            .env("LOG_FORMAT", "json")
            .env("RUST_LOG", "info")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let logs = Arc::new(parking_lot::Mutex::new(Vec::new()));
        let stderr = child.stderr.take().unwrap();
        std::thread::spawn({
            let logs = logs.clone();
            move || {
                for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                    if let Ok(entry) = serde_json::from_str::<Value>(&line) {
                        logs.lock().push(entry);
                    }
                }
            }
        });
        Self {
            name,
            child,
            base: format!("http://127.0.0.1:{port}"),
            metrics: format!("http://127.0.0.1:{metrics_port}/metrics"),
            logs,
        }
    }

    async fn wait_ready(&mut self) {
        let started = Instant::now();
        loop {
            if let Ok(response) = http()
                .get(format!("{}/health/ready", self.base))
                .send()
                .await
                && response.status() == 200
            {
                return;
            }
            assert!(
                self.child.try_wait().unwrap().is_none(),
                "{} exited early: {:?}",
                self.name,
                self.messages()
            );
            assert!(
                started.elapsed() < Duration::from_secs(60),
                "{} never became ready",
                self.name
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// The `message` of each log line.
    fn messages(&self) -> Vec<String> {
        self.logs
            .lock()
            .iter()
            .filter_map(|entry| {
                entry["fields"]["message"]
                    .as_str()
                    .or_else(|| entry["message"].as_str())
                    .map(str::to_owned)
            })
            .collect()
    }

    fn logged(&self, starts_with: &str) -> usize {
        self.messages()
            .iter()
            .filter(|m| m.starts_with(starts_with))
            .count()
    }

    /// Webhook deliveries this instance sent successfully.
    async fn deliveries(&self) -> f64 {
        let text = http()
            .get(&self.metrics)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        metric(
            &text,
            "hub_webhook_delivery_attempts_total{result=\"success\"}",
        )
        .unwrap_or(0.0)
    }

    fn sigkill(&mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }

    fn sigterm(mut self) {
        let sent = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(sent.success());
        let status = self.child.wait().unwrap();
        assert!(
            status.success(),
            "{} exit {status:?}: {:?}",
            self.name,
            self.messages()
        );
    }
}

/// The next whole minute at least `ahead` from now, as `HH:MM` (UTC).
fn minute_after(ahead: Duration) -> (String, OffsetDateTime) {
    let at = OffsetDateTime::now_utc() + ahead + time::Duration::minutes(1);
    let at = at.replace_second(0).unwrap().replace_nanosecond(0).unwrap();
    (format!("{:02}:{:02}", at.hour(), at.minute()), at)
}

async fn login(base: &str) -> String {
    let response = http()
        .post(format!("{base}/api/v1/auth/login"))
        .json(&json!({"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD}))
        .send()
        .await
        .unwrap();
    let body: Value = response.json().await.unwrap();
    body["access_token"].as_str().unwrap().to_owned()
}

/// Every stored event through `GET /api/v1/events`, newest first.
async fn history(base: &str, token: &str) -> Vec<Value> {
    let mut events = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut url = format!("{base}/api/v1/events?limit=100");
        if let Some(cursor) = &cursor {
            url.push_str(&format!("&cursor={cursor}"));
        }
        let page: Value = http()
            .get(url)
            .bearer_auth(token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        events.extend(page["events"].as_array().unwrap().iter().cloned());
        match page["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => return events,
        }
    }
}

/// The event ids in the stream, read by a plain NATS client.
async fn stream_event_ids(url: &str, stream: &str) -> Vec<String> {
    let client = async_nats::connect(url).await.unwrap();
    let jetstream = jetstream::new(client);
    let mut stream = jetstream.get_stream(stream).await.unwrap();
    let count = stream.info().await.unwrap().state.messages;
    let consumer = stream
        .create_consumer(jetstream::consumer::pull::OrderedConfig::default())
        .await
        .unwrap();
    let mut messages = consumer.messages().await.unwrap();
    let mut ids = Vec::new();
    while (ids.len() as u64) < count {
        let message = tokio::time::timeout(Duration::from_secs(10), messages.next())
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        let envelope: Value = serde_json::from_slice(&message.payload).unwrap();
        ids.push(envelope["event_id"].as_str().unwrap().to_owned());
    }
    jetstream
        .delete_stream(stream.cached_info().config.name.as_str())
        .await
        .unwrap();
    ids
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_instances_deliver_every_event_once_one_is_killed_and_jobs_run_once() {
    let total = event_count();
    let nats_url = std::env::var("NATS_URL").unwrap_or_else(|_| "nats://127.0.0.1:4222".to_owned());
    let stream = format!("CLUSTER_{}", Uuid::now_v7().simple());
    let hub = TestHub::builder().local_receivers().prepare().await;
    let receiver = Receiver::ok().await;
    // Every instance plans today's retention at the same minute, after they
    // have all started.
    let (retention_at, retention_period) = minute_after(Duration::from_secs(25));
    let subject_prefix = format!("t{}.events", Uuid::now_v7().simple());
    let vars = hub.vars(&[
        ("RATE_LIMITS", "off"),
        ("OUTBOX_POLL_INTERVAL", "200ms"),
        ("WEBHOOKS_POLL_INTERVAL", "100ms"),
        ("WEBHOOKS_TIMEOUT", "2s"),
        // The killed instance's leases come back quickly.
        ("WEBHOOKS_LEASE_DURATION", "4s"),
        ("RETENTION_CRON_TIME", &retention_at),
        ("EVENT_BUS_URL", &nats_url),
        ("EVENT_BUS_STREAM", &stream),
        ("EVENT_BUS_SUBJECT_PREFIX", &subject_prefix),
        ("EVENT_BUS_MAX_AGE", "1h"),
    ]);
    let mut instances: Vec<Instance> = ["a", "b", "c"]
        .into_iter()
        .map(|name| Instance::spawn(name, &vars))
        .collect();
    for instance in &mut instances {
        instance.wait_ready().await;
    }
    let token = login(&instances[0].base).await;
    let created = http()
        .post(format!("{}/api/v1/webhooks", instances[1].base))
        .bearer_auth(&token)
        .json(&json!({"url": receiver.url("/hook"), "events": ["chantier.created"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), StatusCode::CREATED);

    // Requests go round-robin to the live instances, as a load balancer
    // would send them; a request cut by the kill is retried on a survivor
    // (with a new code: the cut one may have committed).
    let bases: Vec<String> = instances.iter().map(|i| i.base.clone()).collect();
    let c_dead = Arc::new(AtomicBool::new(false));
    let done = Arc::new(AtomicUsize::new(0));
    let cut = Arc::new(AtomicUsize::new(0));
    let client = http();
    let started = Instant::now();
    let requests = futures::stream::iter(0..total)
        .map(|i| {
            let (client, bases, token, c_dead, done, cut) = (
                client.clone(),
                bases.clone(),
                token.clone(),
                c_dead.clone(),
                done.clone(),
                cut.clone(),
            );
            async move {
                let mut target = i % 3;
                for attempt in 0.. {
                    if target == 2 && c_dead.load(Ordering::SeqCst) {
                        target = i % 2;
                    }
                    let response = client
                        .post(format!("{}/api/v1/chantiers", bases[target]))
                        .bearer_auth(&token)
                        .json(&json!({
                            "code": format!("CL-{i:05}-{attempt}"), "nom": "Tour", "adresse": "1 quai"
                        }))
                        .send()
                        .await;
                    match response {
                        Ok(response) => {
                            assert_eq!(response.status(), StatusCode::CREATED);
                            done.fetch_add(1, Ordering::SeqCst);
                            return;
                        }
                        Err(error) => {
                            assert_eq!(target, 2, "only the killed instance fails: {error}");
                            cut.fetch_add(1, Ordering::SeqCst);
                            target = i % 2;
                        }
                    }
                }
            }
        })
        .buffer_unordered(CONCURRENCY)
        .collect::<Vec<()>>();
    let killer = async {
        while done.load(Ordering::SeqCst) < total / 2 {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        c_dead.store(true, Ordering::SeqCst);
        instances[2].sigkill();
        // Deliveries leased when it died: the only ones that may come twice.
        hub.count("SELECT count(*) FROM webhook_deliveries WHERE status = 'in_flight'")
            .await
    };
    let ((), in_flight_at_kill) = futures::join!(
        async {
            requests.await;
        },
        killer
    );
    let created_in = started.elapsed();

    // Every committed event is dispatched and delivered, at least once.
    let caught_up = Instant::now();
    let events: HashSet<String> = hub
        .texts(
            "SELECT event_id::text AS text FROM event_logs WHERE event_type = 'chantier.created'",
        )
        .await
        .into_iter()
        .collect();
    assert!(
        events.len() >= total,
        "{} events for {total} requests",
        events.len()
    );
    let delivered = loop {
        let requests = receiver.requests();
        let ids: Vec<String> = requests
            .iter()
            .map(|r| r.header("webhook-id").unwrap().to_owned())
            .collect();
        let distinct: HashSet<&String> = ids.iter().collect();
        if events.iter().all(|e| distinct.contains(e)) {
            break ids;
        }
        assert!(
            caught_up.elapsed() < CATCH_UP,
            "{} of {} events delivered",
            distinct.len(),
            events.len()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let delivered_in = started.elapsed();
    let duplicates = delivered.len() - delivered.iter().collect::<HashSet<_>>().len();
    assert!(
        duplicates as i64 <= in_flight_at_kill,
        "{duplicates} duplicates, but only {in_flight_at_kill} deliveries were in flight at the kill"
    );
    assert_eq!(
        hub.count("SELECT count(*) FROM event_logs WHERE dispatched_at IS NULL")
            .await,
        0
    );

    // The work was spread over the survivors.
    let (a, b) = (
        instances[0].deliveries().await,
        instances[1].deliveries().await,
    );
    assert!(a > 0.0 && b > 0.0, "both survivors delivered: a {a}, b {b}");

    // The event history is the same from every instance.
    let from_a = history(&instances[0].base, &token).await;
    let from_b = history(&instances[1].base, &token).await;
    assert!(from_a.len() >= events.len());
    assert_eq!(from_a, from_b);

    // The stream holds each event once, whichever relay published it.
    let in_stream = stream_event_ids(&nats_url, &stream).await;
    let distinct: HashSet<&String> = in_stream.iter().collect();
    assert_eq!(
        distinct.len(),
        in_stream.len(),
        "an event is twice in the stream"
    );
    assert!(events.iter().all(|e| distinct.contains(e)));

    // Retention ran once for its period: each survivor either ran it or
    // found it claimed (by the other, or by the killed one if the minute
    // came before the kill).
    const RAN: &str = "retention done";
    const SKIPPED: &str = "retention of this period already claimed";
    let outcome = |i: &Instance| i.logged(RAN) > 0 || i.logged(SKIPPED) > 0;
    while !(outcome(&instances[0]) && outcome(&instances[1])) {
        assert!(
            OffsetDateTime::now_utc() < retention_period + time::Duration::seconds(60),
            "the retention planned at {retention_at} was not reported"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let ran: Vec<&str> = instances
        .iter()
        .filter(|i| i.logged(RAN) > 0)
        .map(|i| i.name)
        .collect();
    assert!(ran.len() <= 1, "retention ran on {ran:?}");
    for survivor in &instances[..2] {
        let (ran, skipped) = (survivor.logged(RAN) > 0, survivor.logged(SKIPPED) > 0);
        assert!(
            ran != skipped,
            "{} ran it: {ran}, skipped it: {skipped}",
            survivor.name
        );
    }
    assert_eq!(
        hub.count("SELECT count(*) FROM scheduled_runs WHERE job = 'retention'")
            .await,
        1
    );

    eprintln!(
        "cluster: {total} requests ({} cut by the kill and retried) → {} events in {:.1}s \
         ({:.0}/s); all delivered after {:.1}s; {} deliveries, {duplicates} duplicates \
         (≤ {in_flight_at_kill} in flight at the kill); survivors sent a {a} / b {b}; \
         retention ran on {ran:?}",
        cut.load(Ordering::SeqCst),
        events.len(),
        created_in.as_secs_f64(),
        events.len() as f64 / created_in.as_secs_f64(),
        delivered_in.as_secs_f64(),
        delivered.len(),
    );
    for survivor in instances.into_iter().take(2) {
        survivor.sigterm();
    }
}
