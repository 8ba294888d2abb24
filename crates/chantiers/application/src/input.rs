//! Raw inputs of the commands, turned into domain values here so that every
//! invalid field is reported at once (422 with field errors).

use hub_chantiers_domain::{
    Adresse, ChantierCode, ChantierDetails, ChantierUpdate, Contact, CoordonneesGps, Couleur,
    HeuresEstimees, NomChantier,
};
use hub_kernel::ValidationErrors;
use time::Date;

#[derive(Debug, Clone, PartialEq)]
pub struct GpsInput {
    pub latitude: f64,
    pub longitude: f64,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ContactInput {
    pub nom: Option<String>,
    pub telephone: Option<String>,
    pub email: Option<String>,
}

/// What creating a chantier needs.
#[derive(Debug, Clone, PartialEq)]
pub struct ChantierInput {
    pub code: String,
    pub nom: String,
    pub adresse: String,
    pub couleur: Option<String>,
    pub coordonnees_gps: Option<GpsInput>,
    pub contact: Option<ContactInput>,
    pub heures_estimees: Option<f64>,
    pub date_debut: Option<Date>,
    pub date_fin: Option<Date>,
}

/// A partial update: `None` = unchanged, `Some(None)` = cleared.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct UpdateInput {
    pub code: Option<String>,
    pub nom: Option<String>,
    pub adresse: Option<String>,
    pub couleur: Option<String>,
    pub coordonnees_gps: Option<Option<GpsInput>>,
    pub contact: Option<Option<ContactInput>>,
    pub heures_estimees: Option<Option<f64>>,
    pub date_debut: Option<Option<Date>>,
    pub date_fin: Option<Option<Date>>,
}

fn gps(errors: &mut ValidationErrors, input: &GpsInput) -> Option<CoordonneesGps> {
    errors.check(
        "coordonnees_gps",
        "invalid",
        CoordonneesGps::new(input.latitude, input.longitude),
    )
}

fn contact(errors: &mut ValidationErrors, input: &ContactInput) -> Option<Contact> {
    errors.check(
        "contact",
        "invalid",
        Contact::new(
            input.nom.as_deref(),
            input.telephone.as_deref(),
            input.email.as_deref(),
        ),
    )
}

fn hours(errors: &mut ValidationErrors, value: f64) -> Option<HeuresEstimees> {
    errors.check("heures_estimees", "invalid", HeuresEstimees::new(value))
}

impl ChantierInput {
    pub fn validate(&self) -> Result<ChantierDetails, ValidationErrors> {
        let mut errors = ValidationErrors::new();
        let code = errors.check("code", "invalid", ChantierCode::parse(&self.code));
        let nom = errors.check("nom", "invalid", NomChantier::parse(&self.nom));
        let adresse = errors.check("adresse", "invalid", Adresse::parse(&self.adresse));
        let couleur = match &self.couleur {
            None => Some(Couleur::default_colour()),
            Some(c) => errors.check("couleur", "invalid", Couleur::parse(c)),
        };
        let coordonnees_gps = self.coordonnees_gps.as_ref().map(|g| gps(&mut errors, g));
        let contact = self.contact.as_ref().map(|c| contact(&mut errors, c));
        let heures_estimees = self.heures_estimees.map(|h| hours(&mut errors, h));
        match (code, nom, adresse, couleur) {
            (Some(code), Some(nom), Some(adresse), Some(couleur)) if errors.is_empty() => {
                Ok(ChantierDetails {
                    code,
                    nom,
                    adresse,
                    couleur,
                    coordonnees_gps: coordonnees_gps.flatten(),
                    contact: contact.flatten(),
                    heures_estimees: heures_estimees.flatten(),
                    date_debut: self.date_debut,
                    date_fin: self.date_fin,
                })
            }
            _ => Err(errors),
        }
    }
}

impl UpdateInput {
    pub fn validate(&self) -> Result<ChantierUpdate, ValidationErrors> {
        let mut errors = ValidationErrors::new();
        let update = ChantierUpdate {
            code: self
                .code
                .as_deref()
                .and_then(|c| errors.check("code", "invalid", ChantierCode::parse(c))),
            nom: self
                .nom
                .as_deref()
                .and_then(|n| errors.check("nom", "invalid", NomChantier::parse(n))),
            adresse: self
                .adresse
                .as_deref()
                .and_then(|a| errors.check("adresse", "invalid", Adresse::parse(a))),
            couleur: self
                .couleur
                .as_deref()
                .and_then(|c| errors.check("couleur", "invalid", Couleur::parse(c))),
            coordonnees_gps: self
                .coordonnees_gps
                .as_ref()
                .map(|g| g.as_ref().and_then(|g| gps(&mut errors, g))),
            contact: self
                .contact
                .as_ref()
                .map(|c| c.as_ref().and_then(|c| contact(&mut errors, c))),
            heures_estimees: self
                .heures_estimees
                .map(|h| h.and_then(|h| hours(&mut errors, h))),
            date_debut: self.date_debut,
            date_fin: self.date_fin,
        };
        errors.into_result().map(|()| update)
    }
}
