//! The dossier aggregate: one folder of a chantier's tree.

use hub_kernel::Changes;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::events::{DossierCreated, DossierDeleted, DossierUpdated};
use crate::{DossierType, NiveauAcces, NomDossier};

/// Rules a change of a dossier would break.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DossierError {
    /// Names are unique among the folders of one parent (exact match).
    #[error("a dossier named '{0}' already exists at this place")]
    NomDejaPris(String),
    #[error("the parent dossier belongs to another chantier")]
    ParentAutreChantier,
    #[error("a dossier cannot be moved into itself or one of its sub-dossiers")]
    Cycle,
    #[error("the dossier contains documents")]
    ContientDocuments,
    #[error("the dossier contains sub-dossiers")]
    ContientSousDossiers,
}

/// Where a new or moved dossier goes: its parent (with the parent's own
/// ancestors, nearest first) or the root, and the names already used there.
#[derive(Debug, Clone, Copy)]
pub struct Emplacement<'a> {
    pub parent: Option<Parent<'a>>,
    /// Names of the dossiers already under that parent (the moved one excluded).
    pub noms_voisins: &'a [NomDossier],
}

/// A parent dossier and the ids of its ancestors up to the root.
#[derive(Debug, Clone, Copy)]
pub struct Parent<'a> {
    pub dossier: &'a Dossier,
    pub ancetres: &'a [Uuid],
}

/// What creating a dossier needs, all validated.
#[derive(Debug, Clone, PartialEq)]
pub struct NouveauDossier {
    pub chantier_id: Uuid,
    pub nom: NomDossier,
    pub type_dossier: DossierType,
    pub niveau_acces: NiveauAcces,
}

/// A partial update; `None` leaves a field unchanged; `parent_id:
/// Some(None)` moves the dossier to the root (which the original could not).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DossierUpdate {
    pub nom: Option<NomDossier>,
    pub niveau_acces: Option<NiveauAcces>,
    pub parent_id: Option<Option<Uuid>>,
}

/// A dossier as stored; [`Dossier::restore`] trusts it.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredDossier {
    pub id: Uuid,
    pub chantier_id: Uuid,
    pub nom: NomDossier,
    pub type_dossier: DossierType,
    pub niveau_acces: NiveauAcces,
    pub parent_id: Option<Uuid>,
    pub ordre: i32,
    pub created_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
    pub version: i64,
}

/// A folder of a chantier's tree. It exists only as a row: no storage key
/// derives from it.
#[derive(Debug, Clone, PartialEq)]
pub struct Dossier {
    inner: StoredDossier,
}

impl Dossier {
    /// A new dossier at `emplacement`; refuses a parent of another chantier
    /// and a name already used by a sibling.
    pub fn create(
        nouveau: NouveauDossier,
        emplacement: Emplacement<'_>,
        now: OffsetDateTime,
    ) -> Result<(Self, DossierCreated), DossierError> {
        let id = Uuid::now_v7();
        check_emplacement(id, nouveau.chantier_id, &nouveau.nom, emplacement)?;
        let dossier = Self {
            inner: StoredDossier {
                id,
                chantier_id: nouveau.chantier_id,
                nom: nouveau.nom,
                type_dossier: nouveau.type_dossier,
                niveau_acces: nouveau.niveau_acces,
                parent_id: emplacement.parent.map(|p| p.dossier.id()),
                ordre: 0,
                created_at: now,
                updated_at: now,
                version: 1,
            },
        };
        let event = dossier.created();
        Ok((dossier, event))
    }

    /// The folders of the standard tree that the chantier lacks (a type
    /// already present at any depth is skipped), as roots with their
    /// default level and order. Empty on a rerun.
    pub fn arborescence_standard(
        chantier_id: Uuid,
        types_presents: &[DossierType],
        now: OffsetDateTime,
    ) -> Vec<(Self, DossierCreated)> {
        DossierType::STANDARD
            .into_iter()
            .filter(|kind| !types_presents.contains(kind))
            .map(|kind| {
                let dossier = Self {
                    inner: StoredDossier {
                        id: Uuid::now_v7(),
                        chantier_id,
                        nom: NomDossier::standard(kind),
                        type_dossier: kind,
                        niveau_acces: kind.niveau_par_defaut(),
                        parent_id: None,
                        ordre: kind.ordre().unwrap_or(0),
                        created_at: now,
                        updated_at: now,
                        version: 1,
                    },
                };
                let event = dossier.created();
                (dossier, event)
            })
            .collect()
    }

    pub fn restore(stored: StoredDossier) -> Self {
        Self { inner: stored }
    }

    /// Applies `update`; `emplacement` describes the destination when the
    /// parent changes, or the current parent's other children for a rename.
    /// `None` when nothing changed (nothing to publish).
    pub fn update(
        &mut self,
        update: DossierUpdate,
        emplacement: Emplacement<'_>,
        updated_by: Uuid,
        now: OffsetDateTime,
    ) -> Result<Option<DossierUpdated>, DossierError> {
        let nom = update.nom.unwrap_or_else(|| self.inner.nom.clone());
        let niveau = update.niveau_acces.unwrap_or(self.inner.niveau_acces);
        let parent_id = update.parent_id.unwrap_or(self.inner.parent_id);
        let mut changes = Changes::new();
        changes.record("nom", &self.inner.nom, &nom);
        changes.record("niveau_acces", &self.inner.niveau_acces, &niveau);
        changes.record("parent_id", &self.inner.parent_id, &parent_id);
        if changes.is_empty() {
            return Ok(None);
        }
        if changes.contains("nom") || changes.contains("parent_id") {
            check_emplacement(self.inner.id, self.inner.chantier_id, &nom, emplacement)?;
        }
        self.inner.nom = nom;
        self.inner.niveau_acces = niveau;
        self.inner.parent_id = parent_id;
        self.inner.updated_at = now;
        self.inner.version += 1;
        Ok(Some(DossierUpdated {
            dossier_id: self.inner.id,
            chantier_id: self.inner.chantier_id,
            nom: self.inner.nom.as_str().to_owned(),
            type_dossier: self.inner.type_dossier,
            niveau_acces: self.inner.niveau_acces,
            parent_id: self.inner.parent_id,
            updated_by,
            changes,
        }))
    }

    /// Deleting it: refused while it holds documents or sub-dossiers,
    /// unless `force` (the caller then removes the whole subtree).
    pub fn delete(
        &self,
        nombre_documents: u64,
        nombre_sous_dossiers: u64,
        force: bool,
        deleted_by: Uuid,
    ) -> Result<DossierDeleted, DossierError> {
        if !force && nombre_documents > 0 {
            return Err(DossierError::ContientDocuments);
        }
        if !force && nombre_sous_dossiers > 0 {
            return Err(DossierError::ContientSousDossiers);
        }
        Ok(DossierDeleted {
            dossier_id: self.inner.id,
            chantier_id: self.inner.chantier_id,
            nom: self.inner.nom.as_str().to_owned(),
            deleted_by,
        })
    }

    fn created(&self) -> DossierCreated {
        DossierCreated {
            dossier_id: self.inner.id,
            chantier_id: self.inner.chantier_id,
            nom: self.inner.nom.as_str().to_owned(),
            type_dossier: self.inner.type_dossier,
            niveau_acces: self.inner.niveau_acces,
            parent_id: self.inner.parent_id,
        }
    }

    /// `01 - Plans` for a standard type, the name alone for custom.
    pub fn chemin_complet(&self) -> String {
        match self.inner.type_dossier {
            DossierType::Custom => self.inner.nom.as_str().to_owned(),
            kind => format!("{:02} - {}", kind.numero(), self.inner.nom),
        }
    }

    pub fn id(&self) -> Uuid {
        self.inner.id
    }
    pub fn chantier_id(&self) -> Uuid {
        self.inner.chantier_id
    }
    pub fn nom(&self) -> &NomDossier {
        &self.inner.nom
    }
    pub fn type_dossier(&self) -> DossierType {
        self.inner.type_dossier
    }
    pub fn niveau_acces(&self) -> NiveauAcces {
        self.inner.niveau_acces
    }
    pub fn parent_id(&self) -> Option<Uuid> {
        self.inner.parent_id
    }
    pub fn ordre(&self) -> i32 {
        self.inner.ordre
    }
    pub fn created_at(&self) -> OffsetDateTime {
        self.inner.created_at
    }
    pub fn updated_at(&self) -> OffsetDateTime {
        self.inner.updated_at
    }
    pub fn version(&self) -> i64 {
        self.inner.version
    }
}

fn check_emplacement(
    id: Uuid,
    chantier_id: Uuid,
    nom: &NomDossier,
    emplacement: Emplacement<'_>,
) -> Result<(), DossierError> {
    if let Some(parent) = emplacement.parent {
        if parent.dossier.chantier_id() != chantier_id {
            return Err(DossierError::ParentAutreChantier);
        }
        if parent.dossier.id() == id || parent.ancetres.contains(&id) {
            return Err(DossierError::Cycle);
        }
    }
    if emplacement.noms_voisins.contains(nom) {
        return Err(DossierError::NomDejaPris(nom.as_str().to_owned()));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    const NOW: OffsetDateTime = datetime!(2026-12-02 08:00 UTC);

    fn nom(s: &str) -> NomDossier {
        NomDossier::parse(s).unwrap()
    }

    fn nouveau(chantier_id: Uuid, name: &str) -> NouveauDossier {
        NouveauDossier {
            chantier_id,
            nom: nom(name),
            type_dossier: DossierType::Custom,
            niveau_acces: NiveauAcces::Compagnon,
        }
    }

    fn root(chantier_id: Uuid, name: &str) -> Dossier {
        let at_root = Emplacement {
            parent: None,
            noms_voisins: &[],
        };
        Dossier::create(nouveau(chantier_id, name), at_root, NOW)
            .unwrap()
            .0
    }

    #[test]
    fn creation_checks_the_parent_and_the_siblings_names() {
        let chantier = Uuid::now_v7();
        let plans = root(chantier, "Plans");
        let under_plans = |voisins: &'static [NomDossier]| Emplacement {
            parent: Some(Parent {
                dossier: &plans,
                ancetres: &[],
            }),
            noms_voisins: voisins,
        };
        let (rdc, event) =
            Dossier::create(nouveau(chantier, "RDC"), under_plans(&[]), NOW).unwrap();
        assert_eq!(rdc.parent_id(), Some(plans.id()));
        assert_eq!(rdc.ordre(), 0);
        assert_eq!(event.parent_id, Some(plans.id()));
        assert_eq!(event.nom, "RDC");

        let taken = vec![nom("RDC")].leak();
        assert_eq!(
            Dossier::create(nouveau(chantier, " RDC "), under_plans(taken), NOW).unwrap_err(),
            DossierError::NomDejaPris("RDC".into())
        );
        // Exact match: another case is another name.
        assert!(Dossier::create(nouveau(chantier, "rdc"), under_plans(taken), NOW).is_ok());
        assert_eq!(
            Dossier::create(nouveau(Uuid::now_v7(), "RDC"), under_plans(&[]), NOW).unwrap_err(),
            DossierError::ParentAutreChantier
        );
    }

    #[test]
    fn a_dossier_cannot_become_its_own_ancestor() {
        let chantier = Uuid::now_v7();
        let mut a = root(chantier, "A");
        let b = Dossier::create(
            nouveau(chantier, "B"),
            Emplacement {
                parent: Some(Parent {
                    dossier: &a,
                    ancetres: &[],
                }),
                noms_voisins: &[],
            },
            NOW,
        )
        .unwrap()
        .0;
        let c_ancestors = [b.id(), a.id()];
        let c = root(chantier, "C");
        let into = |parent: &Dossier, ancetres: &[Uuid]| -> Result<_, _> {
            let mut moved = a.clone();
            moved.update(
                DossierUpdate {
                    parent_id: Some(Some(parent.id())),
                    ..DossierUpdate::default()
                },
                Emplacement {
                    parent: Some(Parent {
                        dossier: parent,
                        ancetres,
                    }),
                    noms_voisins: &[],
                },
                Uuid::now_v7(),
                NOW,
            )
        };
        let a_clone = a.clone();
        assert_eq!(into(&a_clone, &[]).unwrap_err(), DossierError::Cycle);
        assert_eq!(into(&b, &[a.id()]).unwrap_err(), DossierError::Cycle);
        assert_eq!(into(&c, &c_ancestors).unwrap_err(), DossierError::Cycle);
        // A refused change leaves the dossier untouched.
        assert_eq!(a.parent_id(), None);
        assert!(into(&c, &[]).is_ok());

        // Back to the root (the original could not).
        let event = a
            .update(
                DossierUpdate {
                    parent_id: Some(Some(c.id())),
                    ..DossierUpdate::default()
                },
                Emplacement {
                    parent: Some(Parent {
                        dossier: &c,
                        ancetres: &[],
                    }),
                    noms_voisins: &[],
                },
                Uuid::now_v7(),
                NOW,
            )
            .unwrap()
            .unwrap();
        assert!(event.changes.contains("parent_id"));
        let event = a
            .update(
                DossierUpdate {
                    parent_id: Some(None),
                    ..DossierUpdate::default()
                },
                Emplacement {
                    parent: None,
                    noms_voisins: &[],
                },
                Uuid::now_v7(),
                NOW,
            )
            .unwrap()
            .unwrap();
        assert_eq!(event.parent_id, None);
        assert_eq!(a.version(), 3);
    }

    #[test]
    fn updates_record_only_changes_and_check_the_new_name() {
        let chantier = Uuid::now_v7();
        let mut dossier = root(chantier, "Plans");
        let here = |voisins: &'static [NomDossier]| Emplacement {
            parent: None,
            noms_voisins: voisins,
        };
        let same = DossierUpdate {
            nom: Some(nom("Plans")),
            ..DossierUpdate::default()
        };
        assert_eq!(
            dossier.update(same, here(&[]), Uuid::now_v7(), NOW),
            Ok(None)
        );
        let rename = DossierUpdate {
            nom: Some(nom("Photos")),
            niveau_acces: Some(NiveauAcces::Conducteur),
            ..DossierUpdate::default()
        };
        let taken = vec![nom("Photos")].leak();
        assert_eq!(
            dossier.update(rename.clone(), here(taken), Uuid::now_v7(), NOW),
            Err(DossierError::NomDejaPris("Photos".into()))
        );
        assert_eq!(dossier.nom().as_str(), "Plans");
        // A level change alone does not look at the names around.
        let level = DossierUpdate {
            niveau_acces: Some(NiveauAcces::Admin),
            ..DossierUpdate::default()
        };
        let event = dossier
            .update(level, here(taken), Uuid::now_v7(), NOW)
            .unwrap()
            .unwrap();
        assert_eq!(event.changes.fields().collect::<Vec<_>>(), ["niveau_acces"]);
        let event = dossier
            .update(rename, here(&[]), Uuid::now_v7(), NOW)
            .unwrap()
            .unwrap();
        assert_eq!(
            event.changes.fields().collect::<Vec<_>>(),
            ["niveau_acces", "nom"]
        );
    }

    #[test]
    fn only_empty_dossiers_are_deleted_without_force() {
        let dossier = root(Uuid::now_v7(), "Plans");
        let by = Uuid::now_v7();
        assert_eq!(
            dossier.delete(1, 0, false, by),
            Err(DossierError::ContientDocuments)
        );
        assert_eq!(
            dossier.delete(0, 2, false, by),
            Err(DossierError::ContientSousDossiers)
        );
        assert!(dossier.delete(3, 2, true, by).is_ok());
        let event = dossier.delete(0, 0, false, by).unwrap();
        assert_eq!((event.dossier_id, event.deleted_by), (dossier.id(), by));
    }

    #[test]
    fn the_standard_tree_adds_the_missing_types_only() {
        let chantier = Uuid::now_v7();
        let all = Dossier::arborescence_standard(chantier, &[], NOW);
        let names: Vec<_> = all.iter().map(|(d, _)| d.chemin_complet()).collect();
        assert_eq!(
            names,
            [
                "01 - Plans",
                "02 - Documents administratifs",
                "03 - Sécurité",
                "04 - Qualité",
                "05 - Photos",
                "06 - Comptes-rendus",
                "07 - Livraisons"
            ]
        );
        for (dossier, event) in &all {
            assert_eq!(dossier.parent_id(), None);
            assert_eq!(Some(dossier.ordre()), dossier.type_dossier().ordre());
            assert_eq!(
                dossier.niveau_acces(),
                dossier.type_dossier().niveau_par_defaut()
            );
            assert_eq!(event.dossier_id, dossier.id());
            // The names are the display names, valid as they are.
            assert_eq!(
                NomDossier::parse(dossier.type_dossier().nom_affichage()).as_ref(),
                Ok(dossier.nom())
            );
        }
        let rest = Dossier::arborescence_standard(
            chantier,
            &[DossierType::Plans, DossierType::Custom, DossierType::Photos],
            NOW,
        );
        assert_eq!(rest.len(), 5);
        let every: Vec<_> = DossierType::STANDARD.to_vec();
        assert!(Dossier::arborescence_standard(chantier, &every, NOW).is_empty());
        assert_eq!(root(chantier, "Divers").chemin_complet(), "Divers");
    }
}
