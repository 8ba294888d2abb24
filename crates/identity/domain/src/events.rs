//! Events of the identity context (catalog: `docs/EVENTS.md`, section identity).
//! No password material ever appears in them.

use hub_kernel::{Changes, DomainEvent, EventTypeInfo, Role};
use schemars::JsonSchema;
use serde::Serialize;
use uuid::Uuid;

use crate::TypeUtilisateur;

/// `user.created`
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct UserCreated {
    pub user_id: Uuid,
    pub email: String,
    pub nom: String,
    pub prenom: String,
    pub role: Role,
    pub type_utilisateur: TypeUtilisateur,
}

/// `user.updated`
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct UserUpdated {
    pub user_id: Uuid,
    pub changes: Changes,
}

/// `user.deactivated`
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct UserDeactivated {
    pub user_id: Uuid,
    pub deactivated_by: Option<Uuid>,
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
