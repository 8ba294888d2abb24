//! The claim loop: the task that starts this process's sends. It claims
//! due jobs for the free slots and sends the jobs the fan-out leased at
//! insert and handed over ([`LocalWorkers`]) — at once when they came with
//! their slot, as slots free up when they came to be held ([`HeldJobs`]) —,
//! one send task per job, takes the slots back as sends end, and decides
//! when to claim again (jobs committed that were not handed over, slots
//! freed with a backlog left that no held job took, a retry scheduled here
//! falling due, the poll).

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::sync::Arc;

use tokio::task::JoinSet;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use super::DeliveryEngine;
use super::held::HeldJobs;
use super::send::Sender;
use crate::delivery::queue::{self, Claim, ClaimedJob};
use crate::delivery::slots::{
    Caps, Freed, Handed, Lease, LocalWorkers, SlotKey, Slots, slow_endpoint_cap,
};

impl DeliveryEngine {
    /// The claim loop, until shutdown.
    pub(super) async fn deliver(
        &self,
        shutdown: &CancellationToken,
        sender: &Arc<Sender>,
        sends: &mut JoinSet<()>,
    ) {
        let config = &self.config;
        let caps = Caps {
            total: config.max_in_flight,
            per_endpoint: config.max_in_flight_per_endpoint,
            per_owner: config.max_in_flight_per_owner,
            per_host: config.max_in_flight_per_host,
            slow_after: config.slow_after,
            held_bytes: config.max_held_bytes,
        };
        let (workers, mut freed, mut handed) =
            LocalWorkers::new(self.worker_id, config.lease, caps);
        let workers = Arc::new(workers);
        // From now on the fan-out leases new jobs to this process while
        // slots are free, and hands them over once committed.
        self.waker.attach(Arc::clone(&workers));
        // Claims are batched: with a backlog, the loop waits for this many
        // freed slots (or for an idle moment) before claiming again.
        let batch_after = (config.max_in_flight_per_endpoint.min(config.max_in_flight) / 2).max(1);
        let mut work_hint = true;
        let mut backlog = false;
        let mut freed_since_claim = 0usize;
        let mut retries: BinaryHeap<Reverse<Instant>> = BinaryHeap::new();
        let mut next_poll = Instant::now() + config.poll_interval;
        let mut failures: u32 = 0;
        let mut held = HeldJobs::default();
        // The held jobs' gauge is set when jobs are handed over, and when a
        // pass changes their count.
        let mut held_shown = 0usize;

        while !shutdown.is_cancelled() {
            while let Some(joined) = sends.try_join_next() {
                if let Err(error) = joined
                    && error.is_panic()
                {
                    tracing::error!(%error, "a webhook delivery task panicked");
                }
            }
            // Held jobs first: a slot one of them takes needs no claim.
            let pass = held.pass(&workers, config.hold_for);
            freed_since_claim = freed_since_claim.saturating_sub(pass.start.len());
            for (job, guard) in pass.start {
                sends.spawn(Arc::clone(sender).send(job, guard));
            }
            if !pass.give_back.is_empty() {
                self.give_back(&pass.give_back).await;
                work_hint = true;
            }
            if held.len() != held_shown {
                held_shown = held.len();
                metrics::gauge!("hub_webhook_deliveries_held").set(held_shown as f64);
            }
            let (free, wanted) = {
                let ledger = workers.ledger();
                let total = ledger.slots.total;
                let wanted =
                    work_hint || (backlog && (freed_since_claim >= batch_after || total == 0));
                (caps.free(&ledger.slots), wanted)
            };
            if free > 0 && wanted {
                work_hint = false;
                freed_since_claim = 0;
                // The hand-off takes no slot while the claim is made: what
                // the claim is allowed to take is computed from the slots
                // now, and it takes them once its statement returns.
                let (claim, had_in_flight) = {
                    let mut ledger = workers.ledger();
                    ledger.claiming = true;
                    let free = caps.free(&ledger.slots);
                    (self.claim_of(free, &ledger.slots), ledger.slots.total > 0)
                };
                let claimed_jobs = self.claim(&claim).await;
                let mut ledger = workers.ledger();
                ledger.claiming = false;
                match claimed_jobs {
                    Ok(jobs) => {
                        failures = 0;
                        let claimed = jobs.len();
                        for job in jobs {
                            let key = SlotKey {
                                webhook_id: job.webhook_id,
                                owner_id: job.owner_id,
                                host: job.host.clone(),
                            };
                            let guard = workers.take(&mut ledger, key, job.ordered);
                            sends.spawn(Arc::clone(sender).send(job, guard));
                        }
                        let slots = &ledger.slots;
                        metrics::gauge!("hub_webhook_deliveries_in_flight")
                            .set(slots.requests as f64);
                        // A full claim, or one the caps may have cut short
                        // (at the time of the claim: the requests it saw may
                        // have been answered since), leaves due jobs behind.
                        let capped = !claim.saturated.is_empty()
                            || !claim.saturated_owners.is_empty()
                            || !claim.saturated_hosts.is_empty()
                            || slots
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
                        backlog =
                            claimed == claim.limit || capped || (had_in_flight && claimed > 0);
                        if claimed > 0 {
                            tracing::debug!(
                                claimed,
                                in_flight = slots.requests,
                                "webhook deliveries claimed"
                            );
                        }
                        if !backlog {
                            // The queue has nothing left for this process:
                            // new jobs may be held again.
                            ledger.held.spilled = false;
                        }
                    }
                    Err(error) => {
                        failures = failures.saturating_add(1);
                        backlog = false;
                        tracing::warn!(%error, failures, "webhook delivery claim failed");
                    }
                }
                drop(ledger);
                // A claim is as good as a poll; after failures, back off.
                next_poll =
                    Instant::now() + config.poll_interval.saturating_mul(failures.clamp(1, 20));
            }
            let mut deadline = next_poll;
            if let Some(Reverse(at)) = retries.peek() {
                deadline = deadline.min(*at);
            }
            if let Some(at) = held.next_deadline(config.hold_for) {
                deadline = deadline.min(at);
            }
            tokio::select! {
                () = shutdown.cancelled() => break,
                Some(done) = freed.recv() => {
                    let mut done = Some(done);
                    while let Some(Freed { answered, retry_at, releases }) = done {
                        // The next event of its aggregate may be due now:
                        // claim rather than wait for the poll.
                        work_hint |= releases;
                        // Counted once per job, when its receiver answered:
                        // the claim cadence (every `batch_after` freed
                        // slots) is what keeps claims few and full while a
                        // backlog lasts.
                        if answered {
                            freed_since_claim += 1;
                        }
                        if let Some(at) = retry_at {
                            retries.push(Reverse(at));
                        }
                        done = freed.try_recv().ok();
                    }
                    metrics::gauge!("hub_webhook_deliveries_in_flight")
                        .set(workers.ledger().slots.requests as f64);
                }
                Some(first) = handed.recv() => {
                    // Leased at insert by the fan-out: sent now if its slot
                    // is taken already, held for one otherwise; no claim.
                    let mut next = Some(first);
                    let mut count = 0_u64;
                    while let Some(Handed { job, lease }) = next {
                        match lease {
                            Lease::Slot(guard) => {
                                sends.spawn(Arc::clone(sender).send(job, guard));
                            }
                            Lease::Held(reservation) => held.push(job, reservation),
                        }
                        count += 1;
                        next = handed.try_recv().ok();
                    }
                    metrics::counter!("hub_webhook_deliveries_handed_over_total").increment(count);
                    metrics::gauge!("hub_webhook_deliveries_in_flight")
                        .set(workers.ledger().slots.requests as f64);
                    held_shown = held.len();
                    metrics::gauge!("hub_webhook_deliveries_held").set(held_shown as f64);
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
        // Nothing more is leased to this process; jobs leased and not yet
        // handed over are given back by the shutdown's release.
        self.waker.detach();
    }

    /// What a claim for `free` slots may take, given the slots in use.
    fn claim_of(&self, free: usize, slots: &Slots) -> Claim {
        let config = &self.config;
        let cap = config.max_in_flight_per_endpoint;
        // A slow webhook counts as busier than it is: what is left to it
        // is its reduced cap minus its requests in flight.
        let slow_cap = slow_endpoint_cap(cap);
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
                n + (cap - slow_cap)
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
        Claim {
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
        }
    }

    async fn claim(
        &self,
        claim: &Claim,
    ) -> Result<Vec<ClaimedJob>, hub_platform_postgres::DbError> {
        let mut conn = self.db.connection().await?;
        Ok(queue::claim(&mut conn, claim).await?)
    }

    /// Gives held jobs that are no longer fresh back to the queue. They are
    /// out of this process's hands either way: if the statement fails,
    /// their leases end before any other worker may claim them.
    async fn give_back(&self, jobs: &[ClaimedJob]) {
        let leases: Vec<(Uuid, Uuid)> = jobs.iter().map(|j| (j.id, j.lease_token)).collect();
        let given = match self.db.connection().await {
            Ok(mut conn) => queue::give_back(&mut conn, &leases)
                .await
                .map_err(hub_platform_postgres::DbError::from),
            Err(error) => Err(error),
        };
        match given {
            Ok(given) => tracing::debug!(given, "held webhook deliveries given back to the queue"),
            Err(error) => tracing::warn!(
                %error,
                jobs = jobs.len(),
                "held webhook deliveries could not be given back; their leases will end"
            ),
        }
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
