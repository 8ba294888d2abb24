//! HTTP routes of the planning de charge context: `/api/v1/planning-charge/*`.
//! Hours are decimal on the wire (the domain counts whole minutes).

use actix_web::http::{StatusCode, header};
use actix_web::{HttpResponse, web};
use hub_planning_charge_application::{
    BesoinInput, CreateBesoin, DeleteBesoin, GetBesoin, Grille, GrilleInput, GrilleQuery,
    ListBesoins, OccupationQuery, OccupationSemaine, PlanningChargeError, PlanningChargePorts,
    UpdateBesoin, UpdateInput,
};
use hub_planning_charge_domain::charge::NiveauOccupation;
use hub_planning_charge_domain::{Besoin, Semaine, TypeMetier};
use hub_platform_http::auth::{AdminOrConducteur, Authorized, Encadrement};
use hub_platform_http::openapi::ProblemSchema;
use hub_platform_http::{Problem, RequestId, extractors, present};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::{IntoParams, OpenApi, ToSchema};
use uuid::Uuid;

/// The use cases behind the routes.
pub struct PlanningChargeHttp {
    create: CreateBesoin,
    update: UpdateBesoin,
    delete: DeleteBesoin,
    get: GetBesoin,
    list: ListBesoins,
    grille: GrilleQuery,
    occupation: OccupationQuery,
}

impl std::fmt::Debug for PlanningChargeHttp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PlanningChargeHttp")
    }
}

impl PlanningChargeHttp {
    pub fn new(ports: PlanningChargePorts) -> Self {
        Self {
            create: CreateBesoin::new(ports.clone()),
            update: UpdateBesoin::new(ports.clone()),
            delete: DeleteBesoin::new(ports.clone()),
            get: GetBesoin::new(ports.clone()),
            list: ListBesoins::new(ports.clone()),
            grille: GrilleQuery::new(ports.clone()),
            occupation: OccupationQuery::new(ports),
        }
    }
}

/// Registers the routes.
pub fn configure(cfg: &mut web::ServiceConfig, state: web::Data<PlanningChargeHttp>) {
    cfg.app_data(state)
        .route("/api/v1/planning-charge", web::get().to(grille))
        .route(
            "/api/v1/planning-charge/occupation/{semaine}",
            web::get().to(occupation),
        )
        .route(
            "/api/v1/planning-charge/besoins",
            web::post().to(create_besoin),
        )
        .service(
            web::resource("/api/v1/planning-charge/besoins/{id}")
                .route(web::get().to(get_besoin))
                .route(web::put().to(update_besoin))
                .route(web::delete().to(delete_besoin)),
        )
        .route(
            "/api/v1/planning-charge/chantiers/{id}/besoins",
            web::get().to(chantier_besoins),
        );
}

/// OpenAPI document of this context.
#[derive(OpenApi)]
#[openapi(
    paths(grille, occupation, create_besoin, get_besoin, update_besoin, delete_besoin, chantier_besoins),
    components(schemas(
        BesoinResponse, BesoinListResponse, CreateBesoinRequest, UpdateBesoinRequest,
        GrilleResponse, LigneChantierResponse, CelluleResponse, PiedSemaineResponse,
        OccupationResponse, LigneMetierResponse,
        TypeMetierDto, NiveauOccupationDto, SemaineIso, ProblemSchema
    )),
    tags((name = "planning-charge", description = "Workload needs per chantier, ISO week and trade, against planned hours and capacity"))
)]
pub struct PlanningChargeApi;

hub_platform_http::text_pattern_schema!(
    /// An ISO week as the API takes it.
    SemaineIso,
    Semaine::PATTERN,
    "2026-W50",
    "ISO week `YYYY-Www`, years 2020 to 2100 (week 53 only in years that have it)"
);

/// A trade.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
#[schema(as = TypeMetier)]
pub enum TypeMetierDto {
    Employe,
    SousTraitant,
    Charpentier,
    Couvreur,
    Electricien,
    Macon,
    Coffreur,
    Ferrailleur,
    Grutier,
}

impl From<TypeMetier> for TypeMetierDto {
    fn from(metier: TypeMetier) -> Self {
        match metier {
            TypeMetier::Employe => Self::Employe,
            TypeMetier::SousTraitant => Self::SousTraitant,
            TypeMetier::Charpentier => Self::Charpentier,
            TypeMetier::Couvreur => Self::Couvreur,
            TypeMetier::Electricien => Self::Electricien,
            TypeMetier::Macon => Self::Macon,
            TypeMetier::Coffreur => Self::Coffreur,
            TypeMetier::Ferrailleur => Self::Ferrailleur,
            TypeMetier::Grutier => Self::Grutier,
        }
    }
}

/// How loaded a week is: below 70 %, to 90 %, to 100 %, exactly 100 %, above.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
#[schema(as = NiveauOccupation)]
pub enum NiveauOccupationDto {
    SousCharge,
    Normal,
    Haute,
    Surcharge,
    Critique,
}

impl From<NiveauOccupation> for NiveauOccupationDto {
    fn from(niveau: NiveauOccupation) -> Self {
        match niveau {
            NiveauOccupation::SousCharge => Self::SousCharge,
            NiveauOccupation::Normal => Self::Normal,
            NiveauOccupation::Haute => Self::Haute,
            NiveauOccupation::Surcharge => Self::Surcharge,
            NiveauOccupation::Critique => Self::Critique,
        }
    }
}

/// Minutes as decimal hours.
fn heures(minutes: u64) -> f64 {
    minutes as f64 / 60.0
}

/// A besoin as the API shows it.
#[derive(Debug, Serialize, ToSchema)]
pub struct BesoinResponse {
    id: Uuid,
    chantier_id: Uuid,
    /// ISO week, `YYYY-Www`.
    #[schema(example = "2026-W50")]
    semaine: String,
    type_metier: TypeMetierDto,
    #[schema(example = "Macon")]
    type_metier_label: &'static str,
    #[schema(example = "#795548")]
    type_metier_couleur: &'static str,
    /// Decimal hours.
    #[schema(example = 70.0)]
    besoin_heures: f64,
    /// Hours / 7.
    #[schema(example = 10.0)]
    besoin_jours_homme: f64,
    note: Option<String>,
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

impl From<&Besoin> for BesoinResponse {
    fn from(besoin: &Besoin) -> Self {
        Self {
            id: besoin.id(),
            chantier_id: besoin.chantier_id(),
            semaine: besoin.semaine().to_string(),
            type_metier: besoin.type_metier().into(),
            type_metier_label: besoin.type_metier().label(),
            type_metier_couleur: besoin.type_metier().couleur(),
            besoin_heures: besoin.heures().heures(),
            besoin_jours_homme: besoin.heures().jours_homme(),
            note: besoin.note().map(|note| note.as_str().to_owned()),
            created_by: besoin.created_by(),
            version: besoin.version(),
            created_at: besoin.created_at(),
            updated_at: besoin.updated_at(),
        }
    }
}

/// A page of a chantier's besoins, by week then trade.
#[derive(Debug, Serialize, ToSchema)]
pub struct BesoinListResponse {
    total: u64,
    besoins: Vec<BesoinResponse>,
}

/// A new besoin.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateBesoinRequest {
    chantier_id: Uuid,
    /// ISO week, `YYYY-Www` (week 53 only in years that have one).
    #[schema(value_type = SemaineIso)]
    semaine: String,
    /// One of the trades; `Sous-traitant` and `sous traitant` are read as
    /// `sous_traitant`.
    #[schema(value_type = TypeMetierDto)]
    type_metier: String,
    /// Decimal hours ≥ 0, a whole number of minutes.
    #[schema(example = 70.0, minimum = 0)]
    besoin_heures: f64,
    /// Blank is none; at most 2000 characters.
    #[schema(max_length = 2000)]
    note: Option<String>,
}

/// A change; absent fields are unchanged, `note: null` or blank clears the note.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateBesoinRequest {
    #[schema(example = 77.5, minimum = 0)]
    besoin_heures: Option<f64>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    note: Option<Option<String>>,
    /// Another trade: 409 `besoin_exists` when the chantier already has a
    /// besoin of that trade that week.
    #[schema(value_type = Option<TypeMetierDto>)]
    type_metier: Option<String>,
}

/// One chantier in one week (hours).
#[derive(Debug, Serialize, ToSchema)]
pub struct CelluleResponse {
    #[schema(example = "2026-W50")]
    semaine: String,
    planifie_heures: f64,
    besoin_heures: f64,
    /// max(besoin − planifié, 0).
    besoin_non_couvert: f64,
    has_besoin: bool,
    /// planifié ≥ besoin.
    est_couvert: bool,
}

/// A chantier's row.
#[derive(Debug, Serialize, ToSchema)]
pub struct LigneChantierResponse {
    chantier_id: Uuid,
    code: Option<String>,
    nom: Option<String>,
    /// One cell per week of the grid, in order.
    semaines: Vec<CelluleResponse>,
}

/// A week's footer.
#[derive(Debug, Serialize, ToSchema)]
pub struct PiedSemaineResponse {
    #[schema(example = "2026-W50")]
    semaine: String,
    /// Σ planned over the rows.
    planifie_heures: f64,
    /// Σ needed over the rows.
    besoin_heures: f64,
    /// Active compagnons and chefs de chantier × 35 h.
    capacite_heures: f64,
    /// planifié / capacité × 100, not rounded (0 when both are 0, 200 with
    /// planned work and no capacity).
    taux_occupation: f64,
    niveau: NiveauOccupationDto,
    #[schema(example = "Normal")]
    taux_label: &'static str,
    #[schema(example = "#3498DB")]
    taux_couleur: &'static str,
    /// From 100 %.
    alerte_surcharge: bool,
    /// round-half-up(max(besoin − capacité, 0) / 35 h).
    a_recruter: u64,
    /// People of the capacity planned nowhere that week.
    a_placer: u64,
}

/// The workload grid of a range of weeks; hours throughout.
#[derive(Debug, Serialize, ToSchema)]
pub struct GrilleResponse {
    /// The weeks, in order.
    semaines: Vec<String>,
    /// The open chantiers the caller sees, by code.
    chantiers: Vec<LigneChantierResponse>,
    /// One per week.
    footer: Vec<PiedSemaineResponse>,
    total_chantiers: usize,
    /// People counted as capacity.
    effectif: u64,
    planifie_total: f64,
    besoin_total: f64,
    capacite_totale: f64,
}

impl From<Grille> for GrilleResponse {
    fn from(grille: Grille) -> Self {
        Self {
            semaines: grille.semaines.iter().map(ToString::to_string).collect(),
            total_chantiers: grille.chantiers.len(),
            chantiers: grille
                .chantiers
                .into_iter()
                .map(|ligne| LigneChantierResponse {
                    chantier_id: ligne.chantier_id,
                    code: ligne.code,
                    nom: ligne.nom,
                    semaines: ligne
                        .cellules
                        .iter()
                        .map(|c| CelluleResponse {
                            semaine: c.semaine.to_string(),
                            planifie_heures: heures(c.planifie),
                            besoin_heures: heures(c.besoin),
                            besoin_non_couvert: heures(c.besoin_non_couvert()),
                            has_besoin: c.has_besoin(),
                            est_couvert: c.est_couvert(),
                        })
                        .collect(),
                })
                .collect(),
            footer: grille
                .pied
                .iter()
                .map(|p| PiedSemaineResponse {
                    semaine: p.semaine.to_string(),
                    planifie_heures: heures(p.planifie),
                    besoin_heures: heures(p.besoin),
                    capacite_heures: heures(p.capacite),
                    taux_occupation: p.occupation.taux,
                    niveau: p.occupation.niveau.into(),
                    taux_label: p.occupation.niveau.label(),
                    taux_couleur: p.occupation.niveau.couleur(),
                    alerte_surcharge: p.occupation.alerte(),
                    a_recruter: p.a_recruter,
                    a_placer: p.a_placer,
                })
                .collect(),
            effectif: grille.effectif,
            planifie_total: heures(grille.totaux.planifie),
            besoin_total: heures(grille.totaux.besoin),
            capacite_totale: heures(grille.totaux.capacite),
        }
    }
}

/// One trade's figures in the week (hours).
#[derive(Debug, Serialize, ToSchema)]
pub struct LigneMetierResponse {
    type_metier: TypeMetierDto,
    #[schema(example = "Macon")]
    type_metier_label: &'static str,
    #[schema(example = "#795548")]
    type_metier_couleur: &'static str,
    /// Planned for people of this trade on the chantiers shown.
    planifie_heures: f64,
    /// Needed in this trade on the chantiers shown.
    besoin_heures: f64,
    /// Active compagnons and chefs de chantier of this trade × 35 h.
    capacite_heures: f64,
    /// The people behind `capacite_heures`.
    effectif: u64,
    /// planifié / capacité × 100, not rounded.
    taux_occupation: f64,
    niveau: NiveauOccupationDto,
    #[schema(example = "#3498DB")]
    taux_couleur: &'static str,
    /// From 100 %.
    alerte: bool,
    /// round-half-up(max(besoin − capacité, 0) / 35 h).
    a_recruter: u64,
    /// People of this trade planned nowhere that week.
    a_placer: u64,
}

/// One week's occupation per trade; the totals are those of the grid's
/// footer for that week.
#[derive(Debug, Serialize, ToSchema)]
pub struct OccupationResponse {
    #[schema(example = "2026-W50")]
    semaine: String,
    /// The trades with planned, needed or available hours, in display order.
    types: Vec<LigneMetierResponse>,
    effectif: u64,
    planifie_total: f64,
    besoin_total: f64,
    capacite_totale: f64,
    /// planifié total / capacité totale × 100.
    taux_global: f64,
    niveau_global: NiveauOccupationDto,
    #[schema(example = "Normal")]
    taux_label: &'static str,
    #[schema(example = "#3498DB")]
    taux_couleur: &'static str,
    /// From 100 %.
    alerte_globale: bool,
    /// On the totals: round-half-up(max(besoin − capacité, 0) / 35 h).
    a_recruter: u64,
    /// People of the capacity planned nowhere that week.
    a_placer: u64,
}

impl From<OccupationSemaine> for OccupationResponse {
    fn from(occupation: OccupationSemaine) -> Self {
        Self {
            semaine: occupation.semaine.to_string(),
            types: occupation
                .types
                .iter()
                .map(|l| LigneMetierResponse {
                    type_metier: l.type_metier.into(),
                    type_metier_label: l.type_metier.label(),
                    type_metier_couleur: l.type_metier.couleur(),
                    planifie_heures: heures(l.planifie),
                    besoin_heures: heures(l.besoin),
                    capacite_heures: heures(l.capacite),
                    effectif: l.effectif,
                    taux_occupation: l.occupation.taux,
                    niveau: l.occupation.niveau.into(),
                    taux_couleur: l.occupation.niveau.couleur(),
                    alerte: l.occupation.alerte(),
                    a_recruter: l.a_recruter,
                    a_placer: l.a_placer,
                })
                .collect(),
            effectif: occupation.effectif,
            planifie_total: heures(occupation.planifie),
            besoin_total: heures(occupation.besoin),
            capacite_totale: heures(occupation.capacite),
            taux_global: occupation.occupation.taux,
            niveau_global: occupation.occupation.niveau.into(),
            taux_label: occupation.occupation.niveau.label(),
            taux_couleur: occupation.occupation.niveau.couleur(),
            alerte_globale: occupation.occupation.alerte(),
            a_recruter: occupation.a_recruter,
            a_placer: occupation.a_placer,
        }
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct SemainePath {
    /// The ISO week, `YYYY-Www`.
    #[param(value_type = SemaineIso)]
    semaine: String,
}

/// The grid's range and search.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct GrilleParams {
    /// First ISO week, `YYYY-Www`.
    #[param(value_type = SemaineIso)]
    semaine_debut: String,
    /// Last ISO week (inclusive, at most 104 weeks after the first).
    #[param(value_type = SemaineIso)]
    semaine_fin: String,
    /// Case-insensitive text in the chantier's code or nom.
    recherche: Option<String>,
}

/// A chantier's besoins over a range of weeks, paged.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct BesoinsParams {
    /// First ISO week, `YYYY-Www`.
    #[param(value_type = SemaineIso)]
    semaine_debut: String,
    /// Last ISO week (inclusive).
    #[param(value_type = SemaineIso)]
    semaine_fin: String,
    skip: Option<u64>,
    /// 1 to 100 (default 50).
    limit: Option<u64>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct BesoinPath {
    /// The besoin.
    id: Uuid,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct ChantierPath {
    /// The chantier.
    id: Uuid,
}

fn problem(error: PlanningChargeError) -> Problem {
    match error {
        PlanningChargeError::Invalid(errors) => Problem::validation(errors),
        PlanningChargeError::NotFound => Problem::new(
            StatusCode::NOT_FOUND,
            "besoin_not_found",
            "no besoin with this id",
        ),
        PlanningChargeError::ChantierNotFound => Problem::new(
            StatusCode::NOT_FOUND,
            "chantier_not_found",
            "no chantier with this id",
        ),
        PlanningChargeError::Forbidden(message) => Problem::forbidden(message),
        PlanningChargeError::Duplicate => Problem::conflict("besoin_exists", error.to_string()),
        PlanningChargeError::Conflict => {
            Problem::conflict("concurrent_modification", error.to_string())
        }
        PlanningChargeError::Unavailable(_) => Problem::internal(&error),
    }
}

/// The workload grid: per open chantier and ISO week, hours needed against
/// hours planned; per week the occupation rate, people to hire and to place.
/// A chef de chantier sees the rows of his chantiers.
#[utoipa::path(
    get, path = "/api/v1/planning-charge", tag = "planning-charge", params(GrilleParams),
    responses((status = 200, body = GrilleResponse))
)]
async fn grille(
    state: web::Data<PlanningChargeHttp>,
    user: Authorized<Encadrement>,
    query: web::Query<GrilleParams>,
) -> Result<web::Json<GrilleResponse>, Problem> {
    let query = query.into_inner();
    let input = GrilleInput {
        semaine_debut: query.semaine_debut,
        semaine_fin: query.semaine_fin,
        recherche: query.recherche,
    };
    let grille = state
        .grille
        .execute(&user.actor, &input)
        .await
        .map_err(problem)?;
    Ok(web::Json(grille.into()))
}

/// One week's occupation per trade: hours needed, planned and available for
/// each type de métier (people count under the trade their métier maps to),
/// over the open chantiers the caller sees; the totals equal the grid's
/// footer for that week. 422 `invalid_semaine` for a malformed week.
#[utoipa::path(
    get, path = "/api/v1/planning-charge/occupation/{semaine}", tag = "planning-charge",
    params(SemainePath),
    responses(
        (status = 200, body = OccupationResponse),
        (status = 422, description = "`validation_failed`: `invalid_semaine` (not an ISO week of 2020 to 2100)", body = ProblemSchema),
    )
)]
async fn occupation(
    state: web::Data<PlanningChargeHttp>,
    user: Authorized<Encadrement>,
    path: web::Path<SemainePath>,
) -> Result<web::Json<OccupationResponse>, Problem> {
    let occupation = state
        .occupation
        .execute(&user.actor, &path.semaine)
        .await
        .map_err(problem)?;
    Ok(web::Json(occupation.into()))
}

/// Enter a besoin: hours a chantier needs in an ISO week for a trade.
#[utoipa::path(
    post, path = "/api/v1/planning-charge/besoins", tag = "planning-charge",
    request_body = CreateBesoinRequest,
    responses(
        (status = 201, body = BesoinResponse),
        (status = 409, description = "`besoin_exists`: the chantier already has a besoin of this trade that week", body = ProblemSchema),
    )
)]
async fn create_besoin(
    state: web::Data<PlanningChargeHttp>,
    user: Authorized<AdminOrConducteur>,
    request_id: RequestId,
    body: web::Json<CreateBesoinRequest>,
) -> Result<HttpResponse, Problem> {
    let body = body.into_inner();
    let input = BesoinInput {
        chantier_id: body.chantier_id,
        semaine: body.semaine,
        type_metier: body.type_metier,
        besoin_heures: body.besoin_heures,
        note: body.note,
    };
    let besoin = state
        .create
        .execute(&request_id.command_context(user.actor), input)
        .await
        .map_err(problem)?;
    Ok(HttpResponse::Created()
        .insert_header((
            header::LOCATION,
            format!("/api/v1/planning-charge/besoins/{}", besoin.id()),
        ))
        .json(BesoinResponse::from(&besoin)))
}

/// One besoin.
#[utoipa::path(
    get, path = "/api/v1/planning-charge/besoins/{id}", tag = "planning-charge", params(BesoinPath),
    responses(
        (status = 200, body = BesoinResponse),
        (status = 404, description = "`besoin_not_found` (also when outside the caller's view)", body = ProblemSchema),
    )
)]
async fn get_besoin(
    state: web::Data<PlanningChargeHttp>,
    user: Authorized<Encadrement>,
    path: web::Path<BesoinPath>,
) -> Result<web::Json<BesoinResponse>, Problem> {
    let besoin = state
        .get
        .execute(&user.actor, path.id)
        .await
        .map_err(problem)?;
    Ok(web::Json(BesoinResponse::from(&besoin)))
}

/// Change a besoin's hours, note or trade.
#[utoipa::path(
    put, path = "/api/v1/planning-charge/besoins/{id}", tag = "planning-charge", params(BesoinPath),
    request_body = UpdateBesoinRequest,
    responses(
        (status = 200, body = BesoinResponse),
        (status = 404, description = "`besoin_not_found`", body = ProblemSchema),
        (status = 409, description = "`besoin_exists` (the new trade's cell is taken) or `concurrent_modification`", body = ProblemSchema),
    )
)]
async fn update_besoin(
    state: web::Data<PlanningChargeHttp>,
    user: Authorized<AdminOrConducteur>,
    request_id: RequestId,
    path: web::Path<BesoinPath>,
    body: web::Json<UpdateBesoinRequest>,
) -> Result<web::Json<BesoinResponse>, Problem> {
    let body = body.into_inner();
    let input = UpdateInput {
        besoin_heures: body.besoin_heures,
        note: body.note,
        type_metier: body.type_metier,
    };
    let besoin = state
        .update
        .execute(&request_id.command_context(user.actor), path.id, input)
        .await
        .map_err(problem)?;
    Ok(web::Json(BesoinResponse::from(&besoin)))
}

/// Delete a besoin (soft: its cell is free again).
#[utoipa::path(
    delete, path = "/api/v1/planning-charge/besoins/{id}", tag = "planning-charge", params(BesoinPath),
    responses(
        (status = 204, description = "Deleted"),
        (status = 404, description = "`besoin_not_found`", body = ProblemSchema),
        (status = 409, description = "`concurrent_modification`", body = ProblemSchema),
    )
)]
async fn delete_besoin(
    state: web::Data<PlanningChargeHttp>,
    user: Authorized<AdminOrConducteur>,
    request_id: RequestId,
    path: web::Path<BesoinPath>,
) -> Result<HttpResponse, Problem> {
    state
        .delete
        .execute(&request_id.command_context(user.actor), path.id)
        .await
        .map_err(problem)?;
    Ok(HttpResponse::NoContent().finish())
}

/// A chantier's besoins over a range of weeks, by week then trade.
#[utoipa::path(
    get, path = "/api/v1/planning-charge/chantiers/{id}/besoins", tag = "planning-charge",
    params(ChantierPath, BesoinsParams),
    responses(
        (status = 200, body = BesoinListResponse),
        (status = 404, description = "`chantier_not_found`: outside the caller's view", body = ProblemSchema),
    )
)]
async fn chantier_besoins(
    state: web::Data<PlanningChargeHttp>,
    user: Authorized<Encadrement>,
    path: web::Path<ChantierPath>,
    query: web::Query<BesoinsParams>,
) -> Result<web::Json<BesoinListResponse>, Problem> {
    let query = query.into_inner();
    let page = extractors::page(query.skip, query.limit)?;
    let range = GrilleInput {
        semaine_debut: query.semaine_debut,
        semaine_fin: query.semaine_fin,
        recherche: None,
    };
    let (besoins, total) = state
        .list
        .execute(&user.actor, path.id, &range, page)
        .await
        .map_err(problem)?;
    Ok(web::Json(BesoinListResponse {
        total,
        besoins: besoins.iter().map(BesoinResponse::from).collect(),
    }))
}
