//! Identity use cases — signing in, checking tokens and signing out
//! (`sign_in`), administering users (`users`) — and the ports they need
//! ([`UserRepository`], [`PasswordHasher`], [`TokenService`],
//! [`SignInThrottle`]). Each use case is a small struct built from the
//! [`IdentityPorts`] bundle, with one `execute` method; the HTTP adapter
//! and the CLI call them with raw inputs (`input`: [`CreateUserInput`],
//! [`UpdateUserInput`]) that validate into domain values.
//! Adapters live in the infrastructure crate; tests mock the ports.

mod input;
mod ports;
mod sign_in;
#[cfg(test)]
mod tests;
mod users;

pub use input::{CreateUserInput, UpdateUserInput};
pub use ports::{
    AttemptOutcome, HashError, IdentityPorts, IssuedToken, PasswordHasher, RepositoryError,
    SignInLocked, SignInThrottle, TokenClaims, TokenError, TokenService, Tokens, UserFilter,
    UserRepository,
};
pub use sign_in::{Authenticate, AuthenticateError, Login, LoginError, Logout};
pub use users::{
    CreateAdmin, CreateAdminOutcome, CreateUser, CreateUserError, DeactivateUser, GetUser,
    ListUsers, UpdateUser, UserCommandError,
};

#[cfg(any(test, feature = "mocks"))]
pub use ports::{MockPasswordHasher, MockSignInThrottle, MockTokenService, MockUserRepository};
