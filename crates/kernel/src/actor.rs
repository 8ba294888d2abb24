//! The authenticated user on whose behalf a use case runs.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Roles of the product, from most to least privileged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Admin,
    Conducteur,
    ChefChantier,
    Compagnon,
}

impl Role {
    pub const ALL: [Role; 4] = [
        Role::Admin,
        Role::Conducteur,
        Role::ChefChantier,
        Role::Compagnon,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Conducteur => "conducteur",
            Role::ChefChantier => "chef_chantier",
            Role::Compagnon => "compagnon",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A role name that is not one of [`Role::ALL`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown role `{0}` (expected admin, conducteur, chef_chantier or compagnon)")]
pub struct UnknownRole(pub String);

impl FromStr for Role {
    type Err = UnknownRole;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Role::ALL
            .into_iter()
            .find(|role| role.as_str() == s)
            .ok_or_else(|| UnknownRole(s.to_owned()))
    }
}

/// Who is acting: an authenticated user and the role they act with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Actor {
    pub user_id: Uuid,
    pub role: Role,
}

impl Actor {
    pub fn is_admin(&self) -> bool {
        self.role == Role::Admin
    }

    /// Whether the actor holds one of `roles`.
    pub fn has_any_role(&self, roles: &[Role]) -> bool {
        roles.contains(&self.role)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn role_names_round_trip_through_text_and_json() {
        for role in Role::ALL {
            assert_eq!(role.as_str().parse::<Role>().unwrap(), role);
            let json = serde_json::to_string(&role).unwrap();
            assert_eq!(json, format!("\"{}\"", role.as_str()));
            assert_eq!(serde_json::from_str::<Role>(&json).unwrap(), role);
        }
        assert_eq!(
            "patron".parse::<Role>(),
            Err(UnknownRole("patron".to_string()))
        );
    }

    #[test]
    fn actor_role_checks() {
        let actor = Actor {
            user_id: Uuid::nil(),
            role: Role::Conducteur,
        };
        assert!(!actor.is_admin());
        assert!(actor.has_any_role(&[Role::Admin, Role::Conducteur]));
        assert!(!actor.has_any_role(&[Role::Admin]));
    }
}
