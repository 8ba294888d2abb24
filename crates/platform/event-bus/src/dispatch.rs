//! Delivery of one event to its matching subscriptions: all handler futures
//! are driven together by one hand-written join, each isolated from the others.

use std::any::Any;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use futures::FutureExt;
use futures::future::{BoxFuture, CatchUnwind};
use hub_kernel::{EventEnvelope, HandlerError};
use tokio::time::Sleep;

use crate::bus::Subscription;

type HandlerFuture<'a> = CatchUnwind<AssertUnwindSafe<BoxFuture<'a, Result<(), HandlerError>>>>;

struct Delivery<'a> {
    subscription: &'a Subscription,
    /// `None` once the handler has finished, one way or another.
    future: Option<HandlerFuture<'a>>,
}

/// Resolves to the number of deliveries that failed (error, panic or timeout)
/// once every handler has finished or the timeout has elapsed.
///
/// `join_all` plus one `timeout` per handler would cost a timer registration
/// and a clock read per handler on every publish. Most handlers finish on
/// their first poll, so the timer is only created, once for the whole
/// publish, when some handler is still pending after that poll.
pub(crate) struct Dispatch<'a> {
    event: &'a EventEnvelope,
    deliveries: Vec<Delivery<'a>>,
    pending: usize,
    failed: usize,
    timeout: Duration,
    deadline: Option<Pin<Box<Sleep>>>,
}

impl<'a> Dispatch<'a> {
    pub(crate) fn new(
        subscriptions: &'a [Arc<Subscription>],
        event: &'a EventEnvelope,
        timeout: Duration,
    ) -> Self {
        let mut failed = 0;
        let deliveries: Vec<Delivery<'a>> = subscriptions
            .iter()
            .map(|subscription| {
                // `handle` of an `async fn` only builds the future, but a
                // hand-written handler could panic before returning one.
                let started = std::panic::catch_unwind(AssertUnwindSafe(|| {
                    subscription.handler.handle(event)
                }));
                let future = match started {
                    Ok(future) => Some(AssertUnwindSafe(future).catch_unwind()),
                    Err(payload) => {
                        record_panic(subscription, event, &*payload);
                        failed += 1;
                        None
                    }
                };
                Delivery {
                    subscription,
                    future,
                }
            })
            .collect();
        let pending = deliveries.iter().filter(|d| d.future.is_some()).count();
        Self {
            event,
            deliveries,
            pending,
            failed,
            timeout,
            deadline: None,
        }
    }
}

impl Future for Dispatch<'_> {
    type Output = usize;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<usize> {
        let this = &mut *self;
        // Every still-running handler is polled on each wake-up: simpler than
        // per-handler wakers, and cheap for the handful of handlers an event has.
        for delivery in &mut this.deliveries {
            let Some(future) = delivery.future.as_mut() else {
                continue;
            };
            let Poll::Ready(outcome) = future.poll_unpin(cx) else {
                continue;
            };
            delivery.future = None;
            this.pending -= 1;
            if !record_outcome(delivery.subscription, this.event, outcome) {
                this.failed += 1;
            }
        }
        if this.pending == 0 {
            return Poll::Ready(this.failed);
        }

        let timeout = this.timeout;
        let deadline = this
            .deadline
            .get_or_insert_with(|| Box::pin(tokio::time::sleep(timeout)));
        if deadline.as_mut().poll(cx).is_pending() {
            return Poll::Pending;
        }
        for delivery in &mut this.deliveries {
            // Dropping the future cancels the handler at its current await point.
            if delivery.future.take().is_some() {
                record_timeout(delivery.subscription, this.event, timeout);
                this.failed += 1;
            }
        }
        this.pending = 0;
        Poll::Ready(this.failed)
    }
}

/// Counts one finished delivery; `false` when it failed.
fn record_outcome(
    subscription: &Subscription,
    event: &EventEnvelope,
    outcome: std::thread::Result<Result<(), HandlerError>>,
) -> bool {
    match outcome {
        Ok(Ok(())) => {
            subscription.counters.record_handled();
            true
        }
        Ok(Err(error)) => {
            subscription.counters.record_failed();
            tracing::warn!(
                handler = subscription.handler.name(),
                subscription = %subscription.id,
                pattern = %subscription.pattern,
                event_type = %event.event_type,
                event_id = %event.event_id,
                error = &error as &(dyn std::error::Error + 'static),
                "event handler failed"
            );
            false
        }
        Err(payload) => {
            record_panic(subscription, event, &*payload);
            false
        }
    }
}

fn record_panic(subscription: &Subscription, event: &EventEnvelope, payload: &(dyn Any + Send)) {
    subscription.counters.record_panicked();
    tracing::error!(
        handler = subscription.handler.name(),
        subscription = %subscription.id,
        pattern = %subscription.pattern,
        event_type = %event.event_type,
        event_id = %event.event_id,
        panic = panic_message(payload),
        "event handler panicked"
    );
}

fn record_timeout(subscription: &Subscription, event: &EventEnvelope, timeout: Duration) {
    subscription.counters.record_timed_out();
    tracing::warn!(
        handler = subscription.handler.name(),
        subscription = %subscription.id,
        pattern = %subscription.pattern,
        event_type = %event.event_type,
        event_id = %event.event_id,
        timeout_ms = u64::try_from(timeout.as_millis()).unwrap_or(u64::MAX),
        "event handler timed out and was cancelled"
    );
}

fn panic_message(payload: &(dyn Any + Send)) -> &str {
    payload
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("(non-string panic payload)")
}
