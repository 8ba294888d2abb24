//! The user aggregate.

use hub_kernel::{Changes, Role};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::{
    Email, Metier, PasswordHash, PersonName, TypeUtilisateur, UserCreated, UserDeactivated,
    UserUpdated,
};

/// Rules a change of a user would break.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UserError {
    /// An administrator locking themselves out would leave the product
    /// possibly without any administrator.
    #[error("you cannot deactivate your own account or remove your own admin role")]
    SelfLockout,
}

/// Everything needed to register a user (already validated).
#[derive(Debug, Clone)]
pub struct NewUser {
    pub email: Email,
    pub nom: PersonName,
    pub prenom: PersonName,
    pub role: Role,
    pub type_utilisateur: TypeUtilisateur,
    pub metier: Option<Metier>,
}

/// A partial update; `None` leaves the field as it is.
#[derive(Debug, Clone, Default)]
pub struct UserChanges {
    pub nom: Option<PersonName>,
    pub prenom: Option<PersonName>,
    /// `Some(None)` clears the trade.
    pub metier: Option<Option<Metier>>,
    pub role: Option<Role>,
    pub is_active: Option<bool>,
}

/// Someone who may sign in to Hub Chantier.
#[derive(Debug, Clone, PartialEq)]
pub struct User {
    id: Uuid,
    email: Email,
    password_hash: PasswordHash,
    nom: PersonName,
    prenom: PersonName,
    role: Role,
    type_utilisateur: TypeUtilisateur,
    metier: Option<Metier>,
    is_active: bool,
    /// Incremented by every change; repositories use it to refuse lost
    /// updates. Signing out does not change it (see `token_version`).
    version: i64,
    /// Tokens carry the version current when they were issued; raising it
    /// (storage does, atomically) revokes every token issued before. Kept
    /// apart from `version` so that a sign-out never makes a concurrent
    /// edit of the profile fail.
    token_version: i32,
    created_at: OffsetDateTime,
    updated_at: OffsetDateTime,
}

/// What an update produced: the events to publish (empty when nothing changed).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct UserUpdateOutcome {
    pub updated: Option<UserUpdated>,
    pub deactivated: Option<UserDeactivated>,
}

impl User {
    /// Registers a new, active user.
    pub fn register(
        new: NewUser,
        password_hash: PasswordHash,
        now: OffsetDateTime,
    ) -> (Self, UserCreated) {
        let user = Self {
            id: Uuid::now_v7(),
            email: new.email,
            password_hash,
            nom: new.nom,
            prenom: new.prenom,
            role: new.role,
            type_utilisateur: new.type_utilisateur,
            metier: new.metier,
            is_active: true,
            version: 1,
            token_version: 0,
            created_at: now,
            updated_at: now,
        };
        let event = UserCreated {
            user_id: user.id,
            email: user.email.as_str().to_owned(),
            nom: user.nom.as_str().to_owned(),
            prenom: user.prenom.as_str().to_owned(),
            role: user.role,
            type_utilisateur: user.type_utilisateur,
            metier: user.metier.as_ref().map(|m| m.as_str().to_owned()),
        };
        (user, event)
    }

    /// Rebuilds a stored user (repositories only).
    #[allow(clippy::too_many_arguments)]
    pub fn restore(
        id: Uuid,
        email: Email,
        password_hash: PasswordHash,
        nom: PersonName,
        prenom: PersonName,
        role: Role,
        type_utilisateur: TypeUtilisateur,
        metier: Option<Metier>,
        is_active: bool,
        version: i64,
        token_version: i32,
        created_at: OffsetDateTime,
        updated_at: OffsetDateTime,
    ) -> Self {
        Self {
            id,
            email,
            password_hash,
            nom,
            prenom,
            role,
            type_utilisateur,
            metier,
            is_active,
            version,
            token_version,
            created_at,
            updated_at,
        }
    }

    /// Applies `changes` made by `by`. Deactivation through an update is the
    /// same act as [`User::deactivate`] and raises `user.deactivated`; the
    /// other changed fields (reactivation included) go in `user.updated`.
    pub fn update(
        &mut self,
        changes: UserChanges,
        by: Uuid,
        now: OffsetDateTime,
    ) -> Result<UserUpdateOutcome, UserError> {
        let deactivating = changes.is_active == Some(false) && self.is_active;
        let demoting_self = by == self.id
            && self.role == Role::Admin
            && changes.role.is_some_and(|role| role != Role::Admin);
        if by == self.id && deactivating || demoting_self {
            return Err(UserError::SelfLockout);
        }

        let mut recorded = Changes::new();
        if let Some(nom) = changes.nom {
            recorded.record("nom", &self.nom, &nom);
            self.nom = nom;
        }
        if let Some(prenom) = changes.prenom {
            recorded.record("prenom", &self.prenom, &prenom);
            self.prenom = prenom;
        }
        if let Some(metier) = changes.metier {
            recorded.record("metier", &self.metier, &metier);
            self.metier = metier;
        }
        if let Some(role) = changes.role {
            recorded.record("role", &self.role, &role);
            self.role = role;
        }
        let reactivating = changes.is_active == Some(true) && !self.is_active;
        if reactivating {
            recorded.record("is_active", &false, &true);
            self.is_active = true;
        }
        let deactivated = deactivating.then(|| {
            self.is_active = false;
            UserDeactivated {
                user_id: self.id,
                deactivated_by: Some(by),
            }
        });
        let updated = (!recorded.is_empty()).then_some(UserUpdated {
            user_id: self.id,
            changes: recorded,
        });
        if updated.is_some() || deactivated.is_some() {
            self.touch(now);
        }
        Ok(UserUpdateOutcome {
            updated,
            deactivated,
        })
    }

    /// Deactivates the user: their tokens stop working at once. Deactivating
    /// an inactive user changes nothing and raises no event.
    pub fn deactivate(
        &mut self,
        by: Uuid,
        now: OffsetDateTime,
    ) -> Result<Option<UserDeactivated>, UserError> {
        if by == self.id {
            return Err(UserError::SelfLockout);
        }
        if !self.is_active {
            return Ok(None);
        }
        self.is_active = false;
        self.touch(now);
        Ok(Some(UserDeactivated {
            user_id: self.id,
            deactivated_by: Some(by),
        }))
    }

    fn touch(&mut self, now: OffsetDateTime) {
        self.version += 1;
        self.updated_at = now;
    }

    pub fn id(&self) -> Uuid {
        self.id
    }
    pub fn email(&self) -> &Email {
        &self.email
    }
    pub fn password_hash(&self) -> &PasswordHash {
        &self.password_hash
    }
    pub fn nom(&self) -> &PersonName {
        &self.nom
    }
    pub fn prenom(&self) -> &PersonName {
        &self.prenom
    }
    pub fn role(&self) -> Role {
        self.role
    }
    pub fn type_utilisateur(&self) -> TypeUtilisateur {
        self.type_utilisateur
    }
    pub fn metier(&self) -> Option<&Metier> {
        self.metier.as_ref()
    }
    pub fn is_active(&self) -> bool {
        self.is_active
    }
    /// Starts at 1; one more after each change (see the field).
    pub fn version(&self) -> i64 {
        self.version
    }
    /// The version a token must carry to be accepted (see the field).
    pub fn token_version(&self) -> i32 {
        self.token_version
    }
    pub fn created_at(&self) -> OffsetDateTime {
        self.created_at
    }
    pub fn updated_at(&self) -> OffsetDateTime {
        self.updated_at
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    const T0: OffsetDateTime = datetime!(2026-11-26 08:00 UTC);
    const T1: OffsetDateTime = datetime!(2026-11-26 09:00 UTC);

    fn user(role: Role) -> User {
        User::register(
            NewUser {
                email: Email::parse("marie.curie@example.fr").unwrap(),
                nom: PersonName::parse("Curie").unwrap(),
                prenom: PersonName::parse("Marie").unwrap(),
                role,
                type_utilisateur: TypeUtilisateur::Employe,
                metier: None,
            },
            PasswordHash::from_phc("$argon2id$x".into()),
            T0,
        )
        .0
    }

    #[test]
    fn registration_raises_created_without_password_material() {
        let (user, event) = User::register(
            NewUser {
                email: Email::parse("A@B.fr").unwrap(),
                nom: PersonName::parse("Nom").unwrap(),
                prenom: PersonName::parse("Prenom").unwrap(),
                role: Role::Compagnon,
                type_utilisateur: TypeUtilisateur::Interimaire,
                metier: Some(Metier::parse(" Maçon coffreur ").unwrap()),
            },
            PasswordHash::from_phc("$argon2id$secret-hash".into()),
            T0,
        );
        assert!(user.is_active());
        assert_eq!(user.version(), 1);
        assert_eq!(user.token_version(), 0);
        assert_eq!(user.id().get_version_num(), 7);
        assert_eq!(event.user_id, user.id());
        assert_eq!(event.email, "a@b.fr");
        let json = serde_json::to_string(&event).unwrap();
        assert!(
            !json.contains("argon2") && !json.contains("secret"),
            "{json}"
        );
        assert_eq!(
            serde_json::to_value(&event).unwrap(),
            serde_json::json!({
                "user_id": user.id(), "email": "a@b.fr", "nom": "Nom", "prenom": "Prenom",
                "role": "compagnon", "type_utilisateur": "interimaire",
                "metier": "Maçon coffreur"
            })
        );
    }

    #[test]
    fn update_records_only_changed_fields() {
        let mut u = user(Role::Compagnon);
        let admin = Uuid::now_v7();
        let outcome = u
            .update(
                UserChanges {
                    nom: Some(PersonName::parse("Curie").unwrap()),
                    prenom: Some(PersonName::parse("Maria").unwrap()),
                    metier: Some(Some(Metier::parse("Grutier").unwrap())),
                    role: Some(Role::ChefChantier),
                    is_active: Some(true),
                },
                admin,
                T1,
            )
            .unwrap();
        let updated = outcome.updated.unwrap();
        assert_eq!(
            serde_json::to_value(&updated.changes).unwrap(),
            serde_json::json!({
                "prenom": {"old": "Marie", "new": "Maria"},
                "metier": {"old": null, "new": "Grutier"},
                "role": {"old": "compagnon", "new": "chef_chantier"}
            })
        );
        assert!(outcome.deactivated.is_none());
        assert_eq!(u.role(), Role::ChefChantier);
        assert_eq!(u.metier().map(Metier::as_str), Some("Grutier"));
        assert_eq!((u.version(), u.updated_at()), (2, T1));

        let cleared = u
            .update(
                UserChanges {
                    metier: Some(None),
                    ..UserChanges::default()
                },
                admin,
                T1,
            )
            .unwrap();
        assert_eq!(
            serde_json::to_value(&cleared.updated.unwrap().changes).unwrap(),
            serde_json::json!({"metier": {"old": "Grutier", "new": null}})
        );
        assert_eq!(u.metier(), None);
    }

    #[test]
    fn an_update_that_changes_nothing_raises_nothing() {
        let mut u = user(Role::Compagnon);
        let outcome = u
            .update(
                UserChanges {
                    role: Some(Role::Compagnon),
                    ..UserChanges::default()
                },
                Uuid::now_v7(),
                T1,
            )
            .unwrap();
        assert_eq!(outcome, UserUpdateOutcome::default());
        assert_eq!(
            (u.version(), u.updated_at()),
            (1, T0),
            "no change, no new version"
        );
    }

    #[test]
    fn deactivation_through_update_raises_deactivated_and_reactivation_is_an_update() {
        let mut u = user(Role::Conducteur);
        let admin = Uuid::now_v7();
        let off = u
            .update(
                UserChanges {
                    is_active: Some(false),
                    ..UserChanges::default()
                },
                admin,
                T1,
            )
            .unwrap();
        assert_eq!(off.deactivated.unwrap().deactivated_by, Some(admin));
        assert!(off.updated.is_none());
        assert!(!u.is_active());
        assert_eq!(u.version(), 2);

        let on = u
            .update(
                UserChanges {
                    is_active: Some(true),
                    ..UserChanges::default()
                },
                admin,
                T1,
            )
            .unwrap();
        assert!(on.updated.unwrap().changes.contains("is_active"));
        assert!(u.is_active());
        assert_eq!(u.version(), 3);
    }

    #[test]
    fn deactivate_is_idempotent_and_refuses_self_lockout() {
        let mut u = user(Role::Admin);
        let me = u.id();
        assert_eq!(u.deactivate(me, T1), Err(UserError::SelfLockout));
        assert_eq!(
            u.update(
                UserChanges {
                    role: Some(Role::Conducteur),
                    ..UserChanges::default()
                },
                me,
                T1
            ),
            Err(UserError::SelfLockout)
        );
        assert_eq!(
            u.update(
                UserChanges {
                    is_active: Some(false),
                    ..UserChanges::default()
                },
                me,
                T1
            ),
            Err(UserError::SelfLockout)
        );
        // An admin may still rename themselves.
        assert!(
            u.update(
                UserChanges {
                    nom: Some(PersonName::parse("Sklodowska").unwrap()),
                    ..UserChanges::default()
                },
                me,
                T1
            )
            .is_ok()
        );

        let other = Uuid::now_v7();
        let before = u.version();
        assert!(u.deactivate(other, T1).unwrap().is_some());
        assert_eq!(u.version(), before + 1);
        assert_eq!(
            u.deactivate(other, T1).unwrap(),
            None,
            "second time: nothing happens"
        );
        assert_eq!(u.version(), before + 1, "nor a new version");
    }
}
