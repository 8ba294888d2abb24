//! The outbox relay publishing through the JetStream bus while the NATS
//! server is killed and restarted: nothing is lost, nothing is stored twice.

use std::path::Path;
use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;

use hub_kernel::{EventBus, TopicPattern};
use hub_platform_nats::NatsEventBus;
use hub_platform_postgres::{Database, DbError, OutboxRelay, RelayConfig, outbox};
use hub_platform_test_db::TestDatabase;
use tokio::process::{Child, Command};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::{Recorder, assert_once_each, event, local_bus, read_stream, unique_config, wait_until};

/// A `nats-server` of the test's own, with JetStream storing under `dir`.
struct NatsServer {
    child: Child,
}

impl NatsServer {
    async fn start(port: u16, dir: &Path) -> Self {
        // Debian installs it in /usr/sbin, which a user's PATH may lack.
        let binary = if Path::new("/usr/sbin/nats-server").exists() {
            "/usr/sbin/nats-server"
        } else {
            "nats-server"
        };
        let child = Command::new(binary)
            .args(["-js", "-a", "127.0.0.1", "-p", &port.to_string(), "-sd"])
            .arg(dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect(
                "nats-server must be on PATH (Debian: apt-get install nats-server; make test installs it)",
            );
        wait_for_port(port).await;
        Self { child }
    }

    /// SIGKILL: no clean shutdown, as in a crash.
    async fn kill(mut self) {
        self.child.kill().await.unwrap();
    }
}

async fn wait_for_port(port: u16) {
    for _ in 0..200 {
        if tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_ok()
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("nats-server did not listen on port {port}");
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

async fn append(db: &Database, nom: &str) -> Uuid {
    let created = event(nom);
    let id = created.event_id;
    db.write(|conn| {
        Box::pin(async move {
            outbox::append(conn, &[created]).await?;
            Ok::<_, DbError>(())
        })
    })
    .await
    .unwrap();
    id
}

async fn undispatched(db: &Database) -> i64 {
    let mut conn = db.connection().await.unwrap();
    outbox::pending(&mut conn).await.unwrap().0
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nats_restarting_mid_stream_loses_nothing_and_stores_nothing_twice() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let server = NatsServer::start(port, dir.path()).await;
    let config = unique_config(&format!("nats://127.0.0.1:{port}"));

    let test_db = TestDatabase::new().await;
    let db = test_db.database().clone();
    let bus = Arc::new(
        NatsEventBus::connect(config.clone(), local_bus())
            .await
            .unwrap(),
    );
    let recorder = Arc::new(Recorder::default());
    bus.subscribe(TopicPattern::parse("*").unwrap(), recorder.clone())
        .await
        .unwrap();
    let shutdown = CancellationToken::new();
    let relay = OutboxRelay::new(
        db.clone(),
        bus.clone(),
        RelayConfig {
            batch_size: 20,
            poll_interval: Duration::from_millis(50),
            ..RelayConfig::default()
        },
    );
    let relaying = tokio::spawn(relay.run(shutdown.clone()));
    let consuming = tokio::spawn({
        let (bus, shutdown) = (bus.clone(), shutdown.clone());
        async move { bus.consume(shutdown).await }
    });

    let mut expected = Vec::new();
    for i in 0..100 {
        expected.push(append(&db, &format!("before {i}")).await);
    }
    // Mid-stream: some of those are published, some are not yet.
    server.kill().await;
    for i in 0..100 {
        expected.push(append(&db, &format!("during {i}")).await);
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert!(
        undispatched(&db).await > 0,
        "with the server down, events wait in the outbox"
    );
    let _restarted = NatsServer::start(port, dir.path()).await;
    for i in 0..100 {
        expected.push(append(&db, &format!("after {i}")).await);
    }

    let deadline = tokio::time::Instant::now() + Duration::from_secs(90);
    while undispatched(&db).await > 0 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the relay never caught up after the restart"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let stored: Vec<Uuid> = read_stream(&config)
        .await
        .iter()
        .map(|e| e.event_id)
        .collect();
    assert_once_each(&stored, &expected, "the stream");

    // The handlers get every event too (at least once: a delivery cut by
    // the restart may come again).
    wait_until(
        "the handler saw every event",
        Duration::from_secs(60),
        || {
            let seen: std::collections::HashSet<Uuid> = recorder.ids().into_iter().collect();
            expected.iter().all(|id| seen.contains(id))
        },
    )
    .await;

    shutdown.cancel();
    relaying.await.unwrap();
    consuming.await.unwrap();
}
