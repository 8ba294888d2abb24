//! The claim loop: the one task that owns this process's concurrency
//! accounting (no lock). It claims due jobs for the free slots, spawns one
//! send per job, takes the slots back as sends end, and decides when to
//! claim again (new jobs committed, slots freed with a backlog left, a
//! retry scheduled here falling due, the poll).

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;
use tokio::task::JoinSet;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use super::DeliveryEngine;
use super::send::Sender;
use crate::delivery::queue::{self, Claim, ClaimedJob};

impl DeliveryEngine {
    /// The claim loop, until shutdown.
    pub(super) async fn deliver(
        &self,
        shutdown: &CancellationToken,
        sender: &Arc<Sender>,
        sends: &mut JoinSet<()>,
    ) {
        let config = &self.config;
        let (freed_tx, mut freed) = mpsc::unbounded_channel::<Freed>();
        let mut slots = Slots::default();
        // Claims are batched: with a backlog, the loop waits for this many
        // freed slots (or for an idle moment) before claiming again.
        let batch_after = (config.max_in_flight_per_endpoint.min(config.max_in_flight) / 2).max(1);
        let mut work_hint = true;
        let mut backlog = false;
        let mut freed_since_claim = 0usize;
        let mut retries: BinaryHeap<Reverse<Instant>> = BinaryHeap::new();
        let mut next_poll = Instant::now() + config.poll_interval;
        let mut failures: u32 = 0;

        while !shutdown.is_cancelled() {
            while let Some(joined) = sends.try_join_next() {
                if let Err(error) = joined
                    && error.is_panic()
                {
                    tracing::error!(%error, "a webhook delivery task panicked");
                }
            }
            let free = config.max_in_flight.saturating_sub(slots.total);
            let wanted =
                work_hint || (backlog && (freed_since_claim >= batch_after || slots.total == 0));
            if free > 0 && wanted {
                work_hint = false;
                freed_since_claim = 0;
                let had_in_flight = slots.total > 0;
                match self.claim(free, &slots).await {
                    Ok(jobs) => {
                        failures = 0;
                        let claimed = jobs.len();
                        for job in jobs {
                            let key = SlotKey {
                                webhook_id: job.webhook_id,
                                owner_id: job.owner_id,
                                host: job.host.clone(),
                            };
                            slots.take(&key);
                            let guard = SlotGuard {
                                key,
                                freed: freed_tx.clone(),
                                retry_at: None,
                                took: None,
                                releases: job.ordered,
                            };
                            sends.spawn(Arc::clone(sender).send(job, guard));
                        }
                        metrics::gauge!("hub_webhook_deliveries_in_flight").set(slots.total as f64);
                        // A full claim, or one the per-webhook caps may have
                        // cut short, leaves due jobs behind.
                        let capped = slots
                            .per_webhook
                            .values()
                            .any(|n| *n >= config.max_in_flight_per_endpoint)
                            || slots
                                .per_owner
                                .values()
                                .any(|n| *n >= config.max_in_flight_per_owner)
                            || slots
                                .per_host
                                .values()
                                .any(|n| *n >= config.max_in_flight_per_host)
                            || !slots.slow.is_empty();
                        backlog = claimed == free || capped || (had_in_flight && claimed > 0);
                        if claimed > 0 {
                            tracing::debug!(
                                claimed,
                                in_flight = slots.total,
                                "webhook deliveries claimed"
                            );
                        }
                    }
                    Err(error) => {
                        failures = failures.saturating_add(1);
                        backlog = false;
                        tracing::warn!(%error, failures, "webhook delivery claim failed");
                    }
                }
                // A claim is as good as a poll; after failures, back off.
                next_poll =
                    Instant::now() + config.poll_interval.saturating_mul(failures.clamp(1, 20));
            }
            let mut deadline = next_poll;
            if let Some(Reverse(at)) = retries.peek() {
                deadline = deadline.min(*at);
            }
            tokio::select! {
                () = shutdown.cancelled() => break,
                Some(done) = freed.recv() => {
                    let mut done = Some(done);
                    while let Some(Freed { key, retry_at, took, releases }) = done {
                        slots.give_back(&key, took, config.slow_after);
                        // The next event of its aggregate may be due now:
                        // claim rather than wait for the poll.
                        work_hint |= releases;
                        freed_since_claim += 1;
                        if let Some(at) = retry_at {
                            retries.push(Reverse(at));
                        }
                        done = freed.try_recv().ok();
                    }
                    metrics::gauge!("hub_webhook_deliveries_in_flight").set(slots.total as f64);
                }
                () = self.waker.woken() => work_hint = true,
                () = tokio::time::sleep_until(deadline) => {
                    let now = Instant::now();
                    if now >= next_poll {
                        work_hint = true;
                        next_poll = now + config.poll_interval;
                    }
                    while retries.peek().is_some_and(|Reverse(at)| *at <= now) {
                        retries.pop();
                        work_hint = true;
                    }
                }
            }
        }
    }

    async fn claim(
        &self,
        free: usize,
        slots: &Slots,
    ) -> Result<Vec<ClaimedJob>, hub_platform_postgres::DbError> {
        let config = &self.config;
        let cap = config.max_in_flight_per_endpoint;
        // A slow webhook counts as busier than it is: what is left to it
        // is its reduced cap minus its requests in flight.
        let slow_cap = (cap / 5).max(1);
        let mut saturated = Vec::new();
        let mut busy = Vec::new();
        let webhooks: std::collections::HashSet<Uuid> = slots
            .per_webhook
            .keys()
            .chain(slots.slow.keys())
            .copied()
            .collect();
        for id in webhooks {
            let n = slots.per_webhook.get(&id).copied().unwrap_or(0);
            let counted = if slots.slow.contains_key(&id) {
                n + (cap - slow_cap.min(cap))
            } else {
                n
            };
            if counted >= cap {
                saturated.push(id);
            } else if counted > 0 {
                busy.push((id, counted));
            }
        }
        let (saturated_owners, busy_owners) =
            partition(&slots.per_owner, config.max_in_flight_per_owner);
        let (saturated_hosts, busy_hosts) =
            partition(&slots.per_host, config.max_in_flight_per_host);
        let claim = Claim {
            limit: free,
            saturated,
            busy,
            per_endpoint: cap,
            saturated_owners,
            busy_owners,
            per_owner: config.max_in_flight_per_owner,
            saturated_hosts,
            busy_hosts,
            per_host: config.max_in_flight_per_host,
            lease: config.lease,
            worker: self.worker_id,
        };
        let mut conn = self.db.connection().await?;
        Ok(queue::claim(&mut conn, &claim).await?)
    }
}

/// Keys at their cap, and the others with their counts.
fn partition<K: Clone + Eq + std::hash::Hash>(
    counts: &HashMap<K, usize>,
    cap: usize,
) -> (Vec<K>, Vec<(K, usize)>) {
    let mut saturated = Vec::new();
    let mut busy = Vec::new();
    for (key, n) in counts {
        if *n >= cap {
            saturated.push(key.clone());
        } else {
            busy.push((key.clone(), *n));
        }
    }
    (saturated, busy)
}

/// What one request in flight counts against.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct SlotKey {
    webhook_id: Uuid,
    owner_id: Uuid,
    host: String,
}

/// Requests in flight in this process, in all, per webhook, per owner and
/// per destination host; and the webhooks found slow, with the moving
/// average of their attempts' durations.
#[derive(Debug, Default)]
struct Slots {
    total: usize,
    per_webhook: HashMap<Uuid, usize>,
    per_owner: HashMap<Uuid, usize>,
    per_host: HashMap<String, usize>,
    /// Average duration of each webhook's recent attempts (exponential, one
    /// attempt weighs a quarter); only slow webhooks and those with
    /// requests in flight are kept.
    durations: HashMap<Uuid, Duration>,
    slow: HashMap<Uuid, ()>,
}

fn give_back_one<K: Eq + std::hash::Hash>(counts: &mut HashMap<K, usize>, key: &K) {
    if let Some(n) = counts.get_mut(key) {
        *n = n.saturating_sub(1);
        if *n == 0 {
            counts.remove(key);
        }
    }
}

impl Slots {
    fn take(&mut self, key: &SlotKey) {
        self.total += 1;
        *self.per_webhook.entry(key.webhook_id).or_default() += 1;
        *self.per_owner.entry(key.owner_id).or_default() += 1;
        *self.per_host.entry(key.host.clone()).or_default() += 1;
    }

    fn give_back(&mut self, key: &SlotKey, took: Option<Duration>, slow_after: Duration) {
        self.total = self.total.saturating_sub(1);
        give_back_one(&mut self.per_webhook, &key.webhook_id);
        give_back_one(&mut self.per_owner, &key.owner_id);
        give_back_one(&mut self.per_host, &key.host);
        if let Some(took) = took {
            let average = match self.durations.get(&key.webhook_id) {
                Some(previous) => (*previous * 3 + took) / 4,
                None => took,
            };
            if average > slow_after {
                self.slow.insert(key.webhook_id, ());
            } else {
                self.slow.remove(&key.webhook_id);
            }
            self.durations.insert(key.webhook_id, average);
        }
        // Bounded memory: forget the averages of idle webhooks that are
        // not slow (a slow one is remembered until it answers fast again).
        if !self.per_webhook.contains_key(&key.webhook_id)
            && !self.slow.contains_key(&key.webhook_id)
        {
            self.durations.remove(&key.webhook_id);
        }
    }
}

/// A slot given back by a finished send, with the time of the retry it
/// scheduled and how long its attempt took, if any.
#[derive(Debug)]
struct Freed {
    key: SlotKey,
    retry_at: Option<Instant>,
    took: Option<Duration>,
    /// The job held back later events of its aggregate (ordered webhook).
    releases: bool,
}

/// Gives the slot back when dropped: by the recorder once the send's
/// outcome is written, or wherever the send ends otherwise (even a panic).
#[derive(Debug)]
pub(super) struct SlotGuard {
    key: SlotKey,
    freed: mpsc::UnboundedSender<Freed>,
    /// Set by the send when it schedules a retry, for the loop to wake then.
    pub(super) retry_at: Option<Instant>,
    /// Set by the send when a request was made: how long it took.
    pub(super) took: Option<Duration>,
    /// The job is of an ordered webhook: its end may let the next event of
    /// its aggregate go.
    releases: bool,
}

impl Drop for SlotGuard {
    fn drop(&mut self) {
        // The loop may be gone (shutdown): nothing to give back to.
        let _ = self.freed.send(Freed {
            key: self.key.clone(),
            retry_at: self.retry_at,
            took: self.took,
            releases: self.releases,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(webhook_id: Uuid, owner_id: Uuid, host: &str) -> SlotKey {
        SlotKey {
            webhook_id,
            owner_id,
            host: host.into(),
        }
    }

    #[test]
    fn slots_count_per_webhook_owner_and_host_and_forget_idle_ones() {
        let owner = Uuid::now_v7();
        let a = key(Uuid::now_v7(), owner, "erp.example.com");
        let b = key(Uuid::now_v7(), owner, "erp.example.com:8443");
        let slow_after = Duration::from_secs(2);
        let mut slots = Slots::default();
        slots.take(&a);
        slots.take(&a);
        slots.take(&b);
        assert_eq!(slots.total, 3);
        assert_eq!(slots.per_webhook[&a.webhook_id], 2);
        assert_eq!(slots.per_owner[&owner], 3);
        assert_eq!(slots.per_host["erp.example.com"], 2);
        slots.give_back(&b, None, slow_after);
        assert!(!slots.per_webhook.contains_key(&b.webhook_id));
        assert!(!slots.per_host.contains_key("erp.example.com:8443"));
        slots.give_back(&a, None, slow_after);
        slots.give_back(&a, None, slow_after);
        slots.give_back(&a, None, slow_after);
        assert_eq!(slots.total, 0);
        assert!(slots.per_webhook.is_empty());
        assert!(slots.per_owner.is_empty());
        assert!(slots.per_host.is_empty());
    }

    #[test]
    fn a_webhook_is_slow_while_its_recent_attempts_are() {
        let a = key(Uuid::now_v7(), Uuid::now_v7(), "tarpit.example.com");
        let slow_after = Duration::from_secs(2);
        let mut slots = Slots::default();
        for _ in 0..2 {
            slots.take(&a);
            slots.give_back(&a, Some(Duration::from_secs(9)), slow_after);
        }
        assert!(slots.slow.contains_key(&a.webhook_id));
        // Fast answers bring the average down, one quarter at a time.
        for _ in 0..10 {
            slots.take(&a);
            slots.give_back(&a, Some(Duration::from_millis(50)), slow_after);
        }
        assert!(!slots.slow.contains_key(&a.webhook_id));
        assert!(
            slots.durations.is_empty(),
            "an idle fast webhook is forgotten"
        );
    }
}
