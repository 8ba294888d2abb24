//! HTTP routes of the documents context: `/api/v1/documents/*`. Every
//! route needs a signed-in user; who may do what is the use cases' (out of
//! sight → 404, in sight but not allowed → 403). Bytes stream both ways:
//! an upload goes from the multipart body to the object store chunk by
//! chunk, a download or a ZIP from the store to the client.

use std::sync::Arc;

use actix_multipart::Multipart;
use actix_web::http::StatusCode;
use actix_web::http::header::{
    self, Charset, ContentDisposition, DispositionParam, DispositionType, EntityTag, ExtendedValue,
    HeaderValue,
};
use actix_web::{HttpRequest, HttpResponse, web};
use bytes::Bytes;
use futures::{SinkExt as _, StreamExt as _};
use hub_documents_application::input::{
    AutorisationInput, DocumentUpdateInput, DossierInput, DossierUpdateInput, SearchInput,
    UploadInput,
};
use hub_documents_application::ports::{BlobStore, ByteStream};
use hub_documents_application::use_cases::{
    Arborescence, ArchiveDocuments, CreateDossier, DeleteDocument, DeleteDossier, DocumentPorts,
    DocumentsError, DownloadDocument, GetDocument, GetDossier, GrantAutorisation, InitArborescence,
    ListAutorisations, ListDocuments, ListDossiers, RevokeAutorisation, SearchDocuments,
    Suppression, UpdateDocument, UpdateDossier, UploadDocument,
};
use hub_documents_domain::{
    Autorisation, AutorisationError, Cible, Document, DocumentError, Dossier, DossierError,
    ValueError,
};
use hub_kernel::{Clock, ValidationErrors};
use hub_platform_http::auth::Authenticated;
use hub_platform_http::openapi::ProblemSchema;
use hub_platform_http::precondition::{IfMatchHeader, json_with_etag};
use hub_platform_http::{Instant, Problem, RequestId, extractors, present};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::{IntoParams, OpenApi, ToSchema};
use uuid::Uuid;

mod archive;
mod range;
mod vocabulary;

use vocabulary::{
    DossierTypeDto, NiveauAccesDto, NiveauAccesOuHeriteDto, TypeAutorisationDto, TypeDocumentDto,
};

use range::parse_range;

/// The use cases behind the routes, the store the ZIP archives read, and
/// the clock autorisations are judged valid with.
pub struct DocumentsHttp {
    create_dossier: CreateDossier,
    get_dossier: GetDossier,
    list_dossiers: ListDossiers,
    arborescence: Arborescence,
    update_dossier: UpdateDossier,
    delete_dossier: DeleteDossier,
    init: InitArborescence,
    list_documents: ListDocuments,
    search: SearchDocuments,
    upload: UploadDocument,
    get_document: GetDocument,
    download: DownloadDocument,
    update_document: UpdateDocument,
    delete_document: DeleteDocument,
    archive: ArchiveDocuments,
    grant: GrantAutorisation,
    revoke: RevokeAutorisation,
    list_autorisations: ListAutorisations,
    store: Arc<dyn BlobStore>,
    clock: Arc<dyn Clock>,
    upload_limit: u64,
}

impl std::fmt::Debug for DocumentsHttp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DocumentsHttp")
    }
}

impl DocumentsHttp {
    pub fn new(ports: DocumentPorts) -> Self {
        Self {
            create_dossier: CreateDossier::new(ports.clone()),
            get_dossier: GetDossier::new(ports.clone()),
            list_dossiers: ListDossiers::new(ports.clone()),
            arborescence: Arborescence::new(ports.clone()),
            update_dossier: UpdateDossier::new(ports.clone()),
            delete_dossier: DeleteDossier::new(ports.clone()),
            init: InitArborescence::new(ports.clone()),
            list_documents: ListDocuments::new(ports.clone()),
            search: SearchDocuments::new(ports.clone()),
            upload: UploadDocument::new(ports.clone()),
            get_document: GetDocument::new(ports.clone()),
            download: DownloadDocument::new(ports.clone()),
            update_document: UpdateDocument::new(ports.clone()),
            delete_document: DeleteDocument::new(ports.clone()),
            archive: ArchiveDocuments::new(ports.clone()),
            grant: GrantAutorisation::new(ports.clone()),
            revoke: RevokeAutorisation::new(ports.clone()),
            list_autorisations: ListAutorisations::new(ports.clone()),
            store: ports.store,
            clock: ports.clock,
            upload_limit: ports.upload_limit,
        }
    }
}

const BASE: &str = "/api/v1/documents";

/// Registers the routes; `download-zip` before `/documents/{document_id}`.
pub fn configure(cfg: &mut web::ServiceConfig, state: web::Data<DocumentsHttp>) {
    cfg.app_data(state)
        .route(&format!("{BASE}/dossiers"), web::post().to(create_dossier))
        .service(
            web::resource(format!("{BASE}/dossiers/{{dossier_id}}"))
                .route(web::get().to(get_dossier))
                .route(web::put().to(update_dossier))
                .route(web::delete().to(delete_dossier)),
        )
        .service(
            web::resource(format!("{BASE}/dossiers/{{dossier_id}}/documents"))
                .route(web::post().to(upload_document))
                .route(web::get().to(list_documents)),
        )
        .route(
            &format!("{BASE}/dossiers/{{dossier_id}}/autorisations"),
            web::get().to(list_dossier_autorisations),
        )
        .route(
            &format!("{BASE}/chantiers/{{chantier_id}}/dossiers"),
            web::get().to(list_dossiers),
        )
        .route(
            &format!("{BASE}/chantiers/{{chantier_id}}/arborescence"),
            web::get().to(arborescence),
        )
        .route(
            &format!("{BASE}/chantiers/{{chantier_id}}/documents/search"),
            web::get().to(search_documents),
        )
        .route(
            &format!("{BASE}/chantiers/{{chantier_id}}/init-arborescence"),
            web::post().to(init_arborescence),
        )
        .route(
            &format!("{BASE}/documents/download-zip"),
            web::post().to(download_zip),
        )
        .service(
            web::resource(format!("{BASE}/documents/{{document_id}}"))
                .route(web::get().to(get_document))
                .route(web::put().to(update_document))
                .route(web::delete().to(delete_document)),
        )
        .route(
            &format!("{BASE}/documents/{{document_id}}/download"),
            web::get().to(download_document),
        )
        .route(
            &format!("{BASE}/documents/{{document_id}}/preview"),
            web::get().to(preview_document),
        )
        .route(
            &format!("{BASE}/documents/{{document_id}}/preview/content"),
            web::get().to(preview_content),
        )
        .route(
            &format!("{BASE}/documents/{{document_id}}/autorisations"),
            web::get().to(list_document_autorisations),
        )
        .route(
            &format!("{BASE}/autorisations"),
            web::post().to(grant_autorisation),
        )
        .route(
            &format!("{BASE}/autorisations/{{autorisation_id}}"),
            web::delete().to(revoke_autorisation),
        );
}

/// OpenAPI document of this context.
#[derive(OpenApi)]
#[openapi(
    paths(
        create_dossier, get_dossier, update_dossier, delete_dossier, list_dossiers, arborescence,
        init_arborescence, upload_document, list_documents, search_documents, get_document, update_document,
        delete_document, download_document, preview_document, preview_content, download_zip,
        grant_autorisation, list_dossier_autorisations, list_document_autorisations,
        revoke_autorisation
    ),
    components(schemas(
        DossierResponse, DossierNode, ArborescenceResponse, DocumentResponse, DocumentListResponse, PreviewResponse,
        AutorisationResponse, AutorisationListResponse, CreateDossierRequest,
        UpdateDossierRequest, UpdateDocumentRequest, ZipRequest, GrantRequest, UploadForm,
        NiveauAccesDto, NiveauAccesOuHeriteDto, TypeAutorisationDto, TypeDocumentDto,
        DossierTypeDto, ProblemSchema
    )),
    tags((name = "documents", description = "Per-chantier document management (GED): dossiers, files, named autorisations"))
)]
pub struct DocumentsApi;

// -- responses ---------------------------------------------------------------

/// A dossier as the API shows it.
#[derive(Debug, Serialize, ToSchema)]
pub struct DossierResponse {
    id: Uuid,
    chantier_id: Uuid,
    #[schema(example = "01 - Plans")]
    nom: String,
    /// `01_plans` … `07_photos`, or `custom`.
    #[schema(example = "01_plans")]
    type_dossier: &'static str,
    /// `compagnon`, `chef_chantier`, `conducteur` or `admin`: the lowest role that sees it.
    #[schema(example = "compagnon")]
    niveau_acces: &'static str,
    parent_id: Option<Uuid>,
    ordre: i32,
    #[schema(example = "/01 - Plans")]
    chemin_complet: String,
    /// What the caller may do with it: `lecture`, `ecriture` or `admin`.
    #[schema(example = "ecriture")]
    droit: &'static str,
    created_at: Instant,
    updated_at: Instant,
    /// Incremented by every change; the `ETag`.
    version: i64,
}

fn droit_str(droit: hub_documents_domain::Droit) -> &'static str {
    use hub_documents_domain::Droit;
    match droit {
        Droit::Aucun => "aucun",
        Droit::Lecture => "lecture",
        Droit::Ecriture => "ecriture",
        Droit::Admin => "admin",
    }
}

impl DossierResponse {
    fn new(dossier: &Dossier, droit: hub_documents_domain::Droit) -> Self {
        Self {
            id: dossier.id(),
            chantier_id: dossier.chantier_id(),
            nom: dossier.nom().as_str().to_owned(),
            type_dossier: dossier.type_dossier().as_str(),
            niveau_acces: dossier.niveau_acces().as_str(),
            parent_id: dossier.parent_id(),
            ordre: dossier.ordre(),
            chemin_complet: dossier.chemin_complet(),
            droit: droit_str(droit),
            created_at: Instant(dossier.created_at()),
            updated_at: Instant(dossier.updated_at()),
            version: dossier.version(),
        }
    }
}

/// A dossier of the tree, with the sub-dossiers the caller sees.
#[derive(Debug, Serialize, ToSchema)]
pub struct DossierNode {
    #[serde(flatten)]
    dossier: DossierResponse,
    #[schema(no_recursion)]
    children: Vec<DossierNode>,
}

/// A chantier's tree as the caller sees it.
#[derive(Debug, Serialize, ToSchema)]
pub struct ArborescenceResponse {
    chantier_id: Uuid,
    /// The roots; a dossier the caller sees under one they do not is a root here.
    dossiers: Vec<DossierNode>,
}

/// Nests `dossiers` (already by `ordre`, `nom`) under their visible parents.
fn tree(dossiers: &[(Dossier, hub_documents_domain::Droit)]) -> Vec<DossierNode> {
    fn children_of(
        parent: Option<Uuid>,
        dossiers: &[(Dossier, hub_documents_domain::Droit)],
        visible: &std::collections::HashSet<Uuid>,
    ) -> Vec<DossierNode> {
        dossiers
            .iter()
            .filter(|(dossier, _)| match parent {
                Some(id) => dossier.parent_id() == Some(id),
                None => dossier.parent_id().is_none_or(|p| !visible.contains(&p)),
            })
            .map(|(dossier, droit)| DossierNode {
                dossier: DossierResponse::new(dossier, *droit),
                children: children_of(Some(dossier.id()), dossiers, visible),
            })
            .collect()
    }
    let visible = dossiers.iter().map(|(dossier, _)| dossier.id()).collect();
    children_of(None, dossiers, &visible)
}

/// A document's metadata as the API shows it.
#[derive(Debug, Serialize, ToSchema)]
pub struct DocumentResponse {
    id: Uuid,
    chantier_id: Uuid,
    dossier_id: Uuid,
    /// Plain text, never a path.
    #[schema(example = "plan-R+1.pdf")]
    nom: String,
    nom_original: String,
    #[schema(example = "pdf")]
    type_document: &'static str,
    /// Bytes.
    taille: u64,
    #[schema(example = "2.4 MB")]
    taille_formatee: String,
    #[schema(example = "application/pdf")]
    mime_type: String,
    /// Lower-case hexadecimal SHA-256 of the bytes (also the download's `ETag`).
    sha256: String,
    uploaded_by: Uuid,
    uploaded_at: Instant,
    updated_at: Instant,
    description: Option<String>,
    /// Its own level; `null`: its dossier's.
    niveau_acces: Option<&'static str>,
    #[schema(example = "file-pdf")]
    icone: &'static str,
    #[schema(example = ".pdf")]
    extension: String,
    /// Incremented by every change; the `ETag` of this metadata.
    version: i64,
}

impl From<&Document> for DocumentResponse {
    fn from(document: &Document) -> Self {
        Self {
            id: document.id(),
            chantier_id: document.chantier_id(),
            dossier_id: document.dossier_id(),
            nom: document.nom().as_str().to_owned(),
            nom_original: document.nom_original().as_str().to_owned(),
            type_document: document.type_document().as_str(),
            taille: document.taille().octets(),
            taille_formatee: document.taille().formatee(),
            mime_type: document.mime_type().to_owned(),
            sha256: document.sha256().as_str().to_owned(),
            uploaded_by: document.uploaded_by(),
            uploaded_at: Instant(document.uploaded_at()),
            updated_at: Instant(document.updated_at()),
            description: document.description().map(|d| d.as_str().to_owned()),
            niveau_acces: document.niveau_acces().map(|n| n.as_str()),
            icone: document.type_document().icone(),
            extension: document.extension(),
            version: document.version(),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DocumentListResponse {
    documents: Vec<DocumentResponse>,
    total: u64,
    skip: u64,
    limit: u64,
}

/// What a client needs to show a preview.
#[derive(Debug, Serialize, ToSchema)]
pub struct PreviewResponse {
    id: Uuid,
    nom: String,
    type_document: &'static str,
    mime_type: String,
    taille: u64,
    /// PDF, images and videos are shown inline.
    can_preview: bool,
    /// The inline content route; `null` when it cannot be previewed.
    preview_url: Option<String>,
}

/// A named right on a dossier or a document.
#[derive(Debug, Serialize, ToSchema)]
pub struct AutorisationResponse {
    id: Uuid,
    user_id: Uuid,
    #[schema(example = "lecture")]
    type_autorisation: &'static str,
    dossier_id: Option<Uuid>,
    document_id: Option<Uuid>,
    chantier_id: Uuid,
    accorde_par: Uuid,
    created_at: Instant,
    expire_at: Option<Instant>,
    /// Not expired at the time of the request.
    est_valide: bool,
}

impl AutorisationResponse {
    fn new(autorisation: &Autorisation, now: OffsetDateTime) -> Self {
        let cible = autorisation.cible();
        Self {
            id: autorisation.id(),
            user_id: autorisation.user_id(),
            type_autorisation: autorisation.type_autorisation().as_str(),
            dossier_id: cible.dossier_id(),
            document_id: cible.document_id(),
            chantier_id: autorisation.chantier_id(),
            accorde_par: autorisation.accorde_par(),
            created_at: Instant(autorisation.created_at()),
            expire_at: autorisation.expire_at().map(Instant),
            est_valide: autorisation.est_valide(now),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AutorisationListResponse {
    autorisations: Vec<AutorisationResponse>,
    total: u64,
}

// -- requests ----------------------------------------------------------------

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateDossierRequest {
    chantier_id: Uuid,
    #[schema(example = "Plans d'exécution", max_length = 255)]
    nom: String,
    /// `custom` when absent.
    #[schema(value_type = Option<DossierTypeDto>)]
    type_dossier: Option<String>,
    /// `compagnon` when absent.
    #[schema(value_type = Option<NiveauAccesDto>)]
    niveau_acces: Option<String>,
    /// Absent: a root dossier of the chantier.
    parent_id: Option<Uuid>,
}

/// Absent fields are left unchanged; `parent_id: null` moves it to the root.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateDossierRequest {
    #[schema(max_length = 255)]
    nom: Option<String>,
    #[schema(value_type = Option<NiveauAccesDto>)]
    niveau_acces: Option<String>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<Uuid>)]
    parent_id: Option<Option<Uuid>>,
}

/// Absent fields are left unchanged; `description: null` clears it;
/// `niveau_acces: ""` makes it inherit its dossier's level again.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateDocumentRequest {
    #[schema(max_length = 255)]
    nom: Option<String>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>, max_length = 10000)]
    description: Option<Option<String>>,
    /// Moves it to this dossier (of the same chantier).
    dossier_id: Option<Uuid>,
    #[schema(value_type = Option<NiveauAccesOuHeriteDto>)]
    niveau_acces: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ZipRequest {
    /// 1 to 100 documents, all readable by the caller.
    document_ids: Vec<Uuid>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GrantRequest {
    user_id: Uuid,
    /// `lecture`, `ecriture` or `admin`.
    #[schema(value_type = TypeAutorisationDto)]
    type_autorisation: String,
    /// Exactly one of `dossier_id` and `document_id`.
    dossier_id: Option<Uuid>,
    document_id: Option<Uuid>,
    /// In the future; absent: no expiry.
    expire_at: Option<Instant>,
}

/// The multipart body of an upload: one part named `file`.
#[derive(Debug, ToSchema)]
#[allow(dead_code)]
pub struct UploadForm {
    /// The file; its name is the part's `filename`.
    #[schema(value_type = String, format = Binary)]
    file: Vec<u8>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct DossierPath {
    dossier_id: Uuid,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct DocumentPath {
    document_id: Uuid,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct ChantierPath {
    chantier_id: Uuid,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct AutorisationPath {
    autorisation_id: Uuid,
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ParentQuery {
    /// Absent: the chantier's root dossiers.
    parent_id: Option<Uuid>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ForceQuery {
    /// Also delete its sub-dossiers and documents.
    #[serde(default)]
    force: bool,
}

/// The longest description an upload's query string may carry. The HTTP
/// parser refuses a request line past 64 KiB with a bare 400 that no
/// handler sees; 4,000 characters, even of 4-byte UTF-8 and
/// percent-encoded (48,000 bytes), stay well under it, with the other
/// parameters. Must match `UploadQuery`'s declared `max_length`.
const UPLOAD_DESCRIPTION_MAX: usize = 4000;

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct UploadQuery {
    /// The dossier's chantier (checked).
    chantier_id: Uuid,
    /// At most [`UPLOAD_DESCRIPTION_MAX`] characters here (a longer one,
    /// up to the domain's limit, can be set afterwards with a `PATCH`).
    #[param(max_length = 4000)]
    description: Option<String>,
    /// The document's own level; absent: its dossier's.
    #[param(value_type = Option<NiveauAccesDto>)]
    niveau_acces: Option<String>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    skip: Option<u64>,
    /// 1 to 100 (default 50).
    limit: Option<u64>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct SearchQuery {
    /// In the name, case-insensitive.
    query: Option<String>,
    /// `pdf`, `image`, `excel`, `word`, `video` or `autre`.
    #[param(value_type = Option<TypeDocumentDto>)]
    type_document: Option<String>,
    /// Only this dossier (not its sub-dossiers).
    dossier_id: Option<Uuid>,
    /// Only the uploads of this user.
    uploaded_by: Option<Uuid>,
    /// Uploaded at or after this instant.
    #[param(value_type = Option<String>, format = DateTime)]
    date_debut: Option<Instant>,
    /// Uploaded at or before this instant.
    #[param(value_type = Option<String>, format = DateTime)]
    date_fin: Option<Instant>,
    skip: Option<u64>,
    /// 1 to 100 (default 50).
    limit: Option<u64>,
}

/// The conditional and partial request headers of a download.
#[derive(Debug, IntoParams)]
#[into_params(parameter_in = Header)]
#[allow(dead_code)]
pub struct DownloadHeaders {
    /// One range of bytes (`bytes=0-1023`, `bytes=1024-`, `bytes=-500`): a 206.
    #[param(rename = "Range", example = "bytes=0-1023")]
    range: Option<String>,
    /// The `ETag` (the quoted SHA-256) of a copy the client holds: a 304 when it matches.
    #[param(rename = "If-None-Match")]
    if_none_match: Option<String>,
}

// -- errors ------------------------------------------------------------------

fn problem(error: DocumentsError) -> Problem {
    match error {
        DocumentsError::Invalid(errors) => Problem::validation(errors),
        DocumentsError::DossierNotFound => Problem::new(
            StatusCode::NOT_FOUND,
            "dossier_not_found",
            "no dossier with this id",
        ),
        DocumentsError::DocumentNotFound => Problem::new(
            StatusCode::NOT_FOUND,
            "document_not_found",
            "no document with this id",
        ),
        DocumentsError::AutorisationNotFound => Problem::new(
            StatusCode::NOT_FOUND,
            "autorisation_not_found",
            "no autorisation with this id",
        ),
        DocumentsError::ChantierNotFound => Problem::new(
            StatusCode::NOT_FOUND,
            "chantier_not_found",
            "no chantier with this id",
        ),
        DocumentsError::Forbidden(message) => Problem::forbidden(message),
        DocumentsError::ChantierFerme => Problem::conflict("chantier_closed", error.to_string()),
        DocumentsError::Dossier(rule) => match rule {
            DossierError::NomDejaPris(_) => Problem::conflict("duplicate_nom", rule.to_string()),
            DossierError::ContientDocuments | DossierError::ContientSousDossiers => {
                Problem::conflict("dossier_not_empty", rule.to_string())
            }
            DossierError::ParentAutreChantier | DossierError::Cycle => Problem::validation(
                ValidationErrors::single("parent_id", "invalid_parent", rule.to_string()),
            ),
        },
        DocumentsError::Document(rule) => match rule {
            DocumentError::ExtensionRefusee(_) => Problem::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "extension_not_allowed",
                format!(
                    "{rule}: allowed are PDF, images, Office documents, videos and files without extension"
                ),
            ),
            DocumentError::NomDejaPris(_) => Problem::conflict("duplicate_nom", rule.to_string()),
            DocumentError::AutreChantier => Problem::validation(ValidationErrors::single(
                "chantier_id",
                "wrong_chantier",
                rule.to_string(),
            )),
            DocumentError::Value(value) => Problem::validation(ValidationErrors::single(
                "nom",
                value_code(&value),
                value.to_string(),
            )),
        },
        DocumentsError::Autorisation(rule) => {
            match rule {
                AutorisationError::DejaAccordee => {
                    Problem::conflict("duplicate_autorisation", rule.to_string())
                }
                AutorisationError::CibleInvalide => Problem::validation(ValidationErrors::single(
                    "dossier_id",
                    "invalid_cible",
                    rule.to_string(),
                )),
                AutorisationError::ExpireDansLePasse => Problem::validation(
                    ValidationErrors::single("expire_at", "in_the_past", rule.to_string()),
                ),
            }
        }
        DocumentsError::TooLarge { limit } => Problem::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "file_too_large",
            format!("the file exceeds the limit of {limit} bytes"),
        ),
        DocumentsError::UploadInterrupted(_) => Problem::bad_request(
            "upload_interrupted",
            "the upload's body ended or failed before the file was complete",
        ),
        DocumentsError::RangeNotSatisfiable { size } => Problem::new(
            StatusCode::RANGE_NOT_SATISFIABLE,
            "range_not_satisfiable",
            format!("the range is outside the document's {size} bytes"),
        )
        .with_header(
            header::CONTENT_RANGE,
            HeaderValue::from_str(&format!("bytes */{size}"))
                .unwrap_or(HeaderValue::from_static("bytes */0")),
        ),
        DocumentsError::Conflict => Problem::conflict(
            "concurrent_modification",
            "it was changed by someone else meanwhile; reload it and retry",
        ),
        DocumentsError::Precondition(mismatch) => mismatch.into(),
        DocumentsError::ArchiveSize { max } => Problem::validation(ValidationErrors::single(
            "document_ids",
            "invalid_count",
            format!("between 1 and {max} documents"),
        )),
        DocumentsError::ContentMissing | DocumentsError::Unavailable(_) => {
            Problem::internal(&error)
        }
    }
}

fn value_code(value: &ValueError) -> &'static str {
    match value {
        ValueError::Text(_) => "invalid_nom",
        ValueError::TailleTropGrande { .. } => "too_large",
        ValueError::Sha256 | ValueError::CleStockage => "invalid",
    }
}

/// Logs the objects a delete could not remove (the sweep takes them later).
fn log_leftovers(suppression: &Suppression) {
    for (key, error) in &suppression.objets_restants {
        tracing::warn!(key = key.as_str(), %error, "a deleted document's bytes are left to the orphan sweep");
    }
}

// -- dossiers ----------------------------------------------------------------

/// Create a dossier (a root: admins, conducteurs, chefs de chantier of the
/// chantier; under a parent: write access to the parent).
#[utoipa::path(
    post, path = "/api/v1/documents/dossiers", tag = "documents", request_body = CreateDossierRequest,
    responses(
        (status = 201, body = DossierResponse),
        (status = 403, description = "`forbidden`: may not create a dossier here", body = ProblemSchema),
        (status = 409, description = "`duplicate_nom` or `chantier_closed`", body = ProblemSchema),
        (status = 422, description = "`validation_failed`: `unknown_chantier`, `unknown_dossier`, `invalid_nom`…", body = ProblemSchema),
    )
)]
async fn create_dossier(
    state: web::Data<DocumentsHttp>,
    Authenticated(actor): Authenticated,
    request_id: RequestId,
    body: web::Json<CreateDossierRequest>,
) -> Result<HttpResponse, Problem> {
    let body = body.into_inner();
    let input = DossierInput {
        chantier_id: body.chantier_id,
        nom: body.nom,
        type_dossier: body.type_dossier,
        niveau_acces: body.niveau_acces,
        parent_id: body.parent_id,
    };
    let context = request_id.command_context(actor);
    let dossier = state
        .create_dossier
        .execute(&context, input)
        .await
        .map_err(problem)?;
    let (dossier, droit) = state
        .get_dossier
        .execute(&context, dossier.id())
        .await
        .map_err(problem)?;
    Ok(HttpResponse::Created().json(DossierResponse::new(&dossier, droit)))
}

/// One dossier, if the caller sees it.
#[utoipa::path(
    get, path = "/api/v1/documents/dossiers/{dossier_id}", tag = "documents", params(DossierPath),
    responses(
        (status = 200, body = DossierResponse),
        (status = 404, description = "`dossier_not_found`", body = ProblemSchema),
    )
)]
async fn get_dossier(
    state: web::Data<DocumentsHttp>,
    Authenticated(actor): Authenticated,
    request_id: RequestId,
    path: web::Path<DossierPath>,
) -> Result<HttpResponse, Problem> {
    let (dossier, droit) = state
        .get_dossier
        .execute(&request_id.command_context(actor), path.dossier_id)
        .await
        .map_err(problem)?;
    Ok(json_with_etag(
        dossier.version(),
        &DossierResponse::new(&dossier, droit),
    ))
}

/// Rename, re-level or move a dossier (write access to it and to the new parent).
#[utoipa::path(
    put, path = "/api/v1/documents/dossiers/{dossier_id}", tag = "documents",
    params(DossierPath, IfMatchHeader), request_body = UpdateDossierRequest,
    responses(
        (status = 200, body = DossierResponse),
        (status = 403, description = "`forbidden`", body = ProblemSchema),
        (status = 404, description = "`dossier_not_found`", body = ProblemSchema),
        (status = 409, description = "`duplicate_nom`, `chantier_closed` or `concurrent_modification`", body = ProblemSchema),
        (status = 422, description = "`validation_failed`: `invalid_parent` (a cycle, another chantier), `unknown_dossier`…", body = ProblemSchema),
    )
)]
async fn update_dossier(
    state: web::Data<DocumentsHttp>,
    Authenticated(actor): Authenticated,
    request_id: RequestId,
    path: web::Path<DossierPath>,
    body: web::Json<UpdateDossierRequest>,
) -> Result<HttpResponse, Problem> {
    let body = body.into_inner();
    let input = DossierUpdateInput {
        nom: body.nom,
        niveau_acces: body.niveau_acces,
        parent_id: body.parent_id,
    };
    let context = request_id.command_context(actor);
    state
        .update_dossier
        .execute(&context, path.dossier_id, input)
        .await
        .map_err(problem)?;
    let (dossier, droit) = state
        .get_dossier
        .execute(&context, path.dossier_id)
        .await
        .map_err(problem)?;
    Ok(json_with_etag(
        dossier.version(),
        &DossierResponse::new(&dossier, droit),
    ))
}

/// Delete a dossier (administrators); with `force`, its whole subtree and files.
#[utoipa::path(
    delete, path = "/api/v1/documents/dossiers/{dossier_id}", tag = "documents",
    params(DossierPath, ForceQuery, IfMatchHeader),
    responses(
        (status = 204, description = "Deleted"),
        (status = 403, description = "`forbidden`", body = ProblemSchema),
        (status = 404, description = "`dossier_not_found`", body = ProblemSchema),
        (status = 409, description = "`dossier_not_empty` (without `force`), `chantier_closed` or `concurrent_modification`", body = ProblemSchema),
    )
)]
async fn delete_dossier(
    state: web::Data<DocumentsHttp>,
    Authenticated(actor): Authenticated,
    request_id: RequestId,
    path: web::Path<DossierPath>,
    query: web::Query<ForceQuery>,
) -> Result<HttpResponse, Problem> {
    let suppression = state
        .delete_dossier
        .execute(
            &request_id.command_context(actor),
            path.dossier_id,
            query.force,
        )
        .await
        .map_err(problem)?;
    log_leftovers(&suppression);
    Ok(HttpResponse::NoContent().finish())
}

/// The root dossiers of a chantier, or the children of `parent_id`, that the caller sees.
#[utoipa::path(
    get, path = "/api/v1/documents/chantiers/{chantier_id}/dossiers", tag = "documents",
    params(ChantierPath, ParentQuery),
    responses(
        (status = 200, body = Vec<DossierResponse>),
        (status = 404, description = "`chantier_not_found` or `dossier_not_found` (the parent)", body = ProblemSchema),
    )
)]
async fn list_dossiers(
    state: web::Data<DocumentsHttp>,
    Authenticated(actor): Authenticated,
    request_id: RequestId,
    path: web::Path<ChantierPath>,
    query: web::Query<ParentQuery>,
) -> Result<web::Json<Vec<DossierResponse>>, Problem> {
    let dossiers = state
        .list_dossiers
        .execute(
            &request_id.command_context(actor),
            path.chantier_id,
            query.parent_id,
        )
        .await
        .map_err(problem)?;
    Ok(web::Json(
        dossiers
            .iter()
            .map(|(dossier, droit)| DossierResponse::new(dossier, *droit))
            .collect(),
    ))
}

/// The whole tree of a chantier's dossiers that the caller sees.
#[utoipa::path(
    get, path = "/api/v1/documents/chantiers/{chantier_id}/arborescence", tag = "documents",
    params(ChantierPath),
    responses(
        (status = 200, body = ArborescenceResponse),
        (status = 404, description = "`chantier_not_found`", body = ProblemSchema),
    )
)]
async fn arborescence(
    state: web::Data<DocumentsHttp>,
    Authenticated(actor): Authenticated,
    request_id: RequestId,
    path: web::Path<ChantierPath>,
) -> Result<web::Json<ArborescenceResponse>, Problem> {
    let dossiers = state
        .arborescence
        .execute(&request_id.command_context(actor), path.chantier_id)
        .await
        .map_err(problem)?;
    Ok(web::Json(ArborescenceResponse {
        chantier_id: path.chantier_id,
        dossiers: tree(&dossiers),
    }))
}

/// Create the standard folders (01 Plans … 07 Photos) the chantier lacks
/// (administrators and conducteurs); returns those created.
#[utoipa::path(
    post, path = "/api/v1/documents/chantiers/{chantier_id}/init-arborescence", tag = "documents",
    params(ChantierPath),
    responses(
        (status = 200, body = Vec<DossierResponse>),
        (status = 403, description = "`forbidden`", body = ProblemSchema),
        (status = 409, description = "`chantier_closed`", body = ProblemSchema),
        (status = 422, description = "`validation_failed`: `unknown_chantier`", body = ProblemSchema),
    )
)]
async fn init_arborescence(
    state: web::Data<DocumentsHttp>,
    Authenticated(actor): Authenticated,
    request_id: RequestId,
    path: web::Path<ChantierPath>,
) -> Result<web::Json<Vec<DossierResponse>>, Problem> {
    let created = state
        .init
        .execute(&request_id.command_context(actor), path.chantier_id)
        .await
        .map_err(problem)?;
    // Whoever may create the tree administers it or writes in it.
    let droit = if actor.is_admin() {
        hub_documents_domain::Droit::Admin
    } else {
        hub_documents_domain::Droit::Ecriture
    };
    Ok(web::Json(
        created
            .iter()
            .map(|dossier| DossierResponse::new(dossier, droit))
            .collect(),
    ))
}

// -- documents ---------------------------------------------------------------

/// Upload one file into a dossier (write access): `multipart/form-data`
/// with one part `file`. The bytes stream to the store, hashed and counted
/// on the way; past the limit (`DOCUMENTS_MAX_UPLOAD_BYTES`) the upload
/// stops with 413 and nothing is kept.
#[utoipa::path(
    post, path = "/api/v1/documents/dossiers/{dossier_id}/documents", tag = "documents",
    params(DossierPath, UploadQuery),
    request_body(content = UploadForm, content_type = "multipart/form-data"),
    responses(
        (status = 201, body = DocumentResponse),
        (status = 400, description = "`invalid_multipart` (no `file` part, a broken body), `upload_interrupted`, or `invalid_query` (a description over 4,000 characters)", body = ProblemSchema),
        (status = 403, description = "`forbidden`: no write access to the dossier", body = ProblemSchema),
        (status = 404, description = "`dossier_not_found`", body = ProblemSchema),
        (status = 409, description = "`chantier_closed`", body = ProblemSchema),
        (status = 413, description = "`file_too_large`", body = ProblemSchema),
        (status = 415, description = "`extension_not_allowed`", body = ProblemSchema),
        (status = 422, description = "`validation_failed`: `wrong_chantier`, `invalid_niveau_acces`, `invalid_nom`…", body = ProblemSchema),
    )
)]
async fn upload_document(
    state: web::Data<DocumentsHttp>,
    Authenticated(actor): Authenticated,
    request_id: RequestId,
    req: HttpRequest,
    path: web::Path<DossierPath>,
    query: web::Query<UploadQuery>,
    payload: web::Payload,
) -> Result<HttpResponse, Problem> {
    if query
        .description
        .as_deref()
        .is_some_and(|d| d.chars().count() > UPLOAD_DESCRIPTION_MAX)
    {
        return Err(Problem::bad_request(
            "invalid_query",
            format!(
                "description is limited to {UPLOAD_DESCRIPTION_MAX} characters in an upload's query string; \
                 set a longer one with PATCH afterwards"
            ),
        ));
    }
    // A declared length far past the limit is refused before a byte is read
    // (the multipart framing adds a little, hence the margin).
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.parse::<u64>().ok());
    if declared.is_some_and(|length| length > state.upload_limit.saturating_add(64 * 1024)) {
        return Err(problem(DocumentsError::TooLarge {
            limit: state.upload_limit,
        }));
    }
    let mut multipart = Multipart::new(req.headers(), payload);
    let field = loop {
        let Some(field) = multipart.next().await else {
            return Err(Problem::bad_request(
                "invalid_multipart",
                "the multipart body has no part named `file`",
            ));
        };
        let mut field = field.map_err(|error| {
            Problem::bad_request(
                "invalid_multipart",
                format!("the multipart body is invalid: {error}"),
            )
        })?;
        if field.name() == Some("file") {
            break field;
        }
        // Another part: skipped, its bytes read and dropped.
        while let Some(chunk) = field.next().await {
            chunk.map_err(|error| {
                Problem::bad_request(
                    "invalid_multipart",
                    format!("the multipart body is invalid: {error}"),
                )
            })?;
        }
    };
    let filename = field
        .content_disposition()
        .and_then(|disposition| disposition.get_filename())
        .map(str::to_owned);
    let query = query.into_inner();
    let input = UploadInput {
        dossier_id: path.dossier_id,
        chantier_id: query.chantier_id,
        filename,
        niveau_acces: query.niveau_acces,
        description: query.description,
    };
    // The multipart field lives on this worker's thread (it is not `Send`);
    // a small channel carries its chunks to the store's `Send` stream, and
    // both ends run together in this request's future.
    let (mut sender, receiver) = futures::channel::mpsc::channel::<std::io::Result<Bytes>>(2);
    let pump = async move {
        let mut field = field;
        while let Some(chunk) = field.next().await {
            let item = chunk.map_err(|error| std::io::Error::other(error.to_string()));
            let failed = item.is_err();
            if sender.send(item).await.is_err() || failed {
                // The store stopped reading (the limit, an error): stop too.
                break;
            }
        }
    };
    let body: ByteStream = receiver.boxed();
    let context = request_id.command_context(actor);
    let (_, uploaded) = futures::join!(pump, state.upload.execute(&context, input, body));
    let document = uploaded.map_err(problem)?;
    Ok(HttpResponse::Created().json(DocumentResponse::from(&document)))
}

/// A page of a dossier's documents that the caller sees, by name.
#[utoipa::path(
    get, path = "/api/v1/documents/dossiers/{dossier_id}/documents", tag = "documents",
    params(DossierPath, PageQuery),
    responses(
        (status = 200, body = DocumentListResponse),
        (status = 404, description = "`dossier_not_found`: missing or above the caller's level", body = ProblemSchema),
    )
)]
async fn list_documents(
    state: web::Data<DocumentsHttp>,
    Authenticated(actor): Authenticated,
    request_id: RequestId,
    path: web::Path<DossierPath>,
    query: web::Query<PageQuery>,
) -> Result<web::Json<DocumentListResponse>, Problem> {
    let page = extractors::page(query.skip, query.limit)?;
    let (documents, total) = state
        .list_documents
        .execute(&request_id.command_context(actor), path.dossier_id, page)
        .await
        .map_err(problem)?;
    Ok(web::Json(DocumentListResponse {
        documents: documents.iter().map(DocumentResponse::from).collect(),
        total,
        skip: page.skip,
        limit: page.limit,
    }))
}

/// Search the documents of a chantier the caller sees, newest first: by
/// name, type, dossier, uploader and upload date.
#[utoipa::path(
    get, path = "/api/v1/documents/chantiers/{chantier_id}/documents/search", tag = "documents",
    params(ChantierPath, SearchQuery),
    responses(
        (status = 200, body = DocumentListResponse),
        (status = 404, description = "`chantier_not_found`, or `dossier_not_found` (the `dossier_id`)", body = ProblemSchema),
        (status = 422, description = "`validation_failed`: `invalid_type_document`, `before_date_debut`", body = ProblemSchema),
    )
)]
async fn search_documents(
    state: web::Data<DocumentsHttp>,
    Authenticated(actor): Authenticated,
    request_id: RequestId,
    path: web::Path<ChantierPath>,
    query: web::Query<SearchQuery>,
) -> Result<web::Json<DocumentListResponse>, Problem> {
    let q = query.into_inner();
    let page = extractors::page(q.skip, q.limit)?;
    let input = SearchInput {
        query: q.query,
        type_document: q.type_document,
        dossier_id: q.dossier_id,
        uploaded_by: q.uploaded_by,
        date_debut: q.date_debut.map(|at| at.0),
        date_fin: q.date_fin.map(|at| at.0),
    };
    let (documents, total) = state
        .search
        .execute(
            &request_id.command_context(actor),
            path.chantier_id,
            input,
            page,
        )
        .await
        .map_err(problem)?;
    Ok(web::Json(DocumentListResponse {
        documents: documents.iter().map(DocumentResponse::from).collect(),
        total,
        skip: page.skip,
        limit: page.limit,
    }))
}

/// One document's metadata.
#[utoipa::path(
    get, path = "/api/v1/documents/documents/{document_id}", tag = "documents", params(DocumentPath),
    responses(
        (status = 200, body = DocumentResponse),
        (status = 404, description = "`document_not_found`", body = ProblemSchema),
    )
)]
async fn get_document(
    state: web::Data<DocumentsHttp>,
    Authenticated(actor): Authenticated,
    request_id: RequestId,
    path: web::Path<DocumentPath>,
) -> Result<HttpResponse, Problem> {
    let view = state
        .get_document
        .execute(&request_id.command_context(actor), path.document_id)
        .await
        .map_err(problem)?;
    Ok(json_with_etag(
        view.document.version(),
        &DocumentResponse::from(&view.document),
    ))
}

/// Rename, describe, move or re-level a document (write access).
#[utoipa::path(
    put, path = "/api/v1/documents/documents/{document_id}", tag = "documents",
    params(DocumentPath, IfMatchHeader), request_body = UpdateDocumentRequest,
    responses(
        (status = 200, body = DocumentResponse),
        (status = 403, description = "`forbidden`", body = ProblemSchema),
        (status = 404, description = "`document_not_found`", body = ProblemSchema),
        (status = 409, description = "`duplicate_nom`, `chantier_closed` or `concurrent_modification`", body = ProblemSchema),
        (status = 415, description = "`extension_not_allowed`: the new name's extension", body = ProblemSchema),
        (status = 422, description = "`validation_failed`: `unknown_dossier`, `invalid_nom`, `invalid_niveau_acces`…", body = ProblemSchema),
    )
)]
async fn update_document(
    state: web::Data<DocumentsHttp>,
    Authenticated(actor): Authenticated,
    request_id: RequestId,
    path: web::Path<DocumentPath>,
    body: web::Json<UpdateDocumentRequest>,
) -> Result<HttpResponse, Problem> {
    let body = body.into_inner();
    let input = DocumentUpdateInput {
        nom: body.nom,
        description: body.description,
        dossier_id: body.dossier_id,
        niveau_acces: body.niveau_acces,
    };
    let document = state
        .update_document
        .execute(&request_id.command_context(actor), path.document_id, input)
        .await
        .map_err(problem)?;
    Ok(json_with_etag(
        document.version(),
        &DocumentResponse::from(&document),
    ))
}

/// Delete a document (admin right on it); its bytes go after the commit.
#[utoipa::path(
    delete, path = "/api/v1/documents/documents/{document_id}", tag = "documents",
    params(DocumentPath, IfMatchHeader),
    responses(
        (status = 204, description = "Deleted"),
        (status = 403, description = "`forbidden`", body = ProblemSchema),
        (status = 404, description = "`document_not_found`", body = ProblemSchema),
        (status = 409, description = "`chantier_closed` or `concurrent_modification`", body = ProblemSchema),
    )
)]
async fn delete_document(
    state: web::Data<DocumentsHttp>,
    Authenticated(actor): Authenticated,
    request_id: RequestId,
    path: web::Path<DocumentPath>,
) -> Result<HttpResponse, Problem> {
    let suppression = state
        .delete_document
        .execute(&request_id.command_context(actor), path.document_id)
        .await
        .map_err(problem)?;
    log_leftovers(&suppression);
    Ok(HttpResponse::NoContent().finish())
}

/// The document's bytes as an attachment, streamed; `Range` for a part (206).
#[utoipa::path(
    get, path = "/api/v1/documents/documents/{document_id}/download", tag = "documents",
    params(DocumentPath, DownloadHeaders),
    responses(
        (status = 200, description = "The bytes; `ETag` = the quoted SHA-256, `Accept-Ranges: bytes`", content_type = "application/octet-stream", body = Vec<u8>),
        (status = 206, description = "The range asked for, with `Content-Range`", content_type = "application/octet-stream", body = Vec<u8>),
        (status = 304, description = "`If-None-Match` names the current SHA-256"),
        (status = 404, description = "`document_not_found`", body = ProblemSchema),
        (status = 416, description = "`range_not_satisfiable`, with `Content-Range: bytes */size`", body = ProblemSchema),
    )
)]
async fn download_document(
    state: web::Data<DocumentsHttp>,
    Authenticated(actor): Authenticated,
    request_id: RequestId,
    req: HttpRequest,
    path: web::Path<DocumentPath>,
) -> Result<HttpResponse, Problem> {
    state
        .send_content(
            &req,
            &request_id.command_context(actor),
            path.document_id,
            DispositionType::Attachment,
        )
        .await
}

/// What a client needs to show the document inline.
#[utoipa::path(
    get, path = "/api/v1/documents/documents/{document_id}/preview", tag = "documents",
    params(DocumentPath),
    responses(
        (status = 200, body = PreviewResponse),
        (status = 404, description = "`document_not_found`", body = ProblemSchema),
    )
)]
async fn preview_document(
    state: web::Data<DocumentsHttp>,
    Authenticated(actor): Authenticated,
    request_id: RequestId,
    path: web::Path<DocumentPath>,
) -> Result<web::Json<PreviewResponse>, Problem> {
    let view = state
        .get_document
        .execute(&request_id.command_context(actor), path.document_id)
        .await
        .map_err(problem)?;
    let document = &view.document;
    let can_preview = document.type_document().previewable();
    Ok(web::Json(PreviewResponse {
        id: document.id(),
        nom: document.nom().as_str().to_owned(),
        type_document: document.type_document().as_str(),
        mime_type: document.mime_type().to_owned(),
        taille: document.taille().octets(),
        can_preview,
        preview_url: can_preview
            .then(|| format!("{BASE}/documents/{}/preview/content", document.id())),
    }))
}

/// The bytes of a PDF, an image or a video, inline (streamed, `Range` honoured).
#[utoipa::path(
    get, path = "/api/v1/documents/documents/{document_id}/preview/content", tag = "documents",
    params(DocumentPath, DownloadHeaders),
    responses(
        (status = 200, description = "The bytes, `Content-Disposition: inline`", content_type = "application/octet-stream", body = Vec<u8>),
        (status = 206, description = "The range asked for", content_type = "application/octet-stream", body = Vec<u8>),
        (status = 304, description = "`If-None-Match` names the current SHA-256"),
        (status = 404, description = "`document_not_found`", body = ProblemSchema),
        (status = 415, description = "`preview_unavailable`: not a PDF, an image or a video", body = ProblemSchema),
        (status = 416, description = "`range_not_satisfiable`", body = ProblemSchema),
    )
)]
async fn preview_content(
    state: web::Data<DocumentsHttp>,
    Authenticated(actor): Authenticated,
    request_id: RequestId,
    req: HttpRequest,
    path: web::Path<DocumentPath>,
) -> Result<HttpResponse, Problem> {
    state
        .send_content(
            &req,
            &request_id.command_context(actor),
            path.document_id,
            DispositionType::Inline,
        )
        .await
}

impl DocumentsHttp {
    /// A download or an inline preview: 304 on a matching `If-None-Match`,
    /// 206 on a satisfiable `Range`, else the whole object; always streamed.
    async fn send_content(
        &self,
        req: &HttpRequest,
        context: &hub_kernel::CommandContext,
        id: Uuid,
        disposition: DispositionType,
    ) -> Result<HttpResponse, Problem> {
        let view = self
            .get_document
            .execute(context, id)
            .await
            .map_err(problem)?;
        if disposition == DispositionType::Inline && !view.document.type_document().previewable() {
            return Err(Problem::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "preview_unavailable",
                "only PDF, images and videos are shown inline; download it instead",
            ));
        }
        let etag = EntityTag::new_strong(view.document.sha256().as_str().to_owned());
        if none_match(req, &etag) {
            return Ok(HttpResponse::NotModified()
                .insert_header(header::ETag(etag))
                .finish());
        }
        let range = req
            .headers()
            .get(header::RANGE)
            .and_then(|value| value.to_str().ok())
            .and_then(parse_range);
        let (document, blob) = self
            .download
            .execute(context, id, range)
            .await
            .map_err(problem)?;
        let mut response = match range {
            Some(_) => {
                let mut builder = HttpResponse::PartialContent();
                builder.insert_header((
                    header::CONTENT_RANGE,
                    format!(
                        "bytes {}-{}/{}",
                        blob.range.start,
                        blob.range.end.saturating_sub(1),
                        blob.taille_totale
                    ),
                ));
                builder
            }
            None => HttpResponse::Ok(),
        };
        Ok(response
            .insert_header(header::ETag(etag))
            .insert_header((header::ACCEPT_RANGES, "bytes"))
            .insert_header((header::CONTENT_TYPE, document.mime_type().to_owned()))
            .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
            .insert_header(content_disposition(disposition, document.nom().as_str()))
            .no_chunking(blob.range.end - blob.range.start)
            .streaming(blob.body))
    }
}

/// Whether `If-None-Match` names `etag` (or `*`): the client's copy is current.
fn none_match(req: &HttpRequest, etag: &EntityTag) -> bool {
    use actix_web::http::header::{Header as _, IfNoneMatch};
    if !req.headers().contains_key(header::IF_NONE_MATCH) {
        return false;
    }
    match IfNoneMatch::parse(req) {
        Ok(IfNoneMatch::Any) => true,
        // Weak comparison, as RFC 9110 §13.1.2 says for If-None-Match.
        Ok(IfNoneMatch::Items(tags)) => tags.iter().any(|tag| tag.weak_eq(etag)),
        Err(_) => false,
    }
}

/// `attachment` or `inline` with the name twice: an ASCII fallback
/// (`filename=`, anything else replaced by `_`) and the exact UTF-8 name
/// (`filename*=`, RFC 5987 percent-encoding, RFC 6266).
fn content_disposition(disposition: DispositionType, nom: &str) -> ContentDisposition {
    let fallback: String = nom
        .chars()
        .map(|c| {
            if c.is_ascii_graphic() && c != '"' && c != '\\' || c == ' ' {
                c
            } else {
                '_'
            }
        })
        .collect();
    ContentDisposition {
        disposition,
        parameters: vec![
            DispositionParam::Filename(fallback),
            DispositionParam::FilenameExt(ExtendedValue {
                charset: Charset::Ext("UTF-8".to_owned()),
                language_tag: None,
                value: nom.as_bytes().to_vec(),
            }),
        ],
    }
}

/// A ZIP archive of several documents, streamed as it is written (entries
/// stored or deflated, names made safe and unique). Every document must be
/// readable by the caller, else the whole request is 404.
#[utoipa::path(
    post, path = "/api/v1/documents/documents/download-zip", tag = "documents", request_body = ZipRequest,
    responses(
        (status = 200, description = "`application/zip`, attachment `documents.zip`", content_type = "application/zip", body = Vec<u8>),
        (status = 404, description = "`document_not_found`: one of them is missing or out of sight", body = ProblemSchema),
        (status = 422, description = "`validation_failed`: `document_ids` empty or above 100 (`invalid_count`)", body = ProblemSchema),
    )
)]
async fn download_zip(
    state: web::Data<DocumentsHttp>,
    Authenticated(actor): Authenticated,
    request_id: RequestId,
    body: web::Json<ZipRequest>,
) -> Result<HttpResponse, Problem> {
    let documents = state
        .archive
        .execute(&request_id.command_context(actor), &body.document_ids)
        .await
        .map_err(problem)?;
    let stream = archive::stream(state.store.clone(), documents);
    Ok(HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, "application/zip"))
        .insert_header(content_disposition(
            DispositionType::Attachment,
            "documents.zip",
        ))
        .streaming(stream))
}

// -- autorisations -----------------------------------------------------------

/// Grant a named right on a dossier or a document (administrators,
/// conducteurs of the chantier, holders of `admin` on the target).
#[utoipa::path(
    post, path = "/api/v1/documents/autorisations", tag = "documents", request_body = GrantRequest,
    responses(
        (status = 201, body = AutorisationResponse),
        (status = 403, description = "`forbidden`: may not manage this target's autorisations", body = ProblemSchema),
        (status = 404, description = "`dossier_not_found` or `document_not_found`", body = ProblemSchema),
        (status = 409, description = "`duplicate_autorisation` or `chantier_closed`", body = ProblemSchema),
        (status = 422, description = "`validation_failed`: `invalid_cible`, `unknown_user`, `in_the_past`…", body = ProblemSchema),
    )
)]
async fn grant_autorisation(
    state: web::Data<DocumentsHttp>,
    Authenticated(actor): Authenticated,
    request_id: RequestId,
    body: web::Json<GrantRequest>,
) -> Result<HttpResponse, Problem> {
    let body = body.into_inner();
    let input = AutorisationInput {
        user_id: body.user_id,
        type_autorisation: body.type_autorisation,
        dossier_id: body.dossier_id,
        document_id: body.document_id,
        expire_at: body.expire_at.map(|at| at.0),
    };
    let autorisation = state
        .grant
        .execute(&request_id.command_context(actor), input)
        .await
        .map_err(problem)?;
    Ok(HttpResponse::Created().json(AutorisationResponse::new(&autorisation, state.clock.now())))
}

/// The autorisations on a dossier, expired included (those who manage them).
#[utoipa::path(
    get, path = "/api/v1/documents/dossiers/{dossier_id}/autorisations", tag = "documents",
    params(DossierPath),
    responses(
        (status = 200, body = AutorisationListResponse),
        (status = 403, description = "`forbidden`", body = ProblemSchema),
        (status = 404, description = "`dossier_not_found`", body = ProblemSchema),
    )
)]
async fn list_dossier_autorisations(
    state: web::Data<DocumentsHttp>,
    Authenticated(actor): Authenticated,
    request_id: RequestId,
    path: web::Path<DossierPath>,
) -> Result<web::Json<AutorisationListResponse>, Problem> {
    state
        .autorisations(
            &request_id.command_context(actor),
            Cible::Dossier(path.dossier_id),
        )
        .await
}

/// The autorisations on a document, expired included (those who manage them).
#[utoipa::path(
    get, path = "/api/v1/documents/documents/{document_id}/autorisations", tag = "documents",
    params(DocumentPath),
    responses(
        (status = 200, body = AutorisationListResponse),
        (status = 403, description = "`forbidden`", body = ProblemSchema),
        (status = 404, description = "`document_not_found`", body = ProblemSchema),
    )
)]
async fn list_document_autorisations(
    state: web::Data<DocumentsHttp>,
    Authenticated(actor): Authenticated,
    request_id: RequestId,
    path: web::Path<DocumentPath>,
) -> Result<web::Json<AutorisationListResponse>, Problem> {
    state
        .autorisations(
            &request_id.command_context(actor),
            Cible::Document(path.document_id),
        )
        .await
}

impl DocumentsHttp {
    async fn autorisations(
        &self,
        context: &hub_kernel::CommandContext,
        cible: Cible,
    ) -> Result<web::Json<AutorisationListResponse>, Problem> {
        let autorisations = self
            .list_autorisations
            .execute(context, cible)
            .await
            .map_err(problem)?;
        let now = self.clock.now();
        Ok(web::Json(AutorisationListResponse {
            total: autorisations.len() as u64,
            autorisations: autorisations
                .iter()
                .map(|a| AutorisationResponse::new(a, now))
                .collect(),
        }))
    }
}

/// Withdraw a named right (those who manage its target's autorisations).
#[utoipa::path(
    delete, path = "/api/v1/documents/autorisations/{autorisation_id}", tag = "documents",
    params(AutorisationPath),
    responses(
        (status = 204, description = "Revoked"),
        (status = 403, description = "`forbidden`", body = ProblemSchema),
        (status = 404, description = "`autorisation_not_found`", body = ProblemSchema),
        (status = 409, description = "`chantier_closed`", body = ProblemSchema),
    )
)]
async fn revoke_autorisation(
    state: web::Data<DocumentsHttp>,
    Authenticated(actor): Authenticated,
    request_id: RequestId,
    path: web::Path<AutorisationPath>,
) -> Result<HttpResponse, Problem> {
    state
        .revoke
        .execute(&request_id.command_context(actor), path.autorisation_id)
        .await
        .map_err(problem)?;
    Ok(HttpResponse::NoContent().finish())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn content_disposition_keeps_the_exact_name_encoded_and_an_ascii_fallback() {
        let header = content_disposition(DispositionType::Attachment, "Plan \"R+1\" été.pdf");
        let text = header.to_string();
        assert!(text.starts_with("attachment; "), "{text}");
        assert!(text.contains("filename=\"Plan _R+1_ _t_.pdf\""), "{text}");
        assert!(text.contains("filename*=UTF-8''Plan%20%22R"), "{text}");
        assert!(text.contains("%C3%A9t%C3%A9.pdf"), "{text}");
        let traversal =
            content_disposition(DispositionType::Inline, "../../etc/passwd").to_string();
        assert!(traversal.starts_with("inline; "), "{traversal}");
    }
}
