//! The document aggregate: one uploaded file of a dossier.

use hub_kernel::Changes;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::events::{DocumentDeleted, DocumentUpdated, DocumentUploaded};
use crate::types::mime_of;
use crate::{
    CleStockage, Description, Dossier, ExtensionRefusee, NiveauAcces, NomDocument, Sha256, Taille,
    TypeDocument, ValueError,
};

/// Rules an upload or a change of a document would break.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DocumentError {
    #[error(transparent)]
    Value(#[from] ValueError),
    #[error(transparent)]
    ExtensionRefusee(#[from] ExtensionRefusee),
    /// The upload names a chantier that is not the dossier's.
    #[error("the dossier belongs to another chantier")]
    AutreChantier,
    /// Names are unique within one dossier.
    #[error("a document named '{0}' already exists in this dossier")]
    NomDejaPris(String),
}

/// An upload checked before a single byte is stored: its id, its storage
/// key (made of ids only), its name and type from the client's file name.
#[derive(Debug, Clone, PartialEq)]
pub struct Televersement {
    id: Uuid,
    chantier_id: Uuid,
    dossier_id: Uuid,
    nom: NomDocument,
    type_document: TypeDocument,
    cle: CleStockage,
    niveau_acces: Option<NiveauAcces>,
    description: Option<Description>,
}

impl Televersement {
    /// Checks an upload into `dossier`: the chantier the client named must
    /// be the dossier's, the name valid and its extension in the allow-list.
    pub fn prepare(
        dossier: &Dossier,
        chantier_id: Uuid,
        filename: Option<&str>,
        niveau_acces: Option<NiveauAcces>,
        description: Option<Description>,
    ) -> Result<Self, DocumentError> {
        if dossier.chantier_id() != chantier_id {
            return Err(DocumentError::AutreChantier);
        }
        let nom = NomDocument::from_client_filename(filename)?;
        let type_document = TypeDocument::from_extension(&nom.extension())?;
        let id = Uuid::now_v7();
        Ok(Self {
            id,
            chantier_id,
            dossier_id: dossier.id(),
            cle: CleStockage::pour_document(chantier_id, id),
            nom,
            type_document,
            niveau_acces,
            description,
        })
    }

    pub fn id(&self) -> Uuid {
        self.id
    }
    pub fn dossier_id(&self) -> Uuid {
        self.dossier_id
    }
    pub fn chantier_id(&self) -> Uuid {
        self.chantier_id
    }
    pub fn cle(&self) -> &CleStockage {
        &self.cle
    }
    pub fn nom(&self) -> &NomDocument {
        &self.nom
    }
    pub fn type_document(&self) -> TypeDocument {
        self.type_document
    }

    /// The name, or its first free alternative (`plan_1.pdf`, `plan_2.pdf`…)
    /// when `pris` already holds it.
    pub fn nom_libre(&self, pris: &[NomDocument]) -> NomDocument {
        if !pris.contains(&self.nom) {
            return self.nom.clone();
        }
        (1..)
            .map(|n| self.nom.avec_suffixe(n))
            .find(|candidate| !pris.contains(candidate))
            .unwrap_or_else(|| self.nom.clone())
    }
}

/// A partial update; `None` leaves a field unchanged; `Some(None)` clears
/// the description or makes the level inherit the dossier's again.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DocumentUpdate {
    pub nom: Option<NomDocument>,
    pub description: Option<Option<Description>>,
    pub dossier_id: Option<Uuid>,
    pub niveau_acces: Option<Option<NiveauAcces>>,
}

/// A document as stored; [`Document::restore`] trusts it.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredDocument {
    pub id: Uuid,
    pub chantier_id: Uuid,
    pub dossier_id: Uuid,
    pub nom: NomDocument,
    /// The file name as uploaded; never changes.
    pub nom_original: NomDocument,
    pub type_document: TypeDocument,
    pub taille: Taille,
    pub sha256: Sha256,
    pub cle: CleStockage,
    /// Decided by the server from the extension at upload.
    pub mime_type: String,
    pub niveau_acces: Option<NiveauAcces>,
    pub uploaded_by: Uuid,
    pub description: Option<Description>,
    pub uploaded_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
    pub version: i64,
}

/// An uploaded file of a dossier. Moving or renaming it never moves its bytes.
#[derive(Debug, Clone, PartialEq)]
pub struct Document {
    inner: StoredDocument,
}

impl Document {
    /// The document of a completed upload: `nom` is the free name chosen in
    /// the dossier, `taille` and `sha256` what the store measured.
    pub fn upload(
        televersement: Televersement,
        nom: NomDocument,
        taille: Taille,
        sha256: Sha256,
        uploaded_by: Uuid,
        now: OffsetDateTime,
    ) -> (Self, DocumentUploaded) {
        let mime_type = mime_of(&televersement.nom.extension()).to_owned();
        let document = Self {
            inner: StoredDocument {
                id: televersement.id,
                chantier_id: televersement.chantier_id,
                dossier_id: televersement.dossier_id,
                nom,
                nom_original: televersement.nom,
                type_document: televersement.type_document,
                taille,
                sha256,
                cle: televersement.cle,
                mime_type,
                niveau_acces: televersement.niveau_acces,
                uploaded_by,
                description: televersement.description,
                uploaded_at: now,
                updated_at: now,
                version: 1,
            },
        };
        let d = &document.inner;
        let event = DocumentUploaded {
            document_id: d.id,
            chantier_id: d.chantier_id,
            dossier_id: d.dossier_id,
            nom: d.nom.as_str().to_owned(),
            type_document: d.type_document,
            mime_type: d.mime_type.clone(),
            taille_octets: d.taille.octets(),
            sha256: d.sha256.as_str().to_owned(),
            uploaded_by,
        };
        (document, event)
    }

    pub fn restore(stored: StoredDocument) -> Self {
        Self { inner: stored }
    }

    /// Applies `update`. `destination` is the dossier it ends up in (the
    /// current one when it does not move) and `noms_pris` the names of the
    /// other documents there. `None` when nothing changed.
    pub fn update(
        &mut self,
        update: DocumentUpdate,
        destination: &Dossier,
        noms_pris: &[NomDocument],
        updated_by: Uuid,
        now: OffsetDateTime,
    ) -> Result<Option<DocumentUpdated>, DocumentError> {
        let d = &self.inner;
        let nom = update.nom.unwrap_or_else(|| d.nom.clone());
        let description = update.description.unwrap_or_else(|| d.description.clone());
        let dossier_id = update.dossier_id.unwrap_or(d.dossier_id);
        let niveau = update.niveau_acces.unwrap_or(d.niveau_acces);
        let mut changes = Changes::new();
        changes.record("nom", &d.nom, &nom);
        changes.record("description", &d.description, &description);
        changes.record("dossier_id", &d.dossier_id, &dossier_id);
        changes.record("niveau_acces", &d.niveau_acces, &niveau);
        if changes.is_empty() {
            return Ok(None);
        }
        if destination.id() != dossier_id || destination.chantier_id() != d.chantier_id {
            return Err(DocumentError::AutreChantier);
        }
        if (changes.contains("nom") || changes.contains("dossier_id")) && noms_pris.contains(&nom) {
            return Err(DocumentError::NomDejaPris(nom.as_str().to_owned()));
        }
        let d = &mut self.inner;
        d.nom = nom;
        d.description = description;
        d.dossier_id = dossier_id;
        d.niveau_acces = niveau;
        d.updated_at = now;
        d.version += 1;
        Ok(Some(DocumentUpdated {
            document_id: d.id,
            chantier_id: d.chantier_id,
            dossier_id: d.dossier_id,
            nom: d.nom.as_str().to_owned(),
            updated_by,
            changes,
        }))
    }

    /// Its deletion event; the caller removes the row, then the bytes.
    pub fn delete(&self, deleted_by: Uuid) -> DocumentDeleted {
        let d = &self.inner;
        DocumentDeleted {
            document_id: d.id,
            chantier_id: d.chantier_id,
            dossier_id: d.dossier_id,
            nom: d.nom.as_str().to_owned(),
            taille_octets: d.taille.octets(),
            sha256: d.sha256.as_str().to_owned(),
            deleted_by,
        }
    }

    /// The level that applies: its own, else its dossier's.
    pub fn niveau_effectif(&self, dossier: Option<&Dossier>) -> NiveauAcces {
        self.inner
            .niveau_acces
            .or(dossier.map(Dossier::niveau_acces))
            .unwrap_or(NiveauAcces::Compagnon)
    }

    /// `.` plus the lower-cased text after the last dot of the current name.
    pub fn extension(&self) -> String {
        self.inner.nom.extension()
    }

    pub fn id(&self) -> Uuid {
        self.inner.id
    }
    pub fn chantier_id(&self) -> Uuid {
        self.inner.chantier_id
    }
    pub fn dossier_id(&self) -> Uuid {
        self.inner.dossier_id
    }
    pub fn nom(&self) -> &NomDocument {
        &self.inner.nom
    }
    pub fn nom_original(&self) -> &NomDocument {
        &self.inner.nom_original
    }
    pub fn type_document(&self) -> TypeDocument {
        self.inner.type_document
    }
    pub fn taille(&self) -> Taille {
        self.inner.taille
    }
    pub fn sha256(&self) -> &Sha256 {
        &self.inner.sha256
    }
    pub fn cle(&self) -> &CleStockage {
        &self.inner.cle
    }
    pub fn mime_type(&self) -> &str {
        &self.inner.mime_type
    }
    pub fn niveau_acces(&self) -> Option<NiveauAcces> {
        self.inner.niveau_acces
    }
    pub fn uploaded_by(&self) -> Uuid {
        self.inner.uploaded_by
    }
    pub fn description(&self) -> Option<&Description> {
        self.inner.description.as_ref()
    }
    pub fn uploaded_at(&self) -> OffsetDateTime {
        self.inner.uploaded_at
    }
    pub fn updated_at(&self) -> OffsetDateTime {
        self.inner.updated_at
    }
    pub fn version(&self) -> i64 {
        self.inner.version
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{DossierType, Emplacement, NomDossier, NouveauDossier};
    use time::macros::datetime;

    const NOW: OffsetDateTime = datetime!(2026-12-02 08:00 UTC);

    fn dossier(chantier_id: Uuid, niveau: NiveauAcces) -> Dossier {
        let nouveau = NouveauDossier {
            chantier_id,
            nom: NomDossier::parse("Plans").unwrap(),
            type_dossier: DossierType::Plans,
            niveau_acces: niveau,
        };
        let at_root = Emplacement {
            parent: None,
            noms_voisins: &[],
        };
        Dossier::create(nouveau, at_root, NOW).unwrap().0
    }

    fn sha() -> Sha256 {
        Sha256::parse(&"0f".repeat(32)).unwrap()
    }

    fn uploaded(dossier: &Dossier, filename: &str) -> (Document, DocumentUploaded) {
        let upload =
            Televersement::prepare(dossier, dossier.chantier_id(), Some(filename), None, None)
                .unwrap();
        let nom = upload.nom().clone();
        Document::upload(
            upload,
            nom,
            Taille::new(2048).unwrap(),
            sha(),
            Uuid::now_v7(),
            NOW,
        )
    }

    #[test]
    fn an_upload_is_checked_before_storing_and_keyed_by_ids() {
        let chantier = Uuid::now_v7();
        let plans = dossier(chantier, NiveauAcces::Compagnon);
        assert_eq!(
            Televersement::prepare(&plans, Uuid::now_v7(), Some("a.pdf"), None, None),
            Err(DocumentError::AutreChantier)
        );
        assert_eq!(
            Televersement::prepare(&plans, chantier, Some("plan.dwg"), None, None),
            Err(DocumentError::ExtensionRefusee(ExtensionRefusee(
                ".dwg".into()
            )))
        );
        let upload =
            Televersement::prepare(&plans, chantier, Some("../../etc/passwd"), None, None).unwrap();
        assert_eq!(upload.nom().as_str(), "../../etc/passwd");
        assert_eq!(upload.type_document(), TypeDocument::Autre);
        assert_eq!(
            upload.cle(),
            &CleStockage::pour_document(chantier, upload.id())
        );
        assert!(!upload.cle().as_str().contains("passwd"));
    }

    #[test]
    fn a_taken_name_gets_the_first_free_alternative() {
        let plans = dossier(Uuid::now_v7(), NiveauAcces::Compagnon);
        let upload =
            Televersement::prepare(&plans, plans.chantier_id(), Some("Plan.PDF"), None, None)
                .unwrap();
        let nom = |s: &str| NomDocument::parse(s).unwrap();
        assert_eq!(upload.nom_libre(&[nom("autre.pdf")]).as_str(), "Plan.PDF");
        assert_eq!(
            upload
                .nom_libre(&[nom("Plan.PDF"), nom("Plan_1.PDF")])
                .as_str(),
            "Plan_2.PDF"
        );
    }

    #[test]
    fn the_upload_event_carries_size_checksum_and_a_server_mime_type() {
        let plans = dossier(Uuid::now_v7(), NiveauAcces::Compagnon);
        let (document, event) = uploaded(&plans, "Façade.JPG");
        assert_eq!(document.mime_type(), "image/jpeg");
        assert_eq!(document.type_document(), TypeDocument::Image);
        assert_eq!(event.taille_octets, 2048);
        assert_eq!(event.sha256, sha().as_str());
        assert_eq!(event.dossier_id, plans.id());
        assert_eq!(document.nom_original(), document.nom());
        let deleted = document.delete(Uuid::nil());
        assert_eq!(
            (deleted.taille_octets, deleted.sha256),
            (2048, sha().to_string())
        );
    }

    #[test]
    fn updates_stay_in_the_chantier_and_keep_names_unique() {
        let chantier = Uuid::now_v7();
        let plans = dossier(chantier, NiveauAcces::Compagnon);
        let other = dossier(chantier, NiveauAcces::Conducteur);
        let elsewhere = dossier(Uuid::now_v7(), NiveauAcces::Compagnon);
        let (mut document, _) = uploaded(&plans, "plan.pdf");
        let by = Uuid::now_v7();
        let move_to = |target: &Dossier| DocumentUpdate {
            dossier_id: Some(target.id()),
            ..DocumentUpdate::default()
        };
        assert_eq!(
            document.update(move_to(&elsewhere), &elsewhere, &[], by, NOW),
            Err(DocumentError::AutreChantier)
        );
        let taken = [NomDocument::parse("plan.pdf").unwrap()];
        assert_eq!(
            document.update(move_to(&other), &other, &taken, by, NOW),
            Err(DocumentError::NomDejaPris("plan.pdf".into()))
        );
        assert_eq!(document.dossier_id(), plans.id());
        assert_eq!(
            document.niveau_effectif(Some(&plans)),
            NiveauAcces::Compagnon
        );
        let event = document
            .update(move_to(&other), &other, &[], by, NOW)
            .unwrap()
            .unwrap();
        assert_eq!(event.dossier_id, other.id());
        assert_eq!(
            document.niveau_effectif(Some(&other)),
            NiveauAcces::Conducteur
        );
        // Nothing changed: nothing to publish; the same dossier is no move.
        assert_eq!(
            document.update(move_to(&other), &other, &[], by, NOW),
            Ok(None)
        );
        let own_level = DocumentUpdate {
            niveau_acces: Some(Some(NiveauAcces::Admin)),
            description: Some(Description::parse(Some("Indice B")).unwrap()),
            ..DocumentUpdate::default()
        };
        let event = document
            .update(own_level, &other, &taken, by, NOW)
            .unwrap()
            .unwrap();
        assert_eq!(
            event.changes.fields().collect::<Vec<_>>(),
            ["description", "niveau_acces"]
        );
        assert_eq!(document.niveau_effectif(Some(&other)), NiveauAcces::Admin);
        assert_eq!(document.version(), 3);
    }
}
