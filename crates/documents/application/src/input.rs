//! Raw command inputs (as the API receives them) and their validation into
//! domain values, collecting every invalid field.

use hub_documents_domain::{
    Cible, Description, DocumentUpdate, DossierType, DossierUpdate, NiveauAcces, NomDocument,
    NomDossier, TypeAutorisation, TypeDocument,
};
use hub_kernel::ValidationErrors;
use time::OffsetDateTime;
use uuid::Uuid;

/// Creating a dossier.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DossierInput {
    pub chantier_id: Uuid,
    pub nom: String,
    /// Default `custom`.
    pub type_dossier: Option<String>,
    /// Default `compagnon`, whatever the type (the spec's rule).
    pub niveau_acces: Option<String>,
    pub parent_id: Option<Uuid>,
}

/// A dossier's validated fields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidDossier {
    pub nom: NomDossier,
    pub type_dossier: DossierType,
    pub niveau_acces: NiveauAcces,
}

impl DossierInput {
    pub fn validate(&self) -> Result<ValidDossier, ValidationErrors> {
        let mut errors = ValidationErrors::new();
        let nom = errors.check("nom", "invalid_nom", NomDossier::parse(&self.nom));
        let type_dossier = match &self.type_dossier {
            None => Some(DossierType::Custom),
            Some(text) => errors.check("type_dossier", "invalid_type_dossier", text.parse()),
        };
        let niveau_acces = niveau(&mut errors, self.niveau_acces.as_deref())
            .map(|niveau| niveau.unwrap_or(NiveauAcces::Compagnon));
        errors.into_result()?;
        match (nom, type_dossier, niveau_acces) {
            (Some(nom), Some(type_dossier), Some(niveau_acces)) => Ok(ValidDossier {
                nom,
                type_dossier,
                niveau_acces,
            }),
            _ => Err(ValidationErrors::single("nom", "invalid", "is invalid")),
        }
    }
}

/// Changing a dossier; `None` leaves a field unchanged; `parent_id:
/// Some(None)` moves it to the root.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DossierUpdateInput {
    pub nom: Option<String>,
    pub niveau_acces: Option<String>,
    pub parent_id: Option<Option<Uuid>>,
}

impl DossierUpdateInput {
    pub fn validate(&self) -> Result<DossierUpdate, ValidationErrors> {
        let mut errors = ValidationErrors::new();
        let nom = self
            .nom
            .as_deref()
            .and_then(|nom| errors.check("nom", "invalid_nom", NomDossier::parse(nom)));
        let niveau_acces = niveau(&mut errors, self.niveau_acces.as_deref()).flatten();
        errors.into_result()?;
        Ok(DossierUpdate {
            nom,
            niveau_acces,
            parent_id: self.parent_id,
        })
    }
}

/// The fields of an upload besides its bytes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UploadInput {
    pub dossier_id: Uuid,
    /// The chantier the client believes the dossier is in; must be it.
    pub chantier_id: Uuid,
    /// The client's file name (multipart `filename`).
    pub filename: Option<String>,
    pub niveau_acces: Option<String>,
    pub description: Option<String>,
}

impl UploadInput {
    /// Checked before a single byte is stored (the original wrote the file,
    /// then failed on a bad level and left it orphaned).
    pub fn validate(&self) -> Result<(Option<NiveauAcces>, Option<Description>), ValidationErrors> {
        let mut errors = ValidationErrors::new();
        let niveau_acces = niveau(&mut errors, self.niveau_acces.as_deref());
        let description = errors.check(
            "description",
            "invalid_description",
            Description::parse(self.description.as_deref()),
        );
        errors.into_result()?;
        Ok((niveau_acces.flatten(), description.flatten()))
    }
}

/// Changing a document; `None` leaves a field unchanged.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DocumentUpdateInput {
    pub nom: Option<String>,
    /// `Some(None)` or blank clears it.
    pub description: Option<Option<String>>,
    pub dossier_id: Option<Uuid>,
    /// `""` makes the document inherit its dossier's level again.
    pub niveau_acces: Option<String>,
}

impl DocumentUpdateInput {
    pub fn validate(&self) -> Result<DocumentUpdate, ValidationErrors> {
        let mut errors = ValidationErrors::new();
        let nom = self
            .nom
            .as_deref()
            .and_then(|nom| errors.check("nom", "invalid_nom", NomDocument::parse(nom)));
        let description = self.description.as_ref().and_then(|text| {
            errors.check(
                "description",
                "invalid_description",
                Description::parse(text.as_deref()),
            )
        });
        let niveau_acces = match self.niveau_acces.as_deref() {
            None => None,
            Some(text) if text.trim().is_empty() => Some(None),
            Some(text) => errors
                .check("niveau_acces", "invalid_niveau_acces", text.parse())
                .map(Some),
        };
        errors.into_result()?;
        Ok(DocumentUpdate {
            nom,
            description,
            dossier_id: self.dossier_id,
            niveau_acces,
        })
    }
}

/// Searching a chantier's documents; every criterion is optional.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SearchInput {
    /// In the name, case-insensitive.
    pub query: Option<String>,
    pub type_document: Option<String>,
    pub dossier_id: Option<Uuid>,
    pub uploaded_by: Option<Uuid>,
    pub date_debut: Option<OffsetDateTime>,
    pub date_fin: Option<OffsetDateTime>,
}

impl SearchInput {
    /// The type, parsed; a blank query is none; the dates in order.
    pub fn validate(&self) -> Result<(Option<String>, Option<TypeDocument>), ValidationErrors> {
        let mut errors = ValidationErrors::new();
        let type_document = self.type_document.as_deref().and_then(|text| {
            errors.check(
                "type_document",
                "invalid_type_document",
                text.parse::<TypeDocument>(),
            )
        });
        if let (Some(debut), Some(fin)) = (self.date_debut, self.date_fin)
            && debut > fin
        {
            errors.add(
                "date_fin",
                "before_date_debut",
                "must not be before date_debut",
            );
        }
        errors.into_result()?;
        let query = self
            .query
            .as_deref()
            .map(str::trim)
            .filter(|q| !q.is_empty())
            .map(str::to_owned);
        Ok((query, type_document))
    }
}

/// Granting an autorisation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AutorisationInput {
    pub user_id: Uuid,
    pub type_autorisation: String,
    pub dossier_id: Option<Uuid>,
    pub document_id: Option<Uuid>,
    pub expire_at: Option<OffsetDateTime>,
}

/// A grant's validated fields (the expiry is checked against the clock by
/// the domain).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidAutorisation {
    pub user_id: Uuid,
    pub type_autorisation: TypeAutorisation,
    pub cible: Cible,
    pub expire_at: Option<OffsetDateTime>,
}

impl AutorisationInput {
    pub fn validate(&self) -> Result<ValidAutorisation, ValidationErrors> {
        let mut errors = ValidationErrors::new();
        let type_autorisation = errors.check(
            "type_autorisation",
            "invalid_type_autorisation",
            self.type_autorisation.parse::<TypeAutorisation>(),
        );
        let cible = errors.check(
            "dossier_id",
            "invalid_cible",
            Cible::from_ids(self.dossier_id, self.document_id),
        );
        errors.into_result()?;
        match (type_autorisation, cible) {
            (Some(type_autorisation), Some(cible)) => Ok(ValidAutorisation {
                user_id: self.user_id,
                type_autorisation,
                cible,
                expire_at: self.expire_at,
            }),
            _ => Err(ValidationErrors::single(
                "type_autorisation",
                "invalid",
                "is invalid",
            )),
        }
    }
}

/// An optional level: `Some(None)` when absent, `None` when invalid (the
/// error recorded).
fn niveau(errors: &mut ValidationErrors, text: Option<&str>) -> Option<Option<NiveauAcces>> {
    match text {
        None => Some(None),
        Some(text) => errors
            .check(
                "niveau_acces",
                "invalid_niveau_acces",
                text.parse::<NiveauAcces>(),
            )
            .map(Some),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(errors: &ValidationErrors) -> Vec<&str> {
        errors.errors().iter().map(|e| e.field.as_str()).collect()
    }

    #[test]
    fn a_dossier_input_collects_every_invalid_field_and_applies_defaults() {
        let bad = DossierInput {
            nom: "  ".into(),
            type_dossier: Some("divers".into()),
            niveau_acces: Some("chef".into()),
            ..DossierInput::default()
        };
        let errors = bad.validate().unwrap_err();
        assert_eq!(fields(&errors), ["nom", "type_dossier", "niveau_acces"]);
        let good = DossierInput {
            nom: " Plans ".into(),
            ..DossierInput::default()
        };
        let valid = good.validate().unwrap();
        assert_eq!(valid.nom.as_str(), "Plans");
        assert_eq!(valid.type_dossier, DossierType::Custom);
        assert_eq!(valid.niveau_acces, NiveauAcces::Compagnon);
    }

    #[test]
    fn document_updates_can_reset_the_level_and_clear_the_description() {
        let input = DocumentUpdateInput {
            nom: Some("plan.pdf".into()),
            description: Some(Some("   ".into())),
            niveau_acces: Some(String::new()),
            dossier_id: None,
        };
        let update = input.validate().unwrap();
        assert_eq!(update.niveau_acces, Some(None));
        assert_eq!(update.description, Some(None));
        let blank = DocumentUpdateInput {
            nom: Some(" ".into()),
            niveau_acces: Some("patron".into()),
            ..DocumentUpdateInput::default()
        };
        assert_eq!(
            fields(&blank.validate().unwrap_err()),
            ["nom", "niveau_acces"]
        );
    }

    #[test]
    fn uploads_and_grants_are_checked_before_anything_happens() {
        let upload = UploadInput {
            niveau_acces: Some("ADMIN".into()),
            description: Some("Indice B".into()),
            ..UploadInput::default()
        };
        let (niveau, description) = upload.validate().unwrap();
        assert_eq!(niveau, Some(NiveauAcces::Admin));
        assert_eq!(description.unwrap().as_str(), "Indice B");
        let bad = UploadInput {
            niveau_acces: Some("x".into()),
            ..UploadInput::default()
        };
        assert_eq!(fields(&bad.validate().unwrap_err()), ["niveau_acces"]);

        let grant = AutorisationInput {
            user_id: Uuid::now_v7(),
            type_autorisation: "Lecture".into(),
            dossier_id: Some(Uuid::now_v7()),
            document_id: Some(Uuid::now_v7()),
            expire_at: None,
        };
        assert_eq!(
            fields(&grant.validate().unwrap_err()),
            ["type_autorisation", "dossier_id"]
        );
    }
}
