//! Chantiers domain: the [`Chantier`] aggregate (a construction site, its
//! responsables and its [`Statut`] machine), the value objects that keep it
//! valid by construction, and the `chantier.*` events. Pure Rust: no I/O.

mod access;
mod chantier;
mod events;
mod statut;
mod values;

pub use access::{ChantierAccess, sees_every_chantier};
pub use chantier::{Chantier, ChantierDetails, ChantierError, ChantierUpdate, Responsables};
pub use events::{
    ChantierCreated, ChantierDeleted, ChantierSnapshot, ChantierStatutChanged, ChantierUpdated,
    ResponsableAssigned, ResponsablesDelta, event_catalog,
};
pub use statut::{InvalidTransition, Statut};
pub use values::{
    Adresse, ChantierCode, Contact, CoordonneesGps, Couleur, HeuresEstimees, NomChantier,
    ValueError,
};
