//! HTTP routes of the chantiers context: `/api/v1/chantiers*`.

use actix_web::http::{StatusCode, header};
use actix_web::{HttpResponse, web};
use hub_chantiers_application::{
    AssignResponsables, ChangeStatut, ChantierCommandError, ChantierFilter, ChantierInput,
    ChantierPorts, ContactInput, CreateChantier, DeleteChantier, GetChantier, GpsInput,
    ListChantiers, UpdateChantier, UpdateInput,
};
use hub_chantiers_domain::{Chantier, ChantierCode, ChantierError, Couleur, Statut};
use hub_kernel::ValidationErrors;
use hub_platform_http::auth::{AdminOnly, AdminOrConducteur, Authenticated, Authorized};
use hub_platform_http::openapi::ProblemSchema;
use hub_platform_http::precondition::{IfMatchHeader, json_with_etag};
use hub_platform_http::{IsoDate, Problem, RequestId, extractors, present};
use serde::{Deserialize, Serialize};
use time::{Date, OffsetDateTime};
use utoipa::{IntoParams, OpenApi, ToSchema};
use uuid::Uuid;

/// The use cases behind the routes.
pub struct ChantiersHttp {
    create: CreateChantier,
    update: UpdateChantier,
    delete: DeleteChantier,
    statut: ChangeStatut,
    responsables: AssignResponsables,
    get: GetChantier,
    list: ListChantiers,
}

impl std::fmt::Debug for ChantiersHttp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ChantiersHttp")
    }
}

impl ChantiersHttp {
    pub fn new(ports: ChantierPorts) -> Self {
        Self {
            create: CreateChantier::new(ports.clone()),
            update: UpdateChantier::new(ports.clone()),
            delete: DeleteChantier::new(ports.clone()),
            statut: ChangeStatut::new(ports.clone()),
            responsables: AssignResponsables::new(ports.clone()),
            get: GetChantier::new(ports.clone()),
            list: ListChantiers::new(ports),
        }
    }
}

/// Registers the routes.
pub fn configure(cfg: &mut web::ServiceConfig, state: web::Data<ChantiersHttp>) {
    cfg.app_data(state)
        .service(
            web::resource("/api/v1/chantiers")
                .route(web::post().to(create_chantier))
                .route(web::get().to(list_chantiers)),
        )
        .service(
            web::resource("/api/v1/chantiers/{id}")
                .route(web::get().to(get_chantier))
                .route(web::patch().to(update_chantier))
                .route(web::delete().to(delete_chantier)),
        )
        .route(
            "/api/v1/chantiers/{id}/statut",
            web::post().to(change_statut),
        )
        .route("/api/v1/chantiers/{id}/demarrer", web::post().to(demarrer))
        .route(
            "/api/v1/chantiers/{id}/receptionner",
            web::post().to(receptionner),
        )
        .route("/api/v1/chantiers/{id}/fermer", web::post().to(fermer))
        .route(
            "/api/v1/chantiers/{id}/responsables",
            web::put().to(assign_responsables),
        );
}

/// OpenAPI document of this context.
#[derive(OpenApi)]
#[openapi(
    paths(
        create_chantier, list_chantiers, get_chantier, update_chantier, delete_chantier,
        change_statut, demarrer, receptionner, fermer, assign_responsables
    ),
    components(schemas(
        ChantierResponse, ChantierListResponse, CreateChantierRequest, UpdateChantierRequest,
        StatutRequest, ResponsablesRequest, StatutDto, GpsDto, ContactDto, CodeChantier,
        CouleurHex, ProblemSchema
    )),
    tags((name = "chantiers", description = "Construction sites"))
)]
pub struct ChantiersApi;

/// The statut of a site, as the API spells it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
#[schema(as = Statut)]
pub enum StatutDto {
    Ouvert,
    EnCours,
    Receptionne,
    Ferme,
}

impl From<StatutDto> for Statut {
    fn from(statut: StatutDto) -> Self {
        match statut {
            StatutDto::Ouvert => Statut::Ouvert,
            StatutDto::EnCours => Statut::EnCours,
            StatutDto::Receptionne => Statut::Receptionne,
            StatutDto::Ferme => Statut::Ferme,
        }
    }
}

impl From<Statut> for StatutDto {
    fn from(statut: Statut) -> Self {
        match statut {
            Statut::Ouvert => StatutDto::Ouvert,
            Statut::EnCours => StatutDto::EnCours,
            Statut::Receptionne => StatutDto::Receptionne,
            Statut::Ferme => StatutDto::Ferme,
        }
    }
}

/// WGS 84 position.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = CoordonneesGps)]
pub struct GpsDto {
    /// -90 to 90.
    #[schema(example = 48.8566)]
    latitude: f64,
    /// -180 to 180.
    #[schema(example = 2.3522)]
    longitude: f64,
}

/// Who to call about the site; at least one field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = Contact)]
pub struct ContactDto {
    #[schema(max_length = 100)]
    nom: Option<String>,
    #[schema(max_length = 30)]
    telephone: Option<String>,
    #[schema(max_length = 254)]
    email: Option<String>,
}

impl From<GpsDto> for GpsInput {
    fn from(gps: GpsDto) -> Self {
        GpsInput {
            latitude: gps.latitude,
            longitude: gps.longitude,
        }
    }
}

impl From<ContactDto> for ContactInput {
    fn from(contact: ContactDto) -> Self {
        ContactInput {
            nom: contact.nom,
            telephone: contact.telephone,
            email: contact.email,
        }
    }
}

/// A site as the API shows it.
#[derive(Debug, Serialize, ToSchema)]
pub struct ChantierResponse {
    id: Uuid,
    #[schema(example = "CH-2026-001")]
    code: String,
    nom: String,
    adresse: String,
    statut: StatutDto,
    #[schema(example = "#1E88E5")]
    couleur: String,
    coordonnees_gps: Option<GpsDto>,
    contact: Option<ContactDto>,
    heures_estimees: Option<f64>,
    date_debut: Option<IsoDate>,
    date_fin: Option<IsoDate>,
    conducteur_ids: Vec<Uuid>,
    chef_chantier_ids: Vec<Uuid>,
    /// Incremented by every change.
    version: i64,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    updated_at: OffsetDateTime,
}

impl From<&Chantier> for ChantierResponse {
    fn from(chantier: &Chantier) -> Self {
        let details = chantier.details();
        Self {
            id: chantier.id(),
            code: details.code.to_string(),
            nom: details.nom.as_str().to_owned(),
            adresse: details.adresse.as_str().to_owned(),
            statut: chantier.statut().into(),
            couleur: details.couleur.as_str().to_owned(),
            coordonnees_gps: details.coordonnees_gps.map(|g| GpsDto {
                latitude: g.latitude(),
                longitude: g.longitude(),
            }),
            contact: details.contact.as_ref().map(|c| ContactDto {
                nom: c.nom().map(str::to_owned),
                telephone: c.telephone().map(str::to_owned),
                email: c.email().map(str::to_owned),
            }),
            heures_estimees: details.heures_estimees.map(|h| h.hours()),
            date_debut: details.date_debut.map(IsoDate),
            date_fin: details.date_fin.map(IsoDate),
            conducteur_ids: chantier.responsables().conducteur_ids().to_vec(),
            chef_chantier_ids: chantier.responsables().chef_chantier_ids().to_vec(),
            version: chantier.version(),
            created_at: chantier.created_at(),
            updated_at: chantier.updated_at(),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ChantierListResponse {
    total: u64,
    chantiers: Vec<ChantierResponse>,
}

hub_platform_http::text_pattern_schema!(
    /// A chantier code as the API takes it.
    CodeChantier,
    ChantierCode::PATTERN,
    "CH-2026-001",
    "2 to 30 letters, digits and `-`, not starting with `-` (stored upper-case)"
);
hub_platform_http::text_pattern_schema!(
    /// A colour as the API takes it.
    CouleurHex,
    Couleur::PATTERN,
    "#1E88E5",
    "`#RRGGBB`"
);

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateChantierRequest {
    /// Unique; letters, digits and `-` (stored upper-case).
    #[schema(value_type = CodeChantier)]
    code: String,
    #[schema(example = "Tour Alpha", max_length = 200)]
    nom: String,
    #[schema(example = "1 quai de Seine, 75001 Paris", max_length = 500)]
    adresse: String,
    /// `#RRGGBB`; a default blue when absent.
    #[schema(value_type = Option<CouleurHex>)]
    couleur: Option<String>,
    coordonnees_gps: Option<GpsDto>,
    contact: Option<ContactDto>,
    /// Hours, ≥ 0.
    heures_estimees: Option<f64>,
    date_debut: Option<IsoDate>,
    /// On or after `date_debut`.
    date_fin: Option<IsoDate>,
    #[serde(default)]
    conducteur_ids: Vec<Uuid>,
    #[serde(default)]
    chef_chantier_ids: Vec<Uuid>,
}

/// Absent fields are left unchanged; `null` clears an optional field.
/// Statut and responsables have their own routes.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateChantierRequest {
    #[schema(value_type = Option<CodeChantier>)]
    code: Option<String>,
    #[schema(max_length = 200)]
    nom: Option<String>,
    #[schema(max_length = 500)]
    adresse: Option<String>,
    #[schema(value_type = Option<CouleurHex>)]
    couleur: Option<String>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<GpsDto>)]
    coordonnees_gps: Option<Option<GpsDto>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<ContactDto>)]
    contact: Option<Option<ContactDto>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<f64>)]
    heures_estimees: Option<Option<f64>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<IsoDate>)]
    date_debut: Option<Option<IsoDate>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<IsoDate>)]
    date_fin: Option<Option<IsoDate>>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StatutRequest {
    statut: StatutDto,
}

/// The complete new sets (replaces the previous ones).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResponsablesRequest {
    conducteur_ids: Vec<Uuid>,
    chef_chantier_ids: Vec<Uuid>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ChantierListQuery {
    statut: Option<StatutDto>,
    /// Searched in code, nom and adresse (case-insensitive).
    q: Option<String>,
    /// Chantiers to skip (default 0).
    skip: Option<u64>,
    /// Page size, 1 to 100 (default 50).
    limit: Option<u64>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct ChantierPath {
    /// The chantier's id.
    id: Uuid,
}

fn problem(error: ChantierCommandError) -> Problem {
    match error {
        ChantierCommandError::Invalid(errors) => Problem::validation(errors),
        ChantierCommandError::NotFound => Problem::new(
            StatusCode::NOT_FOUND,
            "chantier_not_found",
            "no chantier with this id",
        ),
        ChantierCommandError::NotConducteur | ChantierCommandError::AdminOnly => {
            Problem::forbidden(error.to_string())
        }
        ChantierCommandError::Rule(rule) => {
            match rule {
                ChantierError::InvalidTransition(transition) => {
                    Problem::conflict("invalid_transition", transition.to_string())
                }
                ChantierError::Closed => Problem::conflict("chantier_closed", rule.to_string()),
                ChantierError::DatesInverted { .. } => Problem::validation(
                    ValidationErrors::single("date_fin", "before_date_debut", rule.to_string()),
                ),
                ChantierError::TooManyResponsables { .. } => Problem::validation(
                    ValidationErrors::single("responsables", "too_many", rule.to_string()),
                ),
            }
        }
        ChantierCommandError::DuplicateCode(code) => Problem::conflict(
            "duplicate_code",
            format!("a chantier with the code {code} already exists"),
        ),
        ChantierCommandError::Conflict => Problem::conflict(
            "concurrent_modification",
            "the chantier was changed by someone else meanwhile; reload it and retry",
        ),
        ChantierCommandError::Precondition(mismatch) => mismatch.into(),
        ChantierCommandError::Unavailable(_) => Problem::internal(&error),
    }
}

/// Open a chantier (statut `ouvert`).
#[utoipa::path(
    post, path = "/api/v1/chantiers", tag = "chantiers", request_body = CreateChantierRequest,
    responses(
        (status = 201, body = ChantierResponse),
        (status = 409, description = "`duplicate_code`", body = ProblemSchema),
    )
)]
async fn create_chantier(
    state: web::Data<ChantiersHttp>,
    user: Authorized<AdminOrConducteur>,
    request_id: RequestId,
    body: web::Json<CreateChantierRequest>,
) -> Result<HttpResponse, Problem> {
    let body = body.into_inner();
    let input = ChantierInput {
        code: body.code,
        nom: body.nom,
        adresse: body.adresse,
        couleur: body.couleur,
        coordonnees_gps: body.coordonnees_gps.map(GpsInput::from),
        contact: body.contact.map(ContactInput::from),
        heures_estimees: body.heures_estimees,
        date_debut: body.date_debut.map(Date::from),
        date_fin: body.date_fin.map(Date::from),
    };
    let chantier = state
        .create
        .execute(
            &request_id.command_context(user.actor),
            input,
            (body.conducteur_ids, body.chef_chantier_ids),
        )
        .await
        .map_err(problem)?;
    Ok(HttpResponse::Created()
        .insert_header((
            header::LOCATION,
            format!("/api/v1/chantiers/{}", chantier.id()),
        ))
        .json(ChantierResponse::from(&chantier)))
}

/// List chantiers, by statut and text search, ordered by code.
#[utoipa::path(
    get, path = "/api/v1/chantiers", tag = "chantiers", params(ChantierListQuery),
    responses(
        (status = 200, body = ChantierListResponse),
    )
)]
async fn list_chantiers(
    state: web::Data<ChantiersHttp>,
    Authenticated(actor): Authenticated,
    query: web::Query<ChantierListQuery>,
) -> Result<web::Json<ChantierListResponse>, Problem> {
    let query = query.into_inner();
    let page = extractors::page(query.skip, query.limit)?;
    let filter = ChantierFilter {
        statut: query.statut.map(Statut::from),
        q: query.q,
        visible_to: None,
    };
    let (chantiers, total) = state
        .list
        .execute(&actor, &filter, page)
        .await
        .map_err(problem)?;
    Ok(web::Json(ChantierListResponse {
        total,
        chantiers: chantiers.iter().map(ChantierResponse::from).collect(),
    }))
}

/// One chantier.
#[utoipa::path(
    get, path = "/api/v1/chantiers/{id}", tag = "chantiers", params(ChantierPath),
    responses(
        (status = 200, body = ChantierResponse),
        (status = 404, description = "`chantier_not_found`", body = ProblemSchema),
    )
)]
async fn get_chantier(
    state: web::Data<ChantiersHttp>,
    Authenticated(actor): Authenticated,
    path: web::Path<ChantierPath>,
) -> Result<HttpResponse, Problem> {
    let chantier = state.get.execute(&actor, path.id).await.map_err(problem)?;
    Ok(json_with_etag(
        chantier.version(),
        &ChantierResponse::from(&chantier),
    ))
}

/// Change a chantier's details.
#[utoipa::path(
    patch, path = "/api/v1/chantiers/{id}", tag = "chantiers", params(ChantierPath, IfMatchHeader),
    request_body = UpdateChantierRequest,
    responses(
        (status = 200, body = ChantierResponse),
        (status = 404, description = "`chantier_not_found`", body = ProblemSchema),
        (status = 409, description = "`duplicate_code`, `chantier_closed` or `concurrent_modification`", body = ProblemSchema),
    )
)]
async fn update_chantier(
    state: web::Data<ChantiersHttp>,
    user: Authorized<AdminOrConducteur>,
    request_id: RequestId,
    path: web::Path<ChantierPath>,
    body: web::Json<UpdateChantierRequest>,
) -> Result<HttpResponse, Problem> {
    let body = body.into_inner();
    let input = UpdateInput {
        code: body.code,
        nom: body.nom,
        adresse: body.adresse,
        couleur: body.couleur,
        coordonnees_gps: body.coordonnees_gps.map(|g| g.map(GpsInput::from)),
        contact: body.contact.map(|c| c.map(ContactInput::from)),
        heures_estimees: body.heures_estimees,
        date_debut: body.date_debut.map(|d| d.map(Date::from)),
        date_fin: body.date_fin.map(|d| d.map(Date::from)),
    };
    let chantier = state
        .update
        .execute(&request_id.command_context(user.actor), path.id, input)
        .await
        .map_err(problem)?;
    Ok(json_with_etag(
        chantier.version(),
        &ChantierResponse::from(&chantier),
    ))
}

/// Delete a chantier (admin).
#[utoipa::path(
    delete, path = "/api/v1/chantiers/{id}", tag = "chantiers", params(ChantierPath, IfMatchHeader),
    responses(
        (status = 204, description = "Deleted"),
        (status = 404, description = "`chantier_not_found`", body = ProblemSchema),
    )
)]
async fn delete_chantier(
    state: web::Data<ChantiersHttp>,
    admin: Authorized<AdminOnly>,
    request_id: RequestId,
    path: web::Path<ChantierPath>,
) -> Result<HttpResponse, Problem> {
    state
        .delete
        .execute(&request_id.command_context(admin.actor), path.id)
        .await
        .map_err(problem)?;
    Ok(HttpResponse::NoContent().finish())
}

async fn move_to(
    state: &ChantiersHttp,
    user: Authorized<AdminOrConducteur>,
    request_id: RequestId,
    id: Uuid,
    to: Statut,
) -> Result<HttpResponse, Problem> {
    let chantier = state
        .statut
        .execute(&request_id.command_context(user.actor), id, to)
        .await
        .map_err(problem)?;
    Ok(json_with_etag(
        chantier.version(),
        &ChantierResponse::from(&chantier),
    ))
}

/// Move a chantier forward: ouvert → en_cours → receptionne → ferme.
#[utoipa::path(
    post, path = "/api/v1/chantiers/{id}/statut", tag = "chantiers", params(ChantierPath, IfMatchHeader),
    request_body = StatutRequest,
    responses(
        (status = 200, body = ChantierResponse),
        (status = 404, description = "`chantier_not_found`", body = ProblemSchema),
        (status = 409, description = "`invalid_transition` or `concurrent_modification`", body = ProblemSchema),
    )
)]
async fn change_statut(
    state: web::Data<ChantiersHttp>,
    user: Authorized<AdminOrConducteur>,
    request_id: RequestId,
    path: web::Path<ChantierPath>,
    body: web::Json<StatutRequest>,
) -> Result<HttpResponse, Problem> {
    move_to(&state, user, request_id, path.id, body.statut.into()).await
}

/// Start the works (→ `en_cours`).
#[utoipa::path(
    post, path = "/api/v1/chantiers/{id}/demarrer", tag = "chantiers", params(ChantierPath, IfMatchHeader),
    responses(
        (status = 200, body = ChantierResponse),
        (status = 404, description = "`chantier_not_found`", body = ProblemSchema),
        (status = 409, description = "`invalid_transition` or `concurrent_modification`", body = ProblemSchema),
    )
)]
async fn demarrer(
    state: web::Data<ChantiersHttp>,
    user: Authorized<AdminOrConducteur>,
    request_id: RequestId,
    path: web::Path<ChantierPath>,
) -> Result<HttpResponse, Problem> {
    move_to(&state, user, request_id, path.id, Statut::EnCours).await
}

/// Hand the works over (→ `receptionne`).
#[utoipa::path(
    post, path = "/api/v1/chantiers/{id}/receptionner", tag = "chantiers", params(ChantierPath, IfMatchHeader),
    responses(
        (status = 200, body = ChantierResponse),
        (status = 404, description = "`chantier_not_found`", body = ProblemSchema),
        (status = 409, description = "`invalid_transition` or `concurrent_modification`", body = ProblemSchema),
    )
)]
async fn receptionner(
    state: web::Data<ChantiersHttp>,
    user: Authorized<AdminOrConducteur>,
    request_id: RequestId,
    path: web::Path<ChantierPath>,
) -> Result<HttpResponse, Problem> {
    move_to(&state, user, request_id, path.id, Statut::Receptionne).await
}

/// Close the chantier for good (→ `ferme`).
#[utoipa::path(
    post, path = "/api/v1/chantiers/{id}/fermer", tag = "chantiers", params(ChantierPath, IfMatchHeader),
    responses(
        (status = 200, body = ChantierResponse),
        (status = 404, description = "`chantier_not_found`", body = ProblemSchema),
        (status = 409, description = "`invalid_transition` or `concurrent_modification`", body = ProblemSchema),
    )
)]
async fn fermer(
    state: web::Data<ChantiersHttp>,
    user: Authorized<AdminOrConducteur>,
    request_id: RequestId,
    path: web::Path<ChantierPath>,
) -> Result<HttpResponse, Problem> {
    move_to(&state, user, request_id, path.id, Statut::Ferme).await
}

/// Replace the conducteurs and chefs de chantier of a site.
#[utoipa::path(
    put, path = "/api/v1/chantiers/{id}/responsables", tag = "chantiers", params(ChantierPath, IfMatchHeader),
    request_body = ResponsablesRequest,
    responses(
        (status = 200, body = ChantierResponse),
        (status = 404, description = "`chantier_not_found`", body = ProblemSchema),
        (status = 409, description = "`chantier_closed` or `concurrent_modification`", body = ProblemSchema),
        (status = 422, description = "`too_many` responsables", body = ProblemSchema),
    )
)]
async fn assign_responsables(
    state: web::Data<ChantiersHttp>,
    user: Authorized<AdminOrConducteur>,
    request_id: RequestId,
    path: web::Path<ChantierPath>,
    body: web::Json<ResponsablesRequest>,
) -> Result<HttpResponse, Problem> {
    let body = body.into_inner();
    let chantier = state
        .responsables
        .execute(
            &request_id.command_context(user.actor),
            path.id,
            body.conducteur_ids,
            body.chef_chantier_ids,
        )
        .await
        .map_err(problem)?;
    Ok(json_with_etag(
        chantier.version(),
        &ChantierResponse::from(&chantier),
    ))
}
