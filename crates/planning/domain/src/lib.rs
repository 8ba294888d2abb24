//! Planning domain: the [`Affectation`] aggregate (one user planned on one
//! chantier on one day, optionally between two clock times, with a note; it
//! may be cancelled with a reason), the value objects that keep it valid by
//! construction, the calendar rules that turn a day range, a weekly
//! recurrence, a duplicated period or a stretched block into days
//! ([`calendrier`]), who may read or write it ([`access`]), and the
//! `affectation.*` events. Pure Rust: no I/O.

pub mod access;
mod affectation;
pub mod calendrier;
mod events;
mod values;

pub use affectation::{
    Affectation, AffectationError, AffectationUpdate, Annulation, Modele, Restored, Statut,
};
pub use events::{
    AffectationBulkCreated, AffectationBulkDeleted, AffectationCancelled, AffectationCreated,
    AffectationDeleted, AffectationSnapshot, AffectationUpdated, Jour, LotItem, SourceLot,
    event_catalog,
};
pub use values::{Heure, JoursRecurrence, Note, Plage, Raison, TypeAffectation, ValueError};
