//! The logistique's reads: the catalogue, a ressource's planning and
//! historique, the bookings waiting for the caller's decision, a
//! chantier's bookings, and the names answers show next to ids.

use std::collections::HashMap;

use hub_kernel::{Actor, Page, Role, ValidationErrors};
use hub_logistique_domain::{CategorieRessource, Reservation, Ressource, StatutReservation};
use time::{Date, Duration, Weekday};
use uuid::Uuid;

use crate::ports::{Noms, ReservationFilter, ReservationOrder, RessourceFilter};
use crate::use_cases::{LogistiqueError, LogistiquePorts};

type Result<T> = std::result::Result<T, LogistiqueError>;

/// The longest period a planning shows (the client asks for a week).
pub const PLANNING_MAX_DAYS: i64 = 31;
/// A planning holds every booking of its period, up to this many.
const PLANNING_MAX_BOOKINGS: u64 = 1000;

hub_kernel::use_cases! {
    LogistiquePorts;
    /// One ressource of the catalogue (any user).
    GetRessource,
    /// A page of the catalogue, by nom (any user).
    ListRessources,
    /// A ressource's active bookings over a period (any user: the
    /// calendar shows when it is free).
    PlanningRessource,
    /// Every booking of a ressource, latest first (any user).
    HistoriqueRessource,
    /// The pending bookings the caller may decide on: all of them for an
    /// admin, those of the chantiers they validate for otherwise.
    ReservationsEnAttente,
    /// A chantier's bookings: all of them for its valideurs, the caller's
    /// own for anyone else.
    ReservationsChantier,
    /// The ressources, users and chantiers named by some bookings.
    DisplayNames,
}

/// A ressource's bookings over `[date_debut, date_fin]`.
#[derive(Debug, Clone, PartialEq)]
pub struct Planning {
    pub ressource: Ressource,
    pub date_debut: Date,
    pub date_fin: Date,
    pub reservations: Vec<Reservation>,
}

/// What answers show next to the ids of bookings.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Libelles {
    pub noms: Noms,
    pub ressources: HashMap<Uuid, Ressource>,
}

impl GetRessource {
    pub async fn execute(&self, id: Uuid) -> Result<Ressource> {
        self.ports
            .ressources
            .find(id)
            .await?
            .ok_or(LogistiqueError::RessourceNotFound)
    }
}

impl ListRessources {
    /// `categorie` as received (422 when unknown).
    pub async fn execute(
        &self,
        categorie: Option<&str>,
        actif_seulement: bool,
        page: Page,
    ) -> Result<(Vec<Ressource>, u64)> {
        let categorie = categorie
            .map(|c| {
                c.parse::<CategorieRessource>()
                    .map_err(|e| ValidationErrors::single("categorie", "invalid", e.to_string()))
            })
            .transpose()?;
        let filter = RessourceFilter {
            categorie,
            actif_seulement,
        };
        Ok(self.ports.ressources.list(&filter, page).await?)
    }
}

impl PlanningRessource {
    /// `date_fin` defaults to `date_debut` + 6 (a week); it may not be
    /// before `date_debut` nor more than [`PLANNING_MAX_DAYS`] days on.
    pub async fn execute(
        &self,
        ressource_id: Uuid,
        date_debut: Date,
        date_fin: Option<Date>,
    ) -> Result<Planning> {
        let date_fin = match date_fin {
            Some(fin) => fin,
            None => date_debut.checked_add(Duration::days(6)).ok_or_else(|| {
                ValidationErrors::single("date_debut", "invalid", "date_debut is too late")
            })?,
        };
        if date_fin < date_debut {
            return Err(ValidationErrors::single(
                "date_fin",
                "invalid",
                "date_fin must not be before date_debut",
            )
            .into());
        }
        if (date_fin - date_debut).whole_days() >= PLANNING_MAX_DAYS {
            return Err(ValidationErrors::single(
                "date_fin",
                "invalid",
                format!("a planning covers at most {PLANNING_MAX_DAYS} days"),
            )
            .into());
        }
        let ressource = self
            .ports
            .ressources
            .find(ressource_id)
            .await?
            .ok_or(LogistiqueError::RessourceNotFound)?;
        let filter = ReservationFilter {
            ressource_id: Some(ressource_id),
            statuts: vec![StatutReservation::EnAttente, StatutReservation::Validee],
            date_debut: Some(date_debut),
            date_fin: Some(date_fin),
            ..ReservationFilter::default()
        };
        let page = Page {
            skip: 0,
            limit: PLANNING_MAX_BOOKINGS,
        };
        let (reservations, _) = self.ports.reservations.list(&filter, page).await?;
        Ok(Planning {
            ressource,
            date_debut,
            date_fin,
            reservations,
        })
    }
}

/// The Monday and Sunday of an ISO 8601 week (`2026-W50`), the form week
/// values take across the hub.
pub fn semaine(value: &str) -> std::result::Result<(Date, Date), ValidationErrors> {
    let invalid = || {
        ValidationErrors::single(
            "semaine",
            "invalid",
            "must be an ISO 8601 week such as 2026-W50",
        )
    };
    let (annee, numero) = value.trim().split_once("-W").ok_or_else(invalid)?;
    let annee: i32 = annee.parse().map_err(|_| invalid())?;
    let numero: u8 = numero.parse().map_err(|_| invalid())?;
    let lundi = Date::from_iso_week_date(annee, numero, Weekday::Monday).map_err(|_| invalid())?;
    let dimanche =
        Date::from_iso_week_date(annee, numero, Weekday::Sunday).map_err(|_| invalid())?;
    Ok((lundi, dimanche))
}

impl HistoriqueRessource {
    pub async fn execute(&self, ressource_id: Uuid, page: Page) -> Result<(Vec<Reservation>, u64)> {
        self.ports
            .ressources
            .find(ressource_id)
            .await?
            .ok_or(LogistiqueError::RessourceNotFound)?;
        let filter = ReservationFilter {
            ressource_id: Some(ressource_id),
            order: ReservationOrder::Recent,
            ..ReservationFilter::default()
        };
        Ok(self.ports.reservations.list(&filter, page).await?)
    }
}

impl ReservationsEnAttente {
    /// A compagnon decides on nothing: forbidden.
    pub async fn execute(&self, actor: &Actor, page: Page) -> Result<(Vec<Reservation>, u64)> {
        let chantier_ids = match actor.role {
            Role::Admin => None,
            Role::Compagnon => {
                return Err(LogistiqueError::Forbidden(
                    "only valideurs see the bookings waiting for a decision",
                ));
            }
            Role::Conducteur | Role::ChefChantier => Some(
                self.ports
                    .directory
                    .chantiers_run_by(actor.user_id)
                    .await?
                    .into_iter()
                    .filter(|chantier| chantier.est_valideur(actor))
                    .map(|chantier| chantier.chantier_id)
                    .collect(),
            ),
        };
        let filter = ReservationFilter {
            chantier_ids,
            statuts: vec![StatutReservation::EnAttente],
            ..ReservationFilter::default()
        };
        Ok(self.ports.reservations.list(&filter, page).await?)
    }
}

impl ReservationsChantier {
    /// Bookings dated within `[date_debut, date_fin]` when given, by date.
    pub async fn execute(
        &self,
        actor: &Actor,
        chantier_id: Uuid,
        period: (Option<Date>, Option<Date>),
        page: Page,
    ) -> Result<(Vec<Reservation>, u64)> {
        let chantier = self.ports.directory.chantier(chantier_id).await?;
        let valideur = chantier.is_some_and(|chantier| chantier.est_valideur(actor));
        let filter = ReservationFilter {
            chantier_ids: Some(vec![chantier_id]),
            demandeur_id: (!valideur).then_some(actor.user_id),
            date_debut: period.0,
            date_fin: period.1,
            ..ReservationFilter::default()
        };
        Ok(self.ports.reservations.list(&filter, page).await?)
    }
}

impl DisplayNames {
    pub async fn execute(&self, reservations: &[Reservation]) -> Result<Libelles> {
        let mut users = Vec::new();
        let mut chantiers = Vec::new();
        let mut ressources = Vec::new();
        for r in reservations {
            users.push(r.demandeur_id());
            users.extend(r.stored().valideur_id);
            chantiers.push(r.chantier_id());
            ressources.push(r.ressource_id());
        }
        for ids in [&mut users, &mut chantiers, &mut ressources] {
            ids.sort_unstable();
            ids.dedup();
        }
        let noms = self.ports.directory.noms(&users, &chantiers).await?;
        let ressources = self
            .ports
            .ressources
            .find_many(&ressources)
            .await?
            .into_iter()
            .map(|r| (r.id(), r))
            .collect();
        Ok(Libelles { noms, ressources })
    }
}

#[cfg(test)]
mod tests;
