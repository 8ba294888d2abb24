//! Who may read and who may write affectations.
//!
//! - Administrators and conducteurs see every affectation (they build the
//!   planning); chefs de chantier see those of the chantiers they are a
//!   responsable of, plus their own; compagnons see their own.
//! - Writing is for administrators anywhere, and for conducteurs on the
//!   chantiers they are conducteur of: a write names the chantier(s) it
//!   touches, the old one and the new one of a move.

use hub_kernel::{Actor, Role};
use uuid::Uuid;

use crate::Affectation;

/// The affectations an actor may read.
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
    /// What `actor` reads; `responsable_of` lists the chantiers a chef de
    /// chantier is a conducteur or chef of (ignored for other roles).
    pub fn of(actor: &Actor, responsable_of: Vec<Uuid>) -> Self {
        match actor.role {
            Role::Admin | Role::Conducteur => Self::Tout,
            Role::ChefChantier => Self::Chantiers {
                chantier_ids: responsable_of,
                soi: actor.user_id,
            },
            Role::Compagnon => Self::Soi(actor.user_id),
        }
    }

    /// Whether a chef's chantiers must be known to scope this actor.
    pub fn needs_chantiers(actor: &Actor) -> bool {
        actor.role == Role::ChefChantier
    }

    pub fn allows(&self, affectation: &Affectation) -> bool {
        match self {
            Self::Tout => true,
            Self::Chantiers { chantier_ids, soi } => {
                affectation.utilisateur_id() == *soi
                    || chantier_ids.contains(&affectation.chantier_id())
            }
            Self::Soi(user) => affectation.utilisateur_id() == *user,
        }
    }
}

/// Whether `actor` may plan on a chantier run by `conducteur_ids`.
pub fn may_plan(actor: &Actor, conducteur_ids: &[Uuid]) -> bool {
    match actor.role {
        Role::Admin => true,
        Role::Conducteur => conducteur_ids.contains(&actor.user_id),
        Role::ChefChantier | Role::Compagnon => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Modele, Plage, TypeAffectation};
    use time::macros::{date, datetime};

    fn actor(role: Role) -> Actor {
        Actor {
            user_id: Uuid::from_u128(10),
            role,
        }
    }

    fn affectation(user: u128, chantier: u128) -> Affectation {
        let modele = Modele {
            utilisateur_id: Uuid::from_u128(user),
            chantier_id: Uuid::from_u128(chantier),
            plage: Plage::default(),
            note: None,
            type_affectation: TypeAffectation::Unique,
            jours_recurrence: None,
        };
        Affectation::plan(
            &modele,
            date!(2026 - 12 - 07),
            None,
            datetime!(2026-12-01 0:00 UTC),
        )
    }

    #[test]
    fn every_role_reads_what_it_should() {
        let chantier = Uuid::from_u128(20);
        let theirs = affectation(11, 21);
        let on_his_site = affectation(11, 20);
        let own = affectation(10, 21);
        for role in [Role::Admin, Role::Conducteur] {
            let lecture = Lecture::of(&actor(role), vec![]);
            assert!(lecture.allows(&theirs) && lecture.allows(&own));
        }
        let chef = Lecture::of(&actor(Role::ChefChantier), vec![chantier]);
        assert!(chef.allows(&on_his_site) && chef.allows(&own) && !chef.allows(&theirs));
        let compagnon = Lecture::of(&actor(Role::Compagnon), vec![chantier]);
        assert!(compagnon.allows(&own) && !compagnon.allows(&on_his_site));
        assert!(Lecture::needs_chantiers(&actor(Role::ChefChantier)));
        assert!(!Lecture::needs_chantiers(&actor(Role::Conducteur)));
    }

    #[test]
    fn only_admins_and_the_sites_conducteurs_plan() {
        let me = Uuid::from_u128(10);
        assert!(may_plan(&actor(Role::Admin), &[]));
        assert!(may_plan(&actor(Role::Conducteur), &[me]));
        assert!(!may_plan(&actor(Role::Conducteur), &[Uuid::from_u128(99)]));
        assert!(!may_plan(&actor(Role::ChefChantier), &[me]));
        assert!(!may_plan(&actor(Role::Compagnon), &[me]));
    }
}
