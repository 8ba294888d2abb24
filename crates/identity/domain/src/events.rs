//! Events of the identity context (catalog: `docs/EVENTS.md`, section identity).
//! No password material ever appears in them.

use hub_kernel::{Changes, DomainEvent, EventTypeInfo, Role};
use schemars::JsonSchema;
use serde::Serialize;
use uuid::Uuid;

use crate::TypeUtilisateur;

/// `user.created`
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
#[schemars(example = examples::user_created())]
pub struct UserCreated {
    /// The new user.
    pub user_id: Uuid,
    /// Sign-in email, trimmed and in lower case.
    pub email: String,
    /// Family name.
    pub nom: String,
    /// Given name.
    pub prenom: String,
    /// What the user may do (`docs/DESIGN.md` §4).
    pub role: Role,
    /// Employment relation with the company.
    pub type_utilisateur: TypeUtilisateur,
    /// The user's trade as the company names it (free text, e.g. "Maçon");
    /// `null` when none was given.
    pub metier: Option<String>,
}

/// `user.updated`
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
#[schemars(example = examples::user_updated())]
pub struct UserUpdated {
    /// The user who changed.
    pub user_id: Uuid,
    /// What changed, among `nom`, `prenom`, `metier` (`null` when cleared),
    /// `role` and `is_active` (`false`
    /// to `true` on a reactivation; a deactivation is `user.deactivated`).
    pub changes: Changes,
}

/// `user.deactivated`
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
#[schemars(example = examples::user_deactivated())]
pub struct UserDeactivated {
    /// The deactivated user: they can no longer sign in and their tokens
    /// stop working at once.
    pub user_id: Uuid,
    /// The administrator who deactivated the user (`null` would mean the
    /// system itself).
    pub deactivated_by: Option<Uuid>,
}

/// The examples of the catalog (`docs/EVENTS.md`, `GET /api/v1/event-types`):
/// one story, an administrator creating then promoting a compagnon.
mod examples {
    use super::*;

    /// The administrator who acts in every example of the catalog.
    const ADMIN: Uuid = Uuid::from_u128(0x0192_f0a1_3c5e_7a10_8b2d_4e6f_8a9b_0c1d);
    const KARIM: Uuid = Uuid::from_u128(0x0192_f0a1_3c5e_7d43_ae5f_6a8b_9c0d_1e3f);

    pub(super) fn user_created() -> UserCreated {
        UserCreated {
            user_id: KARIM,
            email: "karim.benali@durand-btp.fr".into(),
            nom: "Benali".into(),
            prenom: "Karim".into(),
            role: Role::Compagnon,
            type_utilisateur: TypeUtilisateur::Employe,
            metier: Some("Maçon".into()),
        }
    }

    pub(super) fn user_updated() -> UserUpdated {
        let mut changes = Changes::new();
        changes.record("role", &Role::Compagnon, &Role::ChefChantier);
        UserUpdated {
            user_id: KARIM,
            changes,
        }
    }

    pub(super) fn user_deactivated() -> UserDeactivated {
        UserDeactivated {
            user_id: KARIM,
            deactivated_by: Some(ADMIN),
        }
    }
}

macro_rules! user_event {
    ($event:ty, $name:literal) => {
        impl DomainEvent for $event {
            fn event_type(&self) -> &'static str {
                $name
            }
            fn aggregate_type(&self) -> &'static str {
                "user"
            }
            fn aggregate_id(&self) -> String {
                self.user_id.to_string()
            }
        }
    };
}

user_event!(UserCreated, "user.created");
user_event!(UserUpdated, "user.updated");
user_event!(UserDeactivated, "user.deactivated");

/// The identity events of the catalog.
pub fn event_catalog() -> Vec<EventTypeInfo> {
    vec![
        EventTypeInfo::of::<UserCreated>("user.created", "user", "A user account was created."),
        EventTypeInfo::of::<UserUpdated>(
            "user.updated",
            "user",
            "Names, role or active flag of a user changed.",
        ),
        EventTypeInfo::of::<UserDeactivated>(
            "user.deactivated",
            "user",
            "A user was deactivated; their tokens no longer work.",
        ),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn catalog_lists_each_event_once_with_a_schema() {
        let catalog = event_catalog();
        let types: Vec<&str> = catalog.iter().map(|e| e.event_type).collect();
        assert_eq!(types, ["user.created", "user.updated", "user.deactivated"]);
        assert_eq!(
            catalog[0].data_schema["properties"]["role"]["enum"],
            serde_json::json!(["admin", "conducteur", "chef_chantier", "compagnon"])
        );
        assert!(catalog[1].data_schema["properties"]["changes"].is_object());
    }
}
