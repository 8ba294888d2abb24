//! Pointages use cases — one small struct per use case, each storing its
//! pointage and its events through the [`PointageRepository`] port in one
//! step, checking users and chantiers against the context's read models
//! ([`Directory`]) and the caller's rights ([`hub_pointages_domain::access`])
//! — plus the input types the HTTP adapter fills.

mod input;
mod ports;
mod use_cases;

pub use input::{CreateInput, UpdateInput};
pub use ports::{
    ChantierInfo, Directory, PointageFilter, PointageRepository, RepositoryError, UserInfo,
};
pub use use_cases::{
    CorrectPointage, CreatePointage, DeletePointage, GetPointage, ListPointages, PointagesError,
    PointagesPorts, RejectPointage, SignPointage, SubmitPointage, UpdatePointage, ValidatePointage,
};

#[cfg(any(test, feature = "mocks"))]
pub use ports::{MockDirectory, MockPointageRepository};
