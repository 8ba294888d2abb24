//! What the logistique does when a chantier closes or disappears: from
//! `chantier.*` events only (never the chantiers tables), its bookings
//! dated today or later that still hold their slot are cancelled by the
//! system with a motif, each with its `reservation.cancelled`.
//!
//! The work is the application's `CancelChantierReservations`, in its own
//! transactions: it is idempotent (a redelivered event finds nothing left
//! to cancel), so the relay's at-least-once delivery is enough.

use async_trait::async_trait;
use hub_kernel::{CommandContext, TopicPattern};
use hub_logistique_application::{CancelChantierReservations, LogistiquePorts};
use hub_platform_postgres::{AsyncPgConnection, DurableError, DurableSubscriber, RelayedEvent};
use serde_json::Value;
use uuid::Uuid;

/// The motif of bookings cancelled because their chantier was deleted.
pub const MOTIF_SUPPRIME: &str = "Chantier supprimé";
/// The motif of bookings cancelled because their chantier was closed.
pub const MOTIF_FERME: &str = "Chantier fermé";

/// See the module documentation.
pub struct ChantierFermeSubscriber {
    pattern: TopicPattern,
    cancel: CancelChantierReservations,
}

impl std::fmt::Debug for ChantierFermeSubscriber {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ChantierFermeSubscriber")
    }
}

impl ChantierFermeSubscriber {
    pub fn new(ports: LogistiquePorts) -> Self {
        Self {
            pattern: TopicPattern::parse("chantier.*").unwrap_or_else(|_| TopicPattern::all()),
            cancel: CancelChantierReservations::new(ports),
        }
    }
}

/// Why the event ends the chantier's bookings, if it does: deleted, or
/// any event whose snapshot says `ferme`.
fn motif_of(event: &RelayedEvent) -> Option<&'static str> {
    if event.event_type.as_str() == "chantier.deleted" {
        return Some(MOTIF_SUPPRIME);
    }
    let statut = event.data.get("statut").and_then(Value::as_str);
    (statut == Some("ferme")).then_some(MOTIF_FERME)
}

#[async_trait]
impl DurableSubscriber for ChantierFermeSubscriber {
    fn name(&self) -> &str {
        "logistique.chantier_ferme"
    }

    fn pattern(&self) -> &TopicPattern {
        &self.pattern
    }

    async fn handle(
        &self,
        _conn: &mut AsyncPgConnection,
        event: &RelayedEvent,
    ) -> Result<(), DurableError> {
        let Some(motif) = motif_of(event) else {
            return Ok(());
        };
        let Some(chantier_id) = event
            .data_str("chantier_id")
            .and_then(|id| Uuid::parse_str(id).ok())
        else {
            tracing::error!(event_id = %event.event_id, event_type = %event.event_type, "chantier event without a valid chantier_id; ignored");
            return Ok(());
        };
        // The causing event names the correlation, so the cancellations
        // can be traced back to it.
        let context = CommandContext::system(Some(format!("event:{}", event.event_id)));
        let cancelled = self
            .cancel
            .execute(&context, chantier_id, motif)
            .await
            .map_err(|error| {
                DurableError::new(format!(
                    "cancelling the bookings of chantier {chantier_id}: {error}"
                ))
            })?;
        if cancelled > 0 {
            tracing::info!(%chantier_id, cancelled, motif, "bookings of a closed chantier cancelled");
        }
        Ok(())
    }
}
