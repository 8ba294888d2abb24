//! Events of the identity context (catalog: `EVENTS.md`, section identity).
//! No password material ever appears in them.

use hub_kernel::{Changes, DomainEvent, Role};
use serde::Serialize;
use uuid::Uuid;

use crate::TypeUtilisateur;

/// `user.created`
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct UserCreated {
    pub user_id: Uuid,
    pub email: String,
    pub nom: String,
    pub prenom: String,
    pub role: Role,
    pub type_utilisateur: TypeUtilisateur,
}

/// `user.updated`
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct UserUpdated {
    pub user_id: Uuid,
    pub changes: Changes,
}

/// `user.deactivated`
#[derive(Debug, Clone, PartialEq, Serialize)]
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
