//! HTTP routes of the planning context: `/api/v1/planning/*`.

use actix_web::http::{StatusCode, header};
use actix_web::{HttpRequest, HttpResponse, web};
use hub_kernel::{Actor, Page, Role, ValidationErrors};
use hub_planning_application::{
    CancelAffectation, CreateAffectations, CreateBatch, CreateInput, DeleteAffectation,
    DeleteAffectations, DisplayNames, DuplicateAffectations, GetAffectation, ItemInput,
    ListAffectations, Noms, NonPlanifies, PlanningError, PlanningFilter, PlanningPorts,
    ResizeAffectation, UpdateAffectation, UpdateInput,
};
use hub_planning_domain::{Affectation, Heure, Statut, TypeAffectation};
use hub_platform_http::auth::{AdminOrConducteur, Authenticated, Authorized};
use hub_platform_http::openapi::ProblemSchema;
use hub_platform_http::precondition::{IfMatchHeader, json_with_etag};
use hub_platform_http::{IsoDate, Problem, RequestId, extractors, present};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::{IntoParams, OpenApi, ToSchema};
use uuid::Uuid;

/// The use cases behind the routes.
pub struct PlanningHttp {
    create: CreateAffectations,
    batch: CreateBatch,
    update: UpdateAffectation,
    delete: DeleteAffectation,
    delete_many: DeleteAffectations,
    cancel: CancelAffectation,
    duplicate: DuplicateAffectations,
    resize: ResizeAffectation,
    get: GetAffectation,
    list: ListAffectations,
    non_planifies: NonPlanifies,
    names: DisplayNames,
}

impl std::fmt::Debug for PlanningHttp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PlanningHttp")
    }
}

impl PlanningHttp {
    pub fn new(ports: PlanningPorts) -> Self {
        Self {
            create: CreateAffectations::new(ports.clone()),
            batch: CreateBatch::new(ports.clone()),
            update: UpdateAffectation::new(ports.clone()),
            delete: DeleteAffectation::new(ports.clone()),
            delete_many: DeleteAffectations::new(ports.clone()),
            cancel: CancelAffectation::new(ports.clone()),
            duplicate: DuplicateAffectations::new(ports.clone()),
            resize: ResizeAffectation::new(ports.clone()),
            get: GetAffectation::new(ports.clone()),
            list: ListAffectations::new(ports.clone()),
            non_planifies: NonPlanifies::new(ports.clone()),
            names: DisplayNames::new(ports),
        }
    }
}

/// Registers the routes.
pub fn configure(cfg: &mut web::ServiceConfig, state: web::Data<PlanningHttp>) {
    cfg.app_data(state)
        .service(
            web::resource("/api/v1/planning/affectations")
                .route(web::post().to(create_affectation))
                .route(web::get().to(list_affectations)),
        )
        .route(
            "/api/v1/planning/affectations/bulk",
            web::post().to(create_affectations),
        )
        .route(
            "/api/v1/planning/affectations/batch",
            web::post().to(create_batch),
        )
        .route(
            "/api/v1/planning/affectations/bulk-delete",
            web::post().to(delete_affectations),
        )
        .route(
            "/api/v1/planning/affectations/duplicate",
            web::post().to(duplicate_affectations),
        )
        .service(
            web::resource("/api/v1/planning/affectations/{id}")
                .route(web::get().to(get_affectation))
                .route(web::put().to(update_affectation))
                .route(web::delete().to(delete_affectation)),
        )
        .route(
            "/api/v1/planning/affectations/{id}/cancel",
            web::post().to(cancel_affectation),
        )
        .route(
            "/api/v1/planning/affectations/{id}/resize",
            web::post().to(resize_affectation),
        )
        .route(
            "/api/v1/planning/chantiers/{id}/affectations",
            web::get().to(chantier_affectations),
        )
        .route(
            "/api/v1/planning/utilisateurs/{id}/affectations",
            web::get().to(utilisateur_affectations),
        )
        .route(
            "/api/v1/planning/non-planifies",
            web::get().to(non_planifies),
        );
}

/// OpenAPI document of this context.
#[derive(OpenApi)]
#[openapi(
    paths(
        create_affectation, create_affectations, create_batch, list_affectations, get_affectation,
        update_affectation, delete_affectation, cancel_affectation, resize_affectation,
        duplicate_affectations, delete_affectations, chantier_affectations,
        utilisateur_affectations, non_planifies
    ),
    components(schemas(
        AffectationResponse, AffectationListResponse, CreateAffectationRequest,
        UpdateAffectationRequest, BatchRequest, BatchItem, CancelRequest, ResizeRequest, DuplicateRequest,
        BulkDeleteRequest, BulkDeleteResponse, NonPlanifiesResponse, AnnulationDto,
        TypeAffectationDto, StatutDto, HeureMinute, ProblemSchema
    )),
    tags((name = "planning", description = "Affectations of staff to chantiers"))
)]
pub struct PlanningApi;

hub_platform_http::text_pattern_schema!(
    /// A clock time as the API takes it.
    HeureMinute,
    Heure::PATTERN,
    "07:30",
    "`H:MM` or `HH:MM`, 0:00 to 23:59"
);

/// How an affectation was made.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
#[schema(as = TypeAffectation)]
pub enum TypeAffectationDto {
    Unique,
    Recurrente,
}

/// Whether an affectation holds or was cancelled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
#[schema(as = StatutAffectation)]
pub enum StatutDto {
    Planifiee,
    Annulee,
}

/// Who cancelled an affectation, when and why.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = Annulation)]
pub struct AnnulationDto {
    raison: String,
    par: Option<Uuid>,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    le: OffsetDateTime,
}

/// An affectation as the API shows it.
#[derive(Debug, Serialize, ToSchema)]
pub struct AffectationResponse {
    id: Uuid,
    utilisateur_id: Uuid,
    /// "Prénom Nom", when the planning knows the user.
    utilisateur_nom: Option<String>,
    chantier_id: Uuid,
    /// The chantier's name, when the planning knows it.
    chantier_nom: Option<String>,
    date: IsoDate,
    /// `HH:MM`.
    #[schema(example = "07:30")]
    #[schema(value_type = Option<HeureMinute>)]
    heure_debut: Option<String>,
    /// `HH:MM`, after `heure_debut`.
    #[schema(example = "16:30")]
    #[schema(value_type = Option<HeureMinute>)]
    heure_fin: Option<String>,
    /// Shown to administrators, conducteurs and the user planned only
    /// (`null` for other readers).
    note: Option<String>,
    type_affectation: TypeAffectationDto,
    /// 0 (lundi) to 6 (dimanche), for a recurrence.
    jours_recurrence: Option<Vec<u8>>,
    statut: StatutDto,
    annulation: Option<AnnulationDto>,
    created_by: Option<Uuid>,
    /// Incremented by every change.
    version: i64,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    updated_at: OffsetDateTime,
}

impl AffectationResponse {
    /// The affectation as `reader` may see it: the note is private to the
    /// user planned and to those who plan.
    fn for_reader(affectation: &Affectation, reader: &Actor, noms: &Noms) -> Self {
        let sees_note = matches!(reader.role, Role::Admin | Role::Conducteur)
            || reader.user_id == affectation.utilisateur_id();
        let plage = affectation.plage();
        Self {
            id: affectation.id(),
            utilisateur_id: affectation.utilisateur_id(),
            utilisateur_nom: noms
                .utilisateurs
                .get(&affectation.utilisateur_id())
                .cloned(),
            chantier_id: affectation.chantier_id(),
            chantier_nom: noms.chantiers.get(&affectation.chantier_id()).cloned(),
            date: IsoDate(affectation.date()),
            heure_debut: plage.debut().map(|h| h.to_string()),
            heure_fin: plage.fin().map(|h| h.to_string()),
            note: affectation
                .note()
                .filter(|_| sees_note)
                .map(|note| note.as_str().to_owned()),
            type_affectation: match affectation.type_affectation() {
                TypeAffectation::Unique => TypeAffectationDto::Unique,
                TypeAffectation::Recurrente => TypeAffectationDto::Recurrente,
            },
            jours_recurrence: affectation.jours_recurrence().map(|j| j.jours().to_vec()),
            statut: match affectation.statut() {
                Statut::Planifiee => StatutDto::Planifiee,
                Statut::Annulee => StatutDto::Annulee,
            },
            annulation: affectation.annulation().map(|a| AnnulationDto {
                raison: a.raison.as_str().to_owned(),
                par: a.par,
                le: a.le,
            }),
            created_by: affectation.created_by(),
            version: affectation.version(),
            created_at: affectation.created_at(),
            updated_at: affectation.updated_at(),
        }
    }

    fn all(affectations: &[Affectation], reader: &Actor, noms: &Noms) -> Vec<Self> {
        affectations
            .iter()
            .map(|a| Self::for_reader(a, reader, noms))
            .collect()
    }
}

impl PlanningHttp {
    /// The affectations as `reader` sees them, with their display names.
    async fn show(
        &self,
        affectations: &[Affectation],
        reader: &Actor,
    ) -> Result<Vec<AffectationResponse>, Problem> {
        let noms = self.names.execute(affectations).await.map_err(problem)?;
        Ok(AffectationResponse::all(affectations, reader, &noms))
    }

    async fn show_one(
        &self,
        affectation: &Affectation,
        reader: &Actor,
    ) -> Result<AffectationResponse, Problem> {
        let noms = self
            .names
            .execute(std::slice::from_ref(affectation))
            .await
            .map_err(problem)?;
        Ok(AffectationResponse::for_reader(affectation, reader, &noms))
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AffectationListResponse {
    total: u64,
    affectations: Vec<AffectationResponse>,
}

/// One day, a day range (`date_fin`) or a weekly recurrence.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateAffectationRequest {
    utilisateur_id: Uuid,
    chantier_id: Uuid,
    date: IsoDate,
    /// For `unique`: plan every day up to this one (inclusive, at most 366
    /// days); ignored when not after `date`.
    date_fin: Option<IsoDate>,
    /// `H:MM` or `HH:MM`.
    #[schema(example = "7:30")]
    #[schema(value_type = Option<HeureMinute>)]
    heure_debut: Option<String>,
    /// `H:MM` or `HH:MM`, after `heure_debut`.
    #[schema(example = "16:30")]
    #[schema(value_type = Option<HeureMinute>)]
    heure_fin: Option<String>,
    /// At most 500 characters; blank is none.
    #[schema(max_length = 500)]
    note: Option<String>,
    /// `unique` (default) or `recurrente`.
    type_affectation: Option<TypeAffectationDto>,
    /// For `recurrente`: the weekdays, 0 (lundi) to 6 (dimanche).
    jours_recurrence: Option<Vec<i64>>,
    /// For `recurrente`: the last day (after `date`; at most 366 rows).
    date_fin_recurrence: Option<IsoDate>,
}

impl From<CreateAffectationRequest> for CreateInput {
    fn from(body: CreateAffectationRequest) -> Self {
        CreateInput {
            utilisateur_id: body.utilisateur_id,
            chantier_id: body.chantier_id,
            date: body.date.0,
            date_fin: body.date_fin.map(|d| d.0),
            heure_debut: body.heure_debut,
            heure_fin: body.heure_fin,
            note: body.note,
            type_affectation: body.type_affectation.map(|t| {
                match t {
                    TypeAffectationDto::Unique => "unique",
                    TypeAffectationDto::Recurrente => "recurrente",
                }
                .to_owned()
            }),
            jours_recurrence: body.jours_recurrence,
            date_fin_recurrence: body.date_fin_recurrence.map(|d| d.0),
        }
    }
}

/// One affectation of a batch.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BatchItem {
    utilisateur_id: Uuid,
    chantier_id: Uuid,
    date: IsoDate,
    /// `H:MM` or `HH:MM`.
    #[schema(value_type = Option<HeureMinute>)]
    heure_debut: Option<String>,
    /// `H:MM` or `HH:MM`, after `heure_debut`.
    #[schema(value_type = Option<HeureMinute>)]
    heure_fin: Option<String>,
    #[schema(max_length = 500)]
    note: Option<String>,
}

/// 1 to 366 affectations (any users, chantiers and days), made all or none.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BatchRequest {
    affectations: Vec<BatchItem>,
}

/// A move or an edit: absent fields are left unchanged; a time given
/// replaces the stored one; `note` `null` or blank clears it.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateAffectationRequest {
    date: Option<IsoDate>,
    utilisateur_id: Option<Uuid>,
    chantier_id: Option<Uuid>,
    #[schema(value_type = Option<HeureMinute>)]
    heure_debut: Option<String>,
    #[schema(value_type = Option<HeureMinute>)]
    heure_fin: Option<String>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>, max_length = 500)]
    note: Option<Option<String>>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CancelRequest {
    /// Why (1 to 500 characters); kept with the affectation.
    #[schema(example = "Intempéries", max_length = 500)]
    raison: String,
}

/// The new extent of the block: it must contain the affectation's day.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResizeRequest {
    date_debut: IsoDate,
    date_fin: IsoDate,
}

/// Copy one user's planned affectations of a period to another.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DuplicateRequest {
    utilisateur_id: Uuid,
    source_date_debut: IsoDate,
    /// On or after `source_date_debut`.
    source_date_fin: IsoDate,
    /// After `source_date_fin`.
    target_date_debut: IsoDate,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BulkDeleteRequest {
    /// 1 to 366 affectations, all deleted or none.
    ids: Vec<Uuid>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct BulkDeleteResponse {
    deleted: Vec<Uuid>,
    count: usize,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct NonPlanifiesResponse {
    utilisateur_ids: Vec<Uuid>,
    date_debut: IsoDate,
    date_fin: IsoDate,
    count: usize,
}

/// The planning's query. `utilisateur_ids` and `chantier_ids` repeat
/// (`chantier_ids=a&chantier_ids=b`) or list ids separated by commas.
#[derive(Debug, Default, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PlanningQuery {
    /// First day (required).
    #[param(value_type = String, format = Date)]
    date_debut: Option<IsoDate>,
    /// Last day (required; at most 93 days after `date_debut`).
    #[param(value_type = String, format = Date)]
    date_fin: Option<IsoDate>,
    /// Any of these users.
    utilisateur_ids: Vec<Uuid>,
    /// Any of these chantiers.
    chantier_ids: Vec<Uuid>,
    /// `planifiee` to leave cancelled affectations out.
    #[param(value_type = Option<String>)]
    statut: Option<String>,
    /// Affectations to skip (default 0).
    skip: Option<u64>,
    /// Page size, 1 to 100 (default 50).
    limit: Option<u64>,
}

impl PlanningQuery {
    /// Reads the raw query string (repeated keys are not what serde's
    /// urlencoded reader accepts); every bad parameter is a field error.
    fn parse(query: &str) -> Result<Self, Problem> {
        let mut parsed = Self::default();
        let mut errors = ValidationErrors::new();
        for pair in query.split('&').filter(|pair| !pair.is_empty()) {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            let value = value.replace("%2C", ",").replace("%2c", ",");
            let ids = |errors: &mut ValidationErrors, into: &mut Vec<Uuid>| {
                for id in value.split(',').filter(|id| !id.is_empty()) {
                    if let Some(id) = errors.check(key, "invalid", Uuid::parse_str(id)) {
                        into.push(id);
                    }
                }
            };
            match key {
                "date_debut" => {
                    parsed.date_debut = errors.check(key, "invalid", IsoDate::parse(&value));
                }
                "date_fin" => {
                    parsed.date_fin = errors.check(key, "invalid", IsoDate::parse(&value))
                }
                "utilisateur_ids" | "utilisateur_ids[]" => {
                    ids(&mut errors, &mut parsed.utilisateur_ids);
                }
                "chantier_ids" | "chantier_ids[]" => ids(&mut errors, &mut parsed.chantier_ids),
                "statut" => parsed.statut = Some(value),
                "skip" => parsed.skip = errors.check(key, "invalid", value.parse::<u64>()),
                "limit" => parsed.limit = errors.check(key, "invalid", value.parse::<u64>()),
                other => errors.add(other, "unknown", "is not a parameter of this route"),
            }
        }
        if parsed.date_debut.is_none() && errors.is_empty() {
            errors.add("date_debut", "required", "is required");
        }
        if parsed.date_fin.is_none() && errors.is_empty() {
            errors.add("date_fin", "required", "is required");
        }
        if parsed
            .statut
            .as_deref()
            .is_some_and(|statut| statut != "planifiee")
        {
            errors.add("statut", "invalid", "must be `planifiee`");
        }
        errors.into_result().map_err(Problem::validation)?;
        Ok(parsed)
    }

    fn filter(&self) -> PlanningFilter {
        PlanningFilter {
            date_debut: self.date_debut.map(|d| d.0),
            date_fin: self.date_fin.map(|d| d.0),
            utilisateur_ids: self.utilisateur_ids.clone(),
            chantier_ids: self.chantier_ids.clone(),
            planned_only: self.statut.is_some(),
            visible_user: None,
            visible_chantiers: Vec::new(),
        }
    }
}

/// The period of the per-chantier, per-user and non-planifiés routes.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct PeriodQuery {
    #[param(value_type = String, format = Date)]
    date_debut: IsoDate,
    #[param(value_type = String, format = Date)]
    date_fin: IsoDate,
    skip: Option<u64>,
    limit: Option<u64>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct AffectationPath {
    /// The affectation's id.
    id: Uuid,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct OwnerPath {
    /// The chantier's or user's id.
    id: Uuid,
}

fn problem(error: PlanningError) -> Problem {
    match error {
        PlanningError::Invalid(errors) => Problem::validation(errors),
        PlanningError::NotFound => Problem::new(
            StatusCode::NOT_FOUND,
            "affectation_not_found",
            "no affectation with this id",
        ),
        PlanningError::Forbidden => Problem::forbidden(error.to_string()),
        PlanningError::UnknownUser(_) => Problem::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "utilisateur_inactive",
            error.to_string(),
        ),
        PlanningError::ChantierNotPlannable(_) => Problem::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "chantier_not_plannable",
            error.to_string(),
        ),
        PlanningError::NothingToDuplicate => Problem::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "nothing_to_duplicate",
            error.to_string(),
        ),
        PlanningError::Conflict { .. } => {
            Problem::conflict("affectation_conflict", error.to_string())
        }
        PlanningError::Cancelled => Problem::conflict("affectation_cancelled", error.to_string()),
        PlanningError::Changed => Problem::conflict("concurrent_modification", error.to_string()),
        PlanningError::Precondition(mismatch) => mismatch.into(),
        PlanningError::Unavailable(_) => Problem::internal(&error),
    }
}

/// Plan a user on a chantier: one day, a day range or a weekly recurrence
/// (answers the first affectation; `/bulk` answers them all).
#[utoipa::path(
    post, path = "/api/v1/planning/affectations", tag = "planning",
    request_body = CreateAffectationRequest,
    responses(
        (status = 201, body = AffectationResponse),
        (status = 409, description = "`affectation_conflict`: the user already has an affectation that day", body = ProblemSchema),
        (status = 422, description = "`utilisateur_inactive`: the user is unknown or inactive; `chantier_not_plannable`: the chantier is unknown, deleted, or not `ouvert`/`en_cours`; `validation_failed`, field codes `too_many_days` (more than 366 days), `no_matching_date`, `before_start`, `before_heure_debut`, `required`, `invalid`", body = ProblemSchema),
    )
)]
async fn create_affectation(
    state: web::Data<PlanningHttp>,
    user: Authorized<AdminOrConducteur>,
    request_id: RequestId,
    body: web::Json<CreateAffectationRequest>,
) -> Result<HttpResponse, Problem> {
    let created = state
        .create
        .execute(
            &request_id.command_context(user.actor),
            body.into_inner().into(),
        )
        .await
        .map_err(problem)?;
    let first = created
        .first()
        .ok_or_else(|| Problem::internal_message("a creation made no affectation"))?;
    Ok(HttpResponse::Created()
        .insert_header((
            header::LOCATION,
            format!("/api/v1/planning/affectations/{}", first.id()),
        ))
        .json(state.show_one(first, &user.actor).await?))
}

/// Plan a user on a chantier, answering every affectation made.
#[utoipa::path(
    post, path = "/api/v1/planning/affectations/bulk", tag = "planning",
    request_body = CreateAffectationRequest,
    responses(
        (status = 201, body = AffectationListResponse),
        (status = 409, description = "`affectation_conflict`", body = ProblemSchema),
        (status = 422, description = "`utilisateur_inactive`: the user is unknown or inactive; `chantier_not_plannable`: the chantier is unknown, deleted, or not `ouvert`/`en_cours`; `validation_failed`, field codes `too_many_days` (more than 366 days), `no_matching_date`, `before_start`, `before_heure_debut`, `required`, `invalid`", body = ProblemSchema),
    )
)]
async fn create_affectations(
    state: web::Data<PlanningHttp>,
    user: Authorized<AdminOrConducteur>,
    request_id: RequestId,
    body: web::Json<CreateAffectationRequest>,
) -> Result<HttpResponse, Problem> {
    let created = state
        .create
        .execute(
            &request_id.command_context(user.actor),
            body.into_inner().into(),
        )
        .await
        .map_err(problem)?;
    Ok(HttpResponse::Created().json(AffectationListResponse {
        total: created.len() as u64,
        affectations: state.show(&created, &user.actor).await?,
    }))
}

/// Plan many (users, chantiers, days) in one transaction: all or none;
/// one `affectation.bulk_created` (`bulk`) per chantier.
#[utoipa::path(
    post, path = "/api/v1/planning/affectations/batch", tag = "planning",
    request_body = BatchRequest,
    responses(
        (status = 201, body = AffectationListResponse),
        (status = 409, description = "`affectation_conflict`", body = ProblemSchema),
        (status = 422, description = "`utilisateur_inactive`: the user is unknown or inactive; `chantier_not_plannable`: the chantier is unknown, deleted, or not `ouvert`/`en_cours` (for any item); `validation_failed`, field codes `invalid_count` (no item), `too_many_days` (more than 366 items), and `affectations[i].<field>` `before_heure_debut` or `invalid`", body = ProblemSchema),
    )
)]
async fn create_batch(
    state: web::Data<PlanningHttp>,
    user: Authorized<AdminOrConducteur>,
    request_id: RequestId,
    body: web::Json<BatchRequest>,
) -> Result<HttpResponse, Problem> {
    let items: Vec<ItemInput> = body
        .into_inner()
        .affectations
        .into_iter()
        .map(|item| ItemInput {
            utilisateur_id: item.utilisateur_id,
            chantier_id: item.chantier_id,
            date: item.date.0,
            heure_debut: item.heure_debut,
            heure_fin: item.heure_fin,
            note: item.note,
        })
        .collect();
    let created = state
        .batch
        .execute(&request_id.command_context(user.actor), &items)
        .await
        .map_err(problem)?;
    Ok(HttpResponse::Created().json(AffectationListResponse {
        total: created.len() as u64,
        affectations: state.show(&created, &user.actor).await?,
    }))
}

async fn list(
    state: &PlanningHttp,
    actor: &Actor,
    filter: &PlanningFilter,
    page: Page,
) -> Result<web::Json<AffectationListResponse>, Problem> {
    let (found, total) = state
        .list
        .execute(actor, filter, page)
        .await
        .map_err(problem)?;
    Ok(web::Json(AffectationListResponse {
        total,
        affectations: state.show(&found, actor).await?,
    }))
}

/// The planning of a period (at most 93 days), ordered by date, user and
/// start time; each caller sees what their role allows.
#[utoipa::path(
    get, path = "/api/v1/planning/affectations", tag = "planning", params(PlanningQuery),
    responses(
        (status = 200, body = AffectationListResponse),
    )
)]
async fn list_affectations(
    state: web::Data<PlanningHttp>,
    Authenticated(actor): Authenticated,
    request: HttpRequest,
) -> Result<web::Json<AffectationListResponse>, Problem> {
    let query = PlanningQuery::parse(request.query_string())?;
    let page = extractors::page(query.skip, query.limit)?;
    list(&state, &actor, &query.filter(), page).await
}

fn period_filter(query: &PeriodQuery) -> PlanningFilter {
    PlanningFilter {
        date_debut: Some(query.date_debut.0),
        date_fin: Some(query.date_fin.0),
        ..PlanningFilter::default()
    }
}

/// The planning of one chantier over a period.
#[utoipa::path(
    get, path = "/api/v1/planning/chantiers/{id}/affectations", tag = "planning",
    params(OwnerPath, PeriodQuery),
    responses(
        (status = 200, body = AffectationListResponse),
    )
)]
async fn chantier_affectations(
    state: web::Data<PlanningHttp>,
    Authenticated(actor): Authenticated,
    path: web::Path<OwnerPath>,
    query: web::Query<PeriodQuery>,
) -> Result<web::Json<AffectationListResponse>, Problem> {
    let page = extractors::page(query.skip, query.limit)?;
    let filter = PlanningFilter {
        chantier_ids: vec![path.id],
        ..period_filter(&query)
    };
    list(&state, &actor, &filter, page).await
}

/// The planning of one user over a period (empty for a user outside the
/// caller's view).
#[utoipa::path(
    get, path = "/api/v1/planning/utilisateurs/{id}/affectations", tag = "planning",
    params(OwnerPath, PeriodQuery),
    responses(
        (status = 200, body = AffectationListResponse),
    )
)]
async fn utilisateur_affectations(
    state: web::Data<PlanningHttp>,
    Authenticated(actor): Authenticated,
    path: web::Path<OwnerPath>,
    query: web::Query<PeriodQuery>,
) -> Result<web::Json<AffectationListResponse>, Problem> {
    let page = extractors::page(query.skip, query.limit)?;
    let filter = PlanningFilter {
        utilisateur_ids: vec![path.id],
        ..period_filter(&query)
    };
    list(&state, &actor, &filter, page).await
}

/// One affectation.
#[utoipa::path(
    get, path = "/api/v1/planning/affectations/{id}", tag = "planning", params(AffectationPath),
    responses(
        (status = 200, body = AffectationResponse),
        (status = 404, description = "`affectation_not_found` (also when outside the caller's view)", body = ProblemSchema),
    )
)]
async fn get_affectation(
    state: web::Data<PlanningHttp>,
    Authenticated(actor): Authenticated,
    path: web::Path<AffectationPath>,
) -> Result<HttpResponse, Problem> {
    let found = state.get.execute(&actor, path.id).await.map_err(problem)?;
    let body = state.show_one(&found, &actor).await?;
    Ok(json_with_etag(found.version(), &body))
}

/// Move or edit an affectation (drag and drop: day, user, chantier, times, note).
#[utoipa::path(
    put, path = "/api/v1/planning/affectations/{id}", tag = "planning", params(AffectationPath, IfMatchHeader),
    request_body = UpdateAffectationRequest,
    responses(
        (status = 200, body = AffectationResponse),
        (status = 404, description = "`affectation_not_found`", body = ProblemSchema),
        (status = 409, description = "`affectation_conflict`, `affectation_cancelled` or `concurrent_modification`", body = ProblemSchema),
        (status = 422, description = "`utilisateur_inactive`: moved to a user unknown or inactive; `chantier_not_plannable`: a move (day, user, chantier, times) onto a chantier unknown, deleted, or not `ouvert`/`en_cours` (a note alone may change); `validation_failed`, field codes `before_heure_debut`, `invalid`", body = ProblemSchema),
    )
)]
async fn update_affectation(
    state: web::Data<PlanningHttp>,
    user: Authorized<AdminOrConducteur>,
    request_id: RequestId,
    path: web::Path<AffectationPath>,
    body: web::Json<UpdateAffectationRequest>,
) -> Result<HttpResponse, Problem> {
    let body = body.into_inner();
    let input = UpdateInput {
        date: body.date.map(|d| d.0),
        utilisateur_id: body.utilisateur_id,
        chantier_id: body.chantier_id,
        heure_debut: body.heure_debut,
        heure_fin: body.heure_fin,
        note: body.note,
    };
    let updated = state
        .update
        .execute(&request_id.command_context(user.actor), path.id, input)
        .await
        .map_err(problem)?;
    let body = state.show_one(&updated, &user.actor).await?;
    Ok(json_with_etag(updated.version(), &body))
}

/// Delete an affectation.
#[utoipa::path(
    delete, path = "/api/v1/planning/affectations/{id}", tag = "planning", params(AffectationPath, IfMatchHeader),
    responses(
        (status = 204, description = "Deleted"),
        (status = 404, description = "`affectation_not_found`", body = ProblemSchema),
        (status = 409, description = "`concurrent_modification`", body = ProblemSchema),
    )
)]
async fn delete_affectation(
    state: web::Data<PlanningHttp>,
    user: Authorized<AdminOrConducteur>,
    request_id: RequestId,
    path: web::Path<AffectationPath>,
) -> Result<HttpResponse, Problem> {
    state
        .delete
        .execute(&request_id.command_context(user.actor), path.id)
        .await
        .map_err(problem)?;
    Ok(HttpResponse::NoContent().finish())
}

/// Cancel an affectation with a reason; it stays visible as `annulee` and
/// frees the user's day.
#[utoipa::path(
    post, path = "/api/v1/planning/affectations/{id}/cancel", tag = "planning",
    params(AffectationPath, IfMatchHeader), request_body = CancelRequest,
    responses(
        (status = 200, body = AffectationResponse),
        (status = 404, description = "`affectation_not_found`", body = ProblemSchema),
        (status = 409, description = "`affectation_cancelled` or `concurrent_modification`", body = ProblemSchema),
        (status = 422, description = "`validation_failed`, field code `invalid` (`raison` blank or longer than 500 characters)", body = ProblemSchema),
    )
)]
async fn cancel_affectation(
    state: web::Data<PlanningHttp>,
    user: Authorized<AdminOrConducteur>,
    request_id: RequestId,
    path: web::Path<AffectationPath>,
    body: web::Json<CancelRequest>,
) -> Result<HttpResponse, Problem> {
    let cancelled = state
        .cancel
        .execute(
            &request_id.command_context(user.actor),
            path.id,
            &body.raison,
        )
        .await
        .map_err(problem)?;
    let body = state.show_one(&cancelled, &user.actor).await?;
    Ok(json_with_etag(cancelled.version(), &body))
}

/// Stretch a block over more days (only extends; days already on the same
/// chantier are kept). Answers the user's affectations on that chantier
/// within the range.
#[utoipa::path(
    post, path = "/api/v1/planning/affectations/{id}/resize", tag = "planning",
    params(AffectationPath), request_body = ResizeRequest,
    responses(
        (status = 200, body = AffectationListResponse),
        (status = 404, description = "`affectation_not_found`", body = ProblemSchema),
        (status = 409, description = "`affectation_conflict` (a day on another chantier) or `affectation_cancelled`", body = ProblemSchema),
        (status = 422, description = "`utilisateur_inactive`: the user is unknown or inactive; `chantier_not_plannable`: the chantier is unknown, deleted, or not `ouvert`/`en_cours`; `validation_failed`, field codes `too_many_days` (a range over 366 days), `outside_range` (the range does not contain the affectation's day), `before_start`", body = ProblemSchema),
    )
)]
async fn resize_affectation(
    state: web::Data<PlanningHttp>,
    user: Authorized<AdminOrConducteur>,
    request_id: RequestId,
    path: web::Path<AffectationPath>,
    body: web::Json<ResizeRequest>,
) -> Result<web::Json<AffectationListResponse>, Problem> {
    let block = state
        .resize
        .execute(
            &request_id.command_context(user.actor),
            path.id,
            body.date_debut.0,
            body.date_fin.0,
        )
        .await
        .map_err(problem)?;
    Ok(web::Json(AffectationListResponse {
        total: block.len() as u64,
        affectations: state.show(&block, &user.actor).await?,
    }))
}

/// Copy a user's planned affectations of a period to another period.
#[utoipa::path(
    post, path = "/api/v1/planning/affectations/duplicate", tag = "planning",
    request_body = DuplicateRequest,
    responses(
        (status = 201, body = AffectationListResponse),
        (status = 409, description = "`affectation_conflict`", body = ProblemSchema),
        (status = 422, description = "`nothing_to_duplicate`: the source period holds no planned affectation of the user; `utilisateur_inactive`: the user is unknown or inactive; `chantier_not_plannable`: the chantier is unknown, deleted, or not `ouvert`/`en_cours`; `validation_failed`, field codes `too_many_days` (a source period over 366 days), `before_start`, `out_of_range`", body = ProblemSchema),
    )
)]
async fn duplicate_affectations(
    state: web::Data<PlanningHttp>,
    user: Authorized<AdminOrConducteur>,
    request_id: RequestId,
    body: web::Json<DuplicateRequest>,
) -> Result<HttpResponse, Problem> {
    let copies = state
        .duplicate
        .execute(
            &request_id.command_context(user.actor),
            body.utilisateur_id,
            (body.source_date_debut.0, body.source_date_fin.0),
            body.target_date_debut.0,
        )
        .await
        .map_err(problem)?;
    Ok(HttpResponse::Created().json(AffectationListResponse {
        total: copies.len() as u64,
        affectations: state.show(&copies, &user.actor).await?,
    }))
}

/// Delete several affectations in one transaction (all or none).
#[utoipa::path(
    post, path = "/api/v1/planning/affectations/bulk-delete", tag = "planning",
    request_body = BulkDeleteRequest,
    responses(
        (status = 200, body = BulkDeleteResponse),
        (status = 404, description = "`affectation_not_found`: one of the ids", body = ProblemSchema),
        (status = 409, description = "`concurrent_modification`", body = ProblemSchema),
        (status = 422, description = "`validation_failed`, field code `invalid_count` (no id, or more than 366)", body = ProblemSchema),
    )
)]
async fn delete_affectations(
    state: web::Data<PlanningHttp>,
    user: Authorized<AdminOrConducteur>,
    request_id: RequestId,
    body: web::Json<BulkDeleteRequest>,
) -> Result<web::Json<BulkDeleteResponse>, Problem> {
    let deleted = state
        .delete_many
        .execute(&request_id.command_context(user.actor), &body.ids)
        .await
        .map_err(problem)?;
    Ok(web::Json(BulkDeleteResponse {
        count: deleted.len(),
        deleted,
    }))
}

/// The active users with nothing planned in a period.
#[utoipa::path(
    get, path = "/api/v1/planning/non-planifies", tag = "planning", params(PeriodQuery),
    responses(
        (status = 200, body = NonPlanifiesResponse),
    )
)]
async fn non_planifies(
    state: web::Data<PlanningHttp>,
    _user: Authorized<AdminOrConducteur>,
    query: web::Query<PeriodQuery>,
) -> Result<web::Json<NonPlanifiesResponse>, Problem> {
    let free = state
        .non_planifies
        .execute(query.date_debut.0, query.date_fin.0)
        .await
        .map_err(problem)?;
    Ok(web::Json(NonPlanifiesResponse {
        count: free.len(),
        utilisateur_ids: free,
        date_debut: query.date_debut,
        date_fin: query.date_fin,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_query_accepts_repeated_and_comma_separated_ids() {
        let (a, b, c) = (Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7());
        let query = PlanningQuery::parse(&format!(
            "date_debut=2026-12-07&date_fin=2026-12-13&chantier_ids={a}&chantier_ids={b}%2C{c}&limit=5"
        ))
        .unwrap();
        assert_eq!(query.chantier_ids, [a, b, c]);
        assert_eq!(query.limit, Some(5));
        let refused = PlanningQuery::parse("date_debut=2026-13-01&x=1").unwrap_err();
        let fields: Vec<&str> = refused
            .field_errors()
            .iter()
            .map(|e| e.field.as_str())
            .collect();
        assert_eq!(fields, ["date_debut", "x"]);
        let missing = PlanningQuery::parse("").unwrap_err();
        assert_eq!(missing.field_errors()[0].field, "date_debut");
    }

    #[test]
    fn each_write_names_the_business_codes_of_its_422() {
        let document = serde_json::to_value(PlanningApi::openapi()).unwrap();
        let code = |error| problem(error).code().to_owned();
        let user = code(PlanningError::UnknownUser(Uuid::nil()));
        let closed = code(PlanningError::ChantierNotPlannable(Uuid::nil()));
        let nothing = code(PlanningError::NothingToDuplicate);
        let validation = code(PlanningError::Invalid(ValidationErrors::single(
            "date_fin",
            "too_many_days",
            "x",
        )));
        let refused = [user.as_str(), closed.as_str(), validation.as_str()];
        let affectations = "/api/v1/planning/affectations";
        let expected: [(String, &str, Vec<&str>); 6] = [
            (affectations.to_owned(), "post", vec!["too_many_days"]),
            (
                format!("{affectations}/bulk"),
                "post",
                vec!["too_many_days"],
            ),
            (
                format!("{affectations}/batch"),
                "post",
                vec!["too_many_days", "invalid_count"],
            ),
            (
                format!("{affectations}/{{id}}"),
                "put",
                vec!["before_heure_debut"],
            ),
            (
                format!("{affectations}/{{id}}/resize"),
                "post",
                vec!["too_many_days", "outside_range"],
            ),
            (
                format!("{affectations}/duplicate"),
                "post",
                vec![nothing.as_str(), "too_many_days"],
            ),
        ];
        for (path, method, own) in expected {
            let description =
                document["paths"][path.as_str()][method]["responses"]["422"]["description"]
                    .as_str()
                    .unwrap_or_default();
            for code in refused.iter().chain(&own) {
                assert!(
                    description.contains(&format!("`{code}`")),
                    "{method} {path}: {code} missing from {description:?}"
                );
            }
        }
    }
}
