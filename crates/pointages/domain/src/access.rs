//! Who may read and act on pointages (spec §1, "Rewrite").
//!
//! - Write (create, edit, delete, submit, correct): an administrator; the
//!   user whose hours they are; a conducteur or chef de chantier of the
//!   chantier.
//! - Sign: only the user whose hours they are.
//! - Validate or reject: an administrator, or a conducteur / chef de
//!   chantier of the chantier, never on their own hours (an admin neither:
//!   nobody validates his own pay).
//! - Read: a compagnon his own rows; chefs and conducteurs the rows of their
//!   chantiers and their own; an administrator everything.

use hub_kernel::{Actor, Role};
use uuid::Uuid;

use crate::Pointage;

/// The responsables of one chantier, from the chantiers read model.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Responsables {
    pub conducteur_ids: Vec<Uuid>,
    pub chef_chantier_ids: Vec<Uuid>,
}

impl Responsables {
    /// Whether `actor` is, with his role, a responsable of the chantier.
    pub fn includes(&self, actor: &Actor) -> bool {
        match actor.role {
            Role::Conducteur => self.conducteur_ids.contains(&actor.user_id),
            Role::ChefChantier => self.chef_chantier_ids.contains(&actor.user_id),
            Role::Admin | Role::Compagnon => false,
        }
    }
}

/// Whether `actor` may create, edit, delete, submit or correct the hours of
/// `utilisateur_id` on a chantier run by `responsables`.
pub fn may_write(actor: &Actor, utilisateur_id: Uuid, responsables: &Responsables) -> bool {
    actor.is_admin() || actor.user_id == utilisateur_id || responsables.includes(actor)
}

/// Whether `actor` may sign `pointage`: only its owner.
pub fn may_sign(actor: &Actor, pointage: &Pointage) -> bool {
    actor.user_id == pointage.utilisateur_id()
}

/// Whether `actor` may validate or reject `pointage`.
pub fn may_validate(actor: &Actor, pointage: &Pointage, responsables: &Responsables) -> bool {
    actor.user_id != pointage.utilisateur_id() && (actor.is_admin() || responsables.includes(actor))
}

/// The pointages an actor may read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Lecture {
    Tout,
    /// Those on these chantiers, and the actor's own.
    Chantiers {
        chantier_ids: Vec<Uuid>,
        soi: Uuid,
    },
    /// The actor's own.
    Soi(Uuid),
}

impl Lecture {
    /// What `actor` reads; `responsable_of` lists the chantiers a conducteur
    /// or chef is responsable of (ignored for other roles).
    pub fn of(actor: &Actor, responsable_of: Vec<Uuid>) -> Self {
        match actor.role {
            Role::Admin => Self::Tout,
            Role::Conducteur | Role::ChefChantier => Self::Chantiers {
                chantier_ids: responsable_of,
                soi: actor.user_id,
            },
            Role::Compagnon => Self::Soi(actor.user_id),
        }
    }

    /// Whether the actor's chantiers must be known to scope him.
    pub fn needs_chantiers(actor: &Actor) -> bool {
        matches!(actor.role, Role::Conducteur | Role::ChefChantier)
    }

    pub fn allows(&self, pointage: &Pointage) -> bool {
        match self {
            Self::Tout => true,
            Self::Chantiers { chantier_ids, soi } => {
                pointage.utilisateur_id() == *soi || chantier_ids.contains(&pointage.chantier_id())
            }
            Self::Soi(user) => pointage.utilisateur_id() == *user,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{HeuresMinutes, NouveauPointage};
    use time::macros::{date, datetime};

    const ME: Uuid = Uuid::from_u128(10);
    const OTHER: Uuid = Uuid::from_u128(11);
    const SITE: Uuid = Uuid::from_u128(20);

    fn actor(role: Role) -> Actor {
        Actor { user_id: ME, role }
    }

    fn pointage(user: Uuid, chantier: Uuid) -> Pointage {
        Pointage::create(
            NouveauPointage {
                utilisateur_id: user,
                chantier_id: chantier,
                date: date!(2026 - 12 - 07),
                heures_normales: HeuresMinutes::ZERO,
                heures_supplementaires: HeuresMinutes::ZERO,
                commentaire: None,
                affectation_id: None,
            },
            None,
            datetime!(2026-12-07 0:00 UTC),
        )
        .0
    }

    fn of_site(role: Role) -> Responsables {
        match role {
            Role::Conducteur => Responsables {
                conducteur_ids: vec![ME],
                chef_chantier_ids: vec![],
            },
            _ => Responsables {
                conducteur_ids: vec![],
                chef_chantier_ids: vec![ME],
            },
        }
    }

    #[test]
    fn responsables_validate_others_hours_never_their_own() {
        let theirs = pointage(OTHER, SITE);
        let mine = pointage(ME, SITE);
        for role in [Role::Conducteur, Role::ChefChantier] {
            assert!(may_validate(&actor(role), &theirs, &of_site(role)));
            assert!(!may_validate(&actor(role), &mine, &of_site(role)));
            assert!(!may_validate(
                &actor(role),
                &theirs,
                &Responsables::default()
            ));
        }
        // Listed as chef but acting as conducteur: the role must match.
        assert!(!may_validate(
            &actor(Role::Conducteur),
            &theirs,
            &of_site(Role::ChefChantier)
        ));
        assert!(may_validate(
            &actor(Role::Admin),
            &theirs,
            &Responsables::default()
        ));
        assert!(!may_validate(
            &actor(Role::Admin),
            &mine,
            &Responsables::default()
        ));
        assert!(!may_validate(
            &actor(Role::Compagnon),
            &theirs,
            &of_site(Role::ChefChantier)
        ));
    }

    #[test]
    fn owners_responsables_and_admins_write_and_only_owners_sign() {
        let none = Responsables::default();
        assert!(may_write(&actor(Role::Compagnon), ME, &none));
        assert!(!may_write(&actor(Role::Compagnon), OTHER, &none));
        assert!(may_write(&actor(Role::Admin), OTHER, &none));
        assert!(may_write(
            &actor(Role::ChefChantier),
            OTHER,
            &of_site(Role::ChefChantier)
        ));
        assert!(!may_write(&actor(Role::Conducteur), OTHER, &none));
        assert!(may_sign(&actor(Role::Compagnon), &pointage(ME, SITE)));
        assert!(!may_sign(&actor(Role::Admin), &pointage(OTHER, SITE)));
    }

    #[test]
    fn every_role_reads_what_it_should() {
        let theirs = pointage(OTHER, Uuid::from_u128(21));
        let on_my_site = pointage(OTHER, SITE);
        let own = pointage(ME, Uuid::from_u128(21));
        let admin = Lecture::of(&actor(Role::Admin), vec![]);
        assert!(admin.allows(&theirs));
        for role in [Role::Conducteur, Role::ChefChantier] {
            let lecture = Lecture::of(&actor(role), vec![SITE]);
            assert!(
                lecture.allows(&on_my_site) && lecture.allows(&own) && !lecture.allows(&theirs)
            );
            assert!(Lecture::needs_chantiers(&actor(role)));
        }
        let compagnon = Lecture::of(&actor(Role::Compagnon), vec![SITE]);
        assert!(compagnon.allows(&own) && !compagnon.allows(&on_my_site));
        assert!(!Lecture::needs_chantiers(&actor(Role::Admin)));
    }
}
