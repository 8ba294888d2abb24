//! The ressource aggregate: one piece of the company's bookable equipment.

use hub_kernel::Changes;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::events::{RessourceCreated, RessourceDeleted, RessourceUpdated};
use crate::{
    CategorieRessource, CodeRessource, Couleur, DescriptionRessource, NomRessource, PhotoUrl,
    PlageHoraire,
};

/// Rules a change of a ressource would break.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RessourceError {
    #[error("the ressource is deleted")]
    Supprimee,
}

/// What creating a ressource needs, all validated.
#[derive(Debug, Clone, PartialEq)]
pub struct NouvelleRessource {
    pub code: CodeRessource,
    pub nom: NomRessource,
    pub categorie: CategorieRessource,
    pub photo_url: Option<PhotoUrl>,
    pub couleur: Option<Couleur>,
    /// Display data only: bookings outside it are accepted.
    pub plage_defaut: Option<PlageHoraire>,
    /// `None`: the category's default.
    pub validation_requise: Option<bool>,
    pub description: Option<DescriptionRessource>,
}

/// A partial update; `None` leaves a field unchanged, `Some(None)` clears
/// an optional one. A new categorie does not recompute
/// `validation_requise`, and existing bookings are never touched.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RessourceUpdate {
    pub code: Option<CodeRessource>,
    pub nom: Option<NomRessource>,
    pub categorie: Option<CategorieRessource>,
    pub photo_url: Option<Option<PhotoUrl>>,
    pub couleur: Option<Couleur>,
    pub plage_defaut: Option<PlageHoraire>,
    pub validation_requise: Option<bool>,
    pub actif: Option<bool>,
    pub description: Option<Option<DescriptionRessource>>,
}

/// Everything a stored ressource holds (repositories only).
#[derive(Debug, Clone, PartialEq)]
pub struct StoredRessource {
    pub id: Uuid,
    pub code: CodeRessource,
    pub nom: NomRessource,
    pub categorie: CategorieRessource,
    pub photo_url: Option<PhotoUrl>,
    pub couleur: Couleur,
    pub plage_defaut: PlageHoraire,
    pub validation_requise: bool,
    pub actif: bool,
    pub description: Option<DescriptionRessource>,
    pub created_by: Uuid,
    pub created_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
    pub deleted_at: Option<OffsetDateTime>,
    pub deleted_by: Option<Uuid>,
}

/// A bookable piece of equipment (`[code] nom`).
#[derive(Debug, Clone, PartialEq)]
pub struct Ressource(StoredRessource);

impl Ressource {
    /// Creates an active ressource; `validation_requise` defaults to its
    /// category's.
    pub fn create(
        nouvelle: NouvelleRessource,
        created_by: Uuid,
        now: OffsetDateTime,
    ) -> (Self, RessourceCreated) {
        let validation_requise = nouvelle
            .validation_requise
            .unwrap_or_else(|| nouvelle.categorie.validation_requise_par_defaut());
        let ressource = Self(StoredRessource {
            id: Uuid::now_v7(),
            code: nouvelle.code,
            nom: nouvelle.nom,
            categorie: nouvelle.categorie,
            photo_url: nouvelle.photo_url,
            couleur: nouvelle.couleur.unwrap_or_default(),
            plage_defaut: nouvelle.plage_defaut.unwrap_or_else(PlageHoraire::journee),
            validation_requise,
            actif: true,
            description: nouvelle.description,
            created_by,
            created_at: now,
            updated_at: now,
            deleted_at: None,
            deleted_by: None,
        });
        let event = RessourceCreated {
            ressource_id: ressource.0.id,
            code: ressource.0.code.clone(),
            nom: ressource.0.nom.to_string(),
            categorie: ressource.0.categorie,
            validation_requise,
        };
        (ressource, event)
    }

    /// Rebuilds a stored ressource (repositories only).
    pub fn restore(stored: StoredRessource) -> Self {
        Self(stored)
    }

    /// Everything it holds, for repositories and answers.
    pub fn stored(&self) -> &StoredRessource {
        &self.0
    }

    pub fn id(&self) -> Uuid {
        self.0.id
    }

    pub fn code(&self) -> &CodeRessource {
        &self.0.code
    }

    pub fn nom(&self) -> &NomRessource {
        &self.0.nom
    }

    pub fn categorie(&self) -> CategorieRessource {
        self.0.categorie
    }

    pub fn validation_requise(&self) -> bool {
        self.0.validation_requise
    }

    pub fn est_supprimee(&self) -> bool {
        self.0.deleted_at.is_some()
    }

    /// Can be booked: active and not deleted.
    pub fn est_reservable(&self) -> bool {
        self.0.actif && !self.est_supprimee()
    }

    /// `[GRUE-01] Grue mobile 50 t`
    pub fn libelle(&self) -> String {
        format!("[{}] {}", self.0.code, self.0.nom)
    }

    /// Applies `update`; `Ok(None)` when nothing actually changed.
    pub fn update(
        &mut self,
        update: RessourceUpdate,
        now: OffsetDateTime,
    ) -> Result<Option<RessourceUpdated>, RessourceError> {
        if self.est_supprimee() {
            return Err(RessourceError::Supprimee);
        }
        let mut changes = Changes::new();
        let r = &mut self.0;
        if let Some(code) = update.code {
            changes.record("code", &r.code, &code);
            r.code = code;
        }
        if let Some(nom) = update.nom {
            changes.record("nom", &r.nom.as_str(), &nom.as_str());
            r.nom = nom;
        }
        if let Some(categorie) = update.categorie {
            changes.record("categorie", &r.categorie, &categorie);
            r.categorie = categorie;
        }
        if let Some(photo_url) = update.photo_url {
            let text = |p: &Option<PhotoUrl>| p.as_ref().map(|p| p.as_str().to_owned());
            changes.record("photo_url", &text(&r.photo_url), &text(&photo_url));
            r.photo_url = photo_url;
        }
        if let Some(couleur) = update.couleur {
            changes.record("couleur", &r.couleur, &couleur);
            r.couleur = couleur;
        }
        if let Some(plage) = update.plage_defaut {
            let (old, new) = (r.plage_defaut, plage);
            changes.record("heure_debut_defaut", &old.debut(), &new.debut());
            changes.record("heure_fin_defaut", &old.fin(), &new.fin());
            r.plage_defaut = plage;
        }
        if let Some(validation_requise) = update.validation_requise {
            changes.record(
                "validation_requise",
                &r.validation_requise,
                &validation_requise,
            );
            r.validation_requise = validation_requise;
        }
        if let Some(actif) = update.actif {
            changes.record("actif", &r.actif, &actif);
            r.actif = actif;
        }
        if let Some(description) = update.description {
            let text = |d: &Option<DescriptionRessource>| d.as_ref().map(|d| d.to_string());
            changes.record("description", &text(&r.description), &text(&description));
            r.description = description;
        }
        if changes.is_empty() {
            return Ok(None);
        }
        r.updated_at = now;
        Ok(Some(RessourceUpdated {
            ressource_id: r.id,
            code: r.code.clone(),
            nom: r.nom.to_string(),
            categorie: r.categorie,
            validation_requise: r.validation_requise,
            changes,
        }))
    }

    /// Soft delete: it vanishes from reads and cannot be booked any more;
    /// the actor is recorded (the original forgot it).
    pub fn supprimer(
        &mut self,
        deleted_by: Uuid,
        now: OffsetDateTime,
    ) -> Result<RessourceDeleted, RessourceError> {
        if self.est_supprimee() {
            return Err(RessourceError::Supprimee);
        }
        self.0.deleted_at = Some(now);
        self.0.deleted_by = Some(deleted_by);
        self.0.updated_at = now;
        Ok(RessourceDeleted {
            ressource_id: self.0.id,
            code: self.0.code.clone(),
            nom: self.0.nom.to_string(),
            deleted_by,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Heure;
    use time::macros::datetime;

    const NOW: OffsetDateTime = datetime!(2026-12-02 09:00 UTC);

    pub(crate) fn nouvelle(categorie: CategorieRessource) -> NouvelleRessource {
        NouvelleRessource {
            code: CodeRessource::parse("GRUE-01").unwrap(),
            nom: NomRessource::parse("Grue mobile 50 t").unwrap(),
            categorie,
            photo_url: None,
            couleur: None,
            plage_defaut: None,
            validation_requise: None,
            description: None,
        }
    }

    #[test]
    fn validation_defaults_to_the_category_and_can_be_overridden() {
        let admin = Uuid::now_v7();
        for categorie in CategorieRessource::ALL {
            let (r, event) = Ressource::create(nouvelle(categorie), admin, NOW);
            assert_eq!(
                r.validation_requise(),
                categorie.validation_requise_par_defaut()
            );
            assert_eq!(event.validation_requise, r.validation_requise());
            assert!(r.est_reservable());
        }
        let forced = NouvelleRessource {
            validation_requise: Some(true),
            ..nouvelle(CategorieRessource::Vehicule)
        };
        let (r, _) = Ressource::create(forced, admin, NOW);
        assert!(r.validation_requise());
        assert_eq!(r.stored().couleur.as_str(), "#3B82F6");
        assert_eq!(r.stored().plage_defaut, PlageHoraire::journee());
        assert_eq!(r.libelle(), "[GRUE-01] Grue mobile 50 t");
        assert_eq!(r.stored().created_by, admin);
    }

    #[test]
    fn an_update_records_only_what_changed_and_keeps_validation() {
        let (mut r, _) =
            Ressource::create(nouvelle(CategorieRessource::Vehicule), Uuid::now_v7(), NOW);
        assert_eq!(r.update(RessourceUpdate::default(), NOW), Ok(None));
        let same_nom = RessourceUpdate {
            nom: Some(NomRessource::parse("Grue mobile 50 t").unwrap()),
            ..Default::default()
        };
        assert_eq!(r.update(same_nom, NOW), Ok(None));
        let later = datetime!(2026-12-02 10:00 UTC);
        let event = r
            .update(
                RessourceUpdate {
                    categorie: Some(CategorieRessource::EnginLevage),
                    actif: Some(false),
                    plage_defaut: Some(
                        PlageHoraire::new(
                            Heure::from_hm(7, 0).unwrap(),
                            Heure::from_hm(18, 0).unwrap(),
                        )
                        .unwrap(),
                    ),
                    ..Default::default()
                },
                later,
            )
            .unwrap()
            .unwrap();
        let fields: Vec<_> = event.changes.fields().collect();
        assert_eq!(fields, ["actif", "categorie", "heure_debut_defaut"]);
        // A new category does not recompute validation_requise.
        assert!(!event.validation_requise);
        assert!(!r.est_reservable());
        assert_eq!(r.stored().updated_at, later);
    }

    #[test]
    fn deletion_records_the_actor_once() {
        let (mut r, _) = Ressource::create(
            nouvelle(CategorieRessource::Equipement),
            Uuid::now_v7(),
            NOW,
        );
        let admin = Uuid::now_v7();
        let event = r.supprimer(admin, NOW).unwrap();
        assert_eq!(event.deleted_by, admin);
        assert_eq!(r.stored().deleted_by, Some(admin));
        assert!(!r.est_reservable());
        assert_eq!(r.supprimer(admin, NOW), Err(RessourceError::Supprimee));
        assert_eq!(
            r.update(
                RessourceUpdate {
                    actif: Some(true),
                    ..Default::default()
                },
                NOW
            ),
            Err(RessourceError::Supprimee)
        );
    }
}
