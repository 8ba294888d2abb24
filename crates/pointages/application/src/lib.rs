//! Pointages use cases — one small struct per use case, each storing its
//! pointage and its events through the [`PointageRepository`] port in one
//! step, checking users and chantiers against the context's read models
//! ([`Directory`]) and the caller's rights ([`hub_pointages_domain::access`])
//! — the variables de paie of a pointage, the weekly read side (feuilles
//! d'heures with their variables, feuilles de route, views per chantier and
//! per user), the export of a week (CSV, XLSX, ERP), plus the input types
//! the HTTP adapter fills.

mod export;
mod input;
mod ports;
mod semaine;
mod use_cases;
mod variables;

pub use export::{EXPORT_USERS_PER_STEP, Export, ExportInput, ExportSemaine, LigneExport};
pub use input::{CreateInput, UpdateInput, VariableInput};
pub use ports::{
    ChantierInfo, Directory, FeuilleFilter, Noms, PointageFilter, PointageRepository,
    RepositoryError, UserInfo,
};
pub use semaine::{
    ComparaisonEquipes, FEUILLES_MAX_LIMIT, FeuilleRoute, GetFeuille, JaugeAvancement,
    ListFeuilles, NomsPointages, VuesChantiers, VuesCompagnons, WEEK_ROWS,
};
pub use use_cases::{
    CorrectPointage, CreatePointage, DeletePointage, GetPointage, ListPointages, PointagesError,
    PointagesPorts, RejectPointage, SignPointage, SubmitPointage, UpdatePointage, ValidatePointage,
};
pub use variables::{CreateVariablePaie, VariablesPointages};

#[cfg(any(test, feature = "mocks"))]
pub use ports::{MockDirectory, MockPointageRepository};
