//! The escalation job: every round (one instance at a time, see
//! `hub_platform_postgres::jobs`) it takes the active signalements whose
//! next level fell due, records the level and publishes
//! `signalement.escalated` in the same transaction. Rows are taken with
//! `FOR UPDATE SKIP LOCKED` and the level is decided from the row, so a
//! level is published once even if two rounds overlap.

use async_trait::async_trait;
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use hub_kernel::{CommandContext, FixedClock, Role};
use hub_platform_directory::{ChantiersDirectory, UsersDirectory};
use hub_platform_postgres::jobs::{JobError, ScheduledJob};
use hub_platform_postgres::{AsyncPgConnection, Database, outbox};
use hub_signalements_domain::{NiveauEscalade, Signalement};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::repository::SignalementRow;
use crate::schema::signalements;

/// At most this many signalements per round; the rest wait for the next.
const BATCH: i64 = 200;

/// See the module documentation.
#[derive(Debug, Clone)]
pub struct EscaladeJob {
    chantiers: ChantiersDirectory,
    users: UsersDirectory,
}

impl Default for EscaladeJob {
    fn default() -> Self {
        Self {
            chantiers: crate::directory::chantiers(),
            users: crate::directory::users(),
        }
    }
}

impl EscaladeJob {
    pub fn new() -> Self {
        Self::default()
    }

    /// Who to alert at `niveau` (cumulative): the creator and the chefs de
    /// chantier; then the conducteurs; then the active administrators.
    async fn destinataires(
        &self,
        conn: &mut AsyncPgConnection,
        signalement: &Signalement,
        niveau: NiveauEscalade,
    ) -> Result<Vec<Uuid>, diesel::result::Error> {
        let mut ids = vec![signalement.cree_par()];
        if let Some(chantier) = self
            .chantiers
            .find(conn, signalement.chantier_id())
            .await?
            .filter(|c| !c.deleted)
        {
            ids.extend(chantier.chef_chantier_ids);
            if niveau >= NiveauEscalade::Conducteur {
                ids.extend(chantier.conducteur_ids);
            }
        }
        if niveau == NiveauEscalade::Admin {
            let users = self.users.active(conn).await?;
            ids.extend(
                users
                    .into_iter()
                    .filter(|u| u.role() == Some(Role::Admin))
                    .map(|u| u.user_id),
            );
        }
        let mut unique = Vec::with_capacity(ids.len());
        for id in ids {
            if !unique.contains(&id) {
                unique.push(id);
            }
        }
        Ok(unique)
    }
}

#[async_trait]
impl ScheduledJob for EscaladeJob {
    fn name(&self) -> &'static str {
        "signalements.escalade"
    }

    async fn run(&self, db: &Database, now: OffsetDateTime) -> Result<usize, JobError> {
        let job = self.clone();
        db.write(|conn| {
            Box::pin(async move {
                let rows: Vec<SignalementRow> = signalements::table
                    .filter(signalements::prochaine_escalade_at.le(now))
                    .order(signalements::prochaine_escalade_at.asc())
                    .limit(BATCH)
                    .for_update()
                    .skip_locked()
                    .select(SignalementRow::as_select())
                    .load(conn)
                    .await?;
                let context = CommandContext::system(Some(format!("job:{}", job.name())));
                let clock = FixedClock(now);
                let mut events = Vec::new();
                for row in rows {
                    let previous = row.version;
                    let mut signalement = match Signalement::try_from(row) {
                        Ok(signalement) => signalement,
                        Err(error) => {
                            tracing::error!(%error, "unreadable signalement skipped by escalation");
                            continue;
                        }
                    };
                    // Every level passed and not yet published, lowest
                    // first, in this one transaction. None due by the rules
                    // although due by the stored instant (rounding to the
                    // microsecond): the next round takes it.
                    let mut escalated = Vec::new();
                    while let Some(niveau) = signalement.escalade_due(now) {
                        let destinataires = job.destinataires(conn, &signalement, niveau).await?;
                        match signalement.escalader(niveau, destinataires, now) {
                            Some(event) => escalated.push(event),
                            None => break,
                        }
                    }
                    if escalated.is_empty() {
                        continue;
                    }
                    let row = SignalementRow::from(&signalement);
                    let updated = diesel::update(
                        signalements::table
                            .filter(signalements::id.eq(signalement.id()))
                            .filter(signalements::version.eq(previous)),
                    )
                    .set(&row)
                    .execute(conn)
                    .await?;
                    if updated == 1 {
                        for event in &escalated {
                            events.push(context.wrap(event, &clock).map_err(JobError::new)?);
                        }
                    }
                }
                outbox::append(conn, &events).await?;
                Ok::<_, JobError>(events.len())
            })
        })
        .await
    }
}
