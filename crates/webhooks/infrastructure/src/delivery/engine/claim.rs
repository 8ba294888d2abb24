//! The claim loop: the one task that owns this process's concurrency
//! accounting (no lock). It claims due jobs for the free slots, spawns one
//! send per job, takes the slots back as sends end, and decides when to
//! claim again (new jobs committed, slots freed with a backlog left, a
//! retry scheduled here falling due, the poll).

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::sync::Arc;

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
                            slots.take(job.webhook_id);
                            let guard = SlotGuard {
                                webhook_id: job.webhook_id,
                                freed: freed_tx.clone(),
                                retry_at: None,
                            };
                            sends.spawn(Arc::clone(sender).send(job, guard));
                        }
                        metrics::gauge!("hub_webhook_deliveries_in_flight").set(slots.total as f64);
                        // A full claim, or one the per-webhook caps may have
                        // cut short, leaves due jobs behind.
                        let capped = slots
                            .per_webhook
                            .values()
                            .any(|n| *n >= config.max_in_flight_per_endpoint);
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
                    while let Some(Freed { webhook_id, retry_at }) = done {
                        slots.give_back(webhook_id);
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
        let cap = self.config.max_in_flight_per_endpoint;
        let (saturated, busy): (Vec<_>, Vec<_>) = slots
            .per_webhook
            .iter()
            .map(|(id, n)| (*id, *n))
            .partition(|(_, n)| *n >= cap);
        let claim = Claim {
            limit: free,
            saturated: saturated.into_iter().map(|(id, _)| id).collect(),
            busy,
            per_endpoint: cap,
            lease: self.config.lease,
            worker: self.worker_id,
        };
        let mut conn = self.db.connection().await?;
        Ok(queue::claim(&mut conn, &claim).await?)
    }
}

/// Requests in flight in this process, in all and per webhook.
#[derive(Debug, Default)]
struct Slots {
    total: usize,
    per_webhook: HashMap<Uuid, usize>,
}

impl Slots {
    fn take(&mut self, webhook_id: Uuid) {
        self.total += 1;
        *self.per_webhook.entry(webhook_id).or_default() += 1;
    }

    fn give_back(&mut self, webhook_id: Uuid) {
        self.total = self.total.saturating_sub(1);
        if let Some(n) = self.per_webhook.get_mut(&webhook_id) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                self.per_webhook.remove(&webhook_id);
            }
        }
    }
}

/// A slot given back by a finished send, with the time of the retry it
/// scheduled, if any.
#[derive(Debug)]
struct Freed {
    webhook_id: Uuid,
    retry_at: Option<Instant>,
}

/// Gives the slot back when dropped: by the recorder once the send's
/// outcome is written, or wherever the send ends otherwise (even a panic).
#[derive(Debug)]
pub(super) struct SlotGuard {
    webhook_id: Uuid,
    freed: mpsc::UnboundedSender<Freed>,
    /// Set by the send when it schedules a retry, for the loop to wake then.
    pub(super) retry_at: Option<Instant>,
}

impl Drop for SlotGuard {
    fn drop(&mut self) {
        // The loop may be gone (shutdown): nothing to give back to.
        let _ = self.freed.send(Freed {
            webhook_id: self.webhook_id,
            retry_at: self.retry_at,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_count_per_webhook_and_forget_idle_ones() {
        let (a, b) = (Uuid::now_v7(), Uuid::now_v7());
        let mut slots = Slots::default();
        slots.take(a);
        slots.take(a);
        slots.take(b);
        assert_eq!(slots.total, 3);
        assert_eq!(slots.per_webhook[&a], 2);
        slots.give_back(b);
        assert!(!slots.per_webhook.contains_key(&b));
        slots.give_back(a);
        slots.give_back(a);
        slots.give_back(a);
        assert_eq!(slots.total, 0);
        assert!(slots.per_webhook.is_empty());
    }
}
