//! Cost of one `publish` on the in-process bus, handlers included.
//!
//! `cargo bench -p hub-platform-event-bus --bench publish -- --warm-up-time 1 --measurement-time 5`

use std::hint::black_box;
use std::sync::Arc;

use async_trait::async_trait;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use hub_kernel::{EventBus, EventEnvelope, EventHandler, EventType, HandlerError, TopicPattern};
use hub_platform_event_bus::InProcessEventBus;
use time::OffsetDateTime;
use tokio::runtime::Runtime;
use uuid::Uuid;

/// Does nothing, so that the figure is the bus's own cost.
struct NoOp(&'static str);

#[async_trait]
impl EventHandler for NoOp {
    fn name(&self) -> &str {
        self.0
    }

    async fn handle(&self, event: &EventEnvelope) -> Result<(), HandlerError> {
        black_box(event);
        Ok(())
    }
}

type SetupError = Box<dyn std::error::Error>;

fn chantier_created() -> Result<Arc<EventEnvelope>, SetupError> {
    Ok(Arc::new(EventEnvelope {
        event_id: Uuid::now_v7(),
        event_type: EventType::from_static("chantier.created")?,
        aggregate_type: "chantier".into(),
        aggregate_id: Uuid::now_v7().to_string(),
        occurred_at: OffsetDateTime::now_utc(),
        actor_id: Some(Uuid::now_v7()),
        correlation_id: Some("req-1".into()),
        causation_id: None,
        schema_version: 1,
        data: serde_json::json!({ "nom": "Tour A", "adresse": "1 rue du Port" }),
    }))
}

/// A bus whose no-op handlers are subscribed with `patterns`, checked to give
/// `event` the expected number of matches.
fn bus_with(
    rt: &Runtime,
    patterns: &[&str],
    event: &Arc<EventEnvelope>,
    expected_matches: usize,
) -> Result<InProcessEventBus, SetupError> {
    let bus = InProcessEventBus::default();
    rt.block_on(async {
        for (p, name) in patterns.iter().zip(["first", "second", "third"]) {
            let pattern = TopicPattern::parse(p)?;
            bus.subscribe(pattern, Arc::new(NoOp(name))).await?;
        }
        let report = bus.publish(Arc::clone(event)).await?;
        if (report.matched, report.failed) != (expected_matches, 0) {
            return Err(format!("unexpected {report:?} for {patterns:?}").into());
        }
        Ok::<_, SetupError>(())
    })?;
    Ok(bus)
}

type Case = (&'static str, InProcessEventBus);

fn setup() -> Result<(Runtime, Arc<EventEnvelope>, Vec<Case>), SetupError> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()?;
    let event = chantier_created()?;
    let matching = bus_with(&rt, &["chantier.created", "chantier.*", "*"], &event, 3)?;
    let none = bus_with(
        &rt,
        &["user.created", "affectation.*", "*.deleted"],
        &event,
        0,
    )?;
    let cases = vec![
        ("3_matching_noop_handlers", matching),
        ("3_handlers_none_matching", none),
    ];
    Ok((rt, event, cases))
}

fn publish(c: &mut Criterion) {
    let (rt, event, cases) = match setup() {
        Ok(setup) => setup,
        Err(error) => panic!("benchmark setup failed: {error}"),
    };
    let mut group = c.benchmark_group("publish");
    group.throughput(Throughput::Elements(1));
    for (name, bus) in &cases {
        group.bench_function(*name, |b| {
            b.to_async(&rt).iter(|| bus.publish(Arc::clone(&event)));
        });
    }
    group.finish();
}

criterion_group!(benches, publish);
criterion_main!(benches);
