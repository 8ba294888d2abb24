//! HTTP routes of the logistique context: `/api/v1/logistique/*` — the
//! ressources catalogue, their plannings and historique, réservations and
//! their validation, a chantier's bookings.

use actix_web::http::{StatusCode, header};
use actix_web::{HttpResponse, web};
use hub_kernel::ValidationErrors;
use hub_logistique_application::{
    AnnulerReservation, CreateReservation, CreateRessource, DeleteRessource, DisplayNames,
    GetReservation, GetRessource, HistoriqueRessource, Libelles, ListRessources, LogistiqueError,
    LogistiquePorts, PlanningRessource, RefuserReservation, ReservationInput,
    ReservationUpdateInput, ReservationsChantier, ReservationsEnAttente, RessourceInput,
    RessourceUpdateInput, UpdateReservation, UpdateRessource, ValiderReservation,
};
use hub_logistique_domain::{
    CategorieRessource, CodeRessource, Couleur, Heure, Reservation, ReservationError, Ressource,
    RessourceError, StatutReservation,
};
use hub_platform_http::auth::{AdminOnly, Authenticated, Authorized};
use hub_platform_http::openapi::ProblemSchema;
use hub_platform_http::{IsoDate, Problem, RequestId, extractors, present};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::{IntoParams, OpenApi, ToSchema};
use uuid::Uuid;

/// The use cases behind the routes.
pub struct LogistiqueHttp {
    create_ressource: CreateRessource,
    update_ressource: UpdateRessource,
    delete_ressource: DeleteRessource,
    get_ressource: GetRessource,
    list_ressources: ListRessources,
    planning: PlanningRessource,
    historique: HistoriqueRessource,
    create: CreateReservation,
    get: GetReservation,
    update: UpdateReservation,
    valider: ValiderReservation,
    refuser: RefuserReservation,
    annuler: AnnulerReservation,
    en_attente: ReservationsEnAttente,
    chantier: ReservationsChantier,
    names: DisplayNames,
}

impl std::fmt::Debug for LogistiqueHttp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("LogistiqueHttp")
    }
}

impl LogistiqueHttp {
    pub fn new(ports: LogistiquePorts) -> Self {
        Self {
            create_ressource: CreateRessource::new(ports.clone()),
            update_ressource: UpdateRessource::new(ports.clone()),
            delete_ressource: DeleteRessource::new(ports.clone()),
            get_ressource: GetRessource::new(ports.clone()),
            list_ressources: ListRessources::new(ports.clone()),
            planning: PlanningRessource::new(ports.clone()),
            historique: HistoriqueRessource::new(ports.clone()),
            create: CreateReservation::new(ports.clone()),
            get: GetReservation::new(ports.clone()),
            update: UpdateReservation::new(ports.clone()),
            valider: ValiderReservation::new(ports.clone()),
            refuser: RefuserReservation::new(ports.clone()),
            annuler: AnnulerReservation::new(ports.clone()),
            en_attente: ReservationsEnAttente::new(ports.clone()),
            chantier: ReservationsChantier::new(ports.clone()),
            names: DisplayNames::new(ports),
        }
    }

    /// Bookings with the names of their ressource, chantier and people.
    async fn show(
        &self,
        reservations: &[Reservation],
    ) -> Result<Vec<ReservationResponse>, Problem> {
        let libelles = self.names.execute(reservations).await.map_err(problem)?;
        Ok(reservations
            .iter()
            .map(|r| ReservationResponse::new(r, &libelles))
            .collect())
    }

    async fn show_one(&self, reservation: &Reservation) -> Result<ReservationResponse, Problem> {
        let mut shown = self.show(std::slice::from_ref(reservation)).await?;
        shown
            .pop()
            .ok_or_else(|| Problem::internal_message("a booking shown as nothing"))
    }
}

/// Registers the routes.
pub fn configure(cfg: &mut web::ServiceConfig, state: web::Data<LogistiqueHttp>) {
    cfg.app_data(state)
        .service(
            web::resource("/api/v1/logistique/ressources")
                .route(web::post().to(create_ressource))
                .route(web::get().to(list_ressources)),
        )
        .service(
            web::resource("/api/v1/logistique/ressources/{id}")
                .route(web::get().to(get_ressource))
                .route(web::put().to(update_ressource))
                .route(web::delete().to(delete_ressource)),
        )
        .route(
            "/api/v1/logistique/ressources/{id}/planning",
            web::get().to(planning_ressource),
        )
        .route(
            "/api/v1/logistique/ressources/{id}/historique",
            web::get().to(historique_ressource),
        )
        .route(
            "/api/v1/logistique/reservations",
            web::post().to(create_reservation),
        )
        // Before `/reservations/{id}`, which would take `en-attente` as an id.
        .route(
            "/api/v1/logistique/reservations/en-attente",
            web::get().to(reservations_en_attente),
        )
        .service(
            web::resource("/api/v1/logistique/reservations/{id}")
                .route(web::get().to(get_reservation))
                .route(web::put().to(update_reservation)),
        )
        .route(
            "/api/v1/logistique/reservations/{id}/valider",
            web::post().to(valider_reservation),
        )
        .route(
            "/api/v1/logistique/reservations/{id}/refuser",
            web::post().to(refuser_reservation),
        )
        .route(
            "/api/v1/logistique/reservations/{id}/annuler",
            web::post().to(annuler_reservation),
        )
        .route(
            "/api/v1/logistique/chantiers/{id}/reservations",
            web::get().to(chantier_reservations),
        );
}

/// OpenAPI document of this context.
#[derive(OpenApi)]
#[openapi(
    paths(
        create_ressource, list_ressources, get_ressource, update_ressource, delete_ressource,
        planning_ressource, historique_ressource, create_reservation, reservations_en_attente,
        get_reservation, update_reservation, valider_reservation, refuser_reservation,
        annuler_reservation, chantier_reservations
    ),
    components(schemas(
        RessourceResponse, RessourceListResponse, CreateRessourceRequest, UpdateRessourceRequest,
        ReservationResponse, ReservationListResponse, PlanningResponse, CreateReservationRequest,
        UpdateReservationRequest, RefuserRequest, CategorieDto, StatutDto, CodeText, CouleurText,
        HeureText, ProblemSchema
    )),
    tags((name = "logistique", description = "Equipment (ressources) and their bookings (réservations)"))
)]
pub struct LogistiqueApi;

// The request schemas of the constrained texts come from the domain values'
// patterns, so the document and the server cannot drift.
hub_platform_http::text_pattern_schema!(
    /// A ressource's code as the API takes it.
    CodeText,
    CodeRessource::PATTERN,
    "GRUE-01",
    "1 to 20 of `A-Z`, `0-9`, `-` (lower case is upper-cased)"
);
hub_platform_http::text_pattern_schema!(
    /// A display colour.
    CouleurText,
    Couleur::PATTERN,
    "#3B82F6",
    "`#RRGGBB`"
);
hub_platform_http::text_pattern_schema!(
    /// A clock time of the day.
    HeureText,
    Heure::PATTERN,
    "08:00",
    "`H:MM` or `HH:MM` (`HH:MM:00` accepted)"
);

/// What kind of equipment a ressource is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
#[schema(as = CategorieRessource)]
pub enum CategorieDto {
    EnginLevage,
    EnginTerrassement,
    Vehicule,
    GrosOutillage,
    Equipement,
}

impl From<CategorieRessource> for CategorieDto {
    fn from(categorie: CategorieRessource) -> Self {
        match categorie {
            CategorieRessource::EnginLevage => Self::EnginLevage,
            CategorieRessource::EnginTerrassement => Self::EnginTerrassement,
            CategorieRessource::Vehicule => Self::Vehicule,
            CategorieRessource::GrosOutillage => Self::GrosOutillage,
            CategorieRessource::Equipement => Self::Equipement,
        }
    }
}

/// Where a réservation stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
#[schema(as = StatutReservation)]
pub enum StatutDto {
    EnAttente,
    Validee,
    Refusee,
    Annulee,
}

impl From<StatutReservation> for StatutDto {
    fn from(statut: StatutReservation) -> Self {
        match statut {
            StatutReservation::EnAttente => Self::EnAttente,
            StatutReservation::Validee => Self::Validee,
            StatutReservation::Refusee => Self::Refusee,
            StatutReservation::Annulee => Self::Annulee,
        }
    }
}

/// A ressource of the catalogue.
#[derive(Debug, Serialize, ToSchema)]
pub struct RessourceResponse {
    id: Uuid,
    #[schema(example = "GRUE-01")]
    code: String,
    nom: String,
    categorie: CategorieDto,
    #[schema(example = "Engin de levage")]
    categorie_label: String,
    photo_url: Option<String>,
    #[schema(example = "#3B82F6")]
    couleur: String,
    /// `HH:MM`: the slot shown by default (bookings outside it are accepted).
    #[schema(example = "08:00")]
    heure_debut_defaut: String,
    #[schema(example = "18:00")]
    heure_fin_defaut: String,
    /// Bookings wait for a valideur; otherwise they are validated at once.
    validation_requise: bool,
    /// An inactive ressource cannot be booked.
    actif: bool,
    description: Option<String>,
    created_by: Uuid,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    updated_at: OffsetDateTime,
}

impl From<&Ressource> for RessourceResponse {
    fn from(ressource: &Ressource) -> Self {
        let r = ressource.stored();
        Self {
            id: r.id,
            code: r.code.to_string(),
            nom: r.nom.to_string(),
            categorie: r.categorie.into(),
            categorie_label: r.categorie.label().to_owned(),
            photo_url: r.photo_url.as_ref().map(|p| p.as_str().to_owned()),
            couleur: r.couleur.as_str().to_owned(),
            heure_debut_defaut: r.plage_defaut.debut().to_string(),
            heure_fin_defaut: r.plage_defaut.fin().to_string(),
            validation_requise: r.validation_requise,
            actif: r.actif,
            description: r.description.as_ref().map(ToString::to_string),
            created_by: r.created_by,
            created_at: r.created_at,
            updated_at: r.updated_at,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RessourceListResponse {
    total: u64,
    ressources: Vec<RessourceResponse>,
}

/// A booking, with the names of its ressource, chantier and people when
/// the logistique knows them.
#[derive(Debug, Serialize, ToSchema)]
pub struct ReservationResponse {
    id: Uuid,
    ressource_id: Uuid,
    ressource_nom: Option<String>,
    ressource_code: Option<String>,
    ressource_couleur: Option<String>,
    chantier_id: Uuid,
    chantier_nom: Option<String>,
    demandeur_id: Uuid,
    /// "Prénom Nom".
    demandeur_nom: Option<String>,
    date_reservation: IsoDate,
    /// `HH:MM`.
    #[schema(example = "08:00")]
    heure_debut: String,
    /// `HH:MM`, after `heure_debut` (the slot is `[debut, fin)`).
    #[schema(example = "12:00")]
    heure_fin: String,
    statut: StatutDto,
    #[schema(example = "En attente")]
    statut_label: String,
    #[schema(example = "#FFC107")]
    statut_couleur: String,
    motif_refus: Option<String>,
    commentaire: Option<String>,
    /// Who validated or refused it (`null` for an automatic validation).
    valideur_id: Option<Uuid>,
    valideur_nom: Option<String>,
    #[serde(with = "time::serde::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    validated_at: Option<OffsetDateTime>,
    /// Who cancelled it (`null` when the system did: chantier closed or deleted).
    cancelled_by: Option<Uuid>,
    #[serde(with = "time::serde::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    cancelled_at: Option<OffsetDateTime>,
    /// Why the system cancelled it.
    motif_annulation: Option<String>,
    /// Incremented by every change.
    version: i64,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    updated_at: OffsetDateTime,
}

impl ReservationResponse {
    fn new(reservation: &Reservation, libelles: &Libelles) -> Self {
        let r = reservation.stored();
        let ressource = libelles.ressources.get(&r.ressource_id);
        let user = |id: &Uuid| libelles.noms.utilisateurs.get(id).cloned();
        Self {
            id: r.id,
            ressource_id: r.ressource_id,
            ressource_nom: ressource.map(|x| x.nom().to_string()),
            ressource_code: ressource.map(|x| x.code().to_string()),
            ressource_couleur: ressource.map(|x| x.stored().couleur.as_str().to_owned()),
            chantier_id: r.chantier_id,
            chantier_nom: libelles.noms.chantiers.get(&r.chantier_id).cloned(),
            demandeur_id: r.demandeur_id,
            demandeur_nom: user(&r.demandeur_id),
            date_reservation: IsoDate(r.creneau.date),
            heure_debut: r.creneau.plage.debut().to_string(),
            heure_fin: r.creneau.plage.fin().to_string(),
            statut: r.statut.into(),
            statut_label: r.statut.label().to_owned(),
            statut_couleur: r.statut.couleur().to_owned(),
            motif_refus: r.motif_refus.as_ref().map(ToString::to_string),
            commentaire: r.commentaire.as_ref().map(ToString::to_string),
            valideur_id: r.valideur_id,
            valideur_nom: r.valideur_id.as_ref().and_then(user),
            validated_at: r.validated_at,
            cancelled_by: r.cancelled_by,
            cancelled_at: r.cancelled_at,
            motif_annulation: r.motif_annulation.clone(),
            version: r.version,
            created_at: r.created_at,
            updated_at: r.updated_at,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ReservationListResponse {
    total: u64,
    reservations: Vec<ReservationResponse>,
}

/// A ressource's active bookings over a period, and its days.
#[derive(Debug, Serialize, ToSchema)]
pub struct PlanningResponse {
    ressource_id: Uuid,
    ressource_nom: String,
    ressource_code: String,
    ressource_couleur: String,
    date_debut: IsoDate,
    date_fin: IsoDate,
    /// `en_attente` and `validee` bookings, by date then start.
    reservations: Vec<ReservationResponse>,
    /// Every day from `date_debut` to `date_fin`.
    #[schema(value_type = Vec<String>)]
    jours: Vec<IsoDate>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateRessourceRequest {
    /// 1–20 of `A-Z`, `0-9`, `-` (lower case is upper-cased); unique among
    /// the catalogue's ressources.
    #[schema(value_type = CodeText)]
    code: String,
    #[schema(example = "Grue mobile 50 t", min_length = 1, max_length = 200)]
    nom: String,
    #[schema(value_type = CategorieDto)]
    categorie: String,
    /// An `https://` URL, at most 500 characters.
    #[schema(max_length = 500)]
    photo_url: Option<String>,
    /// `#RRGGBB` (default `#3B82F6`).
    #[schema(value_type = Option<CouleurText>)]
    couleur: Option<String>,
    /// `HH:MM` (default 08:00).
    #[schema(value_type = Option<HeureText>)]
    heure_debut_defaut: Option<String>,
    /// `HH:MM`, after the start (default 18:00).
    #[schema(value_type = Option<HeureText>)]
    heure_fin_defaut: Option<String>,
    /// Default: the categorie's (`engin_levage`, `engin_terrassement`,
    /// `equipement` need validation).
    validation_requise: Option<bool>,
    #[schema(max_length = 2000)]
    description: Option<String>,
}

/// Every field optional; `null` clears `photo_url` / `description`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateRessourceRequest {
    #[schema(value_type = Option<CodeText>)]
    code: Option<String>,
    #[schema(min_length = 1, max_length = 200)]
    nom: Option<String>,
    #[schema(value_type = Option<CategorieDto>)]
    categorie: Option<String>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>, max_length = 500)]
    photo_url: Option<Option<String>>,
    #[schema(value_type = Option<CouleurText>)]
    couleur: Option<String>,
    #[schema(value_type = Option<HeureText>)]
    heure_debut_defaut: Option<String>,
    #[schema(value_type = Option<HeureText>)]
    heure_fin_defaut: Option<String>,
    validation_requise: Option<bool>,
    actif: Option<bool>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>, max_length = 2000)]
    description: Option<Option<String>>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateReservationRequest {
    ressource_id: Uuid,
    chantier_id: Uuid,
    /// Today or later.
    date_reservation: IsoDate,
    /// `HH:MM`.
    #[schema(value_type = HeureText)]
    heure_debut: String,
    /// `HH:MM`, after `heure_debut`.
    #[schema(value_type = HeureText)]
    heure_fin: String,
    #[schema(max_length = 1000)]
    commentaire: Option<String>,
}

/// The demandeur moves or annotates a pending booking; every field
/// optional, `null` clears the commentaire.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateReservationRequest {
    date_reservation: Option<IsoDate>,
    #[schema(value_type = Option<HeureText>)]
    heure_debut: Option<String>,
    #[schema(value_type = Option<HeureText>)]
    heure_fin: Option<String>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    commentaire: Option<Option<String>>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RefuserRequest {
    /// Why (1–1000 characters): the demandeur is told.
    #[schema(example = "Grue en révision cette semaine", max_length = 1000)]
    motif: String,
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct RessourcesQuery {
    /// One categorie only.
    categorie: Option<String>,
    /// Hide inactive ressources (default `true`).
    actif_seulement: Option<bool>,
    skip: Option<u64>,
    /// 1–100 (default 50).
    limit: Option<u64>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct PlanningQuery {
    /// First day (the client sends a Monday); or give `semaine`.
    #[param(value_type = Option<String>, format = Date)]
    date_debut: Option<IsoDate>,
    /// Last day (default `date_debut` + 6, at most 31 days in all).
    #[param(value_type = Option<String>, format = Date)]
    date_fin: Option<IsoDate>,
    /// An ISO 8601 week (`2026-W50`): its Monday to Sunday, instead of
    /// `date_debut` / `date_fin`.
    #[param(example = "2026-W50")]
    semaine: Option<String>,
}

impl PlanningQuery {
    /// The period asked for: a week, or `date_debut` (and `date_fin`).
    fn period(&self) -> Result<(time::Date, Option<time::Date>), Problem> {
        match (&self.semaine, self.date_debut) {
            (Some(semaine), None) if self.date_fin.is_none() => {
                let (lundi, dimanche) =
                    hub_logistique_application::semaine(semaine).map_err(Problem::validation)?;
                Ok((lundi, Some(dimanche)))
            }
            (None, Some(debut)) => Ok((debut.0, self.date_fin.map(|d| d.0))),
            (Some(_), _) => Err(Problem::validation(ValidationErrors::single(
                "semaine",
                "invalid",
                "give either semaine or date_debut / date_fin",
            ))),
            (None, None) => Err(Problem::validation(ValidationErrors::single(
                "date_debut",
                "required",
                "date_debut or semaine is required",
            ))),
        }
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    skip: Option<u64>,
    /// 1–100 (default 50).
    limit: Option<u64>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ChantierQuery {
    #[param(value_type = Option<String>, format = Date)]
    date_debut: Option<IsoDate>,
    #[param(value_type = Option<String>, format = Date)]
    date_fin: Option<IsoDate>,
    skip: Option<u64>,
    /// 1–100 (default 50).
    limit: Option<u64>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct IdPath {
    /// The ressource's, réservation's or chantier's id.
    id: Uuid,
}

fn problem(error: LogistiqueError) -> Problem {
    let unprocessable = |code: &'static str, error: &dyn std::fmt::Display| {
        Problem::new(StatusCode::UNPROCESSABLE_ENTITY, code, error.to_string())
    };
    match error {
        LogistiqueError::Invalid(errors) => Problem::validation(errors),
        LogistiqueError::RessourceNotFound
        | LogistiqueError::Ressource(RessourceError::Supprimee) => Problem::new(
            StatusCode::NOT_FOUND,
            "ressource_not_found",
            "Ressource non trouvée",
        ),
        LogistiqueError::ReservationNotFound => Problem::new(
            StatusCode::NOT_FOUND,
            "reservation_not_found",
            error.to_string(),
        ),
        LogistiqueError::CodeTaken(_) => {
            Problem::conflict("ressource_code_taken", error.to_string())
        }
        LogistiqueError::ReservationConflict { .. } => {
            Problem::conflict("reservation_conflict", error.to_string())
        }
        LogistiqueError::Forbidden(_) => Problem::forbidden(error.to_string()),
        LogistiqueError::Conflict => {
            Problem::conflict("concurrent_modification", error.to_string())
        }
        LogistiqueError::Reservation(rule) => match rule {
            ReservationError::InvalidTransition(_) => {
                Problem::conflict("invalid_transition", rule.to_string())
            }
            ReservationError::PasEnAttente => {
                Problem::conflict("reservation_not_pending", rule.to_string())
            }
            ReservationError::RessourceIndisponible => {
                unprocessable("ressource_unavailable", &rule)
            }
            ReservationError::ChantierFerme => unprocessable("chantier_ferme", &rule),
            ReservationError::DatePassee => unprocessable("date_passee", &rule),
            ReservationError::PasLeDemandeur
            | ReservationError::PasValideur
            | ReservationError::PropreDemande
            | ReservationError::AnnulationInterdite => Problem::forbidden(rule.to_string()),
        },
        LogistiqueError::Unavailable(_) => Problem::internal(&error),
    }
}

fn ressources_answer(found: &[Ressource], total: u64) -> RessourceListResponse {
    RessourceListResponse {
        total,
        ressources: found.iter().map(RessourceResponse::from).collect(),
    }
}

/// Add a ressource to the catalogue (admin).
#[utoipa::path(
    post, path = "/api/v1/logistique/ressources", tag = "logistique",
    request_body = CreateRessourceRequest,
    responses(
        (status = 201, body = RessourceResponse),
        (status = 409, description = "`ressource_code_taken`", body = ProblemSchema),
    )
)]
async fn create_ressource(
    state: web::Data<LogistiqueHttp>,
    user: Authorized<AdminOnly>,
    request_id: RequestId,
    body: web::Json<CreateRessourceRequest>,
) -> Result<HttpResponse, Problem> {
    let body = body.into_inner();
    let input = RessourceInput {
        code: body.code,
        nom: body.nom,
        categorie: body.categorie,
        photo_url: body.photo_url,
        couleur: body.couleur,
        heure_debut_defaut: body.heure_debut_defaut,
        heure_fin_defaut: body.heure_fin_defaut,
        validation_requise: body.validation_requise,
        description: body.description,
    };
    let created = state
        .create_ressource
        .execute(&request_id.command_context(user.actor), input)
        .await
        .map_err(problem)?;
    Ok(HttpResponse::Created()
        .insert_header((
            header::LOCATION,
            format!("/api/v1/logistique/ressources/{}", created.id()),
        ))
        .json(RessourceResponse::from(&created)))
}

/// The catalogue, by nom.
#[utoipa::path(
    get, path = "/api/v1/logistique/ressources", tag = "logistique", params(RessourcesQuery),
    responses((status = 200, body = RessourceListResponse))
)]
async fn list_ressources(
    state: web::Data<LogistiqueHttp>,
    _user: Authenticated,
    query: web::Query<RessourcesQuery>,
) -> Result<web::Json<RessourceListResponse>, Problem> {
    let page = extractors::page(query.skip, query.limit)?;
    let (found, total) = state
        .list_ressources
        .execute(
            query.categorie.as_deref(),
            query.actif_seulement.unwrap_or(true),
            page,
        )
        .await
        .map_err(problem)?;
    Ok(web::Json(ressources_answer(&found, total)))
}

/// One ressource.
#[utoipa::path(
    get, path = "/api/v1/logistique/ressources/{id}", tag = "logistique", params(IdPath),
    responses(
        (status = 200, body = RessourceResponse),
        (status = 404, description = "`ressource_not_found` (deleted ones included)", body = ProblemSchema),
    )
)]
async fn get_ressource(
    state: web::Data<LogistiqueHttp>,
    _user: Authenticated,
    path: web::Path<IdPath>,
) -> Result<web::Json<RessourceResponse>, Problem> {
    let found = state
        .get_ressource
        .execute(path.id)
        .await
        .map_err(problem)?;
    Ok(web::Json(RessourceResponse::from(&found)))
}

/// Change a ressource (admin); its bookings are never touched.
#[utoipa::path(
    put, path = "/api/v1/logistique/ressources/{id}", tag = "logistique", params(IdPath),
    request_body = UpdateRessourceRequest,
    responses(
        (status = 200, body = RessourceResponse),
        (status = 404, description = "`ressource_not_found`", body = ProblemSchema),
        (status = 409, description = "`ressource_code_taken`", body = ProblemSchema),
    )
)]
async fn update_ressource(
    state: web::Data<LogistiqueHttp>,
    user: Authorized<AdminOnly>,
    request_id: RequestId,
    path: web::Path<IdPath>,
    body: web::Json<UpdateRessourceRequest>,
) -> Result<web::Json<RessourceResponse>, Problem> {
    let body = body.into_inner();
    let input = RessourceUpdateInput {
        code: body.code,
        nom: body.nom,
        categorie: body.categorie,
        photo_url: body.photo_url,
        couleur: body.couleur,
        heure_debut_defaut: body.heure_debut_defaut,
        heure_fin_defaut: body.heure_fin_defaut,
        validation_requise: body.validation_requise,
        actif: body.actif,
        description: body.description,
    };
    let updated = state
        .update_ressource
        .execute(&request_id.command_context(user.actor), path.id, input)
        .await
        .map_err(problem)?;
    Ok(web::Json(RessourceResponse::from(&updated)))
}

/// Remove a ressource from the catalogue (admin); its bookings stay as they are.
#[utoipa::path(
    delete, path = "/api/v1/logistique/ressources/{id}", tag = "logistique", params(IdPath),
    responses(
        (status = 204, description = "Deleted"),
        (status = 404, description = "`ressource_not_found`", body = ProblemSchema),
    )
)]
async fn delete_ressource(
    state: web::Data<LogistiqueHttp>,
    user: Authorized<AdminOnly>,
    request_id: RequestId,
    path: web::Path<IdPath>,
) -> Result<HttpResponse, Problem> {
    state
        .delete_ressource
        .execute(&request_id.command_context(user.actor), path.id)
        .await
        .map_err(problem)?;
    Ok(HttpResponse::NoContent().finish())
}

/// A ressource's active bookings over a period: an ISO week
/// (`semaine`), or from `date_debut` (a week by default).
#[utoipa::path(
    get, path = "/api/v1/logistique/ressources/{id}/planning", tag = "logistique",
    params(IdPath, PlanningQuery),
    responses(
        (status = 200, body = PlanningResponse),
        (status = 404, description = "`ressource_not_found`", body = ProblemSchema),
    )
)]
async fn planning_ressource(
    state: web::Data<LogistiqueHttp>,
    _user: Authenticated,
    path: web::Path<IdPath>,
    query: web::Query<PlanningQuery>,
) -> Result<web::Json<PlanningResponse>, Problem> {
    let (date_debut, date_fin) = query.period()?;
    let planning = state
        .planning
        .execute(path.id, date_debut, date_fin)
        .await
        .map_err(problem)?;
    let mut jours = Vec::new();
    let mut day = Some(planning.date_debut);
    while let Some(d) = day.filter(|d| *d <= planning.date_fin) {
        jours.push(IsoDate(d));
        day = d.next_day();
    }
    let ressource = planning.ressource.stored();
    Ok(web::Json(PlanningResponse {
        ressource_id: ressource.id,
        ressource_nom: ressource.nom.to_string(),
        ressource_code: ressource.code.to_string(),
        ressource_couleur: ressource.couleur.as_str().to_owned(),
        date_debut: IsoDate(planning.date_debut),
        date_fin: IsoDate(planning.date_fin),
        reservations: state.show(&planning.reservations).await?,
        jours,
    }))
}

/// Every booking of a ressource, latest first.
#[utoipa::path(
    get, path = "/api/v1/logistique/ressources/{id}/historique", tag = "logistique",
    params(IdPath, PageQuery),
    responses(
        (status = 200, body = ReservationListResponse),
        (status = 404, description = "`ressource_not_found`", body = ProblemSchema),
    )
)]
async fn historique_ressource(
    state: web::Data<LogistiqueHttp>,
    _user: Authenticated,
    path: web::Path<IdPath>,
    query: web::Query<PageQuery>,
) -> Result<web::Json<ReservationListResponse>, Problem> {
    let page = extractors::page(query.skip, query.limit)?;
    let (found, total) = state
        .historique
        .execute(path.id, page)
        .await
        .map_err(problem)?;
    Ok(web::Json(ReservationListResponse {
        total,
        reservations: state.show(&found).await?,
    }))
}

/// Book a ressource for a chantier: `en_attente`, or `validee` at once
/// when the ressource needs no validation.
#[utoipa::path(
    post, path = "/api/v1/logistique/reservations", tag = "logistique",
    request_body = CreateReservationRequest,
    responses(
        (status = 201, body = ReservationResponse),
        (status = 404, description = "`ressource_not_found`", body = ProblemSchema),
        (status = 409, description = "`reservation_conflict`: the slot overlaps another active booking (named in `detail`)", body = ProblemSchema),
    )
)]
async fn create_reservation(
    state: web::Data<LogistiqueHttp>,
    Authenticated(actor): Authenticated,
    request_id: RequestId,
    body: web::Json<CreateReservationRequest>,
) -> Result<HttpResponse, Problem> {
    let body = body.into_inner();
    let input = ReservationInput {
        ressource_id: body.ressource_id,
        chantier_id: body.chantier_id,
        date_reservation: body.date_reservation.0,
        heure_debut: body.heure_debut,
        heure_fin: body.heure_fin,
        commentaire: body.commentaire,
    };
    let created = state
        .create
        .execute(&request_id.command_context(actor), input)
        .await
        .map_err(problem)?;
    Ok(HttpResponse::Created()
        .insert_header((
            header::LOCATION,
            format!("/api/v1/logistique/reservations/{}", created.id()),
        ))
        .json(state.show_one(&created).await?))
}

/// The pending bookings the caller decides on (all for an admin, their
/// chantiers' for a conducteur or chef de chantier), earliest first.
#[utoipa::path(
    get, path = "/api/v1/logistique/reservations/en-attente", tag = "logistique",
    params(PageQuery),
    responses((status = 200, body = ReservationListResponse))
)]
async fn reservations_en_attente(
    state: web::Data<LogistiqueHttp>,
    Authenticated(actor): Authenticated,
    query: web::Query<PageQuery>,
) -> Result<web::Json<ReservationListResponse>, Problem> {
    let page = extractors::page(query.skip, query.limit)?;
    list_answer(&state, state.en_attente.execute(&actor, page).await).await
}

async fn list_answer(
    state: &LogistiqueHttp,
    found: Result<(Vec<Reservation>, u64), LogistiqueError>,
) -> Result<web::Json<ReservationListResponse>, Problem> {
    let (found, total) = found.map_err(problem)?;
    Ok(web::Json(ReservationListResponse {
        total,
        reservations: state.show(&found).await?,
    }))
}

/// A chantier's bookings (all for its valideurs, the caller's own for
/// anyone else), by date.
#[utoipa::path(
    get, path = "/api/v1/logistique/chantiers/{id}/reservations", tag = "logistique",
    params(IdPath, ChantierQuery),
    responses((status = 200, body = ReservationListResponse))
)]
async fn chantier_reservations(
    state: web::Data<LogistiqueHttp>,
    Authenticated(actor): Authenticated,
    path: web::Path<IdPath>,
    query: web::Query<ChantierQuery>,
) -> Result<web::Json<ReservationListResponse>, Problem> {
    let page = extractors::page(query.skip, query.limit)?;
    let period = (query.date_debut.map(|d| d.0), query.date_fin.map(|d| d.0));
    list_answer(
        &state,
        state.chantier.execute(&actor, path.id, period, page).await,
    )
    .await
}

/// One booking (its demandeur and the valideurs of its chantier).
#[utoipa::path(
    get, path = "/api/v1/logistique/reservations/{id}", tag = "logistique", params(IdPath),
    responses(
        (status = 200, body = ReservationResponse),
        (status = 404, description = "`reservation_not_found` (also when out of the caller's sight)", body = ProblemSchema),
    )
)]
async fn get_reservation(
    state: web::Data<LogistiqueHttp>,
    Authenticated(actor): Authenticated,
    request_id: RequestId,
    path: web::Path<IdPath>,
) -> Result<web::Json<ReservationResponse>, Problem> {
    let found = state
        .get
        .execute(&request_id.command_context(actor), path.id)
        .await
        .map_err(problem)?;
    Ok(web::Json(state.show_one(&found).await?))
}

/// Move or annotate a pending booking (its demandeur only).
#[utoipa::path(
    put, path = "/api/v1/logistique/reservations/{id}", tag = "logistique", params(IdPath),
    request_body = UpdateReservationRequest,
    responses(
        (status = 200, body = ReservationResponse),
        (status = 404, description = "`reservation_not_found`", body = ProblemSchema),
        (status = 409, description = "`reservation_conflict`, `reservation_not_pending` or `concurrent_modification`", body = ProblemSchema),
    )
)]
async fn update_reservation(
    state: web::Data<LogistiqueHttp>,
    Authenticated(actor): Authenticated,
    request_id: RequestId,
    path: web::Path<IdPath>,
    body: web::Json<UpdateReservationRequest>,
) -> Result<web::Json<ReservationResponse>, Problem> {
    let body = body.into_inner();
    let input = ReservationUpdateInput {
        date_reservation: body.date_reservation.map(|d| d.0),
        heure_debut: body.heure_debut,
        heure_fin: body.heure_fin,
        commentaire: body.commentaire,
    };
    let updated = state
        .update
        .execute(&request_id.command_context(actor), path.id, input)
        .await
        .map_err(problem)?;
    Ok(web::Json(state.show_one(&updated).await?))
}

/// Approve a pending booking (a valideur of its chantier, not its demandeur).
#[utoipa::path(
    post, path = "/api/v1/logistique/reservations/{id}/valider", tag = "logistique",
    params(IdPath),
    responses(
        (status = 200, body = ReservationResponse),
        (status = 404, description = "`reservation_not_found`", body = ProblemSchema),
        (status = 409, description = "`invalid_transition` or `concurrent_modification`", body = ProblemSchema),
    )
)]
async fn valider_reservation(
    state: web::Data<LogistiqueHttp>,
    Authenticated(actor): Authenticated,
    request_id: RequestId,
    path: web::Path<IdPath>,
) -> Result<web::Json<ReservationResponse>, Problem> {
    let validated = state
        .valider
        .execute(&request_id.command_context(actor), path.id)
        .await
        .map_err(problem)?;
    Ok(web::Json(state.show_one(&validated).await?))
}

/// Refuse a pending booking with a motif (a valideur of its chantier).
#[utoipa::path(
    post, path = "/api/v1/logistique/reservations/{id}/refuser", tag = "logistique",
    params(IdPath), request_body = RefuserRequest,
    responses(
        (status = 200, body = ReservationResponse),
        (status = 404, description = "`reservation_not_found`", body = ProblemSchema),
        (status = 409, description = "`invalid_transition` or `concurrent_modification`", body = ProblemSchema),
    )
)]
async fn refuser_reservation(
    state: web::Data<LogistiqueHttp>,
    Authenticated(actor): Authenticated,
    request_id: RequestId,
    path: web::Path<IdPath>,
    body: web::Json<RefuserRequest>,
) -> Result<web::Json<ReservationResponse>, Problem> {
    let refused = state
        .refuser
        .execute(&request_id.command_context(actor), path.id, &body.motif)
        .await
        .map_err(problem)?;
    Ok(web::Json(state.show_one(&refused).await?))
}

/// Cancel a booking (its demandeur or a valideur of its chantier).
#[utoipa::path(
    post, path = "/api/v1/logistique/reservations/{id}/annuler", tag = "logistique",
    params(IdPath),
    responses(
        (status = 200, body = ReservationResponse),
        (status = 404, description = "`reservation_not_found`", body = ProblemSchema),
        (status = 409, description = "`invalid_transition` or `concurrent_modification`", body = ProblemSchema),
    )
)]
async fn annuler_reservation(
    state: web::Data<LogistiqueHttp>,
    Authenticated(actor): Authenticated,
    request_id: RequestId,
    path: web::Path<IdPath>,
) -> Result<web::Json<ReservationResponse>, Problem> {
    let cancelled = state
        .annuler
        .execute(&request_id.command_context(actor), path.id)
        .await
        .map_err(problem)?;
    Ok(web::Json(state.show_one(&cancelled).await?))
}
