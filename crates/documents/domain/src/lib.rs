//! Documents domain (GED): a chantier's tree of [`Dossier`]s, the
//! [`Document`]s uploaded into them (name, type from the extension
//! allow-list, size, SHA-256 and a [`CleStockage`] made of ids only), the
//! named [`Autorisation`]s, the access rule combined with chantier scoping
//! ([`Acteur`], [`Droit`]), and the `document.*`, `dossier.*` and
//! `document_autorisation.*` events. Pure Rust: no I/O; the bytes
//! themselves are the application's and the infrastructure's business.

mod access;
mod autorisation;
mod document;
mod dossier;
mod events;
mod niveau;
mod types;
mod values;

pub use access::{Acteur, ChantierInfo, UserInfo, VisibiliteDocuments};
pub use autorisation::{
    Autorisation, AutorisationError, Cible, NouvelleAutorisation, StoredAutorisation,
};
pub use document::{Document, DocumentError, DocumentUpdate, StoredDocument, Televersement};
pub use dossier::{
    Dossier, DossierError, DossierUpdate, Emplacement, NouveauDossier, Parent, StoredDossier,
};
pub use events::{
    AutorisationGranted, AutorisationRevoked, DocumentDeleted, DocumentUpdated, DocumentUploaded,
    DossierCreated, DossierDeleted, DossierUpdated, event_catalog,
};
pub use niveau::{
    Droit, NiveauAcces, TypeAutorisation, UnknownNiveauAcces, UnknownTypeAutorisation,
};
pub use types::{
    DossierType, ExtensionRefusee, TypeDocument, UnknownDossierType, UnknownTypeDocument,
    extension_of, mime_of,
};
pub use values::{CleStockage, Description, NomDocument, NomDossier, Sha256, Taille, ValueError};
