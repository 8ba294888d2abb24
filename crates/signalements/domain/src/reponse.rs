//! A reply in the conversation thread of a signalement.

use hub_kernel::Changes;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::events::{ReponseCreated, ReponseDeleted, ReponseUpdated};
use crate::{Contenu, PhotoUrl, Signalement, SignalementError, Statut};

/// A partial update of a reply; `Some(None)` clears the photo.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ReponseUpdate {
    pub contenu: Option<Contenu>,
    pub photo_url: Option<Option<PhotoUrl>>,
}

/// A reply to a signalement.
#[derive(Debug, Clone, PartialEq)]
pub struct Reponse {
    id: Uuid,
    signalement_id: Uuid,
    contenu: Contenu,
    auteur_id: Uuid,
    photo_url: Option<PhotoUrl>,
    /// The author says this reply resolves the signalement (informative:
    /// treating it is its own step).
    est_resolution: bool,
    version: i64,
    created_at: OffsetDateTime,
    updated_at: OffsetDateTime,
}

impl Reponse {
    /// Replies to `signalement`; a clôturé one takes no more replies until
    /// it is reopened.
    pub fn create(
        signalement: &Signalement,
        contenu: Contenu,
        photo_url: Option<PhotoUrl>,
        est_resolution: bool,
        auteur_id: Uuid,
        now: OffsetDateTime,
    ) -> Result<(Self, ReponseCreated), SignalementError> {
        ensure_open(signalement)?;
        let reponse = Self {
            id: Uuid::now_v7(),
            signalement_id: signalement.id(),
            contenu,
            auteur_id,
            photo_url,
            est_resolution,
            version: 1,
            created_at: now,
            updated_at: now,
        };
        let event = ReponseCreated {
            reponse_id: reponse.id,
            signalement_id: signalement.id(),
            chantier_id: signalement.chantier_id(),
            priorite: signalement.priorite(),
            auteur_id,
            est_resolution,
        };
        Ok((reponse, event))
    }

    /// Rebuilds a stored reply (repositories only).
    #[allow(clippy::too_many_arguments)]
    pub fn restore(
        id: Uuid,
        signalement_id: Uuid,
        contenu: Contenu,
        auteur_id: Uuid,
        photo_url: Option<PhotoUrl>,
        est_resolution: bool,
        version: i64,
        created_at: OffsetDateTime,
        updated_at: OffsetDateTime,
    ) -> Self {
        Self {
            id,
            signalement_id,
            contenu,
            auteur_id,
            photo_url,
            est_resolution,
            version,
            created_at,
            updated_at,
        }
    }

    /// Applies `update`; `None` when nothing changed.
    pub fn update(
        &mut self,
        signalement: &Signalement,
        update: ReponseUpdate,
        now: OffsetDateTime,
    ) -> Result<Option<ReponseUpdated>, SignalementError> {
        ensure_open(signalement)?;
        let mut changes = Changes::new();
        if let Some(contenu) = &update.contenu {
            changes.record("contenu", &self.contenu.as_str(), &contenu.as_str());
        }
        if let Some(photo) = &update.photo_url {
            changes.record(
                "photo_url",
                &self.photo_url.as_ref().map(PhotoUrl::as_str),
                &photo.as_ref().map(PhotoUrl::as_str),
            );
        }
        if changes.is_empty() {
            return Ok(None);
        }
        if let Some(contenu) = update.contenu {
            self.contenu = contenu;
        }
        if let Some(photo) = update.photo_url {
            self.photo_url = photo;
        }
        self.version += 1;
        self.updated_at = now;
        Ok(Some(ReponseUpdated {
            reponse_id: self.id,
            signalement_id: signalement.id(),
            chantier_id: signalement.chantier_id(),
            priorite: signalement.priorite(),
            changes,
        }))
    }

    /// The event of its deletion.
    pub fn delete(&self, signalement: &Signalement, deleted_by: Uuid) -> ReponseDeleted {
        ReponseDeleted {
            reponse_id: self.id,
            signalement_id: signalement.id(),
            chantier_id: signalement.chantier_id(),
            priorite: signalement.priorite(),
            auteur_id: self.auteur_id,
            deleted_by,
        }
    }

    pub fn id(&self) -> Uuid {
        self.id
    }
    pub fn signalement_id(&self) -> Uuid {
        self.signalement_id
    }
    pub fn contenu(&self) -> &Contenu {
        &self.contenu
    }
    pub fn auteur_id(&self) -> Uuid {
        self.auteur_id
    }
    pub fn photo_url(&self) -> Option<&PhotoUrl> {
        self.photo_url.as_ref()
    }
    pub fn est_resolution(&self) -> bool {
        self.est_resolution
    }
    pub fn version(&self) -> i64 {
        self.version
    }
    pub fn created_at(&self) -> OffsetDateTime {
        self.created_at
    }
    pub fn updated_at(&self) -> OffsetDateTime {
        self.updated_at
    }
}

fn ensure_open(signalement: &Signalement) -> Result<(), SignalementError> {
    if signalement.statut() == Statut::Cloture {
        return Err(SignalementError::Cloture);
    }
    Ok(())
}
