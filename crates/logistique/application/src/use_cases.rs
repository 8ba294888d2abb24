//! The logistique use cases. Each holds its ports and has one `execute`;
//! each either stores its change with exactly its events, or fails and
//! publishes nothing. A réservation out of the caller's sight is "not
//! found"; in sight but not allowed is "forbidden".

use std::sync::Arc;

use hub_kernel::{
    Actor, Clock, CommandContext, DomainEvent, EnvelopeError, Role, StorageError, ValidationErrors,
};
use hub_logistique_domain::{
    CategorieRessource, ChantierInfo, CodeRessource, Commentaire, Couleur, Creneau,
    DescriptionRessource, Heure, MotifRefus, NomRessource, NouvelleReservation, NouvelleRessource,
    PhotoUrl, PlageHoraire, Reservation, ReservationError, ReservationUpdate, Ressource,
    RessourceError, RessourceUpdate,
};
use time::Date;
use uuid::Uuid;

use crate::ports::{Directory, RepositoryError, ReservationRepository, RessourceRepository};

/// Why a logistique command failed; the HTTP adapter maps each to a status.
#[derive(Debug, thiserror::Error)]
pub enum LogistiqueError {
    #[error("{0}")]
    Invalid(ValidationErrors),
    #[error("Ressource non trouvée")]
    RessourceNotFound,
    #[error("Réservation non trouvée")]
    ReservationNotFound,
    #[error("Une ressource avec le code '{0}' existe déjà")]
    CodeTaken(String),
    /// The slot overlaps another active booking of the ressource.
    #[error("Conflit de réservation avec la réservation {other}")]
    ReservationConflict { other: Uuid },
    #[error("{0}")]
    Forbidden(&'static str),
    #[error(transparent)]
    Reservation(#[from] ReservationError),
    #[error(transparent)]
    Ressource(#[from] RessourceError),
    #[error("it was changed by someone else meanwhile; reload it and retry")]
    Conflict,
    /// Storage failed, or an event could not be built: a 500, logged with its cause.
    #[error("logistique is unavailable")]
    Unavailable(#[source] Box<dyn std::error::Error + Send + Sync>),
}

impl From<RepositoryError> for LogistiqueError {
    fn from(error: RepositoryError) -> Self {
        match error {
            RepositoryError::NotFound => Self::ReservationNotFound,
            RepositoryError::CodeTaken => Self::CodeTaken(String::new()),
            RepositoryError::Overlap { other } => Self::ReservationConflict { other },
            RepositoryError::Conflict => Self::Conflict,
            RepositoryError::Storage(error) => Self::Unavailable(error.into()),
        }
    }
}

impl From<StorageError> for LogistiqueError {
    fn from(error: StorageError) -> Self {
        Self::Unavailable(error.into())
    }
}

impl From<EnvelopeError> for LogistiqueError {
    fn from(error: EnvelopeError) -> Self {
        Self::Unavailable(error.into())
    }
}

impl From<ValidationErrors> for LogistiqueError {
    fn from(errors: ValidationErrors) -> Self {
        Self::Invalid(errors)
    }
}

type Result<T> = std::result::Result<T, LogistiqueError>;

/// The ports every logistique use case is built from.
#[derive(Clone)]
pub struct LogistiquePorts {
    pub ressources: Arc<dyn RessourceRepository>,
    pub reservations: Arc<dyn ReservationRepository>,
    pub directory: Arc<dyn Directory>,
    pub clock: Arc<dyn Clock>,
}

fn actor_of(context: &CommandContext) -> Result<Actor> {
    context
        .actor
        .ok_or(LogistiqueError::Forbidden("a user must act"))
}

fn wrap(
    context: &CommandContext,
    event: &impl DomainEvent,
    clock: &dyn Clock,
) -> Result<Vec<hub_kernel::EventEnvelope>> {
    Ok(vec![context.wrap(event, clock)?])
}

impl LogistiquePorts {
    fn today(&self) -> Date {
        self.clock.now().date()
    }

    /// The chantier of a réservation; a chantier no longer known counts as
    /// a closed one without responsables (only admins decide there).
    async fn chantier_or_closed(&self, chantier_id: Uuid) -> Result<ChantierInfo> {
        Ok(self
            .directory
            .chantier(chantier_id)
            .await?
            .unwrap_or(ChantierInfo {
                chantier_id,
                ferme: true,
                conducteur_ids: Vec::new(),
                chef_chantier_ids: Vec::new(),
            }))
    }

    /// The réservation and its chantier, if the actor sees it.
    async fn load(&self, actor: &Actor, id: Uuid) -> Result<(Reservation, ChantierInfo)> {
        let reservation = self
            .reservations
            .find(id)
            .await?
            .ok_or(LogistiqueError::ReservationNotFound)?;
        let chantier = self.chantier_or_closed(reservation.chantier_id()).await?;
        if !reservation.visible_par(actor, &chantier) {
            return Err(LogistiqueError::ReservationNotFound);
        }
        Ok((reservation, chantier))
    }
}

hub_kernel::use_cases! {
    LogistiquePorts;
    /// Adds a ressource to the catalogue (admin); publishes `ressource.created`.
    CreateRessource,
    /// Changes a ressource (admin); publishes `ressource.updated`.
    UpdateRessource,
    /// Removes a ressource from the catalogue (admin, soft delete);
    /// publishes `ressource.deleted`.
    DeleteRessource,
    /// Books a ressource for a chantier; publishes `reservation.created`.
    CreateReservation,
    /// One réservation, if the caller sees it (its demandeur or a valideur
    /// of its chantier).
    GetReservation,
    /// Its demandeur moves or annotates a pending booking; publishes
    /// `reservation.updated`.
    UpdateReservation,
    /// Approves a pending booking; publishes `reservation.validated`.
    ValiderReservation,
    /// Refuses a pending booking with a motif; publishes `reservation.refused`.
    RefuserReservation,
    /// Cancels a booking; publishes `reservation.cancelled`.
    AnnulerReservation,
    /// Cancels the future active bookings of a chantier that was closed or
    /// deleted; publishes one `reservation.cancelled` each.
    CancelChantierReservations,
}

/// What adding a ressource needs, as received.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RessourceInput {
    pub code: String,
    pub nom: String,
    pub categorie: String,
    pub photo_url: Option<String>,
    pub couleur: Option<String>,
    pub heure_debut_defaut: Option<String>,
    pub heure_fin_defaut: Option<String>,
    pub validation_requise: Option<bool>,
    pub description: Option<String>,
}

impl RessourceInput {
    /// Every invalid field at once.
    pub fn validate(self) -> std::result::Result<NouvelleRessource, ValidationErrors> {
        let mut errors = ValidationErrors::new();
        let code = errors.check("code", "invalid", CodeRessource::parse(&self.code));
        let nom = errors.check("nom", "invalid", NomRessource::parse(&self.nom));
        let categorie = errors.check(
            "categorie",
            "invalid",
            self.categorie.parse::<CategorieRessource>(),
        );
        let photo_url = self
            .photo_url
            .as_deref()
            .map(|url| errors.check("photo_url", "invalid", PhotoUrl::parse(url)));
        let couleur = self
            .couleur
            .as_deref()
            .map(|c| errors.check("couleur", "invalid", Couleur::parse(c)));
        let debut = self
            .heure_debut_defaut
            .as_deref()
            .map(|h| errors.check("heure_debut_defaut", "invalid", Heure::parse(h)));
        let fin = self
            .heure_fin_defaut
            .as_deref()
            .map(|h| errors.check("heure_fin_defaut", "invalid", Heure::parse(h)));
        let journee = PlageHoraire::journee();
        let plage_defaut = match (debut, fin) {
            (None, None) => None,
            (Some(Some(d)), None) => errors.check(
                "heure_fin_defaut",
                "invalid",
                PlageHoraire::new(d, journee.fin()),
            ),
            (None, Some(Some(f))) => errors.check(
                "heure_fin_defaut",
                "invalid",
                PlageHoraire::new(journee.debut(), f),
            ),
            (Some(Some(d)), Some(Some(f))) => {
                errors.check("heure_fin_defaut", "invalid", PlageHoraire::new(d, f))
            }
            _ => None,
        };
        let description = self
            .description
            .as_deref()
            .map(|d| errors.check("description", "invalid", DescriptionRessource::parse(d)));
        errors.into_result()?;
        match (code, nom, categorie) {
            (Some(code), Some(nom), Some(categorie)) => Ok(NouvelleRessource {
                code,
                nom,
                categorie,
                photo_url: photo_url.flatten(),
                couleur: couleur.flatten(),
                plage_defaut,
                validation_requise: self.validation_requise,
                description: description.flatten(),
            }),
            _ => Err(ValidationErrors::single(
                "body",
                "invalid",
                "invalid ressource",
            )),
        }
    }
}

/// What booking a ressource needs, as received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReservationInput {
    pub ressource_id: Uuid,
    pub chantier_id: Uuid,
    pub date_reservation: Date,
    pub heure_debut: String,
    pub heure_fin: String,
    pub commentaire: Option<String>,
}

impl ReservationInput {
    pub fn validate(self) -> std::result::Result<NouvelleReservation, ValidationErrors> {
        let mut errors = ValidationErrors::new();
        let debut = errors.check("heure_debut", "invalid", Heure::parse(&self.heure_debut));
        let fin = errors.check("heure_fin", "invalid", Heure::parse(&self.heure_fin));
        let plage = match (debut, fin) {
            (Some(d), Some(f)) => errors.check("heure_fin", "invalid", PlageHoraire::new(d, f)),
            _ => None,
        };
        let commentaire = self
            .commentaire
            .as_deref()
            .map(|c| errors.check("commentaire", "invalid", Commentaire::parse(c)));
        errors.into_result()?;
        let plage = plage
            .ok_or_else(|| ValidationErrors::single("heure_fin", "invalid", "invalid slot"))?;
        Ok(NouvelleReservation {
            ressource_id: self.ressource_id,
            chantier_id: self.chantier_id,
            creneau: Creneau {
                date: self.date_reservation,
                plage,
            },
            commentaire: commentaire.flatten(),
        })
    }
}

const ADMIN_ONLY: &str = "Seuls les administrateurs gèrent les ressources";

impl CreateRessource {
    pub async fn execute(
        &self,
        context: &CommandContext,
        input: RessourceInput,
    ) -> Result<Ressource> {
        let actor = actor_of(context)?;
        if actor.role != Role::Admin {
            return Err(LogistiqueError::Forbidden(ADMIN_ONLY));
        }
        let nouvelle = input.validate()?;
        let code = nouvelle.code.to_string();
        let (ressource, event) = Ressource::create(nouvelle, actor.user_id, self.ports.clock.now());
        let events = wrap(context, &event, &*self.ports.clock)?;
        match self.ports.ressources.insert(&ressource, &events).await {
            Err(RepositoryError::CodeTaken) => Err(LogistiqueError::CodeTaken(code)),
            other => other.map_err(LogistiqueError::from),
        }?;
        Ok(ressource)
    }
}

/// A partial update of a ressource, as received: `None` = unchanged,
/// `Some(None)` clears an optional field.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RessourceUpdateInput {
    pub code: Option<String>,
    pub nom: Option<String>,
    pub categorie: Option<String>,
    pub photo_url: Option<Option<String>>,
    pub couleur: Option<String>,
    pub heure_debut_defaut: Option<String>,
    pub heure_fin_defaut: Option<String>,
    pub validation_requise: Option<bool>,
    pub actif: Option<bool>,
    pub description: Option<Option<String>>,
}

impl UpdateRessource {
    pub async fn execute(
        &self,
        context: &CommandContext,
        id: Uuid,
        input: RessourceUpdateInput,
    ) -> Result<Ressource> {
        let actor = actor_of(context)?;
        if actor.role != Role::Admin {
            return Err(LogistiqueError::Forbidden(ADMIN_ONLY));
        }
        let mut ressource = self
            .ports
            .ressources
            .find(id)
            .await?
            .ok_or(LogistiqueError::RessourceNotFound)?;
        let mut errors = ValidationErrors::new();
        let code = input
            .code
            .as_deref()
            .and_then(|c| errors.check("code", "invalid", CodeRessource::parse(c)));
        let nom = input
            .nom
            .as_deref()
            .and_then(|n| errors.check("nom", "invalid", NomRessource::parse(n)));
        let categorie = input
            .categorie
            .as_deref()
            .and_then(|c| errors.check("categorie", "invalid", c.parse::<CategorieRessource>()));
        let photo_url = input.photo_url.map(|p| {
            p.as_deref()
                .and_then(|p| errors.check("photo_url", "invalid", PhotoUrl::parse(p)))
        });
        let couleur = input
            .couleur
            .as_deref()
            .and_then(|c| errors.check("couleur", "invalid", Couleur::parse(c)));
        let debut = input
            .heure_debut_defaut
            .as_deref()
            .map(|h| errors.check("heure_debut_defaut", "invalid", Heure::parse(h)));
        let fin = input
            .heure_fin_defaut
            .as_deref()
            .map(|h| errors.check("heure_fin_defaut", "invalid", Heure::parse(h)));
        // A missing bound keeps its current value; the pair is re-validated.
        let current = ressource.stored().plage_defaut;
        let plage_defaut = match (debut, fin) {
            (None, None) => None,
            (d, f) => errors.check(
                "heure_fin_defaut",
                "invalid",
                PlageHoraire::new(
                    d.flatten().unwrap_or(current.debut()),
                    f.flatten().unwrap_or(current.fin()),
                ),
            ),
        };
        let description = input.description.map(|d| {
            d.as_deref().and_then(|d| {
                errors.check("description", "invalid", DescriptionRessource::parse(d))
            })
        });
        errors.into_result()?;
        let new_code = code.as_ref().map(ToString::to_string);
        let update = RessourceUpdate {
            code,
            nom,
            categorie,
            photo_url,
            couleur,
            plage_defaut,
            validation_requise: input.validation_requise,
            actif: input.actif,
            description,
        };
        let Some(event) = ressource.update(update, self.ports.clock.now())? else {
            return Ok(ressource);
        };
        let events = wrap(context, &event, &*self.ports.clock)?;
        match self.ports.ressources.update(&ressource, &events).await {
            Err(RepositoryError::CodeTaken) => {
                Err(LogistiqueError::CodeTaken(new_code.unwrap_or_default()))
            }
            other => other.map_err(LogistiqueError::from),
        }?;
        Ok(ressource)
    }
}

impl DeleteRessource {
    pub async fn execute(&self, context: &CommandContext, id: Uuid) -> Result<()> {
        let actor = actor_of(context)?;
        if actor.role != Role::Admin {
            return Err(LogistiqueError::Forbidden(ADMIN_ONLY));
        }
        let mut ressource = self
            .ports
            .ressources
            .find(id)
            .await?
            .ok_or(LogistiqueError::RessourceNotFound)?;
        let event = ressource.supprimer(actor.user_id, self.ports.clock.now())?;
        let events = wrap(context, &event, &*self.ports.clock)?;
        self.ports.ressources.update(&ressource, &events).await?;
        Ok(())
    }
}

impl CreateReservation {
    pub async fn execute(
        &self,
        context: &CommandContext,
        input: ReservationInput,
    ) -> Result<Reservation> {
        let actor = actor_of(context)?;
        let nouvelle = input.validate()?;
        let ressource = self
            .ports
            .ressources
            .find(nouvelle.ressource_id)
            .await?
            .ok_or(LogistiqueError::RessourceNotFound)?;
        let chantier = self
            .ports
            .directory
            .chantier(nouvelle.chantier_id)
            .await?
            .ok_or_else(|| {
                LogistiqueError::Invalid(ValidationErrors::single(
                    "chantier_id",
                    "unknown_chantier",
                    "no chantier with this id",
                ))
            })?;
        let now = self.ports.clock.now();
        let (reservation, event) = Reservation::create(
            nouvelle,
            &ressource,
            &chantier,
            actor.user_id,
            self.ports.today(),
            now,
        )?;
        let events = wrap(context, &event, &*self.ports.clock)?;
        self.ports
            .reservations
            .insert(&reservation, &events)
            .await?;
        Ok(reservation)
    }
}

/// A partial update of a booking, as received: `None` = unchanged,
/// `Some(None)` clears the commentaire.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReservationUpdateInput {
    pub date_reservation: Option<Date>,
    pub heure_debut: Option<String>,
    pub heure_fin: Option<String>,
    pub commentaire: Option<Option<String>>,
}

impl GetReservation {
    pub async fn execute(&self, context: &CommandContext, id: Uuid) -> Result<Reservation> {
        let actor = actor_of(context)?;
        Ok(self.ports.load(&actor, id).await?.0)
    }
}

impl UpdateReservation {
    pub async fn execute(
        &self,
        context: &CommandContext,
        id: Uuid,
        input: ReservationUpdateInput,
    ) -> Result<Reservation> {
        let actor = actor_of(context)?;
        let (mut reservation, _) = self.ports.load(&actor, id).await?;
        let mut errors = ValidationErrors::new();
        let debut = input
            .heure_debut
            .as_deref()
            .map(|h| errors.check("heure_debut", "invalid", Heure::parse(h)));
        let fin = input
            .heure_fin
            .as_deref()
            .map(|h| errors.check("heure_fin", "invalid", Heure::parse(h)));
        let commentaire = input.commentaire.map(|c| {
            c.as_deref()
                .map(str::trim)
                .filter(|c| !c.is_empty())
                .and_then(|c| errors.check("commentaire", "invalid", Commentaire::parse(c)))
        });
        // A missing bound keeps its current value; the pair is re-validated.
        let current = reservation.creneau().plage;
        let plage = match (debut, fin) {
            (None, None) => None,
            (d, f) => {
                let d = d.flatten().unwrap_or(current.debut());
                let f = f.flatten().unwrap_or(current.fin());
                errors.check("heure_fin", "invalid", PlageHoraire::new(d, f))
            }
        };
        errors.into_result()?;
        let update = ReservationUpdate {
            date: input.date_reservation,
            plage,
            commentaire,
        };
        let now = self.ports.clock.now();
        let Some(event) = reservation.update(update, actor.user_id, self.ports.today(), now)?
        else {
            return Ok(reservation);
        };
        let events = wrap(context, &event, &*self.ports.clock)?;
        self.ports
            .reservations
            .update(&reservation, &events)
            .await?;
        Ok(reservation)
    }
}

impl ValiderReservation {
    pub async fn execute(&self, context: &CommandContext, id: Uuid) -> Result<Reservation> {
        let actor = actor_of(context)?;
        let (mut reservation, chantier) = self.ports.load(&actor, id).await?;
        let event = reservation.valider(&actor, &chantier, self.ports.clock.now())?;
        let events = wrap(context, &event, &*self.ports.clock)?;
        self.ports
            .reservations
            .update(&reservation, &events)
            .await?;
        Ok(reservation)
    }
}

impl RefuserReservation {
    pub async fn execute(
        &self,
        context: &CommandContext,
        id: Uuid,
        motif: &str,
    ) -> Result<Reservation> {
        let actor = actor_of(context)?;
        let motif = MotifRefus::parse(motif)
            .map_err(|e| ValidationErrors::single("motif", "invalid", e.to_string()))?;
        let (mut reservation, chantier) = self.ports.load(&actor, id).await?;
        let event = reservation.refuser(&actor, &chantier, motif, self.ports.clock.now())?;
        let events = wrap(context, &event, &*self.ports.clock)?;
        self.ports
            .reservations
            .update(&reservation, &events)
            .await?;
        Ok(reservation)
    }
}

impl AnnulerReservation {
    pub async fn execute(&self, context: &CommandContext, id: Uuid) -> Result<Reservation> {
        let actor = actor_of(context)?;
        let (mut reservation, chantier) = self.ports.load(&actor, id).await?;
        let event = reservation.annuler(&actor, &chantier, self.ports.clock.now())?;
        let events = wrap(context, &event, &*self.ports.clock)?;
        self.ports
            .reservations
            .update(&reservation, &events)
            .await?;
        Ok(reservation)
    }
}

impl CancelChantierReservations {
    /// Cancels from today on, each booking in its own write; returns how
    /// many were cancelled. Run again, it finds none left (idempotent).
    pub async fn execute(
        &self,
        context: &CommandContext,
        chantier_id: Uuid,
        motif: &str,
    ) -> Result<usize> {
        let reservations = self
            .ports
            .reservations
            .active_from(chantier_id, self.ports.today())
            .await?;
        let mut cancelled = 0;
        for mut reservation in reservations {
            let event = reservation.annuler_par_systeme(motif, self.ports.clock.now())?;
            let events = wrap(context, &event, &*self.ports.clock)?;
            match self.ports.reservations.update(&reservation, &events).await {
                // Changed meanwhile (cancelled by its demandeur, …): the
                // next delivery of the event finds it settled.
                Err(RepositoryError::Conflict) => continue,
                other => other?,
            }
            cancelled += 1;
        }
        Ok(cancelled)
    }
}

#[cfg(test)]
mod tests;
