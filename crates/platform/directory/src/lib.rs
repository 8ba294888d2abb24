//! What every context knows of users and chantiers: read models fed by the
//! identity context's `user.*` and the chantiers context's `chantier.*`
//! events (their JSON only), so that a context can check "an active user",
//! "a chantier open for planning", "one of its responsables" without
//! depending on those contexts.
//!
//! Each context keeps its own copy, in its own tables (created by its own
//! migration with the shapes below), and registers the projections with
//! its module; the code that feeds and reads them lives here once.
//!
//! ```sql
//! CREATE TABLE <context>_users (
//!     user_id          UUID PRIMARY KEY,
//!     email            TEXT,
//!     nom              TEXT,
//!     prenom           TEXT,
//!     role             TEXT,
//!     type_utilisateur TEXT,
//!     is_active        BOOLEAN NOT NULL
//! );
//! CREATE TABLE <context>_chantiers (
//!     chantier_id       UUID PRIMARY KEY,
//!     code              TEXT,
//!     nom               TEXT,
//!     statut            TEXT,
//!     conducteur_ids    UUID[] NOT NULL DEFAULT '{}',
//!     chef_chantier_ids UUID[] NOT NULL DEFAULT '{}',
//!     deleted           BOOLEAN NOT NULL DEFAULT false
//! );
//! ```

mod chantiers;
mod users;

pub use chantiers::{ChantierView, ChantiersDirectory};
pub use users::{UserView, UsersDirectory};
