//! The documents use cases. Each holds its ports and has one `execute`;
//! each either stores its change with exactly its events, or fails and
//! publishes nothing. Access is the domain's rule ([`Acteur`]): out of
//! sight is "not found", in sight but not allowed is "forbidden".

use std::sync::Arc;

use hub_documents_domain::{
    Acteur, Autorisation, AutorisationError, ChantierInfo, Cible, CleStockage, Document,
    DocumentError, Dossier, DossierError, Droit, Emplacement, NouveauDossier, NouvelleAutorisation,
    Parent, Televersement,
};
use hub_kernel::{
    Actor, Clock, CommandContext, DomainEvent, EnvelopeError, EventEnvelope, Page, StorageError,
    ValidationErrors, VersionMismatch,
};
use uuid::Uuid;

use crate::input::{
    AutorisationInput, DocumentUpdateInput, DossierInput, DossierUpdateInput, SearchInput,
    UploadInput,
};
use crate::ports::{
    Blob, BlobStore, ByteRange, ByteStream, Directory, DocumentFilter, DocumentRepository,
    DocumentSearch, RepositoryError, StoreError,
};

/// Why a documents command or query failed; the HTTP adapter maps each to
/// a status.
#[derive(Debug, thiserror::Error)]
pub enum DocumentsError {
    #[error("{0}")]
    Invalid(ValidationErrors),
    #[error("no dossier with this id")]
    DossierNotFound,
    #[error("no document with this id")]
    DocumentNotFound,
    #[error("no autorisation with this id")]
    AutorisationNotFound,
    #[error("no chantier with this id")]
    ChantierNotFound,
    /// The caller sees it but may not do this.
    #[error("{0}")]
    Forbidden(&'static str),
    /// The chantier is `ferme` or deleted: its documents are read-only.
    #[error("the chantier is closed: its documents can no longer change")]
    ChantierFerme,
    #[error(transparent)]
    Dossier(#[from] DossierError),
    #[error(transparent)]
    Document(#[from] DocumentError),
    #[error(transparent)]
    Autorisation(#[from] AutorisationError),
    #[error("the file exceeds the limit of {limit} bytes")]
    TooLarge { limit: u64 },
    #[error("the upload was interrupted")]
    UploadInterrupted(#[source] std::io::Error),
    #[error("the range is outside the document's {size} bytes")]
    RangeNotSatisfiable { size: u64 },
    /// The row exists but its bytes are missing from the store.
    #[error("the document's content is missing")]
    ContentMissing,
    #[error("it was changed by someone else meanwhile; reload it and retry")]
    Conflict,
    /// The request's `If-Match` names another version than the stored one.
    #[error(transparent)]
    Precondition(#[from] VersionMismatch),
    /// A ZIP was asked for without any document, or for too many.
    #[error("between 1 and {max} documents may be zipped at once")]
    ArchiveSize { max: usize },
    /// Storage failed, or an event could not be built: a 500, logged with its cause.
    #[error("documents are unavailable")]
    Unavailable(#[source] Box<dyn std::error::Error + Send + Sync>),
}

impl From<RepositoryError> for DocumentsError {
    fn from(error: RepositoryError) -> Self {
        match error {
            // Finds return `None`; a write's NotFound means it vanished meanwhile.
            RepositoryError::NotFound | RepositoryError::Conflict => Self::Conflict,
            RepositoryError::DuplicateAutorisation => {
                Self::Autorisation(AutorisationError::DejaAccordee)
            }
            RepositoryError::Cycle => Self::Dossier(DossierError::Cycle),
            RepositoryError::DuplicateNom => Self::Conflict,
            RepositoryError::Storage(error) => Self::Unavailable(error.into()),
        }
    }
}

impl From<EnvelopeError> for DocumentsError {
    fn from(error: EnvelopeError) -> Self {
        Self::Unavailable(error.into())
    }
}

impl From<StorageError> for DocumentsError {
    fn from(error: StorageError) -> Self {
        Self::Unavailable(error.into())
    }
}

impl From<ValidationErrors> for DocumentsError {
    fn from(errors: ValidationErrors) -> Self {
        Self::Invalid(errors)
    }
}

impl From<StoreError> for DocumentsError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::TooLarge { limit } => Self::TooLarge { limit },
            StoreError::Body(error) => Self::UploadInterrupted(error),
            StoreError::NotFound => Self::ContentMissing,
            StoreError::InvalidRange { size } => Self::RangeNotSatisfiable { size },
            StoreError::Unavailable(error) => Self::Unavailable(error),
        }
    }
}

type Result<T> = std::result::Result<T, DocumentsError>;

/// The ports every documents use case is built from.
#[derive(Clone)]
pub struct DocumentPorts {
    pub documents: Arc<dyn DocumentRepository>,
    pub directory: Arc<dyn Directory>,
    pub store: Arc<dyn BlobStore>,
    pub clock: Arc<dyn Clock>,
    /// The largest upload accepted, in bytes (configuration; at most 10 GiB).
    pub upload_limit: u64,
}

const FORBIDDEN_WRITE: &str = "Vous n'avez pas les droits d'écriture sur ce dossier";
const FORBIDDEN_WRITE_DOCUMENT: &str = "Vous n'avez pas les droits de modifier ce document";
const FORBIDDEN_DELETE_DOCUMENT: &str = "Seuls les administrateurs peuvent supprimer ce document";
const FORBIDDEN_DELETE_DOSSIER: &str = "Seuls les administrateurs peuvent supprimer des dossiers";
const FORBIDDEN_INIT: &str =
    "Seuls les administrateurs et conducteurs peuvent créer l'arborescence";
const FORBIDDEN_ROOT: &str = "Vous n'avez pas les droits de créer un dossier sur ce chantier";
const FORBIDDEN_AUTORISATIONS: &str =
    "Vous n'avez pas les droits de gérer les autorisations de cette cible";

/// How often an upload retries its insert when a concurrent upload took
/// the same name in the dossier meanwhile.
const NAME_ATTEMPTS: u32 = 5;

fn actor_of(context: &CommandContext) -> Result<Actor> {
    // Every documents command is a user's.
    context
        .actor
        .ok_or(DocumentsError::Forbidden("a user must act"))
}

fn unknown_chantier() -> DocumentsError {
    DocumentsError::Invalid(ValidationErrors::single(
        "chantier_id",
        "unknown_chantier",
        "no chantier with this id",
    ))
}

/// A dossier with its chantier and what the actor may do with it.
struct DossierAccess {
    dossier: Dossier,
    chantier: ChantierInfo,
    droit: Droit,
}

/// A document with its dossier, its chantier and the actor's right on it.
struct DocumentAccess {
    document: Document,
    dossier: Dossier,
    chantier: ChantierInfo,
    droit: Droit,
}

impl DocumentPorts {
    fn wrap(&self, context: &CommandContext, event: &impl DomainEvent) -> Result<EventEnvelope> {
        Ok(context.wrap(event, &*self.clock)?)
    }

    /// The chantier and whether the actor is in its scope.
    async fn chantier(&self, actor: &Actor, id: Uuid) -> Result<Option<(ChantierInfo, bool)>> {
        let Some(chantier) = self.directory.chantier(id).await? else {
            return Ok(None);
        };
        let mut scoped = chantier.dans_le_perimetre(actor, false);
        if !scoped {
            scoped = chantier
                .dans_le_perimetre(actor, self.directory.is_assigned(actor.user_id, id).await?);
        }
        Ok(Some((chantier, scoped)))
    }

    async fn dossier_access(&self, actor: &Actor, id: Uuid) -> Result<Option<DossierAccess>> {
        let Some(dossier) = self.documents.find_dossier(id).await? else {
            return Ok(None);
        };
        let Some((chantier, scoped)) = self.chantier(actor, dossier.chantier_id()).await? else {
            return Ok(None);
        };
        let autorisations = self
            .documents
            .autorisations_of(actor.user_id, &[Cible::Dossier(id)])
            .await?;
        let droit = Acteur {
            actor: *actor,
            dans_le_perimetre: scoped,
            autorisations: &autorisations,
            now: self.clock.now(),
        }
        .droit_sur_dossier(&dossier);
        Ok(Some(DossierAccess {
            dossier,
            chantier,
            droit,
        }))
    }

    /// The dossier if the actor sees it, else "not found".
    async fn visible_dossier(&self, actor: &Actor, id: Uuid) -> Result<DossierAccess> {
        self.dossier_access(actor, id)
            .await?
            .filter(|access| access.droit.peut_lire())
            .ok_or(DocumentsError::DossierNotFound)
    }

    async fn visible_document(&self, actor: &Actor, id: Uuid) -> Result<DocumentAccess> {
        let not_found = || DocumentsError::DocumentNotFound;
        let document = self
            .documents
            .find_document(id)
            .await?
            .ok_or_else(not_found)?;
        let dossier = self
            .documents
            .find_dossier(document.dossier_id())
            .await?
            .ok_or_else(not_found)?;
        let (chantier, scoped) = self
            .chantier(actor, document.chantier_id())
            .await?
            .ok_or_else(not_found)?;
        let cibles = [Cible::Document(id), Cible::Dossier(dossier.id())];
        let autorisations = self
            .documents
            .autorisations_of(actor.user_id, &cibles)
            .await?;
        let droit = Acteur {
            actor: *actor,
            dans_le_perimetre: scoped,
            autorisations: &autorisations,
            now: self.clock.now(),
        }
        .droit_sur_document(&document, &dossier);
        if !droit.peut_lire() {
            return Err(not_found());
        }
        Ok(DocumentAccess {
            document,
            dossier,
            chantier,
            droit,
        })
    }

    /// The parent's emplacement data: its ancestors and the names under it.
    async fn ancestors_of(&self, parent: Option<&Dossier>) -> Result<Vec<Uuid>> {
        match parent {
            Some(parent) => Ok(self.documents.ancestors(parent.id()).await?),
            None => Ok(Vec::new()),
        }
    }

    /// A dossier the actor names as a parent or a destination: it must
    /// exist and be visible (422 otherwise) and writable (403).
    async fn writable_destination(
        &self,
        actor: &Actor,
        id: Uuid,
        field: &'static str,
    ) -> Result<Dossier> {
        let access = self
            .dossier_access(actor, id)
            .await?
            .filter(|access| access.droit.peut_lire())
            .ok_or_else(|| {
                DocumentsError::Invalid(ValidationErrors::single(
                    field,
                    "unknown_dossier",
                    "no dossier with this id",
                ))
            })?;
        if !access.droit.peut_ecrire() {
            return Err(DocumentsError::Forbidden(FORBIDDEN_WRITE));
        }
        Ok(access.dossier)
    }
}

fn writable(chantier: &ChantierInfo) -> Result<()> {
    if chantier.accepte_ecritures() {
        Ok(())
    } else {
        Err(DocumentsError::ChantierFerme)
    }
}

hub_kernel::use_cases! {
    DocumentPorts;
    /// Creates a dossier; publishes `dossier.created`.
    CreateDossier,
    /// Renames, moves or re-levels a dossier; publishes `dossier.updated`.
    UpdateDossier,
    /// Deletes a dossier (with `force`, its whole subtree and files);
    /// publishes `dossier.deleted` and `document.deleted`.
    DeleteDossier,
    /// Creates the standard folders a chantier lacks; one `dossier.created` each.
    InitArborescence,
    /// One dossier, if the actor sees it.
    GetDossier,
    /// The dossiers of one level of a chantier's tree that the actor sees.
    ListDossiers,
    /// Every dossier of a chantier's tree that the actor sees.
    Arborescence,
    /// A page of the documents of a dossier that the actor sees.
    ListDocuments,
    /// A page of a chantier's documents that the actor sees, by name, type, date, uploader.
    SearchDocuments,
    /// Streams a file into a dossier; publishes `document.uploaded`.
    UploadDocument,
    /// One document, if the actor sees it.
    GetDocument,
    /// A document's bytes (or a range of them), streamed.
    DownloadDocument,
    /// The documents of a ZIP archive, all of them readable by the actor.
    ArchiveDocuments,
    /// Renames, describes, moves or re-levels a document; publishes `document.updated`.
    UpdateDocument,
    /// Deletes a document, then its bytes; publishes `document.deleted`.
    DeleteDocument,
    /// Grants a named right; publishes `document_autorisation.granted`.
    GrantAutorisation,
    /// Withdraws a named right; publishes `document_autorisation.revoked`.
    RevokeAutorisation,
    /// The autorisations on a dossier or a document, expired included.
    ListAutorisations,
}

impl CreateDossier {
    pub async fn execute(&self, context: &CommandContext, input: DossierInput) -> Result<Dossier> {
        let actor = actor_of(context)?;
        let valid = input.validate()?;
        let ports = &self.ports;
        let (chantier, scoped) = ports
            .chantier(&actor, input.chantier_id)
            .await?
            .filter(|(_, scoped)| *scoped)
            .ok_or_else(unknown_chantier)?;
        let parent = match input.parent_id {
            Some(id) => Some(ports.writable_destination(&actor, id, "parent_id").await?),
            None => {
                let acteur = Acteur {
                    actor,
                    dans_le_perimetre: scoped,
                    autorisations: &[],
                    now: ports.clock.now(),
                };
                if !acteur.peut_creer_a_la_racine() {
                    return Err(DocumentsError::Forbidden(FORBIDDEN_ROOT));
                }
                None
            }
        };
        writable(&chantier)?;
        let ancetres = ports.ancestors_of(parent.as_ref()).await?;
        let noms = ports
            .documents
            .dossier_names(input.chantier_id, input.parent_id, None)
            .await?;
        let nouveau = NouveauDossier {
            chantier_id: input.chantier_id,
            nom: valid.nom,
            type_dossier: valid.type_dossier,
            niveau_acces: valid.niveau_acces,
        };
        let emplacement = Emplacement {
            parent: parent.as_ref().map(|dossier| Parent {
                dossier,
                ancetres: &ancetres,
            }),
            noms_voisins: &noms,
        };
        let (dossier, event) = Dossier::create(nouveau, emplacement, ports.clock.now())?;
        let events = [ports.wrap(context, &event)?];
        ports
            .documents
            .insert_dossiers(std::slice::from_ref(&dossier), &events)
            .await
            .map_err(|error| match error {
                RepositoryError::DuplicateNom => DocumentsError::from(DossierError::NomDejaPris(
                    dossier.nom().as_str().to_owned(),
                )),
                other => other.into(),
            })?;
        Ok(dossier)
    }
}

impl UpdateDossier {
    pub async fn execute(
        &self,
        context: &CommandContext,
        id: Uuid,
        input: DossierUpdateInput,
    ) -> Result<Dossier> {
        let actor = actor_of(context)?;
        let update = input.validate()?;
        let ports = &self.ports;
        let DossierAccess {
            mut dossier,
            chantier,
            droit,
        } = ports.visible_dossier(&actor, id).await?;
        if !droit.peut_ecrire() {
            return Err(DocumentsError::Forbidden(FORBIDDEN_WRITE));
        }
        writable(&chantier)?;
        context.check_version(dossier.version())?;
        let parent_id = update.parent_id.unwrap_or(dossier.parent_id());
        let parent = match update.parent_id {
            Some(Some(parent_id)) if Some(parent_id) != dossier.parent_id() => Some(
                ports
                    .writable_destination(&actor, parent_id, "parent_id")
                    .await?,
            ),
            _ => match parent_id {
                Some(parent_id) => ports.documents.find_dossier(parent_id).await?,
                None => None,
            },
        };
        let ancetres = ports.ancestors_of(parent.as_ref()).await?;
        let noms = ports
            .documents
            .dossier_names(dossier.chantier_id(), parent_id, Some(id))
            .await?;
        let emplacement = Emplacement {
            parent: parent.as_ref().map(|dossier| Parent {
                dossier,
                ancetres: &ancetres,
            }),
            noms_voisins: &noms,
        };
        let Some(event) = dossier.update(update, emplacement, actor.user_id, ports.clock.now())?
        else {
            return Ok(dossier);
        };
        let events = [ports.wrap(context, &event)?];
        ports
            .documents
            .update_dossier(&dossier, &events)
            .await
            .map_err(|error| match error {
                RepositoryError::DuplicateNom => DocumentsError::from(DossierError::NomDejaPris(
                    dossier.nom().as_str().to_owned(),
                )),
                other => other.into(),
            })?;
        Ok(dossier)
    }
}

/// What a delete left behind: the objects whose removal failed after the
/// commit (the orphan sweep removes them later; the adapter logs them).
#[derive(Debug, Default)]
pub struct Suppression {
    pub objets_restants: Vec<(CleStockage, StoreError)>,
}

impl DocumentPorts {
    /// Removes the bytes of deleted documents, after the commit.
    async fn remove_objects(&self, keys: impl IntoIterator<Item = CleStockage>) -> Suppression {
        let mut suppression = Suppression::default();
        for key in keys {
            if let Err(error) = self.store.delete(&key).await {
                suppression.objets_restants.push((key, error));
            }
        }
        suppression
    }
}

impl DeleteDossier {
    pub async fn execute(
        &self,
        context: &CommandContext,
        id: Uuid,
        force: bool,
    ) -> Result<Suppression> {
        let actor = actor_of(context)?;
        let ports = &self.ports;
        let DossierAccess {
            dossier,
            chantier,
            droit,
        } = ports.visible_dossier(&actor, id).await?;
        let acteur = Acteur {
            actor,
            dans_le_perimetre: true,
            autorisations: &[],
            now: ports.clock.now(),
        };
        if !acteur.peut_supprimer_dossier(droit) {
            return Err(DocumentsError::Forbidden(FORBIDDEN_DELETE_DOSSIER));
        }
        writable(&chantier)?;
        context.check_version(dossier.version())?;
        let (dossiers, documents) = ports.documents.subtree(id).await?;
        let nombre_documents = documents
            .iter()
            .filter(|document| document.dossier_id() == id)
            .count() as u64;
        let nombre_sous_dossiers = dossiers
            .iter()
            .filter(|child| child.parent_id() == Some(id))
            .count() as u64;
        dossier.delete(nombre_documents, nombre_sous_dossiers, force, actor.user_id)?;
        let mut events = Vec::with_capacity(dossiers.len() + documents.len());
        for document in &documents {
            events.push(ports.wrap(context, &document.delete(actor.user_id))?);
        }
        for gone in &dossiers {
            // Deepest first: the forced subtree's own events, then this one's.
            let event = gone.delete(0, 0, true, actor.user_id)?;
            events.push(ports.wrap(context, &event)?);
        }
        let dossier_ids: Vec<Uuid> = dossiers.iter().map(Dossier::id).collect();
        let document_ids: Vec<Uuid> = documents.iter().map(Document::id).collect();
        ports
            .documents
            .delete_tree(&dossier_ids, &document_ids, &events)
            .await?;
        Ok(ports
            .remove_objects(documents.iter().map(|document| document.cle().clone()))
            .await)
    }
}

impl InitArborescence {
    pub async fn execute(
        &self,
        context: &CommandContext,
        chantier_id: Uuid,
    ) -> Result<Vec<Dossier>> {
        let actor = actor_of(context)?;
        let ports = &self.ports;
        let (chantier, scoped) = ports
            .chantier(&actor, chantier_id)
            .await?
            .filter(|(_, scoped)| *scoped)
            .ok_or_else(unknown_chantier)?;
        let acteur = Acteur {
            actor,
            dans_le_perimetre: scoped,
            autorisations: &[],
            now: ports.clock.now(),
        };
        if !acteur.peut_initialiser_arborescence() {
            return Err(DocumentsError::Forbidden(FORBIDDEN_INIT));
        }
        writable(&chantier)?;
        let presents = ports.documents.dossier_types(chantier_id).await?;
        let created = Dossier::arborescence_standard(chantier_id, &presents, ports.clock.now());
        if created.is_empty() {
            return Ok(Vec::new());
        }
        let events = created
            .iter()
            .map(|(_, event)| ports.wrap(context, event))
            .collect::<Result<Vec<_>>>()?;
        let dossiers: Vec<Dossier> = created.into_iter().map(|(dossier, _)| dossier).collect();
        ports.documents.insert_dossiers(&dossiers, &events).await?;
        Ok(dossiers)
    }
}

impl GetDossier {
    pub async fn execute(&self, context: &CommandContext, id: Uuid) -> Result<(Dossier, Droit)> {
        let actor = actor_of(context)?;
        let access = self.ports.visible_dossier(&actor, id).await?;
        Ok((access.dossier, access.droit))
    }
}

impl ListDossiers {
    /// The roots (`parent_id: None`) or the children of a visible dossier,
    /// each with the actor's right; the others are left out. An unknown
    /// chantier, one out of scope where nothing is granted, and an
    /// invisible parent are "not found".
    pub async fn execute(
        &self,
        context: &CommandContext,
        chantier_id: Uuid,
        parent_id: Option<Uuid>,
    ) -> Result<Vec<(Dossier, Droit)>> {
        let actor = actor_of(context)?;
        let ports = &self.ports;
        let (_, scoped) = ports
            .chantier(&actor, chantier_id)
            .await?
            .ok_or(DocumentsError::ChantierNotFound)?;
        if let Some(parent_id) = parent_id {
            let parent = ports.visible_dossier(&actor, parent_id).await?;
            if parent.dossier.chantier_id() != chantier_id {
                return Err(DocumentsError::DossierNotFound);
            }
        }
        let dossiers = ports
            .documents
            .list_dossiers(chantier_id, parent_id)
            .await?;
        let cibles: Vec<Cible> = dossiers.iter().map(|d| Cible::Dossier(d.id())).collect();
        let autorisations = if cibles.is_empty() {
            Vec::new()
        } else {
            ports
                .documents
                .autorisations_of(actor.user_id, &cibles)
                .await?
        };
        let acteur = Acteur {
            actor,
            dans_le_perimetre: scoped,
            autorisations: &autorisations,
            now: ports.clock.now(),
        };
        let visible: Vec<(Dossier, Droit)> = dossiers
            .into_iter()
            .map(|dossier| {
                let droit = acteur.droit_sur_dossier(&dossier);
                (dossier, droit)
            })
            .filter(|(_, droit)| droit.peut_lire())
            .collect();
        // Out of scope with nothing granted there: the chantier is out of sight.
        if !scoped && parent_id.is_none() && visible.is_empty() {
            return Err(DocumentsError::ChantierNotFound);
        }
        Ok(visible)
    }
}

impl Arborescence {
    /// The dossiers the actor reads, at any depth, each with the actor's
    /// right, by `ordre` then `nom`. An unknown chantier, and one out of
    /// scope where nothing is granted, are "not found".
    pub async fn execute(
        &self,
        context: &CommandContext,
        chantier_id: Uuid,
    ) -> Result<Vec<(Dossier, Droit)>> {
        let actor = actor_of(context)?;
        let ports = &self.ports;
        let (_, scoped) = ports
            .chantier(&actor, chantier_id)
            .await?
            .ok_or(DocumentsError::ChantierNotFound)?;
        let dossiers = ports.documents.chantier_dossiers(chantier_id).await?;
        let cibles: Vec<Cible> = dossiers.iter().map(|d| Cible::Dossier(d.id())).collect();
        let autorisations = if cibles.is_empty() {
            Vec::new()
        } else {
            ports
                .documents
                .autorisations_of(actor.user_id, &cibles)
                .await?
        };
        let acteur = Acteur {
            actor,
            dans_le_perimetre: scoped,
            autorisations: &autorisations,
            now: ports.clock.now(),
        };
        let visible: Vec<(Dossier, Droit)> = dossiers
            .into_iter()
            .map(|dossier| {
                let droit = acteur.droit_sur_dossier(&dossier);
                (dossier, droit)
            })
            .filter(|(_, droit)| droit.peut_lire())
            .collect();
        if !scoped && visible.is_empty() {
            return Err(DocumentsError::ChantierNotFound);
        }
        Ok(visible)
    }
}

impl ListDocuments {
    /// Filtered in the query (so pages and totals count only what the actor
    /// sees); a dossier the actor does not see is "not found".
    pub async fn execute(
        &self,
        context: &CommandContext,
        dossier_id: Uuid,
        page: Page,
    ) -> Result<(Vec<Document>, u64)> {
        let actor = actor_of(context)?;
        let ports = &self.ports;
        let dossier = ports.visible_dossier(&actor, dossier_id).await?.dossier;
        let (_, in_scope) = ports
            .chantier(&actor, dossier.chantier_id())
            .await?
            .ok_or(DocumentsError::DossierNotFound)?;
        let autorisations = ports
            .documents
            .autorisations_of(actor.user_id, &[Cible::Dossier(dossier_id)])
            .await?;
        let now = ports.clock.now();
        let acteur = Acteur {
            actor,
            dans_le_perimetre: in_scope,
            autorisations: &autorisations,
            now,
        };
        let filter = DocumentFilter {
            dossier_id,
            viewer: actor.user_id,
            visibilite: acteur.visibilite_documents(&dossier),
            now,
        };
        Ok(ports.documents.list_documents(&filter, page).await?)
    }
}

impl SearchDocuments {
    /// Searches the documents of the dossiers the actor reads, each
    /// filtered as its listing is (in the query, so pages and totals count
    /// only what the actor sees). A chantier out of sight is "not found",
    /// as is a `dossier_id` the actor does not read.
    pub async fn execute(
        &self,
        context: &CommandContext,
        chantier_id: Uuid,
        input: SearchInput,
        page: Page,
    ) -> Result<(Vec<Document>, u64)> {
        let actor = actor_of(context)?;
        let (nom, type_document) = input.validate()?;
        let ports = &self.ports;
        let (_, scoped) = ports
            .chantier(&actor, chantier_id)
            .await?
            .ok_or(DocumentsError::ChantierNotFound)?;
        let mut dossiers = ports.documents.chantier_dossiers(chantier_id).await?;
        if let Some(id) = input.dossier_id {
            dossiers.retain(|dossier| dossier.id() == id);
        }
        let cibles: Vec<Cible> = dossiers.iter().map(|d| Cible::Dossier(d.id())).collect();
        let autorisations = if cibles.is_empty() {
            Vec::new()
        } else {
            ports
                .documents
                .autorisations_of(actor.user_id, &cibles)
                .await?
        };
        let now = ports.clock.now();
        let acteur = Acteur {
            actor,
            dans_le_perimetre: scoped,
            autorisations: &autorisations,
            now,
        };
        let lisibles: Vec<(Uuid, hub_documents_domain::VisibiliteDocuments)> = dossiers
            .iter()
            .filter(|dossier| acteur.droit_sur_dossier(dossier).peut_lire())
            .map(|dossier| (dossier.id(), acteur.visibilite_documents(dossier)))
            .collect();
        if input.dossier_id.is_some() && lisibles.is_empty() {
            return Err(DocumentsError::DossierNotFound);
        }
        if lisibles.is_empty() {
            // Out of scope with nothing granted: the chantier is out of sight.
            return if scoped {
                Ok((Vec::new(), 0))
            } else {
                Err(DocumentsError::ChantierNotFound)
            };
        }
        let search = DocumentSearch {
            chantier_id,
            dossiers: lisibles,
            viewer: actor.user_id,
            now,
            nom,
            type_document,
            uploaded_by: input.uploaded_by,
            depuis: input.date_debut,
            jusqu_a: input.date_fin,
        };
        Ok(ports.documents.search_documents(&search, page).await?)
    }
}

impl UploadDocument {
    /// Checks everything that can be checked before the bytes (access,
    /// statut, name, extension, level), streams them into the store, then
    /// inserts the row and its event; if the insert fails, the object is
    /// removed again.
    pub async fn execute(
        &self,
        context: &CommandContext,
        input: UploadInput,
        body: ByteStream,
    ) -> Result<Document> {
        let actor = actor_of(context)?;
        let (niveau_acces, description) = input.validate()?;
        let ports = &self.ports;
        let DossierAccess {
            dossier,
            chantier,
            droit,
        } = ports.visible_dossier(&actor, input.dossier_id).await?;
        if !droit.peut_ecrire() {
            return Err(DocumentsError::Forbidden(FORBIDDEN_WRITE));
        }
        writable(&chantier)?;
        let televersement = Televersement::prepare(
            &dossier,
            input.chantier_id,
            input.filename.as_deref(),
            niveau_acces,
            description,
        )?;
        let stored = ports
            .store
            .put(televersement.cle(), body, ports.upload_limit)
            .await?;
        let key = televersement.cle().clone();
        match self.insert(context, &actor, televersement, stored).await {
            Ok(document) => Ok(document),
            Err(error) => {
                // Best effort: a failure here leaves an orphan for the sweep.
                let _ = ports.store.delete(&key).await;
                Err(error)
            }
        }
    }

    async fn insert(
        &self,
        context: &CommandContext,
        actor: &Actor,
        televersement: Televersement,
        stored: crate::ports::StoredBlob,
    ) -> Result<Document> {
        let ports = &self.ports;
        for _ in 0..NAME_ATTEMPTS {
            let pris = ports
                .documents
                .document_names(televersement.dossier_id(), None)
                .await?;
            let nom = televersement.nom_libre(&pris);
            let (document, event) = Document::upload(
                televersement.clone(),
                nom,
                stored.taille,
                stored.sha256.clone(),
                actor.user_id,
                ports.clock.now(),
            );
            let events = [ports.wrap(context, &event)?];
            match ports.documents.insert_document(&document, &events).await {
                Ok(()) => return Ok(document),
                // Another upload took the name meanwhile: pick the next one.
                Err(RepositoryError::DuplicateNom) => continue,
                Err(error) => return Err(error.into()),
            }
        }
        Err(DocumentsError::Conflict)
    }
}

/// A document with the actor's right on it (the API shows what they may do).
#[derive(Debug, Clone, PartialEq)]
pub struct DocumentView {
    pub document: Document,
    pub droit: Droit,
}

impl GetDocument {
    pub async fn execute(&self, context: &CommandContext, id: Uuid) -> Result<DocumentView> {
        let actor = actor_of(context)?;
        let access = self.ports.visible_document(&actor, id).await?;
        Ok(DocumentView {
            document: access.document,
            droit: access.droit,
        })
    }
}

impl DownloadDocument {
    pub async fn execute(
        &self,
        context: &CommandContext,
        id: Uuid,
        range: Option<ByteRange>,
    ) -> Result<(Document, Blob)> {
        let actor = actor_of(context)?;
        let access = self.ports.visible_document(&actor, id).await?;
        if let Some(range) = range {
            let size = access.document.taille().octets();
            if range.resolve(size).is_none() {
                return Err(DocumentsError::RangeNotSatisfiable { size });
            }
        }
        let blob = self.ports.store.get(access.document.cle(), range).await?;
        Ok((access.document, blob))
    }
}

impl ArchiveDocuments {
    /// At most this many documents per archive (the spec's bound).
    pub const MAX: usize = 100;

    /// The documents in the order asked (repeated ids once); if any of them
    /// is missing or out of the actor's sight the whole request is "not
    /// found", so an archive never tells which ids exist.
    pub async fn execute(&self, context: &CommandContext, ids: &[Uuid]) -> Result<Vec<Document>> {
        let actor = actor_of(context)?;
        let mut unique: Vec<Uuid> = Vec::with_capacity(ids.len());
        for id in ids {
            if !unique.contains(id) {
                unique.push(*id);
            }
        }
        if unique.is_empty() || unique.len() > Self::MAX {
            return Err(DocumentsError::ArchiveSize { max: Self::MAX });
        }
        let mut documents = Vec::with_capacity(unique.len());
        for id in unique {
            documents.push(self.ports.visible_document(&actor, id).await?.document);
        }
        Ok(documents)
    }
}

impl UpdateDocument {
    pub async fn execute(
        &self,
        context: &CommandContext,
        id: Uuid,
        input: DocumentUpdateInput,
    ) -> Result<Document> {
        let actor = actor_of(context)?;
        let update = input.validate()?;
        let ports = &self.ports;
        let DocumentAccess {
            mut document,
            dossier,
            chantier,
            droit,
        } = ports.visible_document(&actor, id).await?;
        if !droit.peut_ecrire() {
            return Err(DocumentsError::Forbidden(FORBIDDEN_WRITE_DOCUMENT));
        }
        writable(&chantier)?;
        context.check_version(document.version())?;
        let destination = match update.dossier_id {
            Some(target) if target != dossier.id() => {
                ports
                    .writable_destination(&actor, target, "dossier_id")
                    .await?
            }
            _ => dossier,
        };
        let pris = ports
            .documents
            .document_names(destination.id(), Some(id))
            .await?;
        let Some(event) = document.update(
            update,
            &destination,
            &pris,
            actor.user_id,
            ports.clock.now(),
        )?
        else {
            return Ok(document);
        };
        let events = [ports.wrap(context, &event)?];
        ports
            .documents
            .update_document(&document, &events)
            .await
            .map_err(|error| match error {
                RepositoryError::DuplicateNom => DocumentsError::from(DocumentError::NomDejaPris(
                    document.nom().as_str().to_owned(),
                )),
                other => other.into(),
            })?;
        Ok(document)
    }
}

impl DeleteDocument {
    /// Deletes the row, its autorisations and publishes the event in one
    /// transaction; the bytes go after the commit.
    pub async fn execute(&self, context: &CommandContext, id: Uuid) -> Result<Suppression> {
        let actor = actor_of(context)?;
        let ports = &self.ports;
        let access = ports.visible_document(&actor, id).await?;
        if !access.droit.peut_administrer() {
            return Err(DocumentsError::Forbidden(FORBIDDEN_DELETE_DOCUMENT));
        }
        writable(&access.chantier)?;
        context.check_version(access.document.version())?;
        let events = [ports.wrap(context, &access.document.delete(actor.user_id))?];
        ports.documents.delete_tree(&[], &[id], &events).await?;
        Ok(ports.remove_objects([access.document.cle().clone()]).await)
    }
}

/// The target of an autorisation, with its chantier and the actor's right.
struct TargetAccess {
    chantier: ChantierInfo,
    droit: Droit,
}

impl DocumentPorts {
    /// The target if the actor sees it and manages its autorisations.
    async fn managed_target(&self, actor: &Actor, cible: Cible) -> Result<TargetAccess> {
        let target = match cible {
            Cible::Dossier(id) => {
                let access = self.visible_dossier(actor, id).await?;
                TargetAccess {
                    chantier: access.chantier,
                    droit: access.droit,
                }
            }
            Cible::Document(id) => {
                let access = self.visible_document(actor, id).await?;
                TargetAccess {
                    chantier: access.chantier,
                    droit: access.droit,
                }
            }
        };
        let acteur = Acteur {
            actor: *actor,
            dans_le_perimetre: true,
            autorisations: &[],
            now: self.clock.now(),
        };
        if !acteur.gere_les_autorisations(&target.chantier, target.droit) {
            return Err(DocumentsError::Forbidden(FORBIDDEN_AUTORISATIONS));
        }
        Ok(target)
    }
}

impl GrantAutorisation {
    pub async fn execute(
        &self,
        context: &CommandContext,
        input: AutorisationInput,
    ) -> Result<Autorisation> {
        let actor = actor_of(context)?;
        let valid = input.validate()?;
        let ports = &self.ports;
        let target = ports.managed_target(&actor, valid.cible).await?;
        writable(&target.chantier)?;
        let grantee = ports.directory.user(valid.user_id).await?;
        if !grantee.is_some_and(|user| user.is_active) {
            return Err(DocumentsError::Invalid(ValidationErrors::single(
                "user_id",
                "unknown_user",
                "must be an active user",
            )));
        }
        let existantes = ports
            .documents
            .autorisations_of(valid.user_id, &[valid.cible])
            .await?;
        let nouvelle = NouvelleAutorisation {
            user_id: valid.user_id,
            type_autorisation: valid.type_autorisation,
            cible: valid.cible,
            chantier_id: target.chantier.chantier_id,
            expire_at: valid.expire_at,
        };
        let (autorisation, event) =
            Autorisation::accorder(nouvelle, &existantes, actor.user_id, ports.clock.now())?;
        let events = [ports.wrap(context, &event)?];
        ports
            .documents
            .insert_autorisation(&autorisation, &events)
            .await?;
        Ok(autorisation)
    }
}

impl RevokeAutorisation {
    pub async fn execute(&self, context: &CommandContext, id: Uuid) -> Result<()> {
        let actor = actor_of(context)?;
        let ports = &self.ports;
        let autorisation = ports
            .documents
            .find_autorisation(id)
            .await?
            .ok_or(DocumentsError::AutorisationNotFound)?;
        let target = match ports.managed_target(&actor, autorisation.cible()).await {
            // An autorisation on something out of sight is itself out of sight.
            Err(DocumentsError::DossierNotFound | DocumentsError::DocumentNotFound) => {
                return Err(DocumentsError::AutorisationNotFound);
            }
            other => other?,
        };
        writable(&target.chantier)?;
        let events = [ports.wrap(context, &autorisation.revoquer(actor.user_id))?];
        ports
            .documents
            .delete_autorisation(&autorisation, &events)
            .await?;
        Ok(())
    }
}

impl ListAutorisations {
    pub async fn execute(
        &self,
        context: &CommandContext,
        cible: Cible,
    ) -> Result<Vec<Autorisation>> {
        let actor = actor_of(context)?;
        self.ports.managed_target(&actor, cible).await?;
        Ok(self.ports.documents.autorisations_on(cible).await?)
    }
}

#[cfg(test)]
mod tests;
