//! Pointages use cases — one small struct per use case, each storing its
//! pointage and its events through the [`PointageRepository`] port in one
//! step, checking users and chantiers against the context's read models
//! ([`Directory`]) and the caller's rights ([`hub_pointages_domain::access`])
//! — the weekly read side (feuilles d'heures, views per chantier and per
//! user), the export of a week, plus the input types the HTTP adapter fills.

mod export;
mod input;
mod ports;
mod semaine;
mod use_cases;

pub use export::{EXPORT_USERS_PER_STEP, Export, ExportInput, ExportSemaine, LigneExport};
pub use input::{CreateInput, UpdateInput};
pub use ports::{
    ChantierInfo, Directory, FeuilleFilter, Noms, PointageFilter, PointageRepository,
    RepositoryError, UserInfo,
};
pub use semaine::{
    ComparaisonEquipes, FEUILLES_MAX_LIMIT, GetFeuille, JaugeAvancement, ListFeuilles,
    NomsPointages, VuesChantiers, VuesCompagnons, WEEK_ROWS,
};
pub use use_cases::{
    CorrectPointage, CreatePointage, DeletePointage, GetPointage, ListPointages, PointagesError,
    PointagesPorts, RejectPointage, SignPointage, SubmitPointage, UpdatePointage, ValidatePointage,
};

#[cfg(any(test, feature = "mocks"))]
pub use ports::{MockDirectory, MockPointageRepository};
