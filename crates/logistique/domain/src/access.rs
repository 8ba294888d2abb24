//! Who may decide on a réservation of a chantier.
//!
//! - Administrators, on every chantier.
//! - A conducteur listed in the chantier's `conducteur_ids`, or a
//!   chef_chantier listed in its `chef_chantier_ids` (the "valideurs du
//!   chantier"); nobody else, whatever their role.
//! - Never on one's own request: a valideur cannot approve or refuse what
//!   they asked for (they may still cancel it, as its demandeur).

use hub_kernel::{Actor, Role};
use uuid::Uuid;

/// A chantier as this context knows it (from `chantier.*` events).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChantierInfo {
    pub chantier_id: Uuid,
    /// `ferme`: nothing can be booked there.
    pub ferme: bool,
    pub conducteur_ids: Vec<Uuid>,
    pub chef_chantier_ids: Vec<Uuid>,
}

impl ChantierInfo {
    /// An admin, or a conducteur / chef_chantier responsable of it.
    pub fn est_valideur(&self, actor: &Actor) -> bool {
        match actor.role {
            Role::Admin => true,
            Role::Conducteur => self.conducteur_ids.contains(&actor.user_id),
            Role::ChefChantier => self.chef_chantier_ids.contains(&actor.user_id),
            Role::Compagnon => false,
        }
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

    #[test]
    fn valideurs_are_admins_and_the_chantiers_responsables() {
        let (conducteur, chef) = (actor(Role::Conducteur), actor(Role::ChefChantier));
        let site = ChantierInfo {
            chantier_id: Uuid::now_v7(),
            ferme: false,
            conducteur_ids: vec![conducteur.user_id],
            chef_chantier_ids: vec![chef.user_id],
        };
        assert!(site.est_valideur(&actor(Role::Admin)));
        assert!(site.est_valideur(&conducteur));
        assert!(site.est_valideur(&chef));
        assert!(!site.est_valideur(&actor(Role::Conducteur)));
        assert!(!site.est_valideur(&actor(Role::ChefChantier)));
        // A compagnon listed as a responsable by mistake decides nothing.
        let compagnon = actor(Role::Compagnon);
        let listed = ChantierInfo {
            chef_chantier_ids: vec![compagnon.user_id],
            conducteur_ids: vec![compagnon.user_id],
            ..site
        };
        assert!(!listed.est_valideur(&compagnon));
        // Roles are not interchangeable: a conducteur listed as chef only.
        let swapped = ChantierInfo {
            conducteur_ids: vec![],
            chef_chantier_ids: vec![conducteur.user_id],
            ..listed
        };
        assert!(!swapped.est_valideur(&conducteur));
    }
}
