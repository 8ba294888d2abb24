//! Identity use cases — signing in, checking tokens, administering users —
//! and the ports they need ([`UserRepository`], [`PasswordHasher`],
//! [`TokenService`], [`SignInThrottle`]). Adapters live in the infrastructure crate; tests mock
//! the ports.

mod ports;
mod use_cases;

pub use ports::{
    AttemptOutcome, HashError, IssuedToken, PasswordHasher, RepositoryError, SignInLocked,
    SignInThrottle, TokenClaims, TokenError, TokenService, Tokens, UserFilter, UserRepository,
};
pub use use_cases::{
    Authenticate, AuthenticateError, CreateAdmin, CreateAdminOutcome, CreateUser, CreateUserError,
    CreateUserInput, DeactivateUser, GetUser, ListUsers, Login, LoginError, Logout, UpdateUser,
    UpdateUserInput, UserCommandError,
};

#[cfg(any(test, feature = "mocks"))]
pub use ports::{MockPasswordHasher, MockSignInThrottle, MockTokenService, MockUserRepository};
