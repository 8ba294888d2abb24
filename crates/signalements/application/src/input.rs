//! Raw inputs of the commands, turned into domain values here so that every
//! invalid field is reported at once (422 with field errors).

use hub_kernel::{Lines, ValidationErrors, optional_text};
use hub_signalements_domain::{
    Commentaire, Contenu, Description, Localisation, Motif, NouveauSignalement, PhotoUrl, Priorite,
    ReponseUpdate, SignalementUpdate, Titre, ValueError,
};
use time::OffsetDateTime;
use uuid::Uuid;

/// What reporting a signalement needs.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SignalementInput {
    pub chantier_id: Uuid,
    pub titre: String,
    pub description: String,
    /// `moyenne` when absent; case is ignored.
    pub priorite: Option<String>,
    pub assigne_a: Option<Uuid>,
    pub date_resolution_souhaitee: Option<OffsetDateTime>,
    pub photo_url: Option<String>,
    /// A document of the same chantier, of type `image`.
    pub photo_document_id: Option<Uuid>,
    pub localisation: Option<String>,
}

/// A partial update: `None` = unchanged, `Some(None)` = cleared.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct UpdateInput {
    pub titre: Option<String>,
    pub description: Option<String>,
    pub priorite: Option<String>,
    pub assigne_a: Option<Uuid>,
    pub date_resolution_souhaitee: Option<Option<OffsetDateTime>>,
    pub photo_url: Option<Option<String>>,
    pub photo_document_id: Option<Option<Uuid>>,
    /// `""` clears it, like `null`.
    pub localisation: Option<Option<String>>,
}

/// A reply.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReponseInput {
    pub contenu: String,
    pub photo_url: Option<String>,
    pub est_resolution: bool,
}

/// A partial update of a reply.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReponseUpdateInput {
    pub contenu: Option<String>,
    pub photo_url: Option<Option<String>>,
}

fn priorite(errors: &mut ValidationErrors, input: &str) -> Option<Priorite> {
    match input.parse::<Priorite>() {
        Ok(priorite) => Some(priorite),
        Err(_) => {
            errors.add(
                "priorite",
                "invalid",
                format!(
                    "Priorité invalide: {input}. Valeurs acceptées: critique, haute, moyenne, basse"
                ),
            );
            None
        }
    }
}

fn photo(errors: &mut ValidationErrors, input: Option<&str>) -> Option<Option<PhotoUrl>> {
    match input.map(str::trim).filter(|url| !url.is_empty()) {
        None => Some(None),
        Some(url) => errors
            .check("photo_url", "invalid", PhotoUrl::parse(url))
            .map(Some),
    }
}

fn localisation(
    errors: &mut ValidationErrors,
    input: Option<&str>,
) -> Option<Option<Localisation>> {
    errors
        .check(
            "localisation",
            "invalid",
            optional_text(input, Localisation::MAX_LEN, Lines::One).map_err(ValueError::from),
        )
        .map(|text| text.and_then(|t| Localisation::parse(&t).ok()))
}

impl SignalementInput {
    pub fn validate(&self) -> Result<NouveauSignalement, ValidationErrors> {
        let mut errors = ValidationErrors::new();
        let titre = errors.check("titre", "invalid", Titre::parse(&self.titre));
        let description = errors.check(
            "description",
            "invalid",
            Description::parse(&self.description),
        );
        let priorite = match &self.priorite {
            None => Some(Priorite::Moyenne),
            Some(p) => priorite(&mut errors, p),
        };
        let photo_url = photo(&mut errors, self.photo_url.as_deref());
        let localisation = localisation(&mut errors, self.localisation.as_deref());
        match (titre, description, priorite, photo_url, localisation) {
            (
                Some(titre),
                Some(description),
                Some(priorite),
                Some(photo_url),
                Some(localisation),
            ) if errors.is_empty() => Ok(NouveauSignalement {
                chantier_id: self.chantier_id,
                titre,
                description,
                priorite,
                assigne_a: self.assigne_a,
                date_resolution_souhaitee: self.date_resolution_souhaitee,
                photo_url,
                photo_document_id: self.photo_document_id,
                localisation,
            }),
            _ => Err(errors),
        }
    }
}

impl UpdateInput {
    pub fn validate(&self) -> Result<SignalementUpdate, ValidationErrors> {
        let mut errors = ValidationErrors::new();
        let update = SignalementUpdate {
            titre: self
                .titre
                .as_deref()
                .and_then(|t| errors.check("titre", "invalid", Titre::parse(t))),
            description: self
                .description
                .as_deref()
                .and_then(|d| errors.check("description", "invalid", Description::parse(d))),
            priorite: self
                .priorite
                .as_deref()
                .and_then(|p| priorite(&mut errors, p)),
            assigne_a: self.assigne_a,
            date_resolution_souhaitee: self.date_resolution_souhaitee,
            photo_url: self
                .photo_url
                .as_ref()
                .and_then(|p| photo(&mut errors, p.as_deref())),
            photo_document_id: self.photo_document_id,
            localisation: self
                .localisation
                .as_ref()
                .and_then(|l| localisation(&mut errors, l.as_deref())),
        };
        errors.into_result().map(|()| update)
    }
}

impl ReponseInput {
    pub fn validate(&self) -> Result<(Contenu, Option<PhotoUrl>), ValidationErrors> {
        let mut errors = ValidationErrors::new();
        let contenu = errors.check("contenu", "invalid", Contenu::parse(&self.contenu));
        let photo_url = photo(&mut errors, self.photo_url.as_deref());
        match (contenu, photo_url) {
            (Some(contenu), Some(photo_url)) if errors.is_empty() => Ok((contenu, photo_url)),
            _ => Err(errors),
        }
    }
}

impl ReponseUpdateInput {
    pub fn validate(&self) -> Result<ReponseUpdate, ValidationErrors> {
        let mut errors = ValidationErrors::new();
        let update = ReponseUpdate {
            contenu: self
                .contenu
                .as_deref()
                .and_then(|c| errors.check("contenu", "invalid", Contenu::parse(c))),
            photo_url: self
                .photo_url
                .as_ref()
                .and_then(|p| photo(&mut errors, p.as_deref())),
        };
        errors.into_result().map(|()| update)
    }
}

/// The treatment's comment (required).
pub(crate) fn commentaire(input: &str) -> Result<Commentaire, ValidationErrors> {
    Commentaire::parse(input).map_err(|error| {
        let message = match error {
            ValueError::Text(hub_kernel::TextError::Required) => {
                "Le commentaire de traitement est obligatoire".to_owned()
            }
            other => other.to_string(),
        };
        ValidationErrors::single("commentaire", "invalid", message)
    })
}

/// The reopening's reason: required, since reopening restarts the deadline
/// clock and the escalation, and whoever is paged again must read why.
pub(crate) fn motif(input: Option<&str>) -> Result<Motif, ValidationErrors> {
    match input.map(str::trim).filter(|m| !m.is_empty()) {
        None => Err(ValidationErrors::single(
            "motif",
            "required",
            "Le motif de la réouverture est obligatoire",
        )),
        Some(m) => {
            Motif::parse(m).map_err(|e| ValidationErrors::single("motif", "invalid", e.to_string()))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_invalid_field_is_reported_at_once() {
        let input = SignalementInput {
            titre: " ".into(),
            description: "".into(),
            priorite: Some("urgente".into()),
            photo_url: Some("javascript:alert(1)".into()),
            localisation: Some("a\u{7}b".into()),
            ..SignalementInput::default()
        };
        let errors = input.validate().unwrap_err();
        let fields: Vec<&str> = errors.errors().iter().map(|e| e.field.as_str()).collect();
        assert_eq!(
            fields,
            [
                "titre",
                "description",
                "priorite",
                "photo_url",
                "localisation"
            ]
        );
        assert_eq!(
            errors.errors()[2].message,
            "Priorité invalide: urgente. Valeurs acceptées: critique, haute, moyenne, basse"
        );
    }

    #[test]
    fn defaults_and_blank_optionals() {
        let input = SignalementInput {
            titre: "Fuite".into(),
            description: "Au sous-sol".into(),
            photo_url: Some("  ".into()),
            localisation: Some("".into()),
            priorite: Some("HAUTE".into()),
            ..SignalementInput::default()
        };
        let nouveau = input.validate().unwrap();
        assert_eq!(nouveau.priorite, Priorite::Haute);
        assert_eq!((nouveau.photo_url, nouveau.localisation), (None, None));
        let update = UpdateInput {
            localisation: Some(Some("".into())),
            ..UpdateInput::default()
        }
        .validate()
        .unwrap();
        assert_eq!(update.localisation, Some(None), "\"\" clears it");
        assert!(
            UpdateInput {
                titre: Some("  ".into()),
                ..UpdateInput::default()
            }
            .validate()
            .is_err(),
            "a blank title is refused on update too"
        );
    }

    #[test]
    fn the_treatment_comment_is_required() {
        let errors = commentaire("  ").unwrap_err();
        assert_eq!(
            errors.errors()[0].message,
            "Le commentaire de traitement est obligatoire"
        );
        for blank in [None, Some(" ")] {
            assert_eq!(motif(blank).unwrap_err().errors()[0].code, "required");
        }
        assert!(motif(Some(&"x".repeat(2001))).is_err());
    }
}
