//! HTTP routes of the signalements context: `/api/v1/signalements*`.
//! Every route needs a signed-in user; who may do what on which chantier
//! is the use cases' (out of sight → 404, in sight but not allowed → 403).

use std::sync::Arc;

use actix_web::http::{StatusCode, header};
use actix_web::{HttpResponse, web};
use hub_kernel::{Clock, ValidationErrors};
use hub_platform_http::auth::Authenticated;
use hub_platform_http::openapi::ProblemSchema;
use hub_platform_http::precondition::{IfMatchHeader, json_with_etag};
use hub_platform_http::{Instant, Problem, RequestId, extractors, present};
use hub_signalements_application::{
    AssignerSignalement, CloturerSignalement, CreateReponse, CreateSignalement, DeleteReponse,
    DeleteSignalement, GetSignalement, ListReponses, ListSignalements, Ordre, ReouvrirSignalement,
    ReponseInput, ReponseUpdateInput, ReponseView, SignalementCommandError, SignalementFilter,
    SignalementInput, SignalementPorts, SignalementView, Statistiques, StatistiquesQuery,
    TraiterSignalement, UpdateInput, UpdateReponse, UpdateSignalement,
};
use hub_signalements_domain::{Priorite, Reponse, Signalement, SignalementError, Statut};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::{IntoParams, OpenApi, ToSchema};
use uuid::Uuid;

/// The use cases behind the routes, and the clock the deadlines are read with.
pub struct SignalementsHttp {
    create: CreateSignalement,
    get: GetSignalement,
    list: ListSignalements,
    stats: StatistiquesQuery,
    update: UpdateSignalement,
    delete: DeleteSignalement,
    assigner: AssignerSignalement,
    traiter: TraiterSignalement,
    cloturer: CloturerSignalement,
    reouvrir: ReouvrirSignalement,
    create_reponse: CreateReponse,
    list_reponses: ListReponses,
    update_reponse: UpdateReponse,
    delete_reponse: DeleteReponse,
    clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for SignalementsHttp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SignalementsHttp")
    }
}

impl SignalementsHttp {
    pub fn new(ports: SignalementPorts) -> Self {
        Self {
            create: CreateSignalement::new(ports.clone()),
            get: GetSignalement::new(ports.clone()),
            list: ListSignalements::new(ports.clone()),
            stats: StatistiquesQuery::new(ports.clone()),
            update: UpdateSignalement::new(ports.clone()),
            delete: DeleteSignalement::new(ports.clone()),
            assigner: AssignerSignalement::new(ports.clone()),
            traiter: TraiterSignalement::new(ports.clone()),
            cloturer: CloturerSignalement::new(ports.clone()),
            reouvrir: ReouvrirSignalement::new(ports.clone()),
            create_reponse: CreateReponse::new(ports.clone()),
            list_reponses: ListReponses::new(ports.clone()),
            update_reponse: UpdateReponse::new(ports.clone()),
            delete_reponse: DeleteReponse::new(ports.clone()),
            clock: ports.clock,
        }
    }
}

/// Registers the routes; the literal prefixes (`stats`, `alertes`,
/// `chantier`, `reponses`) before `/{signalement_id}`.
pub fn configure(cfg: &mut web::ServiceConfig, state: web::Data<SignalementsHttp>) {
    const BASE: &str = "/api/v1/signalements";
    cfg.app_data(state)
        .service(
            web::resource(BASE)
                .route(web::post().to(create_signalement))
                .route(web::get().to(search_signalements)),
        )
        .route(&format!("{BASE}/stats/global"), web::get().to(statistiques))
        .route(
            &format!("{BASE}/alertes/en-retard"),
            web::get().to(en_retard),
        )
        .route(
            &format!("{BASE}/chantier/{{chantier_id}}"),
            web::get().to(list_by_chantier),
        )
        .service(
            web::resource(format!("{BASE}/reponses/{{reponse_id}}"))
                .route(web::put().to(update_reponse))
                .route(web::delete().to(delete_reponse)),
        )
        .service(
            web::resource(format!("{BASE}/{{signalement_id}}"))
                .route(web::get().to(get_signalement))
                .route(web::put().to(update_signalement))
                .route(web::delete().to(delete_signalement)),
        )
        .route(
            &format!("{BASE}/{{signalement_id}}/assigner"),
            web::post().to(assigner),
        )
        .route(
            &format!("{BASE}/{{signalement_id}}/traiter"),
            web::post().to(traiter),
        )
        .route(
            &format!("{BASE}/{{signalement_id}}/cloturer"),
            web::post().to(cloturer),
        )
        .route(
            &format!("{BASE}/{{signalement_id}}/reouvrir"),
            web::post().to(reouvrir),
        )
        .service(
            web::resource(format!("{BASE}/{{signalement_id}}/reponses"))
                .route(web::post().to(create_reponse))
                .route(web::get().to(list_reponses)),
        );
}

/// OpenAPI document of this context.
#[derive(OpenApi)]
#[openapi(
    paths(
        create_signalement, search_signalements, statistiques, en_retard, list_by_chantier,
        get_signalement, update_signalement, delete_signalement, assigner, traiter, cloturer,
        reouvrir, create_reponse, list_reponses, update_reponse, delete_reponse
    ),
    components(schemas(
        SignalementResponse, SignalementListResponse, ReponseResponse, ReponseListResponse,
        StatistiquesResponse, CreateSignalementRequest, UpdateSignalementRequest,
        TraiterRequest, ReouvrirRequest, CreateReponseRequest, UpdateReponseRequest,
        PrioriteDto, StatutDto, ProblemSchema
    )),
    tags((name = "signalements", description = "Incident and safety reports on a chantier"))
)]
pub struct SignalementsApi;

fn instant(at: Option<OffsetDateTime>) -> Option<Instant> {
    at.map(Instant)
}

/// The priority of a signalement, as the API spells it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
#[schema(as = Priorite)]
pub enum PrioriteDto {
    Critique,
    Haute,
    Moyenne,
    Basse,
}

impl From<PrioriteDto> for Priorite {
    fn from(p: PrioriteDto) -> Self {
        match p {
            PrioriteDto::Critique => Priorite::Critique,
            PrioriteDto::Haute => Priorite::Haute,
            PrioriteDto::Moyenne => Priorite::Moyenne,
            PrioriteDto::Basse => Priorite::Basse,
        }
    }
}

impl From<Priorite> for PrioriteDto {
    fn from(p: Priorite) -> Self {
        match p {
            Priorite::Critique => PrioriteDto::Critique,
            Priorite::Haute => PrioriteDto::Haute,
            Priorite::Moyenne => PrioriteDto::Moyenne,
            Priorite::Basse => PrioriteDto::Basse,
        }
    }
}

/// The statut of a signalement, as the API spells it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
#[schema(as = StatutSignalement)]
pub enum StatutDto {
    Ouvert,
    EnCours,
    Traite,
    Cloture,
}

impl From<StatutDto> for Statut {
    fn from(s: StatutDto) -> Self {
        match s {
            StatutDto::Ouvert => Statut::Ouvert,
            StatutDto::EnCours => Statut::EnCours,
            StatutDto::Traite => Statut::Traite,
            StatutDto::Cloture => Statut::Cloture,
        }
    }
}

impl From<Statut> for StatutDto {
    fn from(s: Statut) -> Self {
        match s {
            Statut::Ouvert => StatutDto::Ouvert,
            Statut::EnCours => StatutDto::EnCours,
            Statut::Traite => StatutDto::Traite,
            Statut::Cloture => StatutDto::Cloture,
        }
    }
}

/// A signalement as the API shows it; deadline fields are computed at the
/// time of the request.
#[derive(Debug, Serialize, ToSchema)]
pub struct SignalementResponse {
    id: Uuid,
    chantier_id: Uuid,
    titre: String,
    description: String,
    priorite: PrioriteDto,
    #[schema(example = "Critique (4h)")]
    priorite_label: &'static str,
    priorite_couleur: &'static str,
    statut: StatutDto,
    #[schema(example = "En cours")]
    statut_label: &'static str,
    statut_couleur: &'static str,
    cree_par: Uuid,
    /// "Prénom Nom"; `null` when the user is unknown.
    cree_par_nom: Option<String>,
    assigne_a: Option<Uuid>,
    assigne_a_nom: Option<String>,
    date_resolution_souhaitee: Option<Instant>,
    /// The deadline: the desired date, else the start of the clock (the
    /// creation or the last reopening) plus the priority's delay.
    date_limite: Instant,
    date_traitement: Option<Instant>,
    date_cloture: Option<Instant>,
    commentaire_traitement: Option<String>,
    photo_url: Option<String>,
    /// Its photo as an uploaded document of the chantier
    /// (`/api/v1/documents/documents/{id}/download`).
    photo_document_id: Option<Uuid>,
    localisation: Option<String>,
    created_at: Instant,
    updated_at: Instant,
    /// Still active past its deadline.
    est_en_retard: bool,
    /// "En retard de 5h", "2j 3h", "3h 20min"; `null` once resolved.
    temps_restant: Option<String>,
    /// Time used in % of the time allowed (not capped); 0 once resolved.
    pourcentage_temps: f64,
    nb_reponses: u64,
    /// Escalation levels published since the clock started (0 to 3).
    nb_escalades: u8,
    /// Incremented by every change.
    version: i64,
}

impl SignalementResponse {
    fn new(view: &SignalementView, now: OffsetDateTime) -> Self {
        let s = &view.signalement;
        let echeance = s.echeance(now);
        Self {
            id: s.id(),
            chantier_id: s.chantier_id(),
            titre: s.titre().to_string(),
            description: s.description().to_string(),
            priorite: s.priorite().into(),
            priorite_label: s.priorite().label(),
            priorite_couleur: s.priorite().couleur(),
            statut: s.statut().into(),
            statut_label: s.statut().label(),
            statut_couleur: s.statut().couleur(),
            cree_par: s.cree_par(),
            cree_par_nom: view.cree_par_nom.clone(),
            assigne_a: s.assigne_a(),
            assigne_a_nom: view.assigne_a_nom.clone(),
            date_resolution_souhaitee: instant(s.date_resolution_souhaitee()),
            date_limite: Instant(echeance.date_limite),
            date_traitement: instant(s.date_traitement()),
            date_cloture: instant(s.date_cloture()),
            commentaire_traitement: s.commentaire_traitement().map(ToString::to_string),
            photo_url: s.photo_url().map(|p| p.as_str().to_owned()),
            photo_document_id: s.photo_document_id(),
            localisation: s.localisation().map(ToString::to_string),
            created_at: Instant(s.created_at()),
            updated_at: Instant(s.updated_at()),
            est_en_retard: echeance.est_en_retard,
            temps_restant: echeance.temps_restant,
            pourcentage_temps: echeance.pourcentage_temps,
            nb_reponses: view.nb_reponses,
            nb_escalades: s.nb_escalades(),
            version: s.version(),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SignalementListResponse {
    signalements: Vec<SignalementResponse>,
    total: u64,
    skip: u64,
    limit: u64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ReponseResponse {
    id: Uuid,
    signalement_id: Uuid,
    contenu: String,
    auteur_id: Uuid,
    auteur_nom: Option<String>,
    photo_url: Option<String>,
    est_resolution: bool,
    created_at: Instant,
    updated_at: Instant,
}

impl ReponseResponse {
    fn new(reponse: &Reponse, auteur_nom: Option<String>) -> Self {
        Self {
            id: reponse.id(),
            signalement_id: reponse.signalement_id(),
            contenu: reponse.contenu().as_str().to_owned(),
            auteur_id: reponse.auteur_id(),
            auteur_nom,
            photo_url: reponse.photo_url().map(|p| p.as_str().to_owned()),
            est_resolution: reponse.est_resolution(),
            created_at: Instant(reponse.created_at()),
            updated_at: Instant(reponse.updated_at()),
        }
    }
}

impl From<&ReponseView> for ReponseResponse {
    fn from(view: &ReponseView) -> Self {
        Self::new(&view.reponse, view.auteur_nom.clone())
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ReponseListResponse {
    reponses: Vec<ReponseResponse>,
    total: u64,
    skip: u64,
    limit: u64,
}

/// Counts over the signalements the caller sees.
#[derive(Debug, Serialize, ToSchema)]
pub struct StatistiquesResponse {
    total: u64,
    /// Count per statut (only those present).
    #[schema(value_type = Object, example = json!({"ouvert": 3, "traite": 1}))]
    par_statut: std::collections::BTreeMap<&'static str, u64>,
    /// Count per priority (only those present).
    #[schema(value_type = Object, example = json!({"critique": 1, "moyenne": 3}))]
    par_priorite: std::collections::BTreeMap<&'static str, u64>,
    en_retard: u64,
    /// Treated since Monday 00:00 UTC.
    traites_cette_semaine: u64,
    /// Mean hours from creation to treatment; `null` when none was treated.
    temps_moyen_resolution: Option<f64>,
    /// Mean hours from creation to closure; `null` when none was closed.
    temps_moyen_cloture: Option<f64>,
    /// (traite + cloture) / total × 100.
    taux_resolution: f64,
}

impl From<Statistiques> for StatistiquesResponse {
    fn from(stats: Statistiques) -> Self {
        Self {
            total: stats.total,
            par_statut: stats
                .par_statut
                .into_iter()
                .map(|(s, n)| (s.as_str(), n))
                .collect(),
            par_priorite: stats
                .par_priorite
                .into_iter()
                .map(|(p, n)| (p.as_str(), n))
                .collect(),
            en_retard: stats.en_retard,
            traites_cette_semaine: stats.traites_cette_semaine,
            temps_moyen_resolution: stats.temps_moyen_resolution,
            temps_moyen_cloture: stats.temps_moyen_cloture,
            taux_resolution: stats.taux_resolution,
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateSignalementRequest {
    chantier_id: Uuid,
    #[schema(example = "Garde-corps manquant au R+3", max_length = 255)]
    titre: String,
    #[schema(max_length = 5000)]
    description: String,
    /// `moyenne` when absent (case is ignored).
    #[schema(value_type = Option<PrioriteDto>)]
    priorite: Option<String>,
    /// Assigning at once makes it `en_cours` (not for compagnons).
    assigne_a: Option<Uuid>,
    /// Replaces the priority's deadline; not in the past.
    date_resolution_souhaitee: Option<Instant>,
    /// An `https://` URL.
    #[schema(max_length = 500)]
    photo_url: Option<String>,
    /// An image uploaded on the same chantier (documents context).
    photo_document_id: Option<Uuid>,
    #[schema(max_length = 255)]
    localisation: Option<String>,
}

/// Absent fields are left unchanged; `null` (or `""` for localisation)
/// clears an optional field.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateSignalementRequest {
    #[schema(max_length = 255)]
    titre: Option<String>,
    #[schema(max_length = 5000)]
    description: Option<String>,
    #[schema(value_type = Option<PrioriteDto>)]
    priorite: Option<String>,
    /// Same effect as the assign route (not for compagnons).
    assigne_a: Option<Uuid>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<Instant>)]
    date_resolution_souhaitee: Option<Option<Instant>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    photo_url: Option<Option<String>>,
    /// An image uploaded on the same chantier; `null` detaches it.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<Uuid>)]
    photo_document_id: Option<Option<Uuid>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    localisation: Option<Option<String>>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TraiterRequest {
    /// How it was dealt with (required).
    #[schema(max_length = 2000)]
    commentaire: String,
}

/// Body of a reopening: why it is reopened (required).
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReouvrirRequest {
    #[schema(value_type = String, min_length = 1, max_length = 2000)]
    motif: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateReponseRequest {
    #[schema(max_length = 5000)]
    contenu: String,
    photo_url: Option<String>,
    #[serde(default)]
    est_resolution: bool,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateReponseRequest {
    contenu: Option<String>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    photo_url: Option<Option<String>>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct SearchQuery {
    /// Searched in titre, description and localisation (case-insensitive).
    query: Option<String>,
    chantier_id: Option<Uuid>,
    statut: Option<StatutDto>,
    priorite: Option<PrioriteDto>,
    /// created_at ≥ this instant.
    #[param(value_type = Option<String>, format = DateTime)]
    date_debut: Option<Instant>,
    /// created_at ≤ this instant.
    #[param(value_type = Option<String>, format = DateTime)]
    date_fin: Option<Instant>,
    /// Only those still active past their deadline.
    #[serde(default)]
    en_retard_only: bool,
    skip: Option<u64>,
    /// 1 to 100 (default 50).
    limit: Option<u64>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ChantierListQuery {
    statut: Option<StatutDto>,
    priorite: Option<PrioriteDto>,
    skip: Option<u64>,
    /// 1 to 100 (default 50).
    limit: Option<u64>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct StatsQuery {
    chantier_id: Option<Uuid>,
    #[param(value_type = Option<String>, format = DateTime)]
    date_debut: Option<Instant>,
    #[param(value_type = Option<String>, format = DateTime)]
    date_fin: Option<Instant>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct RetardQuery {
    chantier_id: Option<Uuid>,
    skip: Option<u64>,
    limit: Option<u64>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    skip: Option<u64>,
    limit: Option<u64>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct AssignerQuery {
    /// The user to assign: active, with access to the chantier.
    assigne_a: Uuid,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct SignalementPath {
    signalement_id: Uuid,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct ChantierPath {
    chantier_id: Uuid,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct ReponsePath {
    reponse_id: Uuid,
}

fn problem(error: SignalementCommandError) -> Problem {
    match error {
        SignalementCommandError::Invalid(errors) => Problem::validation(errors),
        SignalementCommandError::NotFound => Problem::new(
            StatusCode::NOT_FOUND,
            "signalement_not_found",
            "no signalement with this id",
        ),
        SignalementCommandError::ReponseNotFound => Problem::new(
            StatusCode::NOT_FOUND,
            "reponse_not_found",
            "no reply with this id",
        ),
        SignalementCommandError::ChantierNotFound => Problem::new(
            StatusCode::NOT_FOUND,
            "chantier_not_found",
            "no chantier with this id",
        ),
        SignalementCommandError::Forbidden(message) => Problem::forbidden(message),
        SignalementCommandError::Rule(rule) => match rule {
            SignalementError::InvalidTransition(transition) => {
                Problem::conflict("invalid_transition", transition.to_string())
            }
            SignalementError::Cloture => Problem::conflict("signalement_closed", rule.to_string()),
            SignalementError::DateSouhaiteePassee => Problem::validation(ValidationErrors::single(
                "date_resolution_souhaitee",
                "in_the_past",
                rule.to_string(),
            )),
        },
        SignalementCommandError::Conflict => Problem::conflict(
            "concurrent_modification",
            "the signalement was changed by someone else meanwhile; reload it and retry",
        ),
        SignalementCommandError::Precondition(mismatch) => mismatch.into(),
        SignalementCommandError::Unavailable(_) => Problem::internal(&error),
    }
}

impl SignalementsHttp {
    fn now(&self) -> OffsetDateTime {
        self.clock.now()
    }

    async fn one(
        &self,
        actor: &hub_kernel::Actor,
        signalement: &Signalement,
    ) -> Result<SignalementResponse, Problem> {
        let view = self
            .get
            .execute(actor, signalement.id())
            .await
            .map_err(problem)?;
        Ok(SignalementResponse::new(&view, self.now()))
    }

    async fn listing(
        &self,
        actor: &hub_kernel::Actor,
        filter: &SignalementFilter,
        skip: Option<u64>,
        limit: Option<u64>,
    ) -> Result<web::Json<SignalementListResponse>, Problem> {
        let page = extractors::page(skip, limit)?;
        let (views, total) = self
            .list
            .execute(actor, filter, page)
            .await
            .map_err(problem)?;
        let now = self.now();
        Ok(web::Json(SignalementListResponse {
            signalements: views
                .iter()
                .map(|v| SignalementResponse::new(v, now))
                .collect(),
            total,
            skip: page.skip,
            limit: page.limit,
        }))
    }
}

/// Report a signalement on a chantier (any role that sees the chantier).
#[utoipa::path(
    post, path = "/api/v1/signalements", tag = "signalements",
    request_body = CreateSignalementRequest,
    responses(
        (status = 201, body = SignalementResponse),
        (status = 422, description = "`validation_failed`: invalid fields, `unknown_chantier`, `chantier_closed`, `invalid_assignee`, `in_the_past`, `unknown_document`, `not_a_photo`", body = ProblemSchema),
    )
)]
async fn create_signalement(
    state: web::Data<SignalementsHttp>,
    Authenticated(actor): Authenticated,
    request_id: RequestId,
    body: web::Json<CreateSignalementRequest>,
) -> Result<HttpResponse, Problem> {
    let body = body.into_inner();
    let input = SignalementInput {
        chantier_id: body.chantier_id,
        titre: body.titre,
        description: body.description,
        priorite: body.priorite,
        assigne_a: body.assigne_a,
        date_resolution_souhaitee: body.date_resolution_souhaitee.map(|i| i.0),
        photo_url: body.photo_url,
        photo_document_id: body.photo_document_id,
        localisation: body.localisation,
    };
    let created = state
        .create
        .execute(&request_id.command_context(actor), input)
        .await
        .map_err(problem)?;
    let response = state.one(&actor, &created).await?;
    Ok(HttpResponse::Created()
        .insert_header((
            header::LOCATION,
            format!("/api/v1/signalements/{}", created.id()),
        ))
        .json(response))
}

/// Search the signalements the caller sees: every filter combined, newest first.
#[utoipa::path(
    get, path = "/api/v1/signalements", tag = "signalements", params(SearchQuery),
    responses(
        (status = 200, body = SignalementListResponse),
    )
)]
async fn search_signalements(
    state: web::Data<SignalementsHttp>,
    Authenticated(actor): Authenticated,
    query: web::Query<SearchQuery>,
) -> Result<web::Json<SignalementListResponse>, Problem> {
    let q = query.into_inner();
    let filter = SignalementFilter {
        chantier_id: q.chantier_id,
        statut: q.statut.map(Statut::from),
        priorite: q.priorite.map(Priorite::from),
        query: q.query,
        date_debut: q.date_debut.map(|i| i.0),
        date_fin: q.date_fin.map(|i| i.0),
        en_retard_only: q.en_retard_only,
        visible_to: None,
        ordre: Ordre::Recents,
    };
    state.listing(&actor, &filter, q.skip, q.limit).await
}

/// Statistics over the signalements the caller sees (optionally one chantier).
#[utoipa::path(
    get, path = "/api/v1/signalements/stats/global", tag = "signalements", params(StatsQuery),
    responses(
        (status = 200, body = StatistiquesResponse),
        (status = 404, description = "`chantier_not_found`", body = ProblemSchema),
    )
)]
async fn statistiques(
    state: web::Data<SignalementsHttp>,
    Authenticated(actor): Authenticated,
    query: web::Query<StatsQuery>,
) -> Result<web::Json<StatistiquesResponse>, Problem> {
    let q = query.into_inner();
    let filter = SignalementFilter {
        chantier_id: q.chantier_id,
        date_debut: q.date_debut.map(|i| i.0),
        date_fin: q.date_fin.map(|i| i.0),
        ..SignalementFilter::default()
    };
    let stats = state
        .stats
        .execute(&actor, &filter)
        .await
        .map_err(problem)?;
    Ok(web::Json(stats.into()))
}

/// The late signalements the caller sees, oldest first.
#[utoipa::path(
    get, path = "/api/v1/signalements/alertes/en-retard", tag = "signalements", params(RetardQuery),
    responses(
        (status = 200, body = SignalementListResponse),
        (status = 404, description = "`chantier_not_found`", body = ProblemSchema),
    )
)]
async fn en_retard(
    state: web::Data<SignalementsHttp>,
    Authenticated(actor): Authenticated,
    query: web::Query<RetardQuery>,
) -> Result<web::Json<SignalementListResponse>, Problem> {
    let q = query.into_inner();
    let filter = SignalementFilter {
        chantier_id: q.chantier_id,
        en_retard_only: true,
        ordre: Ordre::Anciens,
        ..SignalementFilter::default()
    };
    state.listing(&actor, &filter, q.skip, q.limit).await
}

/// The signalements of one chantier, most urgent first.
#[utoipa::path(
    get, path = "/api/v1/signalements/chantier/{chantier_id}", tag = "signalements",
    params(ChantierPath, ChantierListQuery),
    responses(
        (status = 200, body = SignalementListResponse),
        (status = 404, description = "`chantier_not_found`", body = ProblemSchema),
    )
)]
async fn list_by_chantier(
    state: web::Data<SignalementsHttp>,
    Authenticated(actor): Authenticated,
    path: web::Path<ChantierPath>,
    query: web::Query<ChantierListQuery>,
) -> Result<web::Json<SignalementListResponse>, Problem> {
    let q = query.into_inner();
    let filter = SignalementFilter {
        chantier_id: Some(path.chantier_id),
        statut: q.statut.map(Statut::from),
        priorite: q.priorite.map(Priorite::from),
        ordre: Ordre::Priorite,
        ..SignalementFilter::default()
    };
    state.listing(&actor, &filter, q.skip, q.limit).await
}

/// One signalement.
#[utoipa::path(
    get, path = "/api/v1/signalements/{signalement_id}", tag = "signalements", params(SignalementPath),
    responses(
        (status = 200, body = SignalementResponse),
        (status = 404, description = "`signalement_not_found`", body = ProblemSchema),
    )
)]
async fn get_signalement(
    state: web::Data<SignalementsHttp>,
    Authenticated(actor): Authenticated,
    path: web::Path<SignalementPath>,
) -> Result<HttpResponse, Problem> {
    let view = state
        .get
        .execute(&actor, path.signalement_id)
        .await
        .map_err(problem)?;
    let body = SignalementResponse::new(&view, state.now());
    Ok(json_with_etag(body.version, &body))
}

/// Edit a signalement: those who manage its chantier, or its reporter.
#[utoipa::path(
    put, path = "/api/v1/signalements/{signalement_id}", tag = "signalements",
    params(SignalementPath, IfMatchHeader), request_body = UpdateSignalementRequest,
    responses(
        (status = 200, body = SignalementResponse),
        (status = 404, description = "`signalement_not_found`", body = ProblemSchema),
        (status = 409, description = "`signalement_closed` or `concurrent_modification`", body = ProblemSchema),
        (status = 422, description = "`validation_failed`: invalid fields, `invalid_assignee`, `in_the_past`, `unknown_document`, `not_a_photo`", body = ProblemSchema),
    )
)]
async fn update_signalement(
    state: web::Data<SignalementsHttp>,
    Authenticated(actor): Authenticated,
    request_id: RequestId,
    path: web::Path<SignalementPath>,
    body: web::Json<UpdateSignalementRequest>,
) -> Result<HttpResponse, Problem> {
    let body = body.into_inner();
    let input = UpdateInput {
        titre: body.titre,
        description: body.description,
        priorite: body.priorite,
        assigne_a: body.assigne_a,
        date_resolution_souhaitee: body.date_resolution_souhaitee.map(|d| d.map(|i| i.0)),
        photo_url: body.photo_url,
        photo_document_id: body.photo_document_id,
        localisation: body.localisation,
    };
    let updated = state
        .update
        .execute(
            &request_id.command_context(actor),
            path.signalement_id,
            input,
        )
        .await
        .map_err(problem)?;
    let body = state.one(&actor, &updated).await?;
    Ok(json_with_etag(body.version, &body))
}

/// Delete a signalement and its replies (administrators, and conducteurs of its chantier).
#[utoipa::path(
    delete, path = "/api/v1/signalements/{signalement_id}", tag = "signalements", params(SignalementPath, IfMatchHeader),
    responses(
        (status = 204, description = "Deleted"),
        (status = 404, description = "`signalement_not_found`", body = ProblemSchema),
        (status = 409, description = "`concurrent_modification`", body = ProblemSchema),
    )
)]
async fn delete_signalement(
    state: web::Data<SignalementsHttp>,
    Authenticated(actor): Authenticated,
    request_id: RequestId,
    path: web::Path<SignalementPath>,
) -> Result<HttpResponse, Problem> {
    state
        .delete
        .execute(&request_id.command_context(actor), path.signalement_id)
        .await
        .map_err(problem)?;
    Ok(HttpResponse::NoContent().finish())
}

/// Assign a signalement (those who manage its chantier); an open one becomes `en_cours`.
#[utoipa::path(
    post, path = "/api/v1/signalements/{signalement_id}/assigner", tag = "signalements",
    params(SignalementPath, AssignerQuery, IfMatchHeader),
    responses(
        (status = 200, body = SignalementResponse),
        (status = 404, description = "`signalement_not_found`", body = ProblemSchema),
        (status = 409, description = "`signalement_closed` or `concurrent_modification`", body = ProblemSchema),
        (status = 422, description = "`validation_failed`: `assigne_a` is not an active user with access to the chantier (`invalid_assignee`)", body = ProblemSchema),
    )
)]
async fn assigner(
    state: web::Data<SignalementsHttp>,
    Authenticated(actor): Authenticated,
    request_id: RequestId,
    path: web::Path<SignalementPath>,
    query: web::Query<AssignerQuery>,
) -> Result<HttpResponse, Problem> {
    let updated = state
        .assigner
        .execute(
            &request_id.command_context(actor),
            path.signalement_id,
            query.assigne_a,
        )
        .await
        .map_err(problem)?;
    let body = state.one(&actor, &updated).await?;
    Ok(json_with_etag(body.version, &body))
}

/// Mark a signalement treated, saying how (those who manage its chantier, or its assignee).
#[utoipa::path(
    post, path = "/api/v1/signalements/{signalement_id}/traiter", tag = "signalements",
    params(SignalementPath, IfMatchHeader), request_body = TraiterRequest,
    responses(
        (status = 200, body = SignalementResponse),
        (status = 404, description = "`signalement_not_found`", body = ProblemSchema),
        (status = 409, description = "`invalid_transition` or `concurrent_modification`", body = ProblemSchema),
    )
)]
async fn traiter(
    state: web::Data<SignalementsHttp>,
    Authenticated(actor): Authenticated,
    request_id: RequestId,
    path: web::Path<SignalementPath>,
    body: web::Json<TraiterRequest>,
) -> Result<HttpResponse, Problem> {
    let updated = state
        .traiter
        .execute(
            &request_id.command_context(actor),
            path.signalement_id,
            &body.commentaire,
        )
        .await
        .map_err(problem)?;
    let body = state.one(&actor, &updated).await?;
    Ok(json_with_etag(body.version, &body))
}

/// Close a treated signalement (chefs de chantier, conducteurs of its chantier, administrators).
#[utoipa::path(
    post, path = "/api/v1/signalements/{signalement_id}/cloturer", tag = "signalements",
    params(SignalementPath, IfMatchHeader),
    responses(
        (status = 200, body = SignalementResponse),
        (status = 404, description = "`signalement_not_found`", body = ProblemSchema),
        (status = 409, description = "`invalid_transition` (only a treated one closes) or `concurrent_modification`", body = ProblemSchema),
    )
)]
async fn cloturer(
    state: web::Data<SignalementsHttp>,
    Authenticated(actor): Authenticated,
    request_id: RequestId,
    path: web::Path<SignalementPath>,
) -> Result<HttpResponse, Problem> {
    let updated = state
        .cloturer
        .execute(&request_id.command_context(actor), path.signalement_id)
        .await
        .map_err(problem)?;
    let body = state.one(&actor, &updated).await?;
    Ok(json_with_etag(body.version, &body))
}

/// Reopen a signalement (administrators, and conducteurs of its chantier); its deadline clock restarts.
#[utoipa::path(
    post, path = "/api/v1/signalements/{signalement_id}/reouvrir", tag = "signalements",
    params(SignalementPath, IfMatchHeader), request_body = ReouvrirRequest,
    responses(
        (status = 200, body = SignalementResponse),
        (status = 404, description = "`signalement_not_found`", body = ProblemSchema),
        (status = 409, description = "`invalid_transition` or `concurrent_modification`", body = ProblemSchema),
        (status = 422, description = "`validation_failed`: the `motif` is missing, blank or too long", body = ProblemSchema),
    )
)]
async fn reouvrir(
    state: web::Data<SignalementsHttp>,
    Authenticated(actor): Authenticated,
    request_id: RequestId,
    path: web::Path<SignalementPath>,
    body: web::Bytes,
) -> Result<HttpResponse, Problem> {
    // An empty body reaches the use case, which answers the missing motif
    // as a field error like any other.
    let request: ReouvrirRequest = if body.iter().all(u8::is_ascii_whitespace) {
        ReouvrirRequest::default()
    } else {
        serde_json::from_slice(&body).map_err(|e| {
            Problem::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_body",
                format!("the body does not have the expected shape: {e}"),
            )
        })?
    };
    let updated = state
        .reouvrir
        .execute(
            &request_id.command_context(actor),
            path.signalement_id,
            request.motif.as_deref(),
        )
        .await
        .map_err(problem)?;
    let body = state.one(&actor, &updated).await?;
    Ok(json_with_etag(body.version, &body))
}

/// Reply to a signalement (anyone who sees it; not once it is closed).
#[utoipa::path(
    post, path = "/api/v1/signalements/{signalement_id}/reponses", tag = "signalements",
    params(SignalementPath), request_body = CreateReponseRequest,
    responses(
        (status = 201, body = ReponseResponse),
        (status = 404, description = "`signalement_not_found`", body = ProblemSchema),
        (status = 409, description = "`signalement_closed`", body = ProblemSchema),
    )
)]
async fn create_reponse(
    state: web::Data<SignalementsHttp>,
    Authenticated(actor): Authenticated,
    request_id: RequestId,
    path: web::Path<SignalementPath>,
    body: web::Json<CreateReponseRequest>,
) -> Result<HttpResponse, Problem> {
    let body = body.into_inner();
    let input = ReponseInput {
        contenu: body.contenu,
        photo_url: body.photo_url,
        est_resolution: body.est_resolution,
    };
    let view = state
        .create_reponse
        .execute(
            &request_id.command_context(actor),
            path.signalement_id,
            input,
        )
        .await
        .map_err(problem)?;
    Ok(HttpResponse::Created().json(ReponseResponse::from(&view)))
}

/// The replies of a signalement, oldest first (empty when it is missing).
#[utoipa::path(
    get, path = "/api/v1/signalements/{signalement_id}/reponses", tag = "signalements",
    params(SignalementPath, PageQuery),
    responses((status = 200, body = ReponseListResponse))
)]
async fn list_reponses(
    state: web::Data<SignalementsHttp>,
    Authenticated(actor): Authenticated,
    path: web::Path<SignalementPath>,
    query: web::Query<PageQuery>,
) -> Result<web::Json<ReponseListResponse>, Problem> {
    let page = extractors::page(query.skip, query.limit)?;
    let (views, total) = state
        .list_reponses
        .execute(&actor, path.signalement_id, page)
        .await
        .map_err(problem)?;
    Ok(web::Json(ReponseListResponse {
        reponses: views.iter().map(ReponseResponse::from).collect(),
        total,
        skip: page.skip,
        limit: page.limit,
    }))
}

/// Edit a reply (its author, or an administrator or conducteur of the chantier).
#[utoipa::path(
    put, path = "/api/v1/signalements/reponses/{reponse_id}", tag = "signalements",
    params(ReponsePath), request_body = UpdateReponseRequest,
    responses(
        (status = 200, body = ReponseResponse),
        (status = 404, description = "`reponse_not_found`", body = ProblemSchema),
        (status = 409, description = "`signalement_closed` or `concurrent_modification`", body = ProblemSchema),
    )
)]
async fn update_reponse(
    state: web::Data<SignalementsHttp>,
    Authenticated(actor): Authenticated,
    request_id: RequestId,
    path: web::Path<ReponsePath>,
    body: web::Json<UpdateReponseRequest>,
) -> Result<web::Json<ReponseResponse>, Problem> {
    let body = body.into_inner();
    let input = ReponseUpdateInput {
        contenu: body.contenu,
        photo_url: body.photo_url,
    };
    let view = state
        .update_reponse
        .execute(&request_id.command_context(actor), path.reponse_id, input)
        .await
        .map_err(problem)?;
    Ok(web::Json(ReponseResponse::from(&view)))
}

/// Delete a reply (its author, or whoever manages the chantier).
#[utoipa::path(
    delete, path = "/api/v1/signalements/reponses/{reponse_id}", tag = "signalements",
    params(ReponsePath),
    responses(
        (status = 204, description = "Deleted"),
        (status = 404, description = "`reponse_not_found`", body = ProblemSchema),
        (status = 409, description = "`concurrent_modification`", body = ProblemSchema),
    )
)]
async fn delete_reponse(
    state: web::Data<SignalementsHttp>,
    Authenticated(actor): Authenticated,
    request_id: RequestId,
    path: web::Path<ReponsePath>,
) -> Result<HttpResponse, Problem> {
    state
        .delete_reponse
        .execute(&request_id.command_context(actor), path.reponse_id)
        .await
        .map_err(problem)?;
    Ok(HttpResponse::NoContent().finish())
}
