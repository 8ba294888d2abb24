//! What every context knows of users, chantiers, who is planned where and
//! which documents exist: read models fed by the identity context's
//! `user.*`, the chantiers context's `chantier.*`, the planning context's
//! `affectation.*` and the documents context's `document.*` events (their
//! JSON only), so that a context can check "an active user", "a chantier
//! open for planning", "one of its responsables", "assigned to that site",
//! "a photo uploaded on that site" without depending on those contexts.
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
//!     metier           TEXT,
//!     is_active        BOOLEAN NOT NULL
//! );
//! CREATE TABLE <context>_chantiers (
//!     chantier_id       UUID PRIMARY KEY,
//!     code              TEXT,
//!     nom               TEXT,
//!     adresse           TEXT,
//!     statut            TEXT,
//!     conducteur_ids    UUID[] NOT NULL DEFAULT '{}',
//!     chef_chantier_ids UUID[] NOT NULL DEFAULT '{}',
//!     deleted           BOOLEAN NOT NULL DEFAULT false,
//!     last_seq          BIGINT NOT NULL DEFAULT 0
//! );
//! CREATE TABLE <context>_affectations (
//!     affectation_id UUID PRIMARY KEY,
//!     chantier_id    UUID NOT NULL,
//!     utilisateur_id UUID NOT NULL,
//!     active         BOOLEAN NOT NULL,
//!     last_seq       BIGINT NOT NULL
//! );
//! CREATE INDEX <context>_affectations_user_idx
//!     ON <context>_affectations (utilisateur_id, chantier_id) WHERE active;
//! CREATE TABLE <context>_documents (
//!     document_id   UUID PRIMARY KEY,
//!     chantier_id   UUID NOT NULL,
//!     type_document TEXT NOT NULL,
//!     active        BOOLEAN NOT NULL,
//!     last_seq      BIGINT NOT NULL
//! );
//! ```

mod affectations;
mod chantiers;
mod documents;
mod users;

pub use affectations::AffectationsDirectory;
pub use chantiers::{ChantierView, ChantiersDirectory};
pub use documents::{DocumentView, DocumentsDirectory};
pub use users::{UserView, UsersDirectory};
