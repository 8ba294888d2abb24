//! Who may see a chantier and who may run it.
//!
//! - Administrators see and run every chantier.
//! - Conducteurs see every chantier and run those they are conducteur of.
//! - Chefs de chantier and compagnons see the chantiers they are
//!   responsable of or assigned to (an affectation of the planning context)
//!   and run none.
//!
//! Running a chantier (changing its details, statut or responsables) is
//! what grants a conducteur's webhooks its events, so it is never granted
//! by the role alone.

use hub_kernel::{Actor, Role};

use crate::Chantier;

/// What an actor may do with one chantier.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChantierAccess {
    /// Not even its existence is revealed (answered as "not found").
    None,
    Read,
    /// Read and change its details, statut and responsables.
    Manage,
}

/// Whether `actor` sees every chantier, whatever its responsables.
pub fn sees_every_chantier(actor: &Actor) -> bool {
    matches!(actor.role, Role::Admin | Role::Conducteur)
}

impl Chantier {
    /// What `actor` may do with this chantier; `assigned` says whether the
    /// actor has an affectation on it (known from the planning context's events).
    pub fn access_of(&self, actor: &Actor, assigned: bool) -> ChantierAccess {
        let responsables = self.responsables();
        match actor.role {
            Role::Admin => ChantierAccess::Manage,
            Role::Conducteur if responsables.conducteur_ids().contains(&actor.user_id) => {
                ChantierAccess::Manage
            }
            Role::Conducteur => ChantierAccess::Read,
            Role::ChefChantier | Role::Compagnon
                if assigned || responsables.contains(actor.user_id) =>
            {
                ChantierAccess::Read
            }
            Role::ChefChantier | Role::Compagnon => ChantierAccess::None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Adresse, ChantierCode, ChantierDetails, Couleur, NomChantier, Responsables};
    use time::macros::datetime;
    use uuid::Uuid;

    fn actor(role: Role) -> Actor {
        Actor {
            user_id: Uuid::now_v7(),
            role,
        }
    }

    fn chantier(conducteurs: &[Uuid], chefs: &[Uuid]) -> Chantier {
        let details = ChantierDetails {
            code: ChantierCode::parse("CH-1").unwrap(),
            nom: NomChantier::parse("Tour").unwrap(),
            adresse: Adresse::parse("1 quai").unwrap(),
            couleur: Couleur::default_colour(),
            coordonnees_gps: None,
            contact: None,
            heures_estimees: None,
            date_debut: None,
            date_fin: None,
        };
        let responsables = Responsables::new(conducteurs.to_vec(), chefs.to_vec()).unwrap();
        Chantier::create(details, responsables, datetime!(2026-12-01 08:00 UTC))
            .unwrap()
            .0
    }

    #[test]
    fn only_an_admin_or_one_of_its_conducteurs_runs_a_chantier() {
        let (mine, other) = (actor(Role::Conducteur), actor(Role::Conducteur));
        let chef = actor(Role::ChefChantier);
        // A chef listed among the conducteurs by mistake still runs nothing.
        let site = chantier(&[mine.user_id, chef.user_id], &[]);
        assert_eq!(
            site.access_of(&actor(Role::Admin), false),
            ChantierAccess::Manage
        );
        assert_eq!(site.access_of(&mine, false), ChantierAccess::Manage);
        assert_eq!(site.access_of(&other, true), ChantierAccess::Read);
        assert_eq!(site.access_of(&chef, true), ChantierAccess::Read);
    }

    #[test]
    fn chefs_and_compagnons_see_only_their_chantiers() {
        for role in [Role::ChefChantier, Role::Compagnon] {
            let (listed, assigned, stranger) = (actor(role), actor(role), actor(role));
            let site = chantier(&[], &[listed.user_id]);
            assert_eq!(site.access_of(&listed, false), ChantierAccess::Read);
            assert_eq!(site.access_of(&assigned, true), ChantierAccess::Read);
            assert_eq!(site.access_of(&stranger, false), ChantierAccess::None);
        }
        assert!(sees_every_chantier(&actor(Role::Conducteur)));
        assert!(!sees_every_chantier(&actor(Role::ChefChantier)));
    }
}
