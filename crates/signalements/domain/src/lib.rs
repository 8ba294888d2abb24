//! Signalements domain: the [`Signalement`] aggregate (an incident or
//! safety report on one chantier, its [`Priorite`], its [`Statut`] machine,
//! its deadline and its [`NiveauEscalade`]), its [`Reponse`]s, who may do
//! what with them ([`Portee`]), and the `signalement.*` and
//! `signalement_reponse.*` events. Pure Rust: no I/O.

mod access;
mod events;
mod priorite;
mod reponse;
mod signalement;
mod statut;
mod values;

pub use access::{ChantierInfo, Portee, UserInfo};
pub use events::{
    ReponseCreated, ReponseDeleted, ReponseUpdated, SignalementClosed, SignalementCreated,
    SignalementDeleted, SignalementEscalated, SignalementReopened, SignalementUpdated,
    event_catalog,
};
pub use priorite::{NiveauEscalade, Priorite};
pub use reponse::{Reponse, ReponseUpdate};
pub use signalement::{
    Echeance, NouveauSignalement, Signalement, SignalementError, SignalementUpdate,
    StoredSignalement,
};
pub use statut::{InvalidTransition, Statut};
pub use values::{
    Commentaire, Contenu, Description, Localisation, Motif, PhotoUrl, Titre, ValueError,
};
