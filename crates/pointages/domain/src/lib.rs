//! Pointages domain: the [`Pointage`] aggregate (the hours one user worked on
//! one chantier on one day, normal and overtime, in minutes), its workflow
//! (brouillon → soumis → valide, soumis → rejete → brouillon), the value
//! objects that keep it valid by construction, who may read, write, sign,
//! validate or reject it ([`access`]), its variables de paie
//! ([`VariablePaie`], exact decimals), the `heures.*`,
//! `variable_paie.created` and `feuille_heures.exported` events, and the
//! weeks ([`Semaine`]) that group pointages into feuilles d'heures, weekly
//! views and feuilles de route. Pure Rust: no I/O.

pub mod access;
mod events;
mod planification;
mod pointage;
mod semaine;
mod stats;
mod values;
mod variables;

pub use events::{
    FeuilleHeuresExported, FormatExport, HeuresCreated, HeuresDeleted, HeuresRejected,
    HeuresSnapshot, HeuresSubmitted, HeuresUpdated, HeuresValidated, Jour, SemaineIso,
    VariablePaieCreated, event_catalog,
};
pub use planification::{HEURES_PAR_DEFAUT, JourPlanifie, retire_avec_affectation};
pub use pointage::{
    NouveauPointage, Pointage, PointageError, PointageUpdate, Restored, Signature, Statut,
    Validation,
};
pub use semaine::{
    FeuilleHeures, JOURS, LigneChantier, Semaine, Totaux, VueChantier, VueCompagnon, jour_semaine,
    statut_global, vues_chantiers, vues_compagnons,
};
pub use stats::{
    Ecart, Equipe, HEURES_SEMAINE, Jauge, SEUIL_ECART, SensEcart, StatutJauge, comparaison, jauge,
};
pub use values::{Commentaire, HeuresMinutes, Motif, SignatureTexte, ValueError};
pub use variables::{
    NouvelleVariable, TotalVariable, TotauxVariables, TypeVariable, Valeur, ValeurError,
    VariablePaie, totaux_variables,
};
