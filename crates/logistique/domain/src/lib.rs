//! Logistique domain: the catalogue of [`Ressource`]s (cranes, vehicles,
//! heavy tools) with their [`CategorieRessource`], and the [`Reservation`]s
//! of a ressource on a chantier for a date and a [`PlageHoraire`], with
//! their [`StatutReservation`] machine, the overlap rule, who may validate
//! ([`ChantierInfo`]) and the `ressource.*` / `reservation.*` events.
//! Pure Rust: no I/O.

mod access;
mod categorie;
mod events;
mod reservation;
mod ressource;
mod statut;
mod values;

pub use access::ChantierInfo;
pub use categorie::CategorieRessource;
pub use events::{
    Jour, ReservationCancelled, ReservationCreated, ReservationRefused, ReservationReminderDue,
    ReservationUpdated, ReservationValidated, RessourceCreated, RessourceDeleted, RessourceUpdated,
    event_catalog,
};
pub use reservation::{
    NouvelleReservation, Reservation, ReservationError, ReservationUpdate, StoredReservation,
};
pub use ressource::{
    NouvelleRessource, Ressource, RessourceError, RessourceUpdate, StoredRessource,
};
pub use statut::{InvalidTransition, StatutReservation};
pub use values::{
    CodeRessource, Commentaire, Couleur, Creneau, DescriptionRessource, Heure, MotifRefus,
    NomRessource, PhotoUrl, PlageHoraire, ValueError,
};
