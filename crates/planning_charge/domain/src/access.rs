//! Who may read and who may write besoins and the grid.
//!
//! - Administrators and conducteurs read and write every chantier's
//!   besoins: the grid is the company-wide view they staff from.
//! - A chef de chantier reads the besoins and the grid rows of the
//!   chantiers he is a responsable of (conducteur or chef), and writes
//!   nothing; other chantiers are out of his sight ("not found").
//! - A compagnon has no access at all ("forbidden").

use hub_kernel::{Actor, Role};
use uuid::Uuid;

/// The answer to a compagnon, or to a chef de chantier who tries to write.
pub const FORBIDDEN_WRITE: &str = "Accès réservé aux conducteurs et administrateurs";
/// The answer to a compagnon who tries to read.
pub const FORBIDDEN_READ: &str = "Accès réservé aux chefs de chantier et supérieurs";

/// The chantiers an actor may read the besoins of.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Lecture {
    Toutes,
    /// Only these (a chef de chantier's).
    Chantiers(Vec<Uuid>),
}

impl Lecture {
    /// What `actor` reads, `None` when nothing (a compagnon);
    /// `responsable_of` lists the chantiers a chef de chantier is a
    /// conducteur or chef of (ignored for other roles).
    pub fn of(actor: &Actor, responsable_of: Vec<Uuid>) -> Option<Self> {
        match actor.role {
            Role::Admin | Role::Conducteur => Some(Self::Toutes),
            Role::ChefChantier => Some(Self::Chantiers(responsable_of)),
            Role::Compagnon => None,
        }
    }

    /// Whether the chantiers an actor runs must be known to scope them.
    pub fn needs_chantiers(actor: &Actor) -> bool {
        actor.role == Role::ChefChantier
    }

    pub fn allows(&self, chantier_id: Uuid) -> bool {
        match self {
            Self::Toutes => true,
            Self::Chantiers(ids) => ids.contains(&chantier_id),
        }
    }
}

/// Whether `actor` may create, change or delete besoins.
pub fn may_write(actor: &Actor) -> bool {
    matches!(actor.role, Role::Admin | Role::Conducteur)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn actor(role: Role) -> Actor {
        Actor {
            user_id: Uuid::from_u128(10),
            role,
        }
    }

    #[test]
    fn every_role_reads_what_it_should() {
        let his = Uuid::from_u128(20);
        let other = Uuid::from_u128(21);
        for role in [Role::Admin, Role::Conducteur] {
            let lecture = Lecture::of(&actor(role), vec![]).unwrap();
            assert!(lecture.allows(his) && lecture.allows(other));
            assert!(!Lecture::needs_chantiers(&actor(role)));
        }
        let chef = Lecture::of(&actor(Role::ChefChantier), vec![his]).unwrap();
        assert!(chef.allows(his) && !chef.allows(other));
        assert!(Lecture::needs_chantiers(&actor(Role::ChefChantier)));
        assert_eq!(Lecture::of(&actor(Role::Compagnon), vec![his]), None);
    }

    #[test]
    fn only_admins_and_conducteurs_write() {
        assert!(may_write(&actor(Role::Admin)));
        assert!(may_write(&actor(Role::Conducteur)));
        assert!(!may_write(&actor(Role::ChefChantier)));
        assert!(!may_write(&actor(Role::Compagnon)));
    }
}
