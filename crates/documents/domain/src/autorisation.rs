//! Named autorisations: extra rights of one user on one dossier or document.

use time::OffsetDateTime;
use uuid::Uuid;

use crate::TypeAutorisation;
use crate::events::{AutorisationGranted, AutorisationRevoked};

/// Rules a grant would break.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AutorisationError {
    #[error("exactly one of dossier_id and document_id is required")]
    CibleInvalide,
    #[error("expire_at must be in the future")]
    ExpireDansLePasse,
    /// A still valid autorisation exists for this user on this target;
    /// expired ones do not count (the original's did).
    #[error("an autorisation already exists for this user on this target")]
    DejaAccordee,
}

/// What an autorisation is about: a dossier or a document, never both.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Cible {
    Dossier(Uuid),
    Document(Uuid),
}

impl Cible {
    /// From the API's two optional ids; none or both is an error (the
    /// original let the dossier win silently).
    pub fn from_ids(
        dossier_id: Option<Uuid>,
        document_id: Option<Uuid>,
    ) -> Result<Self, AutorisationError> {
        match (dossier_id, document_id) {
            (Some(id), None) => Ok(Cible::Dossier(id)),
            (None, Some(id)) => Ok(Cible::Document(id)),
            _ => Err(AutorisationError::CibleInvalide),
        }
    }

    pub fn dossier_id(self) -> Option<Uuid> {
        match self {
            Cible::Dossier(id) => Some(id),
            Cible::Document(_) => None,
        }
    }

    pub fn document_id(self) -> Option<Uuid> {
        match self {
            Cible::Document(id) => Some(id),
            Cible::Dossier(_) => None,
        }
    }
}

/// What granting needs, all validated.
#[derive(Debug, Clone, PartialEq)]
pub struct NouvelleAutorisation {
    pub user_id: Uuid,
    pub type_autorisation: TypeAutorisation,
    pub cible: Cible,
    /// The target's chantier (events are scoped by it).
    pub chantier_id: Uuid,
    pub expire_at: Option<OffsetDateTime>,
}

/// An autorisation as stored; [`Autorisation::restore`] trusts it.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredAutorisation {
    pub id: Uuid,
    pub user_id: Uuid,
    pub type_autorisation: TypeAutorisation,
    pub cible: Cible,
    pub chantier_id: Uuid,
    pub accorde_par: Uuid,
    pub created_at: OffsetDateTime,
    pub expire_at: Option<OffsetDateTime>,
}

/// Extra rights of one user on one target, until `expire_at` if any.
#[derive(Debug, Clone, PartialEq)]
pub struct Autorisation {
    inner: StoredAutorisation,
}

impl Autorisation {
    /// Grants `nouvelle`; `existantes` are the autorisations the user
    /// already holds on the same target (expired ones included).
    pub fn accorder(
        nouvelle: NouvelleAutorisation,
        existantes: &[Autorisation],
        accorde_par: Uuid,
        now: OffsetDateTime,
    ) -> Result<(Self, AutorisationGranted), AutorisationError> {
        if nouvelle.expire_at.is_some_and(|expire_at| expire_at <= now) {
            return Err(AutorisationError::ExpireDansLePasse);
        }
        let same_target = |a: &&Autorisation| {
            a.inner.user_id == nouvelle.user_id && a.inner.cible == nouvelle.cible
        };
        if existantes
            .iter()
            .filter(same_target)
            .any(|a| a.est_valide(now))
        {
            return Err(AutorisationError::DejaAccordee);
        }
        let autorisation = Self {
            inner: StoredAutorisation {
                id: Uuid::now_v7(),
                user_id: nouvelle.user_id,
                type_autorisation: nouvelle.type_autorisation,
                cible: nouvelle.cible,
                chantier_id: nouvelle.chantier_id,
                accorde_par,
                created_at: now,
                expire_at: nouvelle.expire_at,
            },
        };
        let a = &autorisation.inner;
        let event = AutorisationGranted {
            autorisation_id: a.id,
            chantier_id: a.chantier_id,
            user_id: a.user_id,
            type_autorisation: a.type_autorisation,
            dossier_id: a.cible.dossier_id(),
            document_id: a.cible.document_id(),
            accorde_par,
            expire_at: a.expire_at,
        };
        Ok((autorisation, event))
    }

    pub fn restore(stored: StoredAutorisation) -> Self {
        Self { inner: stored }
    }

    /// No expiry, or not reached yet.
    pub fn est_valide(&self, now: OffsetDateTime) -> bool {
        self.inner.expire_at.is_none_or(|expire_at| now < expire_at)
    }

    /// Its revocation event; the caller deletes the row.
    pub fn revoquer(&self, revoked_by: Uuid) -> AutorisationRevoked {
        let a = &self.inner;
        AutorisationRevoked {
            autorisation_id: a.id,
            chantier_id: a.chantier_id,
            user_id: a.user_id,
            dossier_id: a.cible.dossier_id(),
            document_id: a.cible.document_id(),
            revoked_by,
        }
    }

    pub fn id(&self) -> Uuid {
        self.inner.id
    }
    pub fn user_id(&self) -> Uuid {
        self.inner.user_id
    }
    pub fn type_autorisation(&self) -> TypeAutorisation {
        self.inner.type_autorisation
    }
    pub fn cible(&self) -> Cible {
        self.inner.cible
    }
    pub fn chantier_id(&self) -> Uuid {
        self.inner.chantier_id
    }
    pub fn accorde_par(&self) -> Uuid {
        self.inner.accorde_par
    }
    pub fn created_at(&self) -> OffsetDateTime {
        self.inner.created_at
    }
    pub fn expire_at(&self) -> Option<OffsetDateTime> {
        self.inner.expire_at
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::Duration;
    use time::macros::datetime;

    const NOW: OffsetDateTime = datetime!(2026-12-02 08:00 UTC);

    fn nouvelle(
        user_id: Uuid,
        cible: Cible,
        expire_at: Option<OffsetDateTime>,
    ) -> NouvelleAutorisation {
        NouvelleAutorisation {
            user_id,
            type_autorisation: TypeAutorisation::Lecture,
            cible,
            chantier_id: Uuid::now_v7(),
            expire_at,
        }
    }

    #[test]
    fn the_target_is_exactly_one_of_dossier_and_document() {
        let id = Uuid::now_v7();
        assert_eq!(Cible::from_ids(Some(id), None), Ok(Cible::Dossier(id)));
        assert_eq!(Cible::from_ids(None, Some(id)), Ok(Cible::Document(id)));
        assert_eq!(
            Cible::from_ids(None, None),
            Err(AutorisationError::CibleInvalide)
        );
        assert_eq!(
            Cible::from_ids(Some(id), Some(id)),
            Err(AutorisationError::CibleInvalide)
        );
    }

    #[test]
    fn grants_expire_in_the_future_and_only_valid_ones_block_a_new_one() {
        let (user, by) = (Uuid::now_v7(), Uuid::now_v7());
        let cible = Cible::Dossier(Uuid::now_v7());
        assert_eq!(
            Autorisation::accorder(nouvelle(user, cible, Some(NOW)), &[], by, NOW).unwrap_err(),
            AutorisationError::ExpireDansLePasse
        );
        let tomorrow = NOW + Duration::days(1);
        let (short, event) =
            Autorisation::accorder(nouvelle(user, cible, Some(tomorrow)), &[], by, NOW).unwrap();
        assert_eq!(event.dossier_id, cible.dossier_id());
        assert_eq!(event.document_id, None);
        assert_eq!(event.expire_at, Some(tomorrow));
        assert!(short.est_valide(NOW));
        assert!(!short.est_valide(tomorrow));

        let existing = [short];
        assert_eq!(
            Autorisation::accorder(nouvelle(user, cible, None), &existing, by, NOW).unwrap_err(),
            AutorisationError::DejaAccordee
        );
        // Once the first one has expired, a new grant is accepted.
        let later = tomorrow + Duration::hours(1);
        assert!(Autorisation::accorder(nouvelle(user, cible, None), &existing, by, later).is_ok());
        // Another user or another target is not a duplicate.
        assert!(Autorisation::accorder(nouvelle(by, cible, None), &existing, by, NOW).is_ok());
        let other = Cible::Document(Uuid::now_v7());
        assert!(Autorisation::accorder(nouvelle(user, other, None), &existing, by, NOW).is_ok());

        let revoked = existing[0].revoquer(by);
        assert_eq!(
            (revoked.autorisation_id, revoked.revoked_by),
            (existing[0].id(), by)
        );
    }
}
