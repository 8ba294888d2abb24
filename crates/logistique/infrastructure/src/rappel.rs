//! The day-before reminder: every round (one instance at a time, see
//! `hub_platform_postgres::jobs`) it takes the validated bookings dated
//! tomorrow — or today, when a round was missed — not reminded yet, marks
//! them (`rappel_envoye_at`) and publishes `reservation.reminder_due`, in
//! one transaction. Rows are taken with `FOR UPDATE SKIP LOCKED` and the
//! mark is read from the row, so a booking is reminded once even if two
//! rounds overlap.

use async_trait::async_trait;
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use hub_kernel::{CommandContext, FixedClock};
use hub_logistique_domain::{Reservation, Ressource};
use hub_platform_postgres::jobs::{JobError, ScheduledJob};
use hub_platform_postgres::{Database, outbox};
use time::{Duration, OffsetDateTime};

use crate::repository::{ReservationRow, RessourceRow};
use crate::schema::{reservations, ressources};

/// At most this many bookings per round; the rest wait for the next.
const BATCH: i64 = 200;

/// See the module documentation.
#[derive(Debug, Clone, Default)]
pub struct RappelJob;

impl RappelJob {
    pub fn new() -> Self {
        Self
    }
}

#[async_trait]
impl ScheduledJob for RappelJob {
    fn name(&self) -> &'static str {
        "logistique.rappel"
    }

    async fn run(&self, db: &Database, now: OffsetDateTime) -> Result<usize, JobError> {
        let today = now.date();
        let tomorrow = today.saturating_add(Duration::days(1));
        let name = self.name();
        db.write(|conn| {
            Box::pin(async move {
                let due: Vec<(ReservationRow, RessourceRow)> = reservations::table
                    .inner_join(ressources::table)
                    .filter(reservations::statut.eq("validee"))
                    .filter(reservations::rappel_envoye_at.is_null())
                    .filter(reservations::date_reservation.between(today, tomorrow))
                    .order((
                        reservations::date_reservation.asc(),
                        reservations::heure_debut.asc(),
                    ))
                    .limit(BATCH)
                    .for_update()
                    .skip_locked()
                    .select((ReservationRow::as_select(), RessourceRow::as_select()))
                    .load(conn)
                    .await?;
                let context = CommandContext::system(Some(format!("job:{name}")));
                let clock = FixedClock(now);
                let mut events = Vec::new();
                let mut reminded = Vec::new();
                for (row, ressource) in due {
                    let (reservation, ressource) = match (
                        Reservation::try_from(row),
                        Ressource::try_from(ressource),
                    ) {
                        (Ok(reservation), Ok(ressource)) => (reservation, ressource),
                        (Err(error), _) | (_, Err(error)) => {
                            tracing::error!(%error, "unreadable booking skipped by the reminder");
                            continue;
                        }
                    };
                    let Some(rappel) = reservation.rappel(&ressource) else {
                        continue;
                    };
                    events.push(context.wrap(&rappel, &clock).map_err(JobError::new)?);
                    reminded.push(reservation.id());
                }
                // Not a change of the booking (no version bump): editing it
                // meanwhile is not refused because a reminder went out.
                diesel::update(reservations::table.filter(reservations::id.eq_any(&reminded)))
                    .set(reservations::rappel_envoye_at.eq(now))
                    .execute(conn)
                    .await?;
                outbox::append(conn, &events).await?;
                Ok::<_, JobError>(events.len())
            })
        })
        .await
    }
}
