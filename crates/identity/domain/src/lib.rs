//! Identity domain: the [`User`] aggregate (who may use Hub Chantier, with
//! which [`hub_kernel::Role`]), the value objects that make a user valid by
//! construction ([`Email`], [`PersonName`], [`Metier`], [`PlainPassword`]; the text
//! rules are the kernel's), and the identity events. No I/O: hashing and
//! storage are ports of the application.

mod events;
mod user;
mod values;

pub use events::{UserCreated, UserDeactivated, UserUpdated, event_catalog};
pub use user::{NewUser, User, UserChanges, UserError, UserUpdateOutcome};
pub use values::{
    Email, Metier, PasswordHash, PersonName, PlainPassword, TypeUtilisateur, UnknownTypeUtilisateur,
};
