//! The planning's affectations pre-fill time sheets (FDH-10), through the
//! planning's events only: [`AffectationsSubscriber`] is a durable
//! subscriber of `affectation.*`. It runs inside the relay's transaction,
//! so a draft and its `heures.created` commit exactly when the affectation
//! event is marked handled; and it is idempotent besides: every event it
//! acted on is recorded (`pointages_affectation_events`), so a replay does
//! nothing, and a day that already has the draft of that affectation, or
//! any pointage of that user, chantier and day, gets no second one.
//!
//! What this context reads of the planning's payloads is defined here
//! ([`Created`], [`BulkCreated`], [`Removed`], [`BulkRemoved`]), not
//! borrowed from the planning's crates.

use std::sync::Arc;

use async_trait::async_trait;
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use hub_kernel::{Clock, DomainEvent, EventEnvelope, EventMetadata, TopicPattern};
use hub_platform_postgres::{DurableError, DurableSubscriber, RelayedEvent, outbox};
use hub_pointages_domain::{JourPlanifie, Pointage, retire_avec_affectation};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use time::Date;
use uuid::Uuid;

use crate::repository::PointageRow;
use crate::schema::{pointages, pointages_affectation_events};

/// `affectation.created`, as the pointages read it.
#[derive(Debug, Deserialize)]
struct Created {
    affectation_id: Uuid,
    utilisateur_id: Uuid,
    chantier_id: Uuid,
    #[serde(with = "iso_date")]
    date: Date,
    heure_debut: Option<String>,
    heure_fin: Option<String>,
}

/// One day of `affectation.bulk_created`.
#[derive(Debug, Deserialize)]
struct BulkItem {
    affectation_id: Uuid,
    utilisateur_id: Uuid,
    #[serde(with = "iso_date")]
    date: Date,
    heure_debut: Option<String>,
    heure_fin: Option<String>,
}

/// `affectation.bulk_created`: one site, many days.
#[derive(Debug, Deserialize)]
struct BulkCreated {
    chantier_id: Uuid,
    affectations: Vec<BulkItem>,
}

/// `affectation.deleted` and `affectation.cancelled`.
#[derive(Debug, Deserialize)]
struct Removed {
    affectation_id: Uuid,
}

/// `affectation.bulk_deleted`.
#[derive(Debug, Deserialize)]
struct BulkRemoved {
    affectation_ids: Vec<Uuid>,
}

mod iso_date {
    use serde::{Deserialize, Deserializer};
    use time::Date;
    use time::macros::format_description;

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Date, D::Error> {
        let text = String::deserialize(deserializer)?;
        Date::parse(&text, format_description!("[year]-[month]-[day]"))
            .map_err(serde::de::Error::custom)
    }
}

/// Creates brouillon pointages for planned days and removes the unsigned
/// drafts of removed affectations.
pub struct AffectationsSubscriber {
    pattern: TopicPattern,
    clock: Arc<dyn Clock>,
}

impl AffectationsSubscriber {
    pub fn new(clock: Arc<dyn Clock>) -> Result<Self, hub_kernel::TopicError> {
        Ok(Self {
            pattern: TopicPattern::parse("affectation.*")?,
            clock,
        })
    }

    /// The days an event plans, or those it removes; `None` for the other
    /// affectation events (moves and edits leave the drafts alone: the
    /// user's hours are his statement once he has seen them).
    fn read(event: &EventEnvelope) -> Option<Result<Action, serde_json::Error>> {
        fn data<T: DeserializeOwned>(event: &EventEnvelope) -> Result<T, serde_json::Error> {
            serde_json::from_value(event.data.clone())
        }
        Some(match event.event_type.as_str() {
            "affectation.created" => data::<Created>(event).map(|c| {
                Action::Create(vec![JourPlanifie {
                    affectation_id: c.affectation_id,
                    utilisateur_id: c.utilisateur_id,
                    chantier_id: c.chantier_id,
                    date: c.date,
                    heure_debut: c.heure_debut,
                    heure_fin: c.heure_fin,
                }])
            }),
            "affectation.bulk_created" => data::<BulkCreated>(event).map(|bulk| {
                Action::Create(
                    bulk.affectations
                        .into_iter()
                        .map(|item| JourPlanifie {
                            affectation_id: item.affectation_id,
                            utilisateur_id: item.utilisateur_id,
                            chantier_id: bulk.chantier_id,
                            date: item.date,
                            heure_debut: item.heure_debut,
                            heure_fin: item.heure_fin,
                        })
                        .collect(),
                )
            }),
            "affectation.deleted" | "affectation.cancelled" => {
                data::<Removed>(event).map(|r| Action::Remove(vec![r.affectation_id]))
            }
            "affectation.bulk_deleted" => {
                data::<BulkRemoved>(event).map(|r| Action::Remove(r.affectation_ids))
            }
            _ => return None,
        })
    }

    /// Metadata of what `cause` makes: same actor and correlation, caused by it.
    fn metadata(cause: &EventEnvelope) -> EventMetadata {
        EventMetadata {
            actor_id: cause.actor_id,
            correlation_id: cause.correlation_id.clone(),
            causation_id: Some(cause.event_id),
        }
    }

    fn wrap<E: DomainEvent>(
        &self,
        event: &E,
        cause: &EventEnvelope,
    ) -> Result<EventEnvelope, DurableError> {
        EventEnvelope::wrap(event, &Self::metadata(cause), self.clock.now()).map_err(|error| {
            DurableError::new(format!("cannot build {}: {error}", event.event_type()))
        })
    }

    async fn create(
        &self,
        conn: &mut AsyncPgConnection,
        cause: &EventEnvelope,
        jours: Vec<JourPlanifie>,
    ) -> Result<(), DurableError> {
        for jour in jours {
            // Idempotent: the draft of this affectation, or any pointage of
            // that user, chantier and day, means there is nothing to do.
            let linked: i64 = pointages::table
                .filter(pointages::affectation_id.eq(jour.affectation_id))
                .count()
                .get_result(conn)
                .await?;
            if linked > 0 {
                continue;
            }
            let (pointage, created) =
                Pointage::create(jour.nouveau_pointage(), cause.actor_id, self.clock.now());
            let inserted = diesel::insert_into(pointages::table)
                .values(PointageRow::from(&pointage))
                .on_conflict_do_nothing()
                .execute(conn)
                .await?;
            if inserted == 1 {
                outbox::append(conn, &[self.wrap(&created, cause)?]).await?;
            }
        }
        Ok(())
    }

    async fn remove(
        &self,
        conn: &mut AsyncPgConnection,
        cause: &EventEnvelope,
        affectation_ids: Vec<Uuid>,
    ) -> Result<(), DurableError> {
        // Locked, so a signature racing the removal waits and then finds
        // the draft gone (or the removal finds it signed and keeps it).
        let rows: Vec<PointageRow> = pointages::table
            .filter(pointages::affectation_id.eq_any(&affectation_ids))
            .select(PointageRow::as_select())
            .for_update()
            .load(conn)
            .await?;
        for row in rows {
            let id = row.id;
            let pointage = Pointage::try_from(row)
                .map_err(|error| DurableError::new(format!("pointage {id}: {error}")))?;
            if !retire_avec_affectation(&pointage) {
                continue;
            }
            let Ok(deleted) = pointage.delete() else {
                continue;
            };
            diesel::delete(pointages::table.find(id))
                .execute(conn)
                .await?;
            outbox::append(conn, &[self.wrap(&deleted, cause)?]).await?;
        }
        Ok(())
    }
}

enum Action {
    Create(Vec<JourPlanifie>),
    Remove(Vec<Uuid>),
}

#[async_trait]
impl DurableSubscriber for AffectationsSubscriber {
    fn name(&self) -> &str {
        "pointages.affectations"
    }

    fn pattern(&self) -> &TopicPattern {
        &self.pattern
    }

    async fn handle(
        &self,
        conn: &mut AsyncPgConnection,
        event: &RelayedEvent,
    ) -> Result<(), DurableError> {
        match Self::read(event) {
            None => Ok(()),
            Some(Err(error)) => {
                // Fail closed: an unreadable payload pre-fills nothing, and
                // must not hold up the events behind it.
                tracing::warn!(
                    event_id = %event.event_id,
                    event_type = %event.event_type.as_str(),
                    %error,
                    "pointages cannot read this affectation event; nothing pre-filled"
                );
                Ok(())
            }
            Some(Ok(action)) => {
                // Each affectation event is acted on once, even replayed.
                let first = diesel::insert_into(pointages_affectation_events::table)
                    .values((
                        pointages_affectation_events::event_id.eq(event.event_id),
                        pointages_affectation_events::handled_at.eq(self.clock.now()),
                    ))
                    .on_conflict_do_nothing()
                    .execute(conn)
                    .await?;
                if first == 0 {
                    return Ok(());
                }
                match action {
                    Action::Create(jours) => self.create(conn, event, jours).await,
                    Action::Remove(ids) => self.remove(conn, event, ids).await,
                }
            }
        }
    }
}
