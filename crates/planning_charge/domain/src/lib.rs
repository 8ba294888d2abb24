//! Planning de charge domain: the [`Besoin`] (the hours a chantier needs in
//! one ISO week for one trade, [`TypeMetier`]), the value objects that keep
//! it valid by construction ([`Semaine`], [`Heures`], [`Note`]), its
//! `besoin_charge.*` events, who may read or write it ([`access`]), and the
//! grid's footer formulas ([`charge`]: occupation rate, people to hire,
//! people to place). Pure Rust: no I/O. Planned hours and capacity are not
//! owned here: they come from read models of other contexts' events.

pub mod access;
mod besoin;
pub mod charge;
mod events;
mod metier;
mod semaine;
mod values;

pub use besoin::{Besoin, BesoinError, BesoinRecord, BesoinUpdate, NouveauBesoin};
pub use events::{BesoinChargeCreated, BesoinChargeDeleted, BesoinChargeUpdated, event_catalog};
pub use metier::{MetierError, TypeMetier};
pub use semaine::{MAX_SEMAINES, Semaine, SemaineError};
pub use values::{Heures, Note, ValueError};
