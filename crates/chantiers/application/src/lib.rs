//! Chantiers use cases — one small struct per use case, each writing its
//! change and its events through the [`ChantierRepository`] port in one
//! step — plus the input types the HTTP adapter fills.

mod input;
mod ports;
mod use_cases;

pub use input::{ChantierInput, ContactInput, GpsInput, UpdateInput};
pub use ports::{ChantierFilter, ChantierRepository, RepositoryError};
pub use use_cases::{
    AssignResponsables, ChangeStatut, ChantierCommandError, ChantierPorts, CreateChantier,
    DeleteChantier, GetChantier, ListChantiers, UpdateChantier,
};

#[cfg(any(test, feature = "mocks"))]
pub use ports::MockChantierRepository;
