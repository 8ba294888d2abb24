//! Raw inputs of the user commands, turned into domain values here so that
//! every invalid field is reported at once (422 with field errors).

use std::fmt;

use hub_identity_domain::{
    Email, Metier, NewUser, PersonName, PlainPassword, TypeUtilisateur, UserChanges,
};
use hub_kernel::{Role, ValidationErrors};

/// What creating a user needs. Its `Debug` hides the password, so that a
/// logged input never carries it.
#[derive(Clone)]
pub struct CreateUserInput {
    pub email: String,
    pub password: String,
    pub nom: String,
    pub prenom: String,
    pub role: Role,
    pub type_utilisateur: TypeUtilisateur,
    /// The trade; blank or absent means none.
    pub metier: Option<String>,
}

impl fmt::Debug for CreateUserInput {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CreateUserInput")
            .field("email", &self.email)
            .field("password", &"***")
            .field("nom", &self.nom)
            .field("prenom", &self.prenom)
            .field("role", &self.role)
            .field("type_utilisateur", &self.type_utilisateur)
            .field("metier", &self.metier)
            .finish()
    }
}

/// A partial update; `None` leaves the field as it is.
#[derive(Debug, Clone, Default)]
pub struct UpdateUserInput {
    pub nom: Option<String>,
    pub prenom: Option<String>,
    /// A blank text clears the trade.
    pub metier: Option<String>,
    pub role: Option<Role>,
    pub is_active: Option<bool>,
}

impl CreateUserInput {
    /// The user to register, and the password to hash for them.
    pub fn validate(&self) -> Result<(NewUser, PlainPassword), ValidationErrors> {
        let mut errors = ValidationErrors::new();
        let email = errors.check("email", "invalid", Email::parse(&self.email));
        let password = errors.check("password", "invalid", PlainPassword::parse(&self.password));
        let nom = errors.check("nom", "invalid", PersonName::parse(&self.nom));
        let prenom = errors.check("prenom", "invalid", PersonName::parse(&self.prenom));
        let metier = match self.metier.as_deref() {
            None => Some(None),
            Some(text) => errors.check("metier", "invalid", Metier::parse_optional(text)),
        };
        match (email, password, nom, prenom, metier) {
            (Some(email), Some(password), Some(nom), Some(prenom), Some(metier)) => Ok((
                NewUser {
                    email,
                    nom,
                    prenom,
                    role: self.role,
                    type_utilisateur: self.type_utilisateur,
                    metier,
                },
                password,
            )),
            _ => Err(errors),
        }
    }
}

impl UpdateUserInput {
    pub fn validate(&self) -> Result<UserChanges, ValidationErrors> {
        let mut errors = ValidationErrors::new();
        let changes = UserChanges {
            nom: self
                .nom
                .as_deref()
                .and_then(|n| errors.check("nom", "invalid", PersonName::parse(n))),
            prenom: self
                .prenom
                .as_deref()
                .and_then(|p| errors.check("prenom", "invalid", PersonName::parse(p))),
            metier: self
                .metier
                .as_deref()
                .and_then(|m| errors.check("metier", "invalid", Metier::parse_optional(m))),
            role: self.role,
            is_active: self.is_active,
        };
        errors.into_result().map(|()| changes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(errors: &ValidationErrors) -> Vec<&str> {
        errors.errors().iter().map(|e| e.field.as_str()).collect()
    }

    #[test]
    fn creation_input_becomes_a_new_user_or_every_invalid_field() {
        let input = CreateUserInput {
            email: " Lea.Durand@Example.fr ".into(),
            password: "un mot de passe long".into(),
            nom: " Durand ".into(),
            prenom: "Léa".into(),
            role: Role::Conducteur,
            type_utilisateur: TypeUtilisateur::Interimaire,
            metier: Some(" Électricienne ".into()),
        };
        let (user, password) = input.validate().unwrap();
        assert_eq!(user.email.as_str(), "lea.durand@example.fr");
        assert_eq!(
            user.metier.as_ref().map(Metier::as_str),
            Some("Électricienne")
        );
        assert_eq!(user.nom.as_str(), "Durand");
        assert_eq!(
            (user.role, user.type_utilisateur),
            (Role::Conducteur, TypeUtilisateur::Interimaire)
        );
        assert_eq!(password.expose(), "un mot de passe long");

        let bad = CreateUserInput {
            email: "pas un email".into(),
            password: "court".into(),
            nom: " ".into(),
            prenom: "a\u{7}b".into(),
            metier: Some("m".repeat(101)),
            ..input
        };
        let errors = bad.validate().unwrap_err();
        assert_eq!(
            fields(&errors),
            ["email", "password", "nom", "prenom", "metier"]
        );
        assert_eq!(
            errors.to_string(),
            "email: is not a valid email address; password: must be at least 12 characters; \
             nom: is required; prenom: must not contain control characters; \
             metier: must be at most 100 characters"
        );
    }

    #[test]
    fn a_creation_input_never_prints_its_password() {
        let input = CreateUserInput {
            email: "lea@example.fr".into(),
            password: "secret-du-chantier".into(),
            nom: "Durand".into(),
            prenom: "Léa".into(),
            role: Role::Compagnon,
            type_utilisateur: TypeUtilisateur::Employe,
            metier: None,
        };
        let printed = format!("{input:?}");
        assert!(!printed.contains("secret-du-chantier"), "{printed}");
        assert!(printed.contains("lea@example.fr"), "{printed}");
    }

    #[test]
    fn an_update_keeps_absent_fields_and_reports_every_invalid_one() {
        let changes = UpdateUserInput {
            prenom: Some(" Maria ".into()),
            is_active: Some(false),
            ..UpdateUserInput::default()
        }
        .validate()
        .unwrap();
        assert!(changes.nom.is_none() && changes.role.is_none());
        assert_eq!(changes.prenom.unwrap().as_str(), "Maria");
        assert_eq!(changes.is_active, Some(false));
        let cleared = UpdateUserInput {
            metier: Some("  ".into()),
            ..UpdateUserInput::default()
        }
        .validate()
        .unwrap();
        assert_eq!(cleared.metier, Some(None), "a blank trade clears it");

        let errors = UpdateUserInput {
            nom: Some(String::new()),
            prenom: Some("x".repeat(101)),
            ..UpdateUserInput::default()
        }
        .validate()
        .unwrap_err();
        assert_eq!(fields(&errors), ["nom", "prenom"]);
    }
}
