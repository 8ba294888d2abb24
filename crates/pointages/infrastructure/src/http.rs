//! HTTP routes of the pointages context: `/api/v1/pointages/*`.

use std::io;

use actix_web::http::header::ETag;
use actix_web::http::{StatusCode, header};
use actix_web::web::Bytes;
use actix_web::{HttpResponse, web};
use futures::stream::{self, Stream, StreamExt};
use hub_kernel::ValidationErrors;
use hub_platform_http::auth::{AdminOrConducteur, Authenticated, Authorized};
use hub_platform_http::openapi::ProblemSchema;
use hub_platform_http::precondition::{IfMatchHeader, entity_tag, json_with_etag};
use hub_platform_http::{Instant, IsoDate, Problem, RequestId, extractors, present};
use hub_pointages_application::{
    ComparaisonEquipes, CorrectPointage, CreateInput, CreatePointage, CreateVariablePaie,
    DeletePointage, Export, ExportInput, ExportSemaine, FEUILLES_MAX_LIMIT, FeuilleFilter,
    FeuilleRoute, GetFeuille, GetPointage, JaugeAvancement, ListFeuilles, ListPointages, Noms,
    NomsPointages, PointageFilter, PointagesError, PointagesPorts, RejectPointage, SignPointage,
    SubmitPointage, UpdateInput, UpdatePointage, ValidatePointage, VariableInput,
    VariablesPointages, VuesChantiers, VuesCompagnons,
};
use hub_pointages_domain::{
    FeuilleHeures, FormatExport, HeuresMinutes, LigneChantier, Pointage, PointageError, Semaine,
    SemaineIso, Statut, TotalVariable, Totaux, VariablePaie, VueCompagnon, jour_semaine,
};
use rust_xlsxwriter::XlsxError;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::{IntoParams, OpenApi, ToSchema};
use uuid::Uuid;

use crate::export::{ChunkWriter, XlsxExport};

/// The use cases behind the routes.
pub struct PointagesHttp {
    create: CreatePointage,
    update: UpdatePointage,
    sign: SignPointage,
    submit: SubmitPointage,
    correct: CorrectPointage,
    validate: ValidatePointage,
    reject: RejectPointage,
    delete: DeletePointage,
    get: GetPointage,
    list: ListPointages,
    feuille: GetFeuille,
    feuilles: ListFeuilles,
    jauge: JaugeAvancement,
    comparaison: ComparaisonEquipes,
    vues_chantiers: VuesChantiers,
    vues_compagnons: VuesCompagnons,
    export: ExportSemaine,
    noms: NomsPointages,
    variable: CreateVariablePaie,
    variables: VariablesPointages,
    feuille_route: FeuilleRoute,
}

impl std::fmt::Debug for PointagesHttp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PointagesHttp")
    }
}

impl PointagesHttp {
    pub fn new(ports: PointagesPorts) -> Self {
        Self {
            create: CreatePointage::new(ports.clone()),
            update: UpdatePointage::new(ports.clone()),
            sign: SignPointage::new(ports.clone()),
            submit: SubmitPointage::new(ports.clone()),
            correct: CorrectPointage::new(ports.clone()),
            validate: ValidatePointage::new(ports.clone()),
            reject: RejectPointage::new(ports.clone()),
            delete: DeletePointage::new(ports.clone()),
            get: GetPointage::new(ports.clone()),
            list: ListPointages::new(ports.clone()),
            feuille: GetFeuille::new(ports.clone()),
            feuilles: ListFeuilles::new(ports.clone()),
            jauge: JaugeAvancement::new(ports.clone()),
            comparaison: ComparaisonEquipes::new(ports.clone()),
            vues_chantiers: VuesChantiers::new(ports.clone()),
            vues_compagnons: VuesCompagnons::new(ports.clone()),
            export: ExportSemaine::new(ports.clone()),
            variable: CreateVariablePaie::new(ports.clone()),
            variables: VariablesPointages::new(ports.clone()),
            feuille_route: FeuilleRoute::new(ports.clone()),
            noms: NomsPointages::new(ports),
        }
    }
}

const POINTAGES: &str = "/api/v1/pointages";

/// Registers the routes.
pub fn configure(cfg: &mut web::ServiceConfig, state: web::Data<PointagesHttp>) {
    // The fixed paths come before `/{id}`, which would otherwise take them.
    cfg.app_data(state)
        .route("/api/v1/pointages/feuilles", web::get().to(list_feuilles))
        .route("/api/v1/pointages/navigation", web::get().to(navigation))
        .route(
            "/api/v1/pointages/stats/jauge-avancement/{id}",
            web::get().to(jauge_avancement),
        )
        .route(
            "/api/v1/pointages/stats/comparaison-equipes",
            web::get().to(comparaison_equipes),
        )
        .route(
            "/api/v1/pointages/feuilles/utilisateurs/{id}",
            web::get().to(get_feuille),
        )
        .route("/api/v1/pointages/export", web::post().to(export_semaine))
        .route(
            "/api/v1/pointages/variables-paie",
            web::post().to(create_variable_paie),
        )
        .route(
            "/api/v1/pointages/feuille-route/{id}",
            web::get().to(feuille_route),
        )
        .route(
            "/api/v1/pointages/vues/chantiers",
            web::get().to(vues_chantiers),
        )
        .route(
            "/api/v1/pointages/vues/compagnons",
            web::get().to(vues_compagnons),
        )
        .service(
            web::resource(POINTAGES)
                .route(web::post().to(create_pointage))
                .route(web::get().to(list_pointages)),
        )
        .service(
            web::resource("/api/v1/pointages/{id}")
                .route(web::get().to(get_pointage))
                .route(web::put().to(update_pointage))
                .route(web::delete().to(delete_pointage)),
        )
        .route("/api/v1/pointages/{id}/sign", web::post().to(sign_pointage))
        .route(
            "/api/v1/pointages/{id}/submit",
            web::post().to(submit_pointage),
        )
        .route(
            "/api/v1/pointages/{id}/validate",
            web::post().to(validate_pointage),
        )
        .route(
            "/api/v1/pointages/{id}/reject",
            web::post().to(reject_pointage),
        )
        .route(
            "/api/v1/pointages/{id}/correct",
            web::post().to(correct_pointage),
        );
}

/// OpenAPI document of this context.
#[derive(OpenApi)]
#[openapi(
    paths(
        create_pointage, list_pointages, get_pointage, update_pointage, delete_pointage,
        sign_pointage, submit_pointage, validate_pointage, reject_pointage, correct_pointage,
        get_feuille, list_feuilles, navigation, jauge_avancement, comparaison_equipes, vues_chantiers, vues_compagnons, export_semaine,
        create_variable_paie, feuille_route
    ),
    components(schemas(
        PointageResponse, PointageListResponse, CreatePointageRequest, UpdatePointageRequest,
        SignRequest, RejectRequest, StatutDto, FeuilleResponse, FeuilleListResponse, NavigationResponse, JaugeResponse, ComparaisonResponse, EquipeDto, EcartDto, FeuillePointage, TotalChantier,
        TotauxParJour, PointagesParJour, LigneJour, VueChantierDto, VueCompagnonDto,
        VuesChantiersResponse, VuesCompagnonsResponse, ExportRequest, FormatDto, Duree, ProblemSchema,
        VariablePaieRequest, VariablePaieResponse, TotalVariableDto, FeuilleRouteResponse, ChantierRouteDto
    )),
    tags((name = "pointages", description = "Hours worked per user, chantier and day, and their validation"))
)]
pub struct PointagesApi;

hub_platform_http::text_pattern_schema!(
    /// A duration of work as the API takes it.
    Duree,
    HeuresMinutes::PATTERN,
    "7:30",
    "`H:MM`, `HH:MM` or `HHH:MM` (0:00 to 999:59)"
);

/// Where a pointage is in its workflow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
#[schema(as = StatutPointage)]
pub enum StatutDto {
    Brouillon,
    Soumis,
    Valide,
    Rejete,
}

impl From<Statut> for StatutDto {
    fn from(statut: Statut) -> Self {
        match statut {
            Statut::Brouillon => Self::Brouillon,
            Statut::Soumis => Self::Soumis,
            Statut::Valide => Self::Valide,
            Statut::Rejete => Self::Rejete,
        }
    }
}

impl From<StatutDto> for Statut {
    fn from(statut: StatutDto) -> Self {
        match statut {
            StatutDto::Brouillon => Self::Brouillon,
            StatutDto::Soumis => Self::Soumis,
            StatutDto::Valide => Self::Valide,
            StatutDto::Rejete => Self::Rejete,
        }
    }
}

/// A pointage as the API shows it. The signature itself (possibly a large
/// image) is never sent back: `signe` and `signature_date` say whether and
/// when the user signed.
#[derive(Debug, Serialize, ToSchema)]
pub struct PointageResponse {
    id: Uuid,
    utilisateur_id: Uuid,
    /// "Prénom Nom", when the pointages know the user.
    utilisateur_nom: Option<String>,
    chantier_id: Uuid,
    /// The chantier's name, when the pointages know it.
    chantier_nom: Option<String>,
    date_pointage: IsoDate,
    /// `HH:MM`.
    #[schema(example = "07:30")]
    heures_normales: String,
    /// `HH:MM`.
    #[schema(example = "01:00")]
    heures_supplementaires: String,
    /// Normal plus overtime, `HH:MM`.
    #[schema(example = "08:30")]
    total_heures: String,
    /// Normal plus overtime in hours (8:30 → 8.5).
    total_heures_decimal: f64,
    /// The same durations in minutes, as the events carry them.
    heures_normales_minutes: u32,
    heures_supplementaires_minutes: u32,
    statut: StatutDto,
    /// Hours and comment may change (brouillon or rejete).
    is_editable: bool,
    commentaire: Option<String>,
    signe: bool,
    #[serde(with = "time::serde::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    signature_date: Option<OffsetDateTime>,
    /// Who validated or rejected it last.
    validateur_id: Option<Uuid>,
    #[serde(with = "time::serde::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    validation_date: Option<OffsetDateTime>,
    motif_rejet: Option<String>,
    /// The planning affectation that pre-filled it.
    affectation_id: Option<Uuid>,
    created_by: Option<Uuid>,
    /// Incremented by every change.
    version: i64,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    updated_at: OffsetDateTime,
    /// Its variables de paie, in the order they were added.
    variables_paie: Vec<VariablePaieResponse>,
}

impl PointageResponse {
    fn of(p: &Pointage, noms: &Noms, variables: &[VariablePaie]) -> Self {
        Self {
            id: p.id(),
            utilisateur_id: p.utilisateur_id(),
            utilisateur_nom: noms.utilisateurs.get(&p.utilisateur_id()).cloned(),
            chantier_id: p.chantier_id(),
            chantier_nom: noms.chantiers.get(&p.chantier_id()).cloned(),
            date_pointage: IsoDate(p.date()),
            heures_normales: p.heures_normales().to_string(),
            heures_supplementaires: p.heures_supplementaires().to_string(),
            total_heures: p.total().to_string(),
            total_heures_decimal: p.total().decimal(),
            heures_normales_minutes: p.heures_normales().minutes(),
            heures_supplementaires_minutes: p.heures_supplementaires().minutes(),
            statut: p.statut().into(),
            is_editable: p.is_editable(),
            commentaire: p.commentaire().map(|c| c.as_str().to_owned()),
            signe: p.is_signed(),
            signature_date: p.signature().map(|s| s.le),
            validateur_id: p.validation().map(|v| v.par),
            validation_date: p.validation().map(|v| v.le),
            motif_rejet: p.motif_rejet().map(|m| m.as_str().to_owned()),
            affectation_id: p.affectation_id(),
            created_by: p.created_by(),
            version: p.version(),
            created_at: p.created_at(),
            updated_at: p.updated_at(),
            variables_paie: variables
                .iter()
                .filter(|v| v.pointage_id == p.id())
                .map(VariablePaieResponse::of)
                .collect(),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PointageListResponse {
    total: u64,
    pointages: Vec<PointageResponse>,
}

/// Hours of one user on one chantier on one day.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreatePointageRequest {
    utilisateur_id: Uuid,
    chantier_id: Uuid,
    date_pointage: IsoDate,
    /// `H:MM`, `HH:MM` or `HHH:MM`.
    #[schema(value_type = Duree)]
    heures_normales: String,
    /// Default `00:00`.
    #[schema(value_type = Option<Duree>)]
    heures_supplementaires: Option<String>,
    /// At most 2000 characters; blank is none.
    #[schema(max_length = 2000)]
    commentaire: Option<String>,
    /// The planning affectation these hours answer, if any.
    affectation_id: Option<Uuid>,
}

/// An edit: absent fields are unchanged; `commentaire: null` clears it.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdatePointageRequest {
    #[schema(value_type = Option<Duree>)]
    heures_normales: Option<String>,
    #[schema(value_type = Option<Duree>)]
    heures_supplementaires: Option<String>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>, max_length = 2000)]
    commentaire: Option<Option<String>>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SignRequest {
    /// The user's signature (e.g. a base64 image), at most 200 000 characters.
    signature: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RejectRequest {
    /// Why the hours are rejected, 1 to 500 characters.
    #[schema(max_length = 500)]
    motif: String,
}

/// The filters of the list; every one narrows it.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    utilisateur_id: Option<Uuid>,
    chantier_id: Option<Uuid>,
    /// First day (inclusive).
    #[param(value_type = Option<String>, format = Date)]
    date_debut: Option<IsoDate>,
    /// Last day (inclusive).
    #[param(value_type = Option<String>, format = Date)]
    date_fin: Option<IsoDate>,
    #[param(value_type = Option<StatutDto>)]
    statut: Option<StatutDto>,
    /// Pointages to skip (default 0).
    skip: Option<u64>,
    /// Page size, 1 to 100 (default 50).
    limit: Option<u64>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct PointagePath {
    /// The pointage's id.
    id: Uuid,
}

fn problem(error: PointagesError) -> Problem {
    match error {
        PointagesError::Invalid(errors) => Problem::validation(errors),
        PointagesError::NotFound => Problem::new(
            StatusCode::NOT_FOUND,
            "pointage_not_found",
            "no pointage with this id",
        ),
        PointagesError::FeuilleNotFound => Problem::new(
            StatusCode::NOT_FOUND,
            "feuille_not_found",
            error.to_string(),
        ),
        PointagesError::Forbidden(reason) => Problem::forbidden(reason),
        PointagesError::UnknownUser(_) => Problem::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "utilisateur_inactive",
            error.to_string(),
        ),
        PointagesError::ChantierClosed(_) => Problem::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "chantier_closed",
            error.to_string(),
        ),
        PointagesError::Conflict { .. } => {
            Problem::conflict("pointage_conflict", error.to_string())
        }
        PointagesError::Statut(PointageError::NonModifiable(_)) => {
            Problem::conflict("pointage_not_editable", error.to_string())
        }
        PointagesError::Statut(PointageError::Transition { .. }) => {
            Problem::conflict("invalid_transition", error.to_string())
        }
        PointagesError::Statut(PointageError::DejaSigne) => {
            Problem::conflict("already_signed", error.to_string())
        }
        PointagesError::Changed => Problem::conflict("concurrent_modification", error.to_string()),
        PointagesError::Precondition(mismatch) => mismatch.into(),
        PointagesError::Unavailable(_) => Problem::internal(&error),
    }
}

impl PointagesHttp {
    /// The pointages as answered, with the names of their users and
    /// chantiers and their variables de paie.
    async fn show(&self, pointages: &[Pointage]) -> Result<Vec<PointageResponse>, Problem> {
        let noms = self.noms.execute(pointages).await.map_err(problem)?;
        let variables = self.variables.execute(pointages).await.map_err(problem)?;
        Ok(pointages
            .iter()
            .map(|p| PointageResponse::of(p, &noms, &variables))
            .collect())
    }

    async fn show_one(&self, pointage: &Pointage) -> Result<PointageResponse, Problem> {
        let one = std::slice::from_ref(pointage);
        let noms = self.noms.execute(one).await.map_err(problem)?;
        let variables = self.variables.execute(one).await.map_err(problem)?;
        Ok(PointageResponse::of(pointage, &noms, &variables))
    }
}

/// The pointage as answered, with its version as `ETag` (what `If-Match`
/// names to make the next change conditional).
async fn answer(state: &PointagesHttp, pointage: &Pointage) -> Result<HttpResponse, Problem> {
    Ok(json_with_etag(
        pointage.version(),
        &state.show_one(pointage).await?,
    ))
}

/// Enter hours: a brouillon for a user, a chantier and a day. A compagnon
/// enters his own; a conducteur or chef those of his chantiers; an admin
/// anyone's.
#[utoipa::path(
    post, path = "/api/v1/pointages", tag = "pointages",
    request_body = CreatePointageRequest,
    responses(
        (status = 201, body = PointageResponse),
        (status = 409, description = "`pointage_conflict`: the user already has hours on that chantier that day", body = ProblemSchema),
        (status = 422, description = "`validation_failed`, `utilisateur_inactive` or `chantier_closed`", body = ProblemSchema),
    )
)]
async fn create_pointage(
    state: web::Data<PointagesHttp>,
    Authenticated(actor): Authenticated,
    request_id: RequestId,
    body: web::Json<CreatePointageRequest>,
) -> Result<HttpResponse, Problem> {
    let body = body.into_inner();
    let input = CreateInput {
        utilisateur_id: body.utilisateur_id,
        chantier_id: body.chantier_id,
        date_pointage: body.date_pointage.0,
        heures_normales: body.heures_normales,
        heures_supplementaires: body.heures_supplementaires,
        commentaire: body.commentaire,
        affectation_id: body.affectation_id,
    };
    let created = state
        .create
        .execute(&request_id.command_context(actor), input)
        .await
        .map_err(problem)?;
    Ok(HttpResponse::Created()
        .insert_header((header::LOCATION, format!("{POINTAGES}/{}", created.id())))
        .insert_header(ETag(entity_tag(created.version())))
        .json(state.show_one(&created).await?))
}

/// The pointages the caller may see, by date descending: a compagnon his
/// own, a conducteur or chef those of his chantiers and his own, an admin
/// all.
#[utoipa::path(
    get, path = "/api/v1/pointages", tag = "pointages", params(ListQuery),
    responses((status = 200, body = PointageListResponse))
)]
async fn list_pointages(
    state: web::Data<PointagesHttp>,
    Authenticated(actor): Authenticated,
    query: web::Query<ListQuery>,
) -> Result<web::Json<PointageListResponse>, Problem> {
    let query = query.into_inner();
    let page = extractors::page(query.skip, query.limit)?;
    let filter = PointageFilter {
        utilisateur_id: query.utilisateur_id,
        chantier_id: query.chantier_id,
        date_debut: query.date_debut.map(|d| d.0),
        date_fin: query.date_fin.map(|d| d.0),
        statut: query.statut.map(Statut::from),
        ..PointageFilter::default()
    };
    let (found, total) = state
        .list
        .execute(&actor, filter, page)
        .await
        .map_err(problem)?;
    Ok(web::Json(PointageListResponse {
        total,
        pointages: state.show(&found).await?,
    }))
}

/// One pointage.
#[utoipa::path(
    get, path = "/api/v1/pointages/{id}", tag = "pointages", params(PointagePath),
    responses(
        (status = 200, body = PointageResponse),
        (status = 404, description = "`pointage_not_found` (also when outside the caller's view)", body = ProblemSchema),
    )
)]
async fn get_pointage(
    state: web::Data<PointagesHttp>,
    Authenticated(actor): Authenticated,
    request_id: RequestId,
    path: web::Path<PointagePath>,
) -> Result<HttpResponse, Problem> {
    let found = state
        .get
        .execute(&request_id.command_context(actor), path.id)
        .await
        .map_err(problem)?;
    answer(&state, &found).await
}

/// Edit the hours or the comment while brouillon or rejete (the statut stays).
#[utoipa::path(
    put, path = "/api/v1/pointages/{id}", tag = "pointages", params(PointagePath, IfMatchHeader),
    request_body = UpdatePointageRequest,
    responses(
        (status = 200, body = PointageResponse),
        (status = 404, description = "`pointage_not_found`", body = ProblemSchema),
        (status = 409, description = "`pointage_not_editable` or `concurrent_modification`", body = ProblemSchema),
    )
)]
async fn update_pointage(
    state: web::Data<PointagesHttp>,
    Authenticated(actor): Authenticated,
    request_id: RequestId,
    path: web::Path<PointagePath>,
    body: web::Json<UpdatePointageRequest>,
) -> Result<HttpResponse, Problem> {
    let body = body.into_inner();
    let input = UpdateInput {
        heures_normales: body.heures_normales,
        heures_supplementaires: body.heures_supplementaires,
        commentaire: body.commentaire,
    };
    let updated = state
        .update
        .execute(&request_id.command_context(actor), path.id, input)
        .await
        .map_err(problem)?;
    answer(&state, &updated).await
}

/// Delete a brouillon or rejected pointage.
#[utoipa::path(
    delete, path = "/api/v1/pointages/{id}", tag = "pointages", params(PointagePath, IfMatchHeader),
    responses(
        (status = 204, description = "Deleted"),
        (status = 404, description = "`pointage_not_found`", body = ProblemSchema),
        (status = 409, description = "`pointage_not_editable` or `concurrent_modification`", body = ProblemSchema),
    )
)]
async fn delete_pointage(
    state: web::Data<PointagesHttp>,
    Authenticated(actor): Authenticated,
    request_id: RequestId,
    path: web::Path<PointagePath>,
) -> Result<HttpResponse, Problem> {
    state
        .delete
        .execute(&request_id.command_context(actor), path.id)
        .await
        .map_err(problem)?;
    Ok(HttpResponse::NoContent().finish())
}

/// The user signs his own brouillon (once).
#[utoipa::path(
    post, path = "/api/v1/pointages/{id}/sign", tag = "pointages", params(PointagePath, IfMatchHeader),
    request_body = SignRequest,
    responses(
        (status = 200, body = PointageResponse),
        (status = 404, description = "`pointage_not_found`", body = ProblemSchema),
        (status = 409, description = "`invalid_transition`, `already_signed` or `concurrent_modification`", body = ProblemSchema),
    )
)]
async fn sign_pointage(
    state: web::Data<PointagesHttp>,
    Authenticated(actor): Authenticated,
    request_id: RequestId,
    path: web::Path<PointagePath>,
    body: web::Json<SignRequest>,
) -> Result<HttpResponse, Problem> {
    let signed = state
        .sign
        .execute(&request_id.command_context(actor), path.id, &body.signature)
        .await
        .map_err(problem)?;
    answer(&state, &signed).await
}

/// brouillon → soumis (a signature is not required).
#[utoipa::path(
    post, path = "/api/v1/pointages/{id}/submit", tag = "pointages", params(PointagePath, IfMatchHeader),
    responses(
        (status = 200, body = PointageResponse),
        (status = 404, description = "`pointage_not_found`", body = ProblemSchema),
        (status = 409, description = "`invalid_transition` or `concurrent_modification`", body = ProblemSchema),
    )
)]
async fn submit_pointage(
    state: web::Data<PointagesHttp>,
    Authenticated(actor): Authenticated,
    request_id: RequestId,
    path: web::Path<PointagePath>,
) -> Result<HttpResponse, Problem> {
    let submitted = state
        .submit
        .execute(&request_id.command_context(actor), path.id)
        .await
        .map_err(problem)?;
    answer(&state, &submitted).await
}

/// soumis → valide (final), by a conducteur or chef of the chantier or an
/// admin, never on one's own hours; publishes `heures.validated`.
#[utoipa::path(
    post, path = "/api/v1/pointages/{id}/validate", tag = "pointages", params(PointagePath, IfMatchHeader),
    responses(
        (status = 200, body = PointageResponse),
        (status = 404, description = "`pointage_not_found`", body = ProblemSchema),
        (status = 409, description = "`invalid_transition` or `concurrent_modification`", body = ProblemSchema),
    )
)]
async fn validate_pointage(
    state: web::Data<PointagesHttp>,
    Authenticated(actor): Authenticated,
    request_id: RequestId,
    path: web::Path<PointagePath>,
) -> Result<HttpResponse, Problem> {
    let validated = state
        .validate
        .execute(&request_id.command_context(actor), path.id)
        .await
        .map_err(problem)?;
    answer(&state, &validated).await
}

/// soumis → rejete with a motif, by whoever may validate.
#[utoipa::path(
    post, path = "/api/v1/pointages/{id}/reject", tag = "pointages", params(PointagePath, IfMatchHeader),
    request_body = RejectRequest,
    responses(
        (status = 200, body = PointageResponse),
        (status = 404, description = "`pointage_not_found`", body = ProblemSchema),
        (status = 409, description = "`invalid_transition` or `concurrent_modification`", body = ProblemSchema),
    )
)]
async fn reject_pointage(
    state: web::Data<PointagesHttp>,
    Authenticated(actor): Authenticated,
    request_id: RequestId,
    path: web::Path<PointagePath>,
    body: web::Json<RejectRequest>,
) -> Result<HttpResponse, Problem> {
    let rejected = state
        .reject
        .execute(&request_id.command_context(actor), path.id, &body.motif)
        .await
        .map_err(problem)?;
    answer(&state, &rejected).await
}

/// rejete → brouillon, to correct and submit again (clears the signature).
#[utoipa::path(
    post, path = "/api/v1/pointages/{id}/correct", tag = "pointages", params(PointagePath, IfMatchHeader),
    responses(
        (status = 200, body = PointageResponse),
        (status = 404, description = "`pointage_not_found`", body = ProblemSchema),
        (status = 409, description = "`invalid_transition` or `concurrent_modification`", body = ProblemSchema),
    )
)]
async fn correct_pointage(
    state: web::Data<PointagesHttp>,
    Authenticated(actor): Authenticated,
    request_id: RequestId,
    path: web::Path<PointagePath>,
) -> Result<HttpResponse, Problem> {
    let corrected = state
        .correct
        .execute(&request_id.command_context(actor), path.id)
        .await
        .map_err(problem)?;
    answer(&state, &corrected).await
}

// -- weekly read side -------------------------------------------------------

/// Hours per weekday (`HH:MM`), Monday first.
#[derive(Debug, Serialize, ToSchema)]
pub struct TotauxParJour {
    lundi: String,
    mardi: String,
    mercredi: String,
    jeudi: String,
    vendredi: String,
    samedi: String,
    dimanche: String,
}

impl From<[HeuresMinutes; 7]> for TotauxParJour {
    fn from(jours: [HeuresMinutes; 7]) -> Self {
        let [lundi, mardi, mercredi, jeudi, vendredi, samedi, dimanche] =
            jours.map(|h| h.to_string());
        Self {
            lundi,
            mardi,
            mercredi,
            jeudi,
            vendredi,
            samedi,
            dimanche,
        }
    }
}

/// One pointage in a weekly view.
#[derive(Debug, Serialize, ToSchema)]
pub struct LigneJour {
    pointage_id: Uuid,
    utilisateur_id: Uuid,
    utilisateur_nom: String,
    chantier_id: Uuid,
    date_pointage: IsoDate,
    heures_normales: String,
    heures_supplementaires: String,
    total_heures: String,
    statut: StatutDto,
    is_editable: bool,
}

impl LigneJour {
    fn of(p: &Pointage, noms: &Noms) -> Self {
        Self {
            pointage_id: p.id(),
            utilisateur_id: p.utilisateur_id(),
            utilisateur_nom: noms.utilisateur(p.utilisateur_id()),
            chantier_id: p.chantier_id(),
            date_pointage: IsoDate(p.date()),
            heures_normales: p.heures_normales().to_string(),
            heures_supplementaires: p.heures_supplementaires().to_string(),
            total_heures: p.total().to_string(),
            statut: p.statut().into(),
            is_editable: p.is_editable(),
        }
    }
}

/// The pointages of a week per weekday, Monday first.
#[derive(Debug, Default, Serialize, ToSchema)]
pub struct PointagesParJour {
    lundi: Vec<LigneJour>,
    mardi: Vec<LigneJour>,
    mercredi: Vec<LigneJour>,
    jeudi: Vec<LigneJour>,
    vendredi: Vec<LigneJour>,
    samedi: Vec<LigneJour>,
    dimanche: Vec<LigneJour>,
}

impl PointagesParJour {
    fn of(pointages: &[Pointage], noms: &Noms) -> Self {
        let mut jours = Self::default();
        for p in pointages {
            let ligne = LigneJour::of(p, noms);
            match jour_semaine(p.date()) {
                "lundi" => jours.lundi.push(ligne),
                "mardi" => jours.mardi.push(ligne),
                "mercredi" => jours.mercredi.push(ligne),
                "jeudi" => jours.jeudi.push(ligne),
                "vendredi" => jours.vendredi.push(ligne),
                "samedi" => jours.samedi.push(ligne),
                _ => jours.dimanche.push(ligne),
            }
        }
        jours
    }
}

/// A week of one chantier (all users, or one user's line in a user view).
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = VueChantier)]
pub struct VueChantierDto {
    chantier_id: Uuid,
    chantier_nom: String,
    /// `HH:MM` over the week.
    total_heures: String,
    total_heures_decimal: f64,
    total_minutes: u32,
    totaux_par_jour: TotauxParJour,
    pointages_par_jour: PointagesParJour,
}

impl VueChantierDto {
    fn of(ligne: &LigneChantier, noms: &Noms) -> Self {
        Self {
            chantier_id: ligne.chantier_id,
            chantier_nom: noms.chantier(ligne.chantier_id),
            total_heures: ligne.totaux.total().to_string(),
            total_heures_decimal: ligne.totaux.total().decimal(),
            total_minutes: ligne.totaux.total().minutes(),
            totaux_par_jour: ligne.totaux.par_jour.into(),
            pointages_par_jour: PointagesParJour::of(&ligne.pointages, noms),
        }
    }
}

/// A week of one user: per chantier (line total) and overall (group total).
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = VueCompagnon)]
pub struct VueCompagnonDto {
    utilisateur_id: Uuid,
    utilisateur_nom: String,
    total_heures: String,
    total_heures_decimal: f64,
    total_minutes: u32,
    totaux_par_jour: TotauxParJour,
    chantiers: Vec<VueChantierDto>,
}

impl VueCompagnonDto {
    fn of(vue: &VueCompagnon, noms: &Noms) -> Self {
        Self {
            utilisateur_id: vue.utilisateur_id,
            utilisateur_nom: noms.utilisateur(vue.utilisateur_id),
            total_heures: vue.totaux.total().to_string(),
            total_heures_decimal: vue.totaux.total().decimal(),
            total_minutes: vue.totaux.total().minutes(),
            totaux_par_jour: vue.totaux.par_jour.into(),
            chantiers: vue
                .chantiers
                .iter()
                .map(|ligne| VueChantierDto::of(ligne, noms))
                .collect(),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct VuesChantiersResponse {
    semaine_debut: IsoDate,
    semaine_fin: IsoDate,
    /// `Semaine 50 - 2026`.
    label_semaine: String,
    /// Every chantier with hours the caller may see that week, by id.
    chantiers: Vec<VueChantierDto>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct VuesCompagnonsResponse {
    semaine_debut: IsoDate,
    semaine_fin: IsoDate,
    label_semaine: String,
    /// Every user with hours the caller may see that week, by id.
    compagnons: Vec<VueCompagnonDto>,
}

/// One pointage of a feuille d'heures.
#[derive(Debug, Serialize, ToSchema)]
pub struct FeuillePointage {
    id: Uuid,
    chantier_id: Uuid,
    chantier_nom: String,
    date_pointage: IsoDate,
    /// `lundi` … `dimanche`.
    jour_semaine: String,
    heures_normales: String,
    heures_supplementaires: String,
    total_heures: String,
    statut: StatutDto,
    is_editable: bool,
}

/// A user's hours on one chantier over the week.
#[derive(Debug, Serialize, ToSchema)]
pub struct TotalChantier {
    chantier_id: Uuid,
    chantier_nom: String,
    total_heures: String,
    total_minutes: u32,
}

/// A user's feuille d'heures for one ISO week, computed from his pointages
/// on every read: the global statut and the totals are never stale.
#[derive(Debug, Serialize, ToSchema)]
pub struct FeuilleResponse {
    utilisateur_id: Uuid,
    utilisateur_nom: String,
    semaine_debut: IsoDate,
    semaine_fin: IsoDate,
    annee: i32,
    numero_semaine: u8,
    /// `YYYY-Www`, as exports name it.
    #[schema(example = "2026-W50")]
    semaine_iso: String,
    #[schema(example = "Semaine 50 - 2026")]
    label_semaine: String,
    /// No pointage → brouillon; all valide → valide; else any rejete →
    /// rejete; else any soumis → soumis; else brouillon.
    statut_global: StatutDto,
    total_heures_normales: String,
    total_heures_supplementaires: String,
    total_heures: String,
    total_heures_decimal: f64,
    total_minutes: u32,
    /// Monday to Friday each have a pointage.
    is_complete: bool,
    /// At least one pointage, all valide.
    is_all_validated: bool,
    /// By date, then chantier.
    pointages: Vec<FeuillePointage>,
    totaux_par_jour: TotauxParJour,
    totaux_par_chantier: Vec<TotalChantier>,
    /// The sums of its pointages' variables de paie per type, in the
    /// types' order.
    variables_paie: Vec<TotalVariableDto>,
}

impl FeuilleResponse {
    fn of(feuille: &FeuilleHeures, noms: &Noms) -> Self {
        let semaine = feuille.semaine();
        let iso = semaine.semaine_iso();
        let totaux: Totaux = feuille.totaux();
        Self {
            utilisateur_id: feuille.utilisateur_id(),
            utilisateur_nom: noms.utilisateur(feuille.utilisateur_id()),
            semaine_debut: IsoDate(semaine.lundi()),
            semaine_fin: IsoDate(semaine.dimanche()),
            annee: iso.annee,
            numero_semaine: iso.numero,
            semaine_iso: iso.to_string(),
            label_semaine: semaine.label(),
            statut_global: feuille.statut_global().into(),
            total_heures_normales: totaux.heures_normales.to_string(),
            total_heures_supplementaires: totaux.heures_supplementaires.to_string(),
            total_heures: totaux.total().to_string(),
            total_heures_decimal: totaux.total().decimal(),
            total_minutes: totaux.total().minutes(),
            is_complete: feuille.is_complete(),
            is_all_validated: feuille.is_all_validated(),
            pointages: feuille
                .pointages()
                .iter()
                .map(|p| FeuillePointage {
                    id: p.id(),
                    chantier_id: p.chantier_id(),
                    chantier_nom: noms.chantier(p.chantier_id()),
                    date_pointage: IsoDate(p.date()),
                    jour_semaine: jour_semaine(p.date()).to_owned(),
                    heures_normales: p.heures_normales().to_string(),
                    heures_supplementaires: p.heures_supplementaires().to_string(),
                    total_heures: p.total().to_string(),
                    statut: p.statut().into(),
                    is_editable: p.is_editable(),
                })
                .collect(),
            totaux_par_jour: totaux.par_jour.into(),
            totaux_par_chantier: feuille
                .par_chantier()
                .iter()
                .map(|ligne| TotalChantier {
                    chantier_id: ligne.chantier_id,
                    chantier_nom: noms.chantier(ligne.chantier_id),
                    total_heures: ligne.totaux.total().to_string(),
                    total_minutes: ligne.totaux.total().minutes(),
                })
                .collect(),
            variables_paie: feuille
                .variables_paie()
                .iter()
                .map(TotalVariableDto::of)
                .collect(),
        }
    }
}

/// The week of a feuille: any day of it.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct FeuilleQuery {
    /// Any day of the week (moved back to its Monday).
    #[param(value_type = String, format = Date)]
    semaine_debut: IsoDate,
}

/// The week of a view and the ids it is narrowed to.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct VueQuery {
    /// Any day of the week (moved back to its Monday).
    #[param(value_type = String, format = Date)]
    semaine_debut: IsoDate,
    /// Only these chantiers (ids separated by commas).
    chantier_ids: Option<String>,
    /// Only these users (ids separated by commas).
    utilisateur_ids: Option<String>,
}

/// The ids of a comma-separated list; a bad one is a 422 naming `field`.
fn ids(field: &str, list: Option<&str>) -> Result<Vec<Uuid>, Problem> {
    let mut errors = ValidationErrors::new();
    let mut found = Vec::new();
    for id in list.unwrap_or_default().split(',').map(str::trim) {
        if id.is_empty() {
            continue;
        }
        if let Some(id) = errors.check(field, "invalid", Uuid::parse_str(id)) {
            found.push(id);
        }
    }
    errors.into_result().map_err(Problem::validation)?;
    Ok(found)
}

/// A user's feuille d'heures for a week: a compagnon his own; a conducteur
/// or chef the rows of his chantiers; an admin all.
#[utoipa::path(
    get, path = "/api/v1/pointages/feuilles/utilisateurs/{id}", tag = "pointages",
    params(("id" = Uuid, Path, description = "The user's id"), FeuilleQuery),
    responses(
        (status = 200, body = FeuilleResponse),
        (status = 404, description = "`feuille_not_found`: another user's, asked by a compagnon", body = ProblemSchema),
    )
)]
async fn get_feuille(
    state: web::Data<PointagesHttp>,
    Authenticated(actor): Authenticated,
    path: web::Path<Uuid>,
    query: web::Query<FeuilleQuery>,
) -> Result<web::Json<FeuilleResponse>, Problem> {
    let (feuille, noms) = state
        .feuille
        .execute(&actor, path.into_inner(), query.semaine_debut.0)
        .await
        .map_err(problem)?;
    Ok(web::Json(FeuilleResponse::of(&feuille, &noms)))
}

/// The filters of the list of feuilles d'heures; every one narrows it.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct FeuillesQuery {
    utilisateur_id: Option<Uuid>,
    /// ISO year of the week, 2000 to 2100.
    annee: Option<i32>,
    /// ISO week number, 1 to 53.
    numero_semaine: Option<u8>,
    /// The global statut of the feuille.
    #[param(value_type = Option<StatutDto>)]
    statut: Option<StatutDto>,
    /// Feuilles to skip (default 0).
    skip: Option<u64>,
    /// Page size, 1 to 50 (default 10): each feuille carries its pointages.
    limit: Option<u64>,
}

/// A page of feuilles d'heures, and how many the filters select.
#[derive(Debug, Serialize, ToSchema)]
pub struct FeuilleListResponse {
    total: u64,
    feuilles: Vec<FeuilleResponse>,
}

/// The feuilles d'heures the caller may see: each user's week with at
/// least one pointage in his view, the most recent week first, computed
/// from the pointages on every read (a compagnon sees his own, a
/// conducteur or chef the rows of his chantiers, an admin all).
#[utoipa::path(
    get, path = "/api/v1/pointages/feuilles", tag = "pointages", params(FeuillesQuery),
    responses((status = 200, body = FeuilleListResponse))
)]
async fn list_feuilles(
    state: web::Data<PointagesHttp>,
    Authenticated(actor): Authenticated,
    query: web::Query<FeuillesQuery>,
) -> Result<web::Json<FeuilleListResponse>, Problem> {
    let query = query.into_inner();
    if query
        .limit
        .is_some_and(|limit| limit == 0 || limit > FEUILLES_MAX_LIMIT)
    {
        return Err(Problem::bad_request(
            "invalid_query",
            format!("limit must be between 1 and {FEUILLES_MAX_LIMIT}"),
        ));
    }
    let page = hub_kernel::Page {
        skip: query.skip.unwrap_or(0),
        limit: query.limit.unwrap_or(10),
    };
    let filter = FeuilleFilter {
        utilisateur_id: query.utilisateur_id,
        annee: query.annee,
        numero_semaine: query.numero_semaine,
        statut: query.statut.map(Statut::from),
        ..FeuilleFilter::default()
    };
    let (feuilles, noms, total) = state
        .feuilles
        .execute(&actor, filter, page)
        .await
        .map_err(problem)?;
    Ok(web::Json(FeuilleListResponse {
        total,
        feuilles: feuilles
            .iter()
            .map(|feuille| FeuilleResponse::of(feuille, &noms))
            .collect(),
    }))
}

/// Rounded to `digits` decimals, as the original shows these figures.
fn round(value: f64, digits: i32) -> f64 {
    let scale = 10f64.powi(digits);
    (value * scale).round() / scale
}

/// A week and its neighbours, to page through weeks.
#[derive(Debug, Serialize, ToSchema)]
pub struct NavigationResponse {
    /// Its Monday.
    semaine_courante: IsoDate,
    semaine_precedente: IsoDate,
    semaine_suivante: IsoDate,
    annee: i32,
    numero_semaine: u8,
    #[schema(example = "2026-W50")]
    semaine_iso: String,
    #[schema(example = "Semaine 50 - 2026")]
    label: String,
}

/// The week of a day, its previous and next weeks.
#[utoipa::path(
    get, path = "/api/v1/pointages/navigation", tag = "pointages", params(FeuilleQuery),
    responses((status = 200, body = NavigationResponse))
)]
async fn navigation(
    _caller: Authenticated,
    query: web::Query<FeuilleQuery>,
) -> web::Json<NavigationResponse> {
    let semaine = Semaine::contenant(query.semaine_debut.0);
    let iso = semaine.semaine_iso();
    web::Json(NavigationResponse {
        semaine_courante: IsoDate(semaine.lundi()),
        semaine_precedente: IsoDate(semaine.precedente().lundi()),
        semaine_suivante: IsoDate(semaine.suivante().lundi()),
        annee: iso.annee,
        numero_semaine: iso.numero,
        semaine_iso: iso.to_string(),
        label: semaine.label(),
    })
}

/// The week and the planned hours of a gauge.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct JaugeQuery {
    /// Any day of the week (moved back to its Monday).
    #[param(value_type = String, format = Date)]
    semaine_debut: IsoDate,
    /// Hours planned that week, 0 to 168 (default 35).
    heures_planifiees: Option<f64>,
}

/// A user's week against its planned hours.
#[derive(Debug, Serialize, ToSchema)]
pub struct JaugeResponse {
    utilisateur_id: Uuid,
    #[schema(example = "Semaine 50 - 2026")]
    semaine: String,
    semaine_debut: IsoDate,
    heures_planifiees: f64,
    /// Decimal hours, 2 decimals.
    heures_realisees: f64,
    heures_realisees_minutes: u32,
    /// Percent of the plan, 1 decimal (0 when nothing is planned).
    taux_completion: f64,
    /// `en_avance` (≥ 110 %), `normal` (≥ 90 %) or `en_retard`.
    #[schema(example = "normal")]
    status: String,
}

/// A user's progress gauge for a week (FDH-14), over the hours the caller
/// may read (a compagnon: his own only; another's is a 404).
#[utoipa::path(
    get, path = "/api/v1/pointages/stats/jauge-avancement/{id}", tag = "pointages",
    params(("id" = Uuid, Path, description = "The user's id"), JaugeQuery),
    responses(
        (status = 200, body = JaugeResponse),
        (status = 404, description = "`feuille_not_found`: another user's, asked by a compagnon", body = ProblemSchema),
    )
)]
async fn jauge_avancement(
    state: web::Data<PointagesHttp>,
    Authenticated(actor): Authenticated,
    path: web::Path<Uuid>,
    query: web::Query<JaugeQuery>,
) -> Result<web::Json<JaugeResponse>, Problem> {
    let utilisateur_id = path.into_inner();
    let (semaine, jauge) = state
        .jauge
        .execute(
            &actor,
            utilisateur_id,
            query.semaine_debut.0,
            query.heures_planifiees,
        )
        .await
        .map_err(problem)?;
    Ok(web::Json(JaugeResponse {
        utilisateur_id,
        semaine: semaine.label(),
        semaine_debut: IsoDate(semaine.lundi()),
        heures_planifiees: jauge.heures_planifiees,
        heures_realisees: round(jauge.realise.decimal(), 2),
        heures_realisees_minutes: jauge.realise.minutes(),
        taux_completion: round(jauge.taux, 1),
        status: jauge.statut.as_str().to_owned(),
    }))
}

/// One chantier's team over a week.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = Equipe)]
pub struct EquipeDto {
    chantier_id: Uuid,
    chantier_nom: String,
    /// Distinct users with hours there.
    nombre_utilisateurs: usize,
    /// 35 h per user.
    heures_planifiees: f64,
    heures_realisees: f64,
    heures_realisees_minutes: u32,
    taux_completion: f64,
}

/// A team more than 15 % off its plan.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = EcartEquipe)]
pub struct EcartDto {
    chantier_id: Uuid,
    chantier_nom: String,
    /// `surplus` or `deficit`.
    #[schema(example = "deficit")]
    type_ecart: String,
    ecart_heures: f64,
    ecart_pourcentage: f64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ComparaisonResponse {
    #[schema(example = "Semaine 50 - 2026")]
    semaine: String,
    semaine_debut: IsoDate,
    /// Every chantier with hours that week, by id.
    equipes: Vec<EquipeDto>,
    ecarts_detectes: Vec<EcartDto>,
}

/// The teams of each chantier with hours that week against 35 h per user
/// (FDH-15); admins see every chantier, conducteurs those they run.
#[utoipa::path(
    get, path = "/api/v1/pointages/stats/comparaison-equipes", tag = "pointages", params(FeuilleQuery),
    responses((status = 200, body = ComparaisonResponse))
)]
async fn comparaison_equipes(
    state: web::Data<PointagesHttp>,
    user: Authorized<AdminOrConducteur>,
    query: web::Query<FeuilleQuery>,
) -> Result<web::Json<ComparaisonResponse>, Problem> {
    let (semaine, equipes, ecarts, noms) = state
        .comparaison
        .execute(&user.actor, query.semaine_debut.0)
        .await
        .map_err(problem)?;
    Ok(web::Json(ComparaisonResponse {
        semaine: semaine.label(),
        semaine_debut: IsoDate(semaine.lundi()),
        equipes: equipes
            .iter()
            .map(|e| EquipeDto {
                chantier_id: e.chantier_id,
                chantier_nom: noms.chantier(e.chantier_id),
                nombre_utilisateurs: e.nombre_utilisateurs,
                heures_planifiees: e.heures_planifiees,
                heures_realisees: round(e.realise.decimal(), 2),
                heures_realisees_minutes: e.realise.minutes(),
                taux_completion: round(e.taux, 1),
            })
            .collect(),
        ecarts_detectes: ecarts
            .iter()
            .map(|e| EcartDto {
                chantier_id: e.chantier_id,
                chantier_nom: noms.chantier(e.chantier_id),
                type_ecart: e.sens.as_str().to_owned(),
                ecart_heures: round(e.ecart_heures, 2),
                ecart_pourcentage: round(e.ecart_pourcentage, 1),
            })
            .collect(),
    }))
}

/// A week per chantier, with totals per day and per chantier.
#[utoipa::path(
    get, path = "/api/v1/pointages/vues/chantiers", tag = "pointages", params(VueQuery),
    responses((status = 200, body = VuesChantiersResponse))
)]
async fn vues_chantiers(
    state: web::Data<PointagesHttp>,
    Authenticated(actor): Authenticated,
    query: web::Query<VueQuery>,
) -> Result<web::Json<VuesChantiersResponse>, Problem> {
    let chantier_ids = ids("chantier_ids", query.chantier_ids.as_deref())?;
    let (semaine, vues, noms) = state
        .vues_chantiers
        .execute(&actor, query.semaine_debut.0, &chantier_ids)
        .await
        .map_err(problem)?;
    Ok(web::Json(VuesChantiersResponse {
        semaine_debut: IsoDate(semaine.lundi()),
        semaine_fin: IsoDate(semaine.dimanche()),
        label_semaine: semaine.label(),
        chantiers: vues.iter().map(|v| VueChantierDto::of(v, &noms)).collect(),
    }))
}

/// A week per user, each per chantier, with totals per day, per chantier
/// and per week.
#[utoipa::path(
    get, path = "/api/v1/pointages/vues/compagnons", tag = "pointages", params(VueQuery),
    responses((status = 200, body = VuesCompagnonsResponse))
)]
async fn vues_compagnons(
    state: web::Data<PointagesHttp>,
    Authenticated(actor): Authenticated,
    query: web::Query<VueQuery>,
) -> Result<web::Json<VuesCompagnonsResponse>, Problem> {
    let utilisateur_ids = ids("utilisateur_ids", query.utilisateur_ids.as_deref())?;
    let (semaine, vues, noms) = state
        .vues_compagnons
        .execute(&actor, query.semaine_debut.0, &utilisateur_ids)
        .await
        .map_err(problem)?;
    Ok(web::Json(VuesCompagnonsResponse {
        semaine_debut: IsoDate(semaine.lundi()),
        semaine_fin: IsoDate(semaine.dimanche()),
        label_semaine: semaine.label(),
        compagnons: vues.iter().map(|v| VueCompagnonDto::of(v, &noms)).collect(),
    }))
}

// -- export -----------------------------------------------------------------

/// The file format of an export.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
#[schema(as = FormatFichier)]
pub enum FormatDto {
    /// `;`-separated, UTF-8 with a BOM, decimal commas.
    Csv,
    Xlsx,
    /// `|`-separated lines for ERPs, UTF-8 without BOM, validated hours only.
    Erp,
}

/// One ISO week to export, optionally one site or some users.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ExportRequest {
    /// The ISO week, `YYYY-Www`.
    #[schema(example = "2026-W50")]
    semaine: String,
    format: FormatDto,
    /// Only this site.
    chantier_id: Option<Uuid>,
    /// Only these users (absent or empty: all).
    #[serde(default)]
    utilisateur_ids: Vec<Uuid>,
    /// Each pointage's variables de paie (and their totals) in the file:
    /// a last column in CSV and XLSX, `PANIER` and `TRANSPORT` in the ERP
    /// file. Default `true`.
    #[serde(default = "yes")]
    #[schema(default = true)]
    inclure_variables_paie: bool,
}

fn yes() -> bool {
    true
}

/// `YYYY-Www` (weeks 01 to 53 that exist that year).
fn semaine_iso(text: &str) -> Option<Semaine> {
    let (annee, numero) = text.trim().split_once("-W")?;
    if annee.len() != 4 || numero.len() != 2 {
        return None;
    }
    Semaine::iso(SemaineIso {
        annee: annee.parse().ok()?,
        numero: numero.parse().ok()?,
    })
}

/// Export one ISO week for payroll as a download. CSV and XLSX: one line
/// per pointage (any statut, shown), grouped per user with the user's
/// totals, the week's total last. ERP: `|`-separated, one line per
/// validated pointage, no totals. Publishes `feuille_heures.exported`.
/// Admins export everything, conducteurs the hours of their chantiers.
#[utoipa::path(
    post, path = "/api/v1/pointages/export", tag = "pointages",
    request_body = ExportRequest,
    responses(
        (status = 200, description = "The file, as an attachment (`Content-Disposition`)", content(
            (String = "text/csv"),
            (String = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
            (String = "application/octet-stream")
        )),
    )
)]
async fn export_semaine(
    state: web::Data<PointagesHttp>,
    user: Authorized<AdminOrConducteur>,
    request_id: RequestId,
    body: web::Json<ExportRequest>,
) -> Result<HttpResponse, Problem> {
    let body = body.into_inner();
    let semaine = semaine_iso(&body.semaine).ok_or_else(|| {
        Problem::validation(ValidationErrors::single(
            "semaine",
            "invalid",
            "must be an ISO week such as 2026-W50",
        ))
    })?;
    let input = ExportInput {
        semaine,
        chantier_id: body.chantier_id,
        utilisateur_ids: body.utilisateur_ids,
        format: match body.format {
            FormatDto::Csv => FormatExport::Csv,
            FormatDto::Xlsx => FormatExport::Xlsx,
            FormatDto::Erp => FormatExport::Erp,
        },
        inclure_variables_paie: body.inclure_variables_paie,
    };
    let export = state
        .export
        .execute(&request_id.command_context(user.actor), input)
        .await
        .map_err(problem)?;
    let disposition = (
        header::CONTENT_DISPOSITION,
        format!(
            "attachment; filename=\"{}\"",
            crate::export::file_name(&export)
        ),
    );
    Ok(match body.format {
        FormatDto::Csv => HttpResponse::Ok()
            .insert_header((header::CONTENT_TYPE, "text/csv; charset=utf-8"))
            .insert_header(disposition)
            .streaming(csv_body(export)),
        FormatDto::Erp => HttpResponse::Ok()
            .insert_header((header::CONTENT_TYPE, "application/octet-stream"))
            .insert_header(disposition)
            .streaming(erp_body(export)),
        FormatDto::Xlsx => {
            // Made before the answer starts: a temporary file that cannot
            // be created is still a clean 500, not a cut download.
            let xlsx = XlsxExport::new(export.semaine, export.inclure_variables_paie)
                .map_err(|error| Problem::internal(&error))?;
            HttpResponse::Ok()
                .insert_header((
                    header::CONTENT_TYPE,
                    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                ))
                .insert_header(disposition)
                .streaming(xlsx_body(export, xlsx))
        }
    })
}

/// The bytes of an export download, or why it stopped: once the answer
/// has started, a failure can only cut it short (the client sees an
/// incomplete chunked body, never a file that looks whole).
type Chunk = Result<Bytes, io::Error>;

fn cut(export_id: Uuid, error: &dyn std::error::Error) -> io::Error {
    tracing::error!(%export_id, error = %error, "export stopped while sending");
    io::Error::other("the export stopped")
}

/// A text download: `header`, then the text `lines` makes of each step as
/// it is read.
fn text_body(
    export: Export,
    header: String,
    lines: fn(&[hub_pointages_application::LigneExport], bool) -> String,
) -> impl Stream<Item = Chunk> + 'static {
    let header = stream::once(async { Ok(Bytes::from(header)) });
    let lines = stream::unfold(Some(export), move |export| async move {
        let mut export = export?;
        match export.next_lines().await {
            Ok(Some(step)) => Some((
                Ok(Bytes::from(lines(&step, export.inclure_variables_paie))),
                Some(export),
            )),
            Ok(None) => None,
            Err(error) => Some((Err(cut(export.export_id, &error)), None)),
        }
    });
    header.chain(lines)
}

/// The CSV download: the BOM and header, then each step's lines.
fn csv_body(export: Export) -> impl Stream<Item = Chunk> + 'static {
    let header = crate::export::csv_header(export.inclure_variables_paie);
    text_body(export, header, crate::export::csv_lines)
}

/// The ERP download: the header, then each step's validated pointages.
fn erp_body(export: Export) -> impl Stream<Item = Chunk> + 'static {
    text_body(export, crate::export::erp_header(), |step, _| {
        crate::export::erp_lines(step)
    })
}

/// The size of the pieces an XLSX download is sent in.
const XLSX_CHUNK: usize = 64 * 1024;

/// The XLSX download: a task writes the rows step by step into the
/// constant-memory sheet (off the async workers: it writes a temporary
/// file), then zips the file into the answer as it goes.
fn xlsx_body(export: Export, xlsx: XlsxExport) -> impl Stream<Item = Chunk> + 'static {
    let (sender, receiver) = tokio::sync::mpsc::channel::<Chunk>(4);
    let export_id = export.export_id;
    actix_web::rt::spawn(async move {
        if let Err(error) = write_xlsx(export, xlsx, sender.clone()).await {
            // The client may be gone already: nothing more to tell then.
            let _ = sender.send(Err(cut(export_id, &*error))).await;
        }
    });
    stream::unfold(receiver, |mut receiver| async move {
        receiver.recv().await.map(|chunk| (chunk, receiver))
    })
}

type BoxError = Box<dyn std::error::Error + Send + Sync>;

async fn write_xlsx(
    mut export: Export,
    mut xlsx: XlsxExport,
    sender: tokio::sync::mpsc::Sender<Chunk>,
) -> Result<(), BoxError> {
    while let Some(lines) = export.next_lines().await? {
        if sender.is_closed() {
            // The client left: no need to read the rest of the week.
            return Ok(());
        }
        xlsx = actix_web::rt::task::spawn_blocking(move || {
            xlsx.write(&lines)?;
            Ok::<_, XlsxError>(xlsx)
        })
        .await??;
    }
    actix_web::rt::task::spawn_blocking(move || {
        let mut writer = ChunkWriter::new(XLSX_CHUNK, |chunk| {
            sender
                .blocking_send(Ok(Bytes::from(chunk)))
                .map_err(|_| io::Error::new(io::ErrorKind::BrokenPipe, "the client went away"))
        });
        xlsx.finish(&mut writer)
    })
    .await??;
    Ok(())
}

// -- variables de paie --------------------------------------------------------

/// A variable de paie to add to a pointage.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VariablePaieRequest {
    pointage_id: Uuid,
    /// One of `heures_normales`, `heures_supplementaires`, `heures_nuit`,
    /// `heures_dimanche`, `heures_ferie`, `panier_repas`,
    /// `indemnite_transport`, `prime_intemperies`, `prime_salissure`,
    /// `prime_outillage`, `conges_payes`, `rtt`, `maladie`,
    /// `accident_travail`, `absence_injustifiee`, `absence_justifiee`,
    /// `formation`, `deplacement` (any case).
    #[schema(example = "panier_repas")]
    type_variable: String,
    /// A number ≥ 0 with at most two decimals (kept exact), at most
    /// 99999999.99.
    #[schema(value_type = f64, minimum = 0, maximum = 99_999_999.99, example = 9.4)]
    valeur: serde_json::Number,
    date_application: IsoDate,
    /// At most 2000 characters; blank is none.
    #[schema(max_length = 2000)]
    commentaire: Option<String>,
}

/// A variable de paie of a pointage.
#[derive(Debug, Serialize, ToSchema)]
pub struct VariablePaieResponse {
    id: Uuid,
    pointage_id: Uuid,
    #[schema(example = "panier_repas")]
    type_variable: String,
    #[schema(example = "Panier repas")]
    type_variable_libelle: String,
    /// The exact decimal, two places, as a string.
    #[schema(example = "9.40")]
    valeur: String,
    date_application: IsoDate,
    commentaire: Option<String>,
    created_by: Option<Uuid>,
    created_at: Instant,
}

impl VariablePaieResponse {
    fn of(v: &VariablePaie) -> Self {
        Self {
            id: v.id,
            pointage_id: v.pointage_id,
            type_variable: v.type_variable.as_str().to_owned(),
            type_variable_libelle: v.type_variable.libelle().to_owned(),
            valeur: v.valeur.to_string(),
            date_application: IsoDate(v.date_application),
            commentaire: v.commentaire.as_ref().map(|c| c.as_str().to_owned()),
            created_by: v.created_by,
            created_at: Instant(v.created_at),
        }
    }
}

/// The sum of one type of variable de paie over a feuille.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = TotalVariablePaie)]
pub struct TotalVariableDto {
    #[schema(example = "panier_repas")]
    type_variable: String,
    #[schema(example = "Panier repas")]
    type_variable_libelle: String,
    /// The exact decimal sum, two places, as a string.
    #[schema(example = "47.00")]
    total: String,
}

impl TotalVariableDto {
    fn of(total: &TotalVariable) -> Self {
        Self {
            type_variable: total.type_variable.as_str().to_owned(),
            type_variable_libelle: total.type_variable.libelle().to_owned(),
            total: total.total.to_string(),
        }
    }
}

/// Add a variable de paie to a pointage the caller may write (its user, a
/// responsable of its chantier, an admin) while it is brouillon or
/// rejete; publishes `variable_paie.created`.
#[utoipa::path(
    post, path = "/api/v1/pointages/variables-paie", tag = "pointages",
    request_body = VariablePaieRequest,
    responses(
        (status = 201, body = VariablePaieResponse),
        (status = 404, description = "`pointage_not_found` (also when outside the caller's view)", body = ProblemSchema),
        (status = 409, description = "`pointage_not_editable` (soumis or valide) or `concurrent_modification`", body = ProblemSchema),
    )
)]
async fn create_variable_paie(
    state: web::Data<PointagesHttp>,
    Authenticated(actor): Authenticated,
    request_id: RequestId,
    body: web::Json<VariablePaieRequest>,
) -> Result<HttpResponse, Problem> {
    let body = body.into_inner();
    let input = VariableInput {
        pointage_id: body.pointage_id,
        type_variable: body.type_variable,
        // The number as written (serde_json prints the shortest text that
        // reads back the same), parsed as an exact decimal.
        valeur: body.valeur.to_string(),
        date_application: body.date_application.0,
        commentaire: body.commentaire,
    };
    let (variable, _) = state
        .variable
        .execute(&request_id.command_context(actor), input)
        .await
        .map_err(problem)?;
    Ok(HttpResponse::Created().json(VariablePaieResponse::of(&variable)))
}

// -- feuille de route ---------------------------------------------------------

/// One chantier of a feuille de route.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = ChantierFeuilleRoute)]
pub struct ChantierRouteDto {
    chantier_id: Uuid,
    chantier_nom: String,
    /// The site's postal address, when the pointages know it.
    adresse: Option<String>,
    /// The days with hours there (`lundi` …), Monday first.
    jours: Vec<String>,
    heures_par_jour: TotauxParJour,
    total_heures: String,
    total_minutes: u32,
}

/// Where a user worked during a week, site by site (FDH-19).
#[derive(Debug, Serialize, ToSchema)]
pub struct FeuilleRouteResponse {
    utilisateur_id: Uuid,
    utilisateur_nom: String,
    #[schema(example = "Semaine 50 - 2026")]
    semaine: String,
    semaine_debut: IsoDate,
    semaine_fin: IsoDate,
    total_heures: String,
    total_heures_decimal: f64,
    total_minutes: u32,
    /// By chantier id.
    chantiers: Vec<ChantierRouteDto>,
    generated_at: Instant,
}

/// A user's feuille de route for a week: each chantier he worked on with
/// its address, the days and hours there. Scoped as the feuille: a
/// compagnon his own (another's is a 404), a chef or conducteur the rows of
/// his chantiers, an admin all.
#[utoipa::path(
    get, path = "/api/v1/pointages/feuille-route/{id}", tag = "pointages",
    params(("id" = Uuid, Path, description = "The user's id"), FeuilleQuery),
    responses(
        (status = 200, body = FeuilleRouteResponse),
        (status = 404, description = "`feuille_not_found`: another user's, asked by a compagnon", body = ProblemSchema),
    )
)]
async fn feuille_route(
    state: web::Data<PointagesHttp>,
    Authenticated(actor): Authenticated,
    path: web::Path<Uuid>,
    query: web::Query<FeuilleQuery>,
) -> Result<web::Json<FeuilleRouteResponse>, Problem> {
    let (feuille, noms, generated_at) = state
        .feuille_route
        .execute(&actor, path.into_inner(), query.semaine_debut.0)
        .await
        .map_err(problem)?;
    let semaine = feuille.semaine();
    let total = feuille.totaux().total();
    Ok(web::Json(FeuilleRouteResponse {
        utilisateur_id: feuille.utilisateur_id(),
        utilisateur_nom: noms.utilisateur(feuille.utilisateur_id()),
        semaine: semaine.label(),
        semaine_debut: IsoDate(semaine.lundi()),
        semaine_fin: IsoDate(semaine.dimanche()),
        total_heures: total.to_string(),
        total_heures_decimal: total.decimal(),
        total_minutes: total.minutes(),
        chantiers: feuille
            .par_chantier()
            .iter()
            .map(|ligne| ChantierRouteDto {
                chantier_id: ligne.chantier_id,
                chantier_nom: noms.chantier(ligne.chantier_id),
                adresse: noms.adresses.get(&ligne.chantier_id).cloned(),
                jours: ligne.jours().into_iter().map(str::to_owned).collect(),
                heures_par_jour: ligne.totaux.par_jour.into(),
                total_heures: ligne.totaux.total().to_string(),
                total_minutes: ligne.totaux.total().minutes(),
            })
            .collect(),
        generated_at: Instant(generated_at),
    }))
}
