//! User administration: creating users (and the first administrator, from
//! the CLI), reading and listing them, changing their names, role or active
//! flag, deactivating them; each command publishes its events with the
//! change.

use std::error::Error;

use hub_identity_domain::{Email, TypeUtilisateur, User, UserError};
use hub_kernel::{CommandContext, EnvelopeError, Page, Role, ValidationErrors};
use uuid::Uuid;

use crate::input::{CreateUserInput, UpdateUserInput};
use crate::ports::{HashError, IdentityPorts, RepositoryError, Tokens, UserFilter};

#[derive(Debug, thiserror::Error)]
pub enum CreateUserError {
    #[error("{0}")]
    Invalid(ValidationErrors),
    #[error("a user with the email {0} already exists")]
    DuplicateEmail(String),
    /// Too many password hashes in progress: nothing was written.
    #[error("too many password operations are in progress; retry shortly")]
    Busy,
    /// Storage or hashing failed, or the event could not be built: a 500,
    /// logged with its cause.
    #[error("user creation is unavailable")]
    Unavailable(#[source] Box<dyn Error + Send + Sync>),
}

impl From<HashError> for CreateUserError {
    fn from(error: HashError) -> Self {
        match error {
            HashError::Busy => Self::Busy,
            failed @ HashError::Failed(_) => Self::Unavailable(failed.into()),
        }
    }
}

impl From<RepositoryError> for CreateUserError {
    fn from(error: RepositoryError) -> Self {
        match error {
            RepositoryError::DuplicateEmail => Self::DuplicateEmail(String::new()),
            other => Self::Unavailable(other.into()),
        }
    }
}

impl From<ValidationErrors> for CreateUserError {
    fn from(errors: ValidationErrors) -> Self {
        Self::Invalid(errors)
    }
}

impl From<EnvelopeError> for CreateUserError {
    fn from(error: EnvelopeError) -> Self {
        Self::Unavailable(error.into())
    }
}

hub_kernel::use_cases! {
    IdentityPorts;
    /// Creates a user (administrators) and publishes `user.created`.
    CreateUser,
    /// Bootstraps an administrator from the CLI; idempotent on the email.
    CreateAdmin,
    GetUser,
    ListUsers,
    /// Changes names, role or active flag; publishes `user.updated` and/or
    /// `user.deactivated`, or nothing when nothing changed.
    UpdateUser,
    /// Deactivates a user; their tokens stop working at once, and for good
    /// (reactivation does not revive them).
    DeactivateUser,
}

impl CreateUser {
    pub async fn execute(
        &self,
        context: &CommandContext,
        input: CreateUserInput,
    ) -> Result<User, CreateUserError> {
        let (new, password) = input.validate()?;
        let email = new.email.clone();
        let duplicate = |email: &Email| CreateUserError::DuplicateEmail(email.to_string());
        if self.ports.users.find_by_email(&email).await?.is_some() {
            return Err(duplicate(&email));
        }
        let hash = self.ports.hasher.hash(&password).await?;
        let (user, created) = User::register(new, hash, self.ports.clock.now());
        let events = [context.wrap(&created, &*self.ports.clock)?];
        match self.ports.users.insert(&user, &events).await {
            // Another request created the same email between our check and our insert.
            Err(RepositoryError::DuplicateEmail) => Err(duplicate(&email)),
            other => other.map(|()| user).map_err(CreateUserError::from),
        }
    }
}

/// What `create-admin` did.
#[derive(Debug)]
pub enum CreateAdminOutcome {
    Created(User),
    AlreadyExists,
}

impl CreateAdmin {
    pub async fn execute(
        &self,
        email: String,
        password: String,
        nom: String,
        prenom: String,
    ) -> Result<CreateAdminOutcome, CreateUserError> {
        let input = CreateUserInput {
            email,
            password,
            nom,
            prenom,
            role: Role::Admin,
            type_utilisateur: TypeUtilisateur::Employe,
            metier: None,
        };
        match CreateUser::new(self.ports.clone())
            .execute(&CommandContext::system(Some("cli".to_owned())), input)
            .await
        {
            Ok(user) => Ok(CreateAdminOutcome::Created(user)),
            Err(CreateUserError::DuplicateEmail(_)) => Ok(CreateAdminOutcome::AlreadyExists),
            Err(other) => Err(other),
        }
    }
}

/// Failures of the commands on an existing user.
#[derive(Debug, thiserror::Error)]
pub enum UserCommandError {
    #[error("no user with this id")]
    NotFound,
    #[error("{0}")]
    Invalid(ValidationErrors),
    #[error(transparent)]
    Rule(#[from] UserError),
    #[error("the user was changed by someone else meanwhile; reload it and retry")]
    Conflict,
    /// Storage failed, or an event could not be built: a 500, logged with
    /// its cause.
    #[error("user administration is unavailable")]
    Unavailable(#[source] Box<dyn Error + Send + Sync>),
}

impl From<RepositoryError> for UserCommandError {
    fn from(error: RepositoryError) -> Self {
        match error {
            RepositoryError::NotFound => Self::NotFound,
            RepositoryError::Conflict => Self::Conflict,
            other => Self::Unavailable(other.into()),
        }
    }
}

impl From<ValidationErrors> for UserCommandError {
    fn from(errors: ValidationErrors) -> Self {
        Self::Invalid(errors)
    }
}

impl From<EnvelopeError> for UserCommandError {
    fn from(error: EnvelopeError) -> Self {
        Self::Unavailable(error.into())
    }
}

impl GetUser {
    pub async fn execute(&self, id: Uuid) -> Result<User, UserCommandError> {
        self.ports
            .users
            .find_by_id(id)
            .await?
            .ok_or(UserCommandError::NotFound)
    }
}

impl ListUsers {
    pub async fn execute(
        &self,
        filter: &UserFilter,
        page: Page,
    ) -> Result<(Vec<User>, u64), UserCommandError> {
        Ok(self.ports.users.list(filter, page).await?)
    }
}

impl UpdateUser {
    pub async fn execute(
        &self,
        context: &CommandContext,
        id: Uuid,
        input: UpdateUserInput,
    ) -> Result<User, UserCommandError> {
        let changes = input.validate()?;
        let mut user = self
            .ports
            .users
            .find_by_id(id)
            .await?
            .ok_or(UserCommandError::NotFound)?;
        let outcome = user.update(changes, acting_user(context), self.ports.clock.now())?;
        let mut events = Vec::new();
        if let Some(updated) = &outcome.updated {
            events.push(context.wrap(updated, &*self.ports.clock)?);
        }
        if let Some(deactivated) = &outcome.deactivated {
            events.push(context.wrap(deactivated, &*self.ports.clock)?);
        }
        // Deactivation also ends the user's tokens, so that reactivating
        // the account does not bring them back.
        let tokens = if outcome.deactivated.is_some() {
            Tokens::Revoke
        } else {
            Tokens::Keep
        };
        if !events.is_empty() {
            self.ports.users.update(&user, tokens, &events).await?;
        }
        Ok(user)
    }
}

impl DeactivateUser {
    pub async fn execute(
        &self,
        context: &CommandContext,
        id: Uuid,
    ) -> Result<User, UserCommandError> {
        let mut user = self
            .ports
            .users
            .find_by_id(id)
            .await?
            .ok_or(UserCommandError::NotFound)?;
        if let Some(deactivated) = user.deactivate(acting_user(context), self.ports.clock.now())? {
            let events = [context.wrap(&deactivated, &*self.ports.clock)?];
            self.ports
                .users
                .update(&user, Tokens::Revoke, &events)
                .await?;
        }
        Ok(user)
    }
}

/// The user a command acts as; the system (no actor) is the nil id, which
/// is never a user, so self-lockout rules never apply to it.
fn acting_user(context: &CommandContext) -> Uuid {
    context.actor.map_or(Uuid::nil(), |actor| actor.user_id)
}
