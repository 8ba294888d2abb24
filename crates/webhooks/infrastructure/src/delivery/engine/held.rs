//! The jobs the fan-out leased to this process at insert while no slot was
//! free ([`Lease::Held`](crate::delivery::slots::Lease)), in the claim
//! loop's hands: one line per webhook, served in turn as slots free up,
//! each line in the order its jobs were leased. A job is sent only if it
//! is still fresh — held for less than `hold_for`, so that its lease
//! outlasts its request, and judged under the recipients' current
//! generation —; otherwise it goes back to the queue, where a claim
//! judges it again.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;
use uuid::Uuid;

use crate::delivery::queue::ClaimedJob;
use crate::delivery::slots::{LocalWorkers, Reservation, SlotGuard, SlotKey};

struct HeldJob {
    job: ClaimedJob,
    reservation: Reservation,
}

/// The held jobs, per webhook.
#[derive(Default)]
pub(super) struct HeldJobs {
    lines: HashMap<Uuid, VecDeque<HeldJob>>,
    /// The webhooks with held jobs, in the order the next pass serves them.
    turns: VecDeque<Uuid>,
    count: usize,
}

/// What a pass decided: jobs to send now, with their slots, and jobs to
/// give back to the queue.
#[derive(Default)]
pub(super) struct Pass {
    pub(super) start: Vec<(ClaimedJob, SlotGuard)>,
    pub(super) give_back: Vec<ClaimedJob>,
}

impl HeldJobs {
    pub(super) fn push(&mut self, job: ClaimedJob, reservation: Reservation) {
        let webhook_id = job.webhook_id;
        let line = self.lines.entry(webhook_id).or_insert_with(|| {
            self.turns.push_back(webhook_id);
            VecDeque::new()
        });
        line.push_back(HeldJob { job, reservation });
        self.count += 1;
    }

    pub(super) fn len(&self) -> usize {
        self.count
    }

    /// When the oldest job of a line stops being fresh: the loop looks
    /// again then, to give it back in time.
    pub(super) fn next_deadline(&self, hold_for: Duration) -> Option<Instant> {
        self.lines
            .values()
            .filter_map(|line| line.front())
            .map(|held| held.reservation.since + hold_for)
            .min()
    }

    /// Starts what the slots let start — one job per webhook in turn, round
    /// after round, so that a webhook's backlog does not take its owner's
    /// or its host's every slot — and takes out what is no longer fresh.
    pub(super) fn pass(&mut self, workers: &Arc<LocalWorkers>, hold_for: Duration) -> Pass {
        let mut pass = Pass::default();
        if self.count == 0 {
            return pass;
        }
        let now = Instant::now();
        // Dropped once the ledger is unlocked: a reservation gives its
        // room back to the ledger.
        let mut spent: Vec<Reservation> = Vec::new();
        let mut ledger = workers.ledger();
        let generation = ledger.held.generation;
        loop {
            let mut started = false;
            for webhook_id in &self.turns {
                let Some(line) = self.lines.get_mut(webhook_id) else {
                    continue;
                };
                while line.front().is_some_and(|held| {
                    held.reservation.generation != generation
                        || now >= held.reservation.since + hold_for
                }) && let Some(stale) = line.pop_front()
                {
                    pass.give_back.push(stale.job);
                    spent.push(stale.reservation);
                }
                let Some(front) = line.front() else {
                    continue;
                };
                let key = SlotKey {
                    webhook_id: front.job.webhook_id,
                    owner_id: front.job.owner_id,
                    host: front.job.host.clone(),
                };
                if let Some(guard) = workers.start_held(&mut ledger, key)
                    && let Some(held) = line.pop_front()
                {
                    pass.start.push((held.job, guard));
                    spent.push(held.reservation);
                    started = true;
                }
            }
            if !started {
                break;
            }
        }
        if !pass.give_back.is_empty() {
            // Queued again, older than what comes next: the fan-out holds
            // nothing more until the claims have taken them.
            ledger.held.spilled = true;
        }
        drop(ledger);
        drop(spent);
        self.count -= pass.start.len() + pass.give_back.len();
        self.lines.retain(|_, line| !line.is_empty());
        let lines = &self.lines;
        self.turns.retain(|id| lines.contains_key(id));
        // The next pass begins with the next webhook.
        self.turns.rotate_left(usize::from(!self.turns.is_empty()));
        pass
    }
}
