//! The chantier aggregate.

use hub_kernel::Changes;
use time::{Date, OffsetDateTime};
use uuid::Uuid;

use crate::events::{
    ChantierCreated, ChantierDeleted, ChantierSnapshot, ChantierStatutChanged, ChantierUpdated,
    ResponsableAssigned, ResponsablesDelta,
};
use crate::{
    Adresse, ChantierCode, Contact, CoordonneesGps, Couleur, HeuresEstimees, InvalidTransition,
    NomChantier, Statut,
};

/// Rules a change of a chantier would break.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChantierError {
    #[error(transparent)]
    InvalidTransition(#[from] InvalidTransition),
    #[error("date_fin ({fin}) is before date_debut ({debut})")]
    DatesInverted { debut: Date, fin: Date },
    #[error("the chantier is closed (ferme): it can no longer be changed")]
    Closed,
    #[error("at most {max} {role} per chantier")]
    TooManyResponsables { role: &'static str, max: usize },
}

/// The descriptive part of a site, all validated.
#[derive(Debug, Clone, PartialEq)]
pub struct ChantierDetails {
    pub code: ChantierCode,
    pub nom: NomChantier,
    pub adresse: Adresse,
    pub couleur: Couleur,
    pub coordonnees_gps: Option<CoordonneesGps>,
    pub contact: Option<Contact>,
    pub heures_estimees: Option<HeuresEstimees>,
    pub date_debut: Option<Date>,
    pub date_fin: Option<Date>,
}

impl ChantierDetails {
    fn check_dates(&self) -> Result<(), ChantierError> {
        match (self.date_debut, self.date_fin) {
            (Some(debut), Some(fin)) if fin < debut => {
                Err(ChantierError::DatesInverted { debut, fin })
            }
            _ => Ok(()),
        }
    }
}

/// Who runs a site: conducteurs de travaux and chefs de chantier, by user id
/// (users belong to the identity context; ids are all this context keeps).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Responsables {
    conducteur_ids: Vec<Uuid>,
    chef_chantier_ids: Vec<Uuid>,
}

impl Responsables {
    pub const MAX_PER_ROLE: usize = 50;

    /// Duplicates are dropped; order of first appearance is kept.
    pub fn new(
        conducteur_ids: Vec<Uuid>,
        chef_chantier_ids: Vec<Uuid>,
    ) -> Result<Self, ChantierError> {
        let dedup = |ids: Vec<Uuid>, role: &'static str| {
            let mut unique: Vec<Uuid> = Vec::with_capacity(ids.len());
            for id in ids {
                if !unique.contains(&id) {
                    unique.push(id);
                }
            }
            if unique.len() > Self::MAX_PER_ROLE {
                return Err(ChantierError::TooManyResponsables {
                    role,
                    max: Self::MAX_PER_ROLE,
                });
            }
            Ok(unique)
        };
        Ok(Self {
            conducteur_ids: dedup(conducteur_ids, "conducteurs")?,
            chef_chantier_ids: dedup(chef_chantier_ids, "chefs de chantier")?,
        })
    }

    pub fn conducteur_ids(&self) -> &[Uuid] {
        &self.conducteur_ids
    }

    pub fn chef_chantier_ids(&self) -> &[Uuid] {
        &self.chef_chantier_ids
    }

    /// Whether `user_id` is one of the conducteurs or chefs.
    pub fn contains(&self, user_id: Uuid) -> bool {
        self.conducteur_ids.contains(&user_id) || self.chef_chantier_ids.contains(&user_id)
    }

    /// The same sets with `user_id` added to the conducteurs (the conducteur
    /// who opens a chantier runs it).
    pub fn with_conducteur(mut self, user_id: Uuid) -> Result<Self, ChantierError> {
        if !self.conducteur_ids.contains(&user_id) {
            self.conducteur_ids.push(user_id);
        }
        Self::new(self.conducteur_ids, self.chef_chantier_ids)
    }
}

/// A partial update of the details; `None` leaves a field unchanged, and
/// `Some(None)` clears an optional field.
#[derive(Debug, Clone, Default)]
pub struct ChantierUpdate {
    pub code: Option<ChantierCode>,
    pub nom: Option<NomChantier>,
    pub adresse: Option<Adresse>,
    pub couleur: Option<Couleur>,
    pub coordonnees_gps: Option<Option<CoordonneesGps>>,
    pub contact: Option<Option<Contact>>,
    pub heures_estimees: Option<Option<HeuresEstimees>>,
    pub date_debut: Option<Option<Date>>,
    pub date_fin: Option<Option<Date>>,
}

/// A construction site.
#[derive(Debug, Clone, PartialEq)]
pub struct Chantier {
    id: Uuid,
    details: ChantierDetails,
    statut: Statut,
    responsables: Responsables,
    /// Incremented by every change; repositories use it to refuse lost updates.
    version: i64,
    created_at: OffsetDateTime,
    updated_at: OffsetDateTime,
}

impl Chantier {
    /// Opens a new site (statut `ouvert`).
    pub fn create(
        details: ChantierDetails,
        responsables: Responsables,
        now: OffsetDateTime,
    ) -> Result<(Self, ChantierCreated), ChantierError> {
        details.check_dates()?;
        let chantier = Self {
            id: Uuid::now_v7(),
            details,
            statut: Statut::Ouvert,
            responsables,
            version: 1,
            created_at: now,
            updated_at: now,
        };
        let event = ChantierCreated {
            chantier: chantier.snapshot(),
        };
        Ok((chantier, event))
    }

    /// Rebuilds a stored site (repositories only).
    pub fn restore(
        id: Uuid,
        details: ChantierDetails,
        statut: Statut,
        responsables: Responsables,
        version: i64,
        created_at: OffsetDateTime,
        updated_at: OffsetDateTime,
    ) -> Self {
        Self {
            id,
            details,
            statut,
            responsables,
            version,
            created_at,
            updated_at,
        }
    }

    /// Applies `update`; `None` when nothing actually changed.
    pub fn update(
        &mut self,
        update: ChantierUpdate,
        now: OffsetDateTime,
    ) -> Result<Option<ChantierUpdated>, ChantierError> {
        self.ensure_open()?;
        let mut next = self.details.clone();
        let mut changes = Changes::new();
        macro_rules! apply {
            ($field:ident, $json:expr) => {
                if let Some(value) = update.$field {
                    changes.record(stringify!($field), &$json(&next.$field), &$json(&value));
                    next.$field = value;
                }
            };
        }
        apply!(code, |v: &ChantierCode| v.as_str().to_owned());
        apply!(nom, |v: &NomChantier| v.as_str().to_owned());
        apply!(adresse, |v: &Adresse| v.as_str().to_owned());
        apply!(couleur, |v: &Couleur| v.as_str().to_owned());
        apply!(coordonnees_gps, |v: &Option<CoordonneesGps>| *v);
        apply!(contact, |v: &Option<Contact>| v.clone());
        apply!(heures_estimees, |v: &Option<HeuresEstimees>| v
            .map(|h| h.hours()));
        apply!(date_debut, |v: &Option<Date>| v.map(|d| d.to_string()));
        apply!(date_fin, |v: &Option<Date>| v.map(|d| d.to_string()));
        next.check_dates()?;
        if changes.is_empty() {
            return Ok(None);
        }
        self.details = next;
        self.touch(now);
        Ok(Some(ChantierUpdated {
            chantier: self.snapshot(),
            changes,
        }))
    }

    /// Moves the site to `to` along its statut machine.
    pub fn change_statut(
        &mut self,
        to: Statut,
        now: OffsetDateTime,
    ) -> Result<ChantierStatutChanged, ChantierError> {
        let from = self.statut;
        self.statut = from.transition_to(to)?;
        self.touch(now);
        Ok(ChantierStatutChanged {
            chantier: self.snapshot(),
            ancien_statut: from,
            nouveau_statut: to,
        })
    }

    /// Replaces the responsables; `None` when the sets are unchanged.
    pub fn assign_responsables(
        &mut self,
        responsables: Responsables,
        now: OffsetDateTime,
    ) -> Result<Option<ResponsableAssigned>, ChantierError> {
        self.ensure_open()?;
        let diff = |old: &[Uuid], new: &[Uuid]| -> Vec<Uuid> {
            new.iter().filter(|id| !old.contains(id)).copied().collect()
        };
        let old = &self.responsables;
        let added = ResponsablesDelta {
            conducteur_ids: diff(&old.conducteur_ids, &responsables.conducteur_ids),
            chef_chantier_ids: diff(&old.chef_chantier_ids, &responsables.chef_chantier_ids),
        };
        let removed = ResponsablesDelta {
            conducteur_ids: diff(&responsables.conducteur_ids, &old.conducteur_ids),
            chef_chantier_ids: diff(&responsables.chef_chantier_ids, &old.chef_chantier_ids),
        };
        if added == ResponsablesDelta::default() && removed == ResponsablesDelta::default() {
            return Ok(None);
        }
        self.responsables = responsables;
        self.touch(now);
        Ok(Some(ResponsableAssigned {
            chantier: self.snapshot(),
            added,
            removed,
        }))
    }

    /// The event of the site's deletion (the repository removes it).
    pub fn delete(&self) -> ChantierDeleted {
        ChantierDeleted {
            chantier: self.snapshot(),
        }
    }

    fn ensure_open(&self) -> Result<(), ChantierError> {
        if self.statut == Statut::Ferme {
            return Err(ChantierError::Closed);
        }
        Ok(())
    }

    fn touch(&mut self, now: OffsetDateTime) {
        self.version += 1;
        self.updated_at = now;
    }

    fn snapshot(&self) -> ChantierSnapshot {
        ChantierSnapshot {
            chantier_id: self.id,
            code: self.details.code.as_str().to_owned(),
            nom: self.details.nom.as_str().to_owned(),
            adresse: self.details.adresse.as_str().to_owned(),
            statut: self.statut,
            conducteur_ids: self.responsables.conducteur_ids.clone(),
            chef_chantier_ids: self.responsables.chef_chantier_ids.clone(),
        }
    }

    pub fn id(&self) -> Uuid {
        self.id
    }
    pub fn details(&self) -> &ChantierDetails {
        &self.details
    }
    pub fn statut(&self) -> Statut {
        self.statut
    }
    pub fn responsables(&self) -> &Responsables {
        &self.responsables
    }
    pub fn version(&self) -> i64 {
        self.version
    }
    pub fn created_at(&self) -> OffsetDateTime {
        self.created_at
    }
    pub fn updated_at(&self) -> OffsetDateTime {
        self.updated_at
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use time::macros::{date, datetime};

    const T0: OffsetDateTime = datetime!(2026-11-26 08:00 UTC);
    const T1: OffsetDateTime = datetime!(2026-11-27 08:00 UTC);

    fn details() -> ChantierDetails {
        ChantierDetails {
            code: ChantierCode::parse("CH-2026-001").unwrap(),
            nom: NomChantier::parse("Tour Alpha").unwrap(),
            adresse: Adresse::parse("1 quai de Seine, Paris").unwrap(),
            couleur: Couleur::default_colour(),
            coordonnees_gps: None,
            contact: None,
            heures_estimees: None,
            date_debut: Some(date!(2026 - 12 - 01)),
            date_fin: Some(date!(2027 - 06 - 30)),
        }
    }

    fn chantier() -> Chantier {
        let conducteur = Uuid::now_v7();
        Chantier::create(
            details(),
            Responsables::new(vec![conducteur], vec![]).unwrap(),
            T0,
        )
        .unwrap()
        .0
    }

    #[test]
    fn a_new_chantier_is_open_and_its_event_carries_the_snapshot() {
        let conducteur = Uuid::now_v7();
        let (chantier, event) = Chantier::create(
            details(),
            Responsables::new(vec![conducteur, conducteur], vec![]).unwrap(),
            T0,
        )
        .unwrap();
        assert_eq!(chantier.statut(), Statut::Ouvert);
        assert_eq!(chantier.version(), 1);
        assert_eq!(
            serde_json::to_value(&event).unwrap(),
            json!({
                "chantier_id": chantier.id(), "code": "CH-2026-001", "nom": "Tour Alpha",
                "adresse": "1 quai de Seine, Paris", "statut": "ouvert",
                "conducteur_ids": [conducteur], "chef_chantier_ids": []
            })
        );
    }

    #[test]
    fn dates_must_not_be_inverted() {
        let mut inverted = details();
        inverted.date_fin = Some(date!(2026 - 11 - 30));
        assert_eq!(
            Chantier::create(inverted, Responsables::default(), T0).unwrap_err(),
            ChantierError::DatesInverted {
                debut: date!(2026 - 12 - 01),
                fin: date!(2026 - 11 - 30)
            }
        );
        let mut same_day = details();
        same_day.date_fin = same_day.date_debut;
        assert!(Chantier::create(same_day, Responsables::default(), T0).is_ok());

        // An update that would invert them is refused and changes nothing.
        let mut c = chantier();
        let before = c.clone();
        let error = c
            .update(
                ChantierUpdate {
                    date_debut: Some(Some(date!(2027 - 07 - 01))),
                    ..ChantierUpdate::default()
                },
                T1,
            )
            .unwrap_err();
        assert!(matches!(error, ChantierError::DatesInverted { .. }));
        assert_eq!(c, before);
    }

    #[test]
    fn update_records_only_what_changed_and_can_clear_optionals() {
        let mut c = chantier();
        let event = c
            .update(
                ChantierUpdate {
                    nom: Some(NomChantier::parse("Tour Alpha").unwrap()),
                    adresse: Some(Adresse::parse("2 quai de Seine, Paris").unwrap()),
                    date_fin: Some(None),
                    heures_estimees: Some(Some(HeuresEstimees::new(1200.0).unwrap())),
                    ..ChantierUpdate::default()
                },
                T1,
            )
            .unwrap()
            .unwrap();
        assert_eq!(
            serde_json::to_value(&event.changes).unwrap(),
            json!({
                "adresse": {"old": "1 quai de Seine, Paris", "new": "2 quai de Seine, Paris"},
                "date_fin": {"old": "2027-06-30", "new": null},
                "heures_estimees": {"old": null, "new": 1200.0}
            })
        );
        assert_eq!(event.chantier.adresse, "2 quai de Seine, Paris");
        assert_eq!((c.version(), c.updated_at()), (2, T1));

        let unchanged = c.update(
            ChantierUpdate {
                nom: Some(NomChantier::parse("Tour Alpha").unwrap()),
                ..ChantierUpdate::default()
            },
            T1,
        );
        assert_eq!(unchanged, Ok(None));
        assert_eq!(c.version(), 2, "no change, no new version");
    }

    #[test]
    fn statut_moves_forward_and_reports_both_ends() {
        let mut c = chantier();
        let started = c.change_statut(Statut::EnCours, T1).unwrap();
        assert_eq!(
            (started.ancien_statut, started.nouveau_statut),
            (Statut::Ouvert, Statut::EnCours)
        );
        assert_eq!(started.chantier.statut, Statut::EnCours);
        assert_eq!(
            c.change_statut(Statut::Ouvert, T1).unwrap_err(),
            ChantierError::InvalidTransition(InvalidTransition {
                from: Statut::EnCours,
                to: Statut::Ouvert
            })
        );
        c.change_statut(Statut::Receptionne, T1).unwrap();
        c.change_statut(Statut::Ferme, T1).unwrap();
        assert!(c.change_statut(Statut::Ferme, T1).is_err());
        assert_eq!(c.version(), 4);
    }

    #[test]
    fn a_closed_chantier_cannot_be_changed() {
        let mut c = chantier();
        c.change_statut(Statut::Ferme, T1).unwrap();
        assert_eq!(
            c.update(
                ChantierUpdate {
                    nom: Some(NomChantier::parse("X").unwrap()),
                    ..ChantierUpdate::default()
                },
                T1
            ),
            Err(ChantierError::Closed)
        );
        assert_eq!(
            c.assign_responsables(Responsables::default(), T1),
            Err(ChantierError::Closed)
        );
    }

    #[test]
    fn assigning_responsables_reports_who_joined_and_left() {
        let mut c = chantier();
        let old = c.responsables().conducteur_ids()[0];
        let (new, chef) = (Uuid::now_v7(), Uuid::now_v7());
        let event = c
            .assign_responsables(Responsables::new(vec![new], vec![chef]).unwrap(), T1)
            .unwrap()
            .unwrap();
        assert_eq!(
            event.added,
            ResponsablesDelta {
                conducteur_ids: vec![new],
                chef_chantier_ids: vec![chef]
            }
        );
        assert_eq!(
            event.removed,
            ResponsablesDelta {
                conducteur_ids: vec![old],
                chef_chantier_ids: vec![]
            }
        );
        assert_eq!(event.chantier.conducteur_ids, vec![new]);
        let same = c
            .assign_responsables(Responsables::new(vec![new], vec![chef]).unwrap(), T1)
            .unwrap();
        assert_eq!(same, None);
    }

    #[test]
    fn responsables_are_deduplicated_and_bounded() {
        let id = Uuid::now_v7();
        let r = Responsables::new(vec![id, id], vec![id]).unwrap();
        assert_eq!(r.conducteur_ids(), [id]);
        let many: Vec<Uuid> = (0..51).map(|_| Uuid::now_v7()).collect();
        assert!(matches!(
            Responsables::new(many, vec![]),
            Err(ChantierError::TooManyResponsables { .. })
        ));
    }

    #[test]
    fn deletion_event_keeps_the_last_snapshot() {
        let c = chantier();
        let event = c.delete();
        assert_eq!(event.chantier.chantier_id, c.id());
        assert_eq!(event.chantier.code, "CH-2026-001");
    }
}
