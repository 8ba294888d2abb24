//! Who may do what with the signalements of a chantier.
//!
//! - Administrators see and manage every chantier's signalements.
//! - Conducteurs see every chantier's, and manage those of the chantiers
//!   they are conducteur of.
//! - Chefs de chantier see those of the chantiers they are responsable of
//!   or assigned to, and manage those of the chantiers they are responsable of.
//! - Compagnons see those of the chantiers they are responsable of or
//!   assigned to (an affectation of the planning context) and manage none.
//!
//! Out of sight is "not found"; in sight but not allowed is "forbidden".

use hub_kernel::{Actor, Role};
use uuid::Uuid;

/// A chantier as this context knows it (from `chantier.*` events).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChantierInfo {
    pub chantier_id: Uuid,
    /// `ferme`: no new signalement can be reported there.
    pub ferme: bool,
    pub conducteur_ids: Vec<Uuid>,
    pub chef_chantier_ids: Vec<Uuid>,
}

/// A user as this context knows them (from `user.*` events).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserInfo {
    pub user_id: Uuid,
    /// `None` when the events gave none that reads (grants nothing).
    pub role: Option<Role>,
    pub is_active: bool,
}

/// What an actor may do with the signalements of one chantier.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Portee {
    /// Not even their existence is revealed.
    Aucune,
    /// See them, report new ones, reply, treat those assigned to them.
    Lecture,
    /// Also assign, treat, close and edit any of them.
    Gestion,
}

impl ChantierInfo {
    /// Whether `user_id` is one of its conducteurs or chefs.
    pub fn has_responsable(&self, user_id: Uuid) -> bool {
        self.conducteur_ids.contains(&user_id) || self.chef_chantier_ids.contains(&user_id)
    }

    /// What `actor` may do here; `assigned` says whether the actor has an
    /// affectation on the chantier.
    pub fn portee(&self, actor: &Actor, assigned: bool) -> Portee {
        let responsable = self.has_responsable(actor.user_id);
        match actor.role {
            Role::Admin => Portee::Gestion,
            Role::Conducteur if self.conducteur_ids.contains(&actor.user_id) => Portee::Gestion,
            Role::Conducteur => Portee::Lecture,
            Role::ChefChantier if responsable => Portee::Gestion,
            Role::ChefChantier | Role::Compagnon if responsable || assigned => Portee::Lecture,
            Role::ChefChantier | Role::Compagnon => Portee::Aucune,
        }
    }

    /// Whether `user` may be given a signalement of this chantier: an
    /// active user who sees it.
    pub fn may_be_assigned(&self, user: &UserInfo, assigned: bool) -> bool {
        let Some(role) = user.role.filter(|_| user.is_active) else {
            return false;
        };
        let actor = Actor {
            user_id: user.user_id,
            role,
        };
        self.portee(&actor, assigned) > Portee::Aucune
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn actor(role: Role) -> Actor {
        Actor {
            user_id: Uuid::now_v7(),
            role,
        }
    }

    fn chantier(conducteurs: &[Uuid], chefs: &[Uuid]) -> ChantierInfo {
        ChantierInfo {
            chantier_id: Uuid::now_v7(),
            ferme: false,
            conducteur_ids: conducteurs.to_vec(),
            chef_chantier_ids: chefs.to_vec(),
        }
    }

    #[test]
    fn admins_and_their_responsables_manage_conducteurs_see_every_chantier() {
        let (mine, other) = (actor(Role::Conducteur), actor(Role::Conducteur));
        let chef = actor(Role::ChefChantier);
        let site = chantier(&[mine.user_id], &[chef.user_id]);
        assert_eq!(site.portee(&actor(Role::Admin), false), Portee::Gestion);
        assert_eq!(site.portee(&mine, false), Portee::Gestion);
        assert_eq!(site.portee(&other, false), Portee::Lecture);
        assert_eq!(site.portee(&chef, false), Portee::Gestion);
    }

    #[test]
    fn chefs_and_compagnons_see_only_their_chantiers() {
        let site = chantier(&[], &[]);
        for role in [Role::ChefChantier, Role::Compagnon] {
            assert_eq!(site.portee(&actor(role), true), Portee::Lecture);
            assert_eq!(site.portee(&actor(role), false), Portee::Aucune);
        }
        let compagnon = actor(Role::Compagnon);
        // A compagnon listed as a chef by mistake still manages nothing.
        let listed = chantier(&[], &[compagnon.user_id]);
        assert_eq!(listed.portee(&compagnon, false), Portee::Lecture);
    }

    #[test]
    fn only_active_users_who_see_the_chantier_may_be_assigned() {
        let user = |role: Option<Role>, is_active| UserInfo {
            user_id: Uuid::now_v7(),
            role,
            is_active,
        };
        let site = chantier(&[], &[]);
        assert!(site.may_be_assigned(&user(Some(Role::Conducteur), true), false));
        assert!(!site.may_be_assigned(&user(Some(Role::Conducteur), false), false));
        assert!(!site.may_be_assigned(&user(None, true), true));
        assert!(!site.may_be_assigned(&user(Some(Role::Compagnon), true), false));
        assert!(site.may_be_assigned(&user(Some(Role::Compagnon), true), true));
    }
}
