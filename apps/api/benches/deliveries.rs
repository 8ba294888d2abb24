//! Load benchmark of the webhook delivery pipeline (not a test): the real
//! `hub-chantier` binary (built with the bench profile, i.e. optimised) on a
//! fresh database of the local PostgreSQL cluster (durable: fsync on),
//! chantiers created through the HTTP API, one local receiver (actix-web,
//! HTTP/1.1 keep-alive) in this process.
//!
//! Two phases:
//! 1. throughput — `BENCH_EVENTS` creations by `BENCH_CONCURRENCY` clients
//!    as fast as the API takes them; reports deliveries/s;
//! 2. fixed rates — for each of `BENCH_RATES` (events/s), creations at
//!    that rate for `BENCH_SECONDS`; reports deliveries/s and p50/p90/p99/max
//!    from the start of the create request to the receiver (a rate is
//!    sustained when the deliveries keep up and the latency stays flat).
//!
//! For each phase, the CPU time of the server process, of every `postgres`
//! process of the cluster and of this process (load generator + receiver)
//! is read from `/proc/<pid>/stat` before and after.
//!
//! Run: `DATABASE_URL=$(apps/api/scripts/dev-db.sh url) cargo bench -p hub-chantier --bench deliveries`
//! (the database must be on this machine for the CPU split). Knobs (env):
//! `BENCH_EVENTS` (20000), `BENCH_CONCURRENCY` (32), `BENCH_RATES` (200),
//! `BENCH_SECONDS` (20), `BENCH_WEBHOOKS` (webhooks subscribed to every
//! event: deliveries = events × webhooks; 1), `BENCH_RUST_LOG` (the
//! server's `RUST_LOG`; `info`), `BENCH_SERVER_ENV` (extra `K=V,K=V` for
//! the server).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

use std::collections::HashMap;
use std::io::Write as _;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use actix_web::{App, HttpResponse, HttpServer, web};
use hub_platform_test_db::TestDatabase;
use serde_json::{Value, json};

const JWT_SECRET: &str = "bench-secret-bench-secret-bench-secret-01";
const WEBHOOK_SECRETS_KEY: &str = "YmVuY2gtd2ViaG9vay1zZWNyZXRzLWtleS0zMi1ieXQ=";
const EMAIL: &str = "bench@hub-chantier.test";
const PASSWORD: &str = "mot-de-passe-bench-1";

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Arrivals at the receiver, by chantier code, with their count.
#[derive(Default)]
struct Arrivals {
    first: HashMap<String, Instant>,
    total: usize,
    unreadable: usize,
    last: Option<Instant>,
}

type Shared = Arc<Mutex<Arrivals>>;

async fn receive(body: web::Bytes, arrivals: web::Data<Shared>) -> HttpResponse {
    let at = Instant::now();
    let code = serde_json::from_slice::<Value>(&body)
        .ok()
        .and_then(|value| value["data"]["code"].as_str().map(str::to_owned));
    let mut arrivals = arrivals.lock().unwrap();
    match code {
        Some(code) => {
            arrivals.first.entry(code).or_insert(at);
        }
        None => arrivals.unreadable += 1,
    }
    arrivals.total += 1;
    arrivals.last = Some(at);
    HttpResponse::NoContent().finish()
}

/// Clock ticks per second of `/proc/<pid>/stat` times.
fn clock_ticks() -> f64 {
    Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(100.0)
}

/// utime + stime of a process, in ticks.
fn cpu_ticks(pid: &str) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name is in parentheses and may hold spaces.
    let rest = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split(' ').collect();
    // After the name: state(0) … utime is field 14 of the line, i.e. 11 here.
    Some(fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?)
}

/// Every `postgres` process and its CPU ticks.
fn postgres_ticks() -> HashMap<String, u64> {
    let mut out = HashMap::new();
    for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        let pid = entry.file_name().to_string_lossy().into_owned();
        if !pid.bytes().all(|b| b.is_ascii_digit()) {
            continue;
        }
        let Ok(comm) = std::fs::read_to_string(format!("/proc/{pid}/comm")) else {
            continue;
        };
        if comm.trim() == "postgres"
            && let Some(ticks) = cpu_ticks(&pid)
        {
            out.insert(pid, ticks);
        }
    }
    out
}

struct CpuSnapshot {
    server: u64,
    postgres: HashMap<String, u64>,
    bench: u64,
}

impl CpuSnapshot {
    fn take(server_pid: &str) -> Self {
        Self {
            server: cpu_ticks(server_pid).unwrap_or(0),
            postgres: postgres_ticks(),
            bench: cpu_ticks("self").unwrap_or(0),
        }
    }

    /// (server, postgres, bench) seconds since `before`.
    fn since(&self, before: &CpuSnapshot, ticks: f64) -> (f64, f64, f64) {
        let postgres: u64 = self
            .postgres
            .iter()
            .map(|(pid, now)| now - before.postgres.get(pid).copied().unwrap_or(0).min(*now))
            .sum();
        (
            (self.server - before.server) as f64 / ticks,
            postgres as f64 / ticks,
            (self.bench - before.bench) as f64 / ticks,
        )
    }
}

struct Server {
    child: Child,
    base: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let _ = self.child.wait();
    }
}

fn binary() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_hub-chantier"));
    command
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .stdin(Stdio::null());
    command
}

async fn start_server(database_url: &str) -> Server {
    let mut admin = binary()
        .args(["create-admin", "--email", EMAIL, "--password-stdin"])
        .env("DATABASE_URL", database_url)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    writeln!(admin.stdin.take().unwrap(), "{PASSWORD}").unwrap();
    assert!(admin.wait().unwrap().success(), "create-admin failed");

    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut command = binary();
    command
        .arg("serve")
        .env("DATABASE_URL", database_url)
        .env("JWT_SECRET", JWT_SECRET)
        .env("WEBHOOK_SECRETS_KEY", WEBHOOK_SECRETS_KEY)
        .env("HTTP_ADDR", format!("127.0.0.1:{port}"))
        .env("RATE_LIMITS", "off")
        .env("WEBHOOKS_ALLOW_HTTP", "true")
        .env("WEBHOOKS_ALLOWED_CIDRS", "127.0.0.0/8")
        .env(
            "RUST_LOG",
            std::env::var("BENCH_RUST_LOG").unwrap_or_else(|_| "info".into()),
        )
        .stdout(Stdio::null())
        .stderr(match std::env::var("BENCH_SERVER_LOG") {
            Ok(path) => Stdio::from(std::fs::File::create(path).unwrap()),
            Err(_) => Stdio::null(),
        });
    for pair in std::env::var("BENCH_SERVER_ENV")
        .unwrap_or_default()
        .split(',')
        .filter(|p| !p.is_empty())
    {
        let (key, value) = pair.split_once('=').expect("BENCH_SERVER_ENV: K=V,K=V");
        command.env(key, value);
    }
    let child = command.spawn().unwrap();
    let base = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::new();
    let started = Instant::now();
    while client
        .get(format!("{base}/health/ready"))
        .send()
        .await
        .is_err()
    {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "server never ready"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Server { child, base }
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = ((p / 100.0) * (sorted.len() as f64)).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

struct Phase {
    name: &'static str,
    events: usize,
    deliveries: usize,
    wall: Duration,
    latencies: Vec<Duration>,
    cpu: (f64, f64, f64),
}

impl Phase {
    fn report(&self) {
        let per_s = self.deliveries as f64 / self.wall.as_secs_f64();
        let (server, postgres, bench) = self.cpu;
        let per_delivery = |s: f64| s * 1e6 / self.deliveries.max(1) as f64;
        println!("== {} ==", self.name);
        println!(
            "events {}  deliveries {}  in {:.2} s  → {:.0} deliveries/s ({:.0} events/s)",
            self.events,
            self.deliveries,
            self.wall.as_secs_f64(),
            per_s,
            self.events as f64 / self.wall.as_secs_f64()
        );
        println!(
            "latency create→receiver: p50 {}  p90 {}  p99 {}  max {}",
            ms(percentile(&self.latencies, 50.0)),
            ms(percentile(&self.latencies, 90.0)),
            ms(percentile(&self.latencies, 99.0)),
            ms(percentile(&self.latencies, 100.0)),
        );
        println!(
            "CPU: server {server:.2} s ({:.0} µs/delivery), postgres {postgres:.2} s ({:.0} µs/delivery), \
             load generator + receiver {bench:.2} s; machine busy {:.0} % of 2 cores",
            per_delivery(server),
            per_delivery(postgres),
            (server + postgres + bench) / self.wall.as_secs_f64() / 2.0 * 100.0
        );
    }
}

/// Creates chantier `code`; returns when the API answered.
async fn create(client: &reqwest::Client, base: &str, token: &str, code: &str) {
    let response = client
        .post(format!("{base}/api/v1/chantiers"))
        .bearer_auth(token)
        .json(&json!({"code": code, "nom": "Tour", "adresse": "1 quai de Seine"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201, "{code}");
}

/// Waits until `expected` deliveries arrived (or 120 s passed).
async fn drained(arrivals: &Shared, expected: usize) -> Option<Instant> {
    let started = Instant::now();
    loop {
        {
            let arrivals = arrivals.lock().unwrap();
            if arrivals.total >= expected {
                return arrivals.last;
            }
        }
        if started.elapsed() > Duration::from_secs(120) {
            let got = arrivals.lock().unwrap().total;
            println!("!! only {got} of {expected} deliveries arrived");
            return arrivals.lock().unwrap().last;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

fn latencies(arrivals: &Shared, sent: &HashMap<String, Instant>) -> Vec<Duration> {
    let arrivals = arrivals.lock().unwrap();
    let mut out: Vec<Duration> = sent
        .iter()
        .filter_map(|(code, at)| arrivals.first.get(code).map(|arrived| *arrived - *at))
        .collect();
    out.sort_unstable();
    out
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    if std::env::args().any(|a| a == "--list" || a == "--test") {
        // `cargo test --benches` / `cargo bench -- --list`: nothing to list.
        return;
    }
    let _ = rustls::crypto::ring::default_provider().install_default();
    let events: usize = env_or("BENCH_EVENTS", 20_000);
    let concurrency: usize = env_or("BENCH_CONCURRENCY", 32);
    let rates: Vec<u64> = std::env::var("BENCH_RATES")
        .unwrap_or_else(|_| "200".into())
        .split(',')
        .filter_map(|r| r.trim().parse().ok())
        .collect();
    let seconds: u64 = env_or("BENCH_SECONDS", 20);
    let webhooks: usize = env_or("BENCH_WEBHOOKS", 1);
    let ticks = clock_ticks();

    let db = TestDatabase::new().await;
    let arrivals: Shared = Arc::new(Mutex::new(Arrivals::default()));
    let receiver = HttpServer::new({
        let arrivals = arrivals.clone();
        move || {
            App::new()
                .app_data(web::Data::new(arrivals.clone()))
                .app_data(web::PayloadConfig::new(1 << 20))
                .default_service(web::to(receive))
        }
    })
    .workers(1)
    .bind(("127.0.0.1", 0))
    .unwrap();
    let receiver_addr = receiver.addrs()[0];
    let receiver = receiver.disable_signals().run();
    let receiver_handle = receiver.handle();
    tokio::spawn(receiver);

    let server = start_server(db.url()).await;
    let server_pid = server.child.id().to_string();
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(concurrency * 2)
        .build()
        .unwrap();
    let login: Value = client
        .post(format!("{}/api/v1/auth/login", server.base))
        .json(&json!({"email": EMAIL, "password": PASSWORD}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = login["access_token"].as_str().unwrap().to_owned();
    for i in 0..webhooks {
        let response = client
            .post(format!("{}/api/v1/webhooks", server.base))
            .bearer_auth(&token)
            .json(&json!({"url": format!("http://{receiver_addr}/hook/{i}"), "events": ["chantier.created"]}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 201);
    }
    println!(
        "webhook delivery pipeline: {webhooks} webhook(s) on chantier.created, server RUST_LOG={}",
        std::env::var("BENCH_RUST_LOG").unwrap_or_else(|_| "info".into())
    );

    // Warm-up (connections, caches, JIT-free but allocator and pool).
    for i in 0..200 {
        create(&client, &server.base, &token, &format!("W-{i}")).await;
    }
    drained(&arrivals, 200 * webhooks).await;

    // Phase 1: throughput.
    let before = CpuSnapshot::take(&server_pid);
    let base_total = arrivals.lock().unwrap().total;
    let sent = Arc::new(Mutex::new(HashMap::with_capacity(events)));
    let started = Instant::now();
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let mut clients = tokio::task::JoinSet::new();
    for _ in 0..concurrency {
        let (client, base, token, next, sent) = (
            client.clone(),
            server.base.clone(),
            token.clone(),
            next.clone(),
            sent.clone(),
        );
        clients.spawn(async move {
            loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                if i >= events {
                    return;
                }
                let code = format!("T-{i}");
                sent.lock().unwrap().insert(code.clone(), Instant::now());
                create(&client, &base, &token, &code).await;
            }
        });
    }
    while clients.join_next().await.is_some() {}
    let created_in = started.elapsed();
    let last = drained(&arrivals, base_total + events * webhooks)
        .await
        .unwrap_or_else(Instant::now);
    let after = CpuSnapshot::take(&server_pid);
    let sent = sent.lock().unwrap().clone();
    // Read apart: a guard in the struct literal would live until its end.
    let deliveries = arrivals.lock().unwrap().total - base_total;
    let throughput = Phase {
        name: "throughput",
        events,
        deliveries,
        wall: last - started,
        latencies: latencies(&arrivals, &sent),
        cpu: after.since(&before, ticks),
    };
    throughput.report();
    println!(
        "(the API took the {events} creations in {:.2} s: {:.0} creations/s)",
        created_in.as_secs_f64(),
        events as f64 / created_in.as_secs_f64()
    );

    // Phase 2: fixed rates (open loop: requests leave on schedule whether
    // or not earlier ones were answered). A rate is sustained when the
    // deliveries keep up with it and the latency stays flat.
    for rate in rates {
        tokio::time::sleep(Duration::from_secs(1)).await;
        let before = CpuSnapshot::take(&server_pid);
        let base_total = arrivals.lock().unwrap().total;
        let count = usize::try_from(rate * seconds).unwrap();
        let sent = Arc::new(Mutex::new(HashMap::with_capacity(count)));
        let mut ticker = tokio::time::interval(Duration::from_secs_f64(1.0 / rate as f64));
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
        let started = Instant::now();
        let mut requests = tokio::task::JoinSet::new();
        for i in 0..count {
            ticker.tick().await;
            let (client, base, token, sent) = (
                client.clone(),
                server.base.clone(),
                token.clone(),
                sent.clone(),
            );
            requests.spawn(async move {
                let code = format!("R{rate}-{i}");
                sent.lock().unwrap().insert(code.clone(), Instant::now());
                create(&client, &base, &token, &code).await;
            });
            while requests.try_join_next().is_some() {}
        }
        while requests.join_next().await.is_some() {}
        let last = drained(&arrivals, base_total + count * webhooks)
            .await
            .unwrap_or_else(Instant::now);
        let after = CpuSnapshot::take(&server_pid);
        let sent = sent.lock().unwrap().clone();
        let deliveries = arrivals.lock().unwrap().total - base_total;
        let phase = Phase {
            name: "fixed rate",
            events: count,
            deliveries,
            wall: last - started,
            latencies: latencies(&arrivals, &sent),
            cpu: after.since(&before, ticks),
        };
        println!("(target {rate} events/s for {seconds} s)");
        phase.report();
    }

    drop(server);
    receiver_handle.stop(false).await;
    if std::env::var_os("BENCH_KEEP_DB").is_some() {
        println!("database kept: {}", db.url());
        std::mem::forget(db);
    }
}
