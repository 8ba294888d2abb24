//! What this process's requests in flight count against — in all, per
//! webhook, per owner and per destination host — and the one place both
//! ways a job reaches the workers take their slot from: the claim loop's
//! claims, and the fan-out's hand-off of the jobs it leases at insert
//! ([`LocalWorkers`]); with the room the workers have to hold jobs leased
//! at insert while no slot is free ([`Held`]).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use tokio::sync::mpsc;
use tokio::time::Instant;
use uuid::Uuid;

use super::queue::ClaimedJob;

/// What one request in flight counts against.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SlotKey {
    pub(crate) webhook_id: Uuid,
    pub(crate) owner_id: Uuid,
    pub(crate) host: String,
}

/// Jobs in hand in this process — sent or being sent, their outcome not yet
/// recorded — in all; requests in flight in all, per webhook, per owner and
/// per destination host (what the receivers see); and the webhooks found
/// slow, with the moving average of their attempts' durations.
#[derive(Debug, Default)]
pub(crate) struct Slots {
    pub(crate) total: usize,
    pub(crate) requests: usize,
    pub(crate) per_webhook: HashMap<Uuid, usize>,
    pub(crate) per_owner: HashMap<Uuid, usize>,
    pub(crate) per_host: HashMap<String, usize>,
    /// Average duration of each webhook's recent attempts (exponential, one
    /// attempt weighs a quarter); only slow webhooks and those with
    /// requests in flight are kept.
    durations: HashMap<Uuid, Duration>,
    pub(crate) slow: HashMap<Uuid, ()>,
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
    pub(crate) fn take(&mut self, key: &SlotKey) {
        self.total += 1;
        self.requests += 1;
        *self.per_webhook.entry(key.webhook_id).or_default() += 1;
        *self.per_owner.entry(key.owner_id).or_default() += 1;
        *self.per_host.entry(key.host.clone()).or_default() += 1;
    }

    /// Gives a slot back whole: its request and its unrecorded outcome.
    #[cfg(test)]
    pub(crate) fn give_back(
        &mut self,
        key: &SlotKey,
        took: Option<Duration>,
        slow_after: Duration,
    ) {
        self.answered(key, took, slow_after);
        self.recorded();
    }

    /// The request of `key` is over (it took `took`, if one was made): the
    /// webhook, its owner and its host have one less in flight.
    pub(crate) fn answered(&mut self, key: &SlotKey, took: Option<Duration>, slow_after: Duration) {
        self.requests = self.requests.saturating_sub(1);
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

    /// An outcome is written: the process has one less job in hand.
    pub(crate) fn recorded(&mut self) {
        self.total = self.total.saturating_sub(1);
    }
}

/// What the claim loop hears of a slot given back (the counts are already
/// given back in the ledger): whether the receiver answered (the claim
/// cadence counts that), and what the end of the job asks of it.
#[derive(Debug)]
pub(crate) struct Freed {
    /// The receiver's share came back with this.
    pub(crate) answered: bool,
    /// The time of the retry the send scheduled, for the loop to wake then.
    pub(crate) retry_at: Option<Instant>,
    /// The job held back later events of its aggregate (ordered webhook).
    pub(crate) releases: bool,
}

/// Gives the slot back to the ledger, at once: the request's share when the
/// send calls [`SlotGuard::answered`], the rest when dropped — by the
/// recorder once the send's outcome is written, or wherever the send ends
/// otherwise (even a panic), the fan-out's staging included when a relay
/// savepoint is undone. So `max_in_flight` and the per-webhook, per-owner
/// and per-host caps count requests the receivers have in flight, while the
/// jobs in hand, outcomes waiting for the recorder included, are bounded at
/// [`IN_HAND_PER_REQUEST`] times `max_in_flight`. The claim loop hears of it
/// afterwards ([`Freed`]).
#[derive(Debug)]
pub(crate) struct SlotGuard {
    key: SlotKey,
    workers: Arc<LocalWorkers>,
    /// Set by the send when it schedules a retry, for the loop to wake then.
    pub(crate) retry_at: Option<Instant>,
    /// Set by the send when a request was made: how long it took.
    pub(crate) took: Option<Duration>,
    /// The job is of an ordered webhook: its end may let the next event of
    /// its aggregate go.
    releases: bool,
    /// The request's share was given back already.
    answered: bool,
}

impl SlotGuard {
    /// Whether the job held back later events of its aggregate.
    pub(crate) fn releases(&self) -> bool {
        self.releases
    }

    /// The request is over (or was never made): the receiver's share of
    /// the slot comes back now, the rest when the outcome is recorded.
    pub(crate) fn answered(&mut self) {
        if self.answered {
            return;
        }
        self.answered = true;
        let slow_after = self.workers.caps.slow_after;
        self.workers
            .ledger()
            .slots
            .answered(&self.key, self.took, slow_after);
        // The loop may be gone (shutdown): nobody to tell.
        let _ = self.workers.freed.send(Freed {
            answered: true,
            retry_at: None,
            releases: false,
        });
    }
}

impl Drop for SlotGuard {
    fn drop(&mut self) {
        let answered = !self.answered;
        {
            let mut ledger = self.workers.ledger();
            if answered {
                let slow_after = self.workers.caps.slow_after;
                ledger.slots.answered(&self.key, self.took, slow_after);
            }
            ledger.slots.recorded();
        }
        let _ = self.workers.freed.send(Freed {
            answered,
            retry_at: self.retry_at,
            releases: self.releases,
        });
    }
}

impl SlotKey {
    /// The key of a job of webhook `webhook_id`, owned by `owner_id`,
    /// delivering to `url`.
    pub(crate) fn new(webhook_id: Uuid, owner_id: Uuid, url: &str) -> Self {
        Self {
            webhook_id,
            owner_id,
            host: destination(url),
        }
    }
}

/// The destination of a webhook's URL, `host[:port]` in lower case, the
/// userinfo dropped: the same text as the `host` column of `webhooks`
/// (generated by the migration `webhook_host`), so that a job counts
/// against the same host whichever way it came.
pub(crate) fn destination(url: &str) -> String {
    let authority = url.split_once("://").map_or("", |(_, rest)| {
        rest.split(['/', '?', '#']).next().unwrap_or_default()
    });
    let host = match authority.split_once('@') {
        Some((_, host)) if !host.is_empty() => host,
        _ => authority,
    };
    host.to_lowercase()
}

/// The caps of [`super::DeliveryConfig`] that the slots enforce.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Caps {
    /// Requests in flight in the process.
    pub(crate) total: usize,
    pub(crate) per_endpoint: usize,
    pub(crate) per_owner: usize,
    pub(crate) per_host: usize,
    /// A webhook whose recent attempts take longer than this on average
    /// is slow.
    pub(crate) slow_after: Duration,
    /// What the jobs held for a slot may weigh in all ([`Held`]).
    pub(crate) held_bytes: usize,
}

/// What a held job is counted to weigh beyond its payload: its URL, its
/// sealed secrets, its ids and the queue's bookkeeping.
const HELD_OVERHEAD: usize = 512;

/// How many jobs the process may have in hand for each request it may have
/// in flight: the others are outcomes waiting for the recorder, which
/// writes them a few milliseconds later in batches. Bounded, so that a
/// recorder that falls behind (a slow database) stops the sends, but
/// loosely enough that the wait for the next batch does not hold a free
/// receiver's slot.
pub(crate) const IN_HAND_PER_REQUEST: usize = 4;

impl Caps {
    /// How many jobs may start now, whatever their webhook: the requests
    /// left under the process's cap, and the room left for their outcomes.
    pub(crate) fn free(&self, slots: &Slots) -> usize {
        let in_hand = self.total.saturating_mul(IN_HAND_PER_REQUEST);
        self.total
            .saturating_sub(slots.requests)
            .min(in_hand.saturating_sub(slots.total))
    }
}

/// What is left to a slow webhook of a per-endpoint cap `cap`: a fifth of
/// it, at least one.
pub(crate) fn slow_endpoint_cap(cap: usize) -> usize {
    (cap / 5).max(1).min(cap)
}

/// The slots, and whether the claim loop is claiming: a claim is computed
/// from the slots before its statement and takes them after, so nothing
/// else may take one in between; and the jobs held for a slot.
#[derive(Debug, Default)]
pub(crate) struct Ledger {
    pub(crate) slots: Slots,
    pub(crate) claiming: bool,
    pub(crate) held: Held,
}

/// Jobs leased to this process at insert while no slot was free for them:
/// they wait in memory, in their webhook's line, and are sent as slots
/// free up, with no claim (docs/decisions/webhook-held-jobs.md). What
/// they weigh is bounded; a job older than the workers' `hold_for`, or
/// judged by recipients that have changed since, is given back to the
/// queue instead (the claim judges it again).
#[derive(Debug, Default)]
pub(crate) struct Held {
    /// What the held jobs weigh (payload plus [`HELD_OVERHEAD`] each),
    /// the ones staged in an uncommitted relay transaction included.
    bytes: usize,
    /// Held jobs per webhook: a new job of a webhook that has some waits
    /// behind them, even if a slot is free, so that they leave in order.
    per_webhook: HashMap<Uuid, usize>,
    /// Some job went to the queue for lack of room while others were held:
    /// nothing more is held until the claims have emptied the queue, so
    /// that the jobs queued first are not overtaken for the whole backlog.
    pub(crate) spilled: bool,
    /// Moves each time the fan-out reads the recipients anew (they
    /// changed): a job held under an older one is given back.
    pub(crate) generation: u64,
}

/// A job the fan-out leased to this process at insert: with its slot, sent
/// as soon as it is handed over; or held until a slot is free.
#[derive(Debug)]
pub(crate) enum Lease {
    Slot(SlotGuard),
    Held(Reservation),
}

/// A held job's room in [`Held`], given back when dropped (the job sent,
/// given back to the queue, or its insert undone).
#[derive(Debug)]
pub(crate) struct Reservation {
    webhook_id: Uuid,
    bytes: usize,
    /// The recipients' generation the job was judged under.
    pub(crate) generation: u64,
    /// When it was leased: its lease runs from about then.
    pub(crate) since: Instant,
    workers: Arc<LocalWorkers>,
}

impl Drop for Reservation {
    fn drop(&mut self) {
        let mut ledger = self.workers.ledger();
        let held = &mut ledger.held;
        held.bytes = held.bytes.saturating_sub(self.bytes);
        give_back_one(&mut held.per_webhook, &self.webhook_id);
    }
}

/// A job the fan-out leased to this process at insert, once committed.
#[derive(Debug)]
pub(crate) struct Handed {
    pub(crate) job: ClaimedJob,
    pub(crate) lease: Lease,
}

/// This process's delivery workers, as the fan-out sees them while they
/// run: who they are, how long a lease lasts, their slots (one lock shared
/// with the claim loop, held for a few map operations at a time) and where
/// jobs leased for them go once committed.
#[derive(Debug)]
pub(crate) struct LocalWorkers {
    pub(crate) worker: Uuid,
    pub(crate) lease: Duration,
    caps: Caps,
    ledger: Mutex<Ledger>,
    freed: mpsc::UnboundedSender<Freed>,
    handed: mpsc::UnboundedSender<Handed>,
}

impl LocalWorkers {
    /// The workers' side, and the receiving ends the claim loop reads:
    /// news of slots given back, and jobs handed over.
    pub(crate) fn new(
        worker: Uuid,
        lease: Duration,
        caps: Caps,
    ) -> (
        Self,
        mpsc::UnboundedReceiver<Freed>,
        mpsc::UnboundedReceiver<Handed>,
    ) {
        let (freed, freed_rx) = mpsc::unbounded_channel();
        let (handed, handed_rx) = mpsc::unbounded_channel();
        let workers = Self {
            worker,
            lease,
            caps,
            ledger: Mutex::new(Ledger::default()),
            freed,
            handed,
        };
        (workers, freed_rx, handed_rx)
    }

    pub(crate) fn ledger(&self) -> MutexGuard<'_, Ledger> {
        // The ledger holds counts only: a panic while it was held leaves
        // nothing worse than a count off by one, better than no deliveries.
        self.ledger.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Takes a slot for `key` in `ledger`; it comes back through the guard.
    pub(crate) fn take(
        self: &Arc<Self>,
        ledger: &mut Ledger,
        key: SlotKey,
        releases: bool,
    ) -> SlotGuard {
        ledger.slots.take(&key);
        SlotGuard {
            key,
            workers: Arc::clone(self),
            retry_at: None,
            took: None,
            releases,
            answered: false,
        }
    }

    /// Whether a request of `key` may start now under every cap (the slow
    /// webhooks' reduced one included).
    fn has_room(&self, slots: &Slots, key: &SlotKey) -> bool {
        let caps = &self.caps;
        let endpoint_cap = if slots.slow.contains_key(&key.webhook_id) {
            slow_endpoint_cap(caps.per_endpoint)
        } else {
            caps.per_endpoint
        };
        let count = |counts: &HashMap<_, usize>, k| counts.get(k).copied().unwrap_or(0);
        caps.free(slots) > 0
            && count(&slots.per_webhook, &key.webhook_id) < endpoint_cap
            && count(&slots.per_owner, &key.owner_id) < caps.per_owner
            && slots.per_host.get(&key.host).copied().unwrap_or(0) < caps.per_host
    }

    /// A lease for a new job of `key`, whose payload is `payload_bytes`
    /// long: its slot if one is free now and no job of its webhook is
    /// held (no claim being made either); otherwise room to hold it, if
    /// there is some, its webhook is not slow, and nothing went to the
    /// queue for lack of room since the claims last emptied it. Without a
    /// lease the job waits in the queue for a claim.
    pub(crate) fn lease(self: &Arc<Self>, key: SlotKey, payload_bytes: usize) -> Option<Lease> {
        let mut ledger = self.ledger();
        if !ledger.claiming
            && !ledger.held.per_webhook.contains_key(&key.webhook_id)
            && self.has_room(&ledger.slots, &key)
        {
            return Some(Lease::Slot(self.take(&mut ledger, key, false)));
        }
        // A slow webhook's jobs would wait long: the queue keeps them.
        if ledger.slots.slow.contains_key(&key.webhook_id) {
            return None;
        }
        let bytes = payload_bytes.saturating_add(HELD_OVERHEAD);
        let held = &mut ledger.held;
        if held.spilled || held.bytes.saturating_add(bytes) > self.caps.held_bytes {
            held.spilled = true;
            return None;
        }
        held.bytes += bytes;
        *held.per_webhook.entry(key.webhook_id).or_default() += 1;
        Some(Lease::Held(Reservation {
            webhook_id: key.webhook_id,
            bytes,
            generation: held.generation,
            since: Instant::now(),
            workers: Arc::clone(self),
        }))
    }

    /// A slot for a held job of `key` if its caps let it start now.
    pub(crate) fn start_held(
        self: &Arc<Self>,
        ledger: &mut Ledger,
        key: SlotKey,
    ) -> Option<SlotGuard> {
        if self.has_room(&ledger.slots, &key) {
            Some(self.take(ledger, key, false))
        } else {
            None
        }
    }

    /// The fan-out read the recipients anew: the jobs held so far were
    /// judged by older ones.
    pub(crate) fn recipients_changed(&self) {
        self.ledger().held.generation += 1;
    }

    /// Gives a committed job to the claim loop, which sends it. If the
    /// loop is gone (shutdown), the job stays leased to this worker and the
    /// shutdown's release, or the lease's end, gives it back to the queue.
    pub(crate) fn hand(&self, handed: Handed) {
        let _ = self.handed.send(handed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn destinations_are_the_lower_case_authority_without_userinfo() {
        assert_eq!(
            destination("https://ERP.example.com/hooks?a=b"),
            "erp.example.com"
        );
        assert_eq!(
            destination("http://user:pw@Erp.example.com:8443/x"),
            "erp.example.com:8443"
        );
        assert_eq!(destination("https://[::1]:9000#frag"), "[::1]:9000");
        assert_eq!(destination("http://127.0.0.1:18099"), "127.0.0.1:18099");
    }

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
        assert_eq!(slots.requests, 3);
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
