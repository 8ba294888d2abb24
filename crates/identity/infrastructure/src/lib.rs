//! Identity adapters: the PostgreSQL [`DieselUserRepository`] (users and
//! their events in one transaction), [`Argon2Hasher`] behind a
//! [`BoundedHasher`], the per-account [`InMemorySignInThrottle`],
//! [`JwtTokenService`],
//! the [`IdentityAuthenticator`] every route's extractor relies on (reading
//! users through the [`UserCache`], which [`user_cache::listen`] keeps
//! current), and the
//! HTTP routes of `/api/v1/auth` and `/api/v1/users`; [`CONTEXT`] is how the
//! app lists it.

mod authenticator;
mod context;
pub mod http;
mod password;
mod repository;
mod schema;
mod throttle;
mod token;
pub mod user_cache;

pub use authenticator::IdentityAuthenticator;
pub use context::{CONTEXT, IdentitySettings};
pub use http::{IdentityApi, IdentityHttp, RATE_LIMIT_RULES};
pub use password::{Argon2Error, Argon2Hasher, BoundedHasher, HashingLimit};
pub use repository::DieselUserRepository;
pub use throttle::{InMemorySignInThrottle, SignInLimit};
pub use token::{JwtSecret, JwtSecretError, JwtTokenService, NoTokens};
pub use user_cache::UserCache;
