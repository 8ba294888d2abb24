//! Signalements use cases — one small struct per use case, each checking
//! who may act on the chantier, then writing its change and its events
//! through the [`SignalementRepository`] port in one step — plus the input
//! types the HTTP adapter fills and the [`Directory`] port (what this
//! context knows of users, chantiers and affectations).

mod input;
mod ports;
mod use_cases;

pub use input::{ReponseInput, ReponseUpdateInput, SignalementInput, UpdateInput};
pub use ports::{
    Directory, DocumentInfo, Ordre, RepositoryError, SignalementFilter, SignalementRepository,
    Statistiques,
};
pub use use_cases::{
    AssignerSignalement, CloturerSignalement, CreateReponse, CreateSignalement, DeleteReponse,
    DeleteSignalement, GetSignalement, ListReponses, ListSignalements, ReouvrirSignalement,
    ReponseView, SignalementCommandError, SignalementPorts, SignalementView, StatistiquesQuery,
    TraiterSignalement, UpdateReponse, UpdateSignalement,
};

#[cfg(any(test, feature = "mocks"))]
pub use ports::{MockDirectory, MockSignalementRepository};
