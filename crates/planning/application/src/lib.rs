//! Planning use cases — one small struct per use case, each storing its
//! affectations and their events through the [`AffectationRepository`]
//! port in one step, checking users and chantiers against the context's
//! read models ([`Directory`]) — plus the input types the HTTP adapter fills.

mod input;
mod ports;
mod use_cases;

pub use input::{CreateInput, ItemInput, UpdateInput};
pub use ports::{
    AffectationRepository, ChantierInfo, Directory, Noms, PlanningFilter, RepositoryError, UserInfo,
};
pub use use_cases::{
    CancelAffectation, CreateAffectations, CreateBatch, DeleteAffectation, DeleteAffectations,
    DisplayNames, DuplicateAffectations, GetAffectation, ListAffectations, MAX_PERIODE_JOURS,
    NonPlanifies, PlanningError, PlanningPorts, ResizeAffectation, UpdateAffectation,
};

#[cfg(any(test, feature = "mocks"))]
pub use ports::{MockAffectationRepository, MockDirectory};
