//! Planning de charge use cases — create, change (trade included), delete,
//! read and list besoins, build the workload grid of a range of weeks and
//! the occupation of one week per trade —
//! with the input types the HTTP adapter fills, the [`BesoinRepository`]
//! port, and the read-model ports of what this context knows of other
//! contexts: [`Chantiers`], [`Effectif`] (capacity) and [`Affectations`]
//! (planned hours). It owns no I/O.

mod grille;
mod input;
mod occupation;
mod ports;
mod use_cases;

pub use grille::{Cellule, Grille, LigneChantier, PiedSemaine, Totaux};
pub use input::{BesoinInput, GrilleInput, UpdateInput};
pub use occupation::{LigneMetier, OccupationSemaine, ParMetier};
pub use ports::{
    Affectations, BesoinRepository, ChantierInfo, Chantiers, Effectif, Quantite, RepositoryError,
};
pub use use_cases::{
    CreateBesoin, DeleteBesoin, GetBesoin, GrilleQuery, ListBesoins, OccupationQuery,
    PlanningChargeError, PlanningChargePorts, UpdateBesoin,
};

#[cfg(any(test, feature = "mocks"))]
pub use ports::{MockAffectations, MockBesoinRepository, MockChantiers, MockEffectif};
