//! The identity context's answer to "who is this token?" for every route.

use std::error::Error;

use async_trait::async_trait;
use hub_identity_application::{Authenticate, AuthenticateError};
use hub_kernel::Actor;
use hub_platform_http::auth::{AuthError, Authenticator};

/// [`Authenticator`] backed by the `Authenticate` use case: the token must be
/// valid and its user still active; the user's current role applies.
pub struct IdentityAuthenticator {
    authenticate: Authenticate,
}

impl std::fmt::Debug for IdentityAuthenticator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("IdentityAuthenticator")
    }
}

impl IdentityAuthenticator {
    pub fn new(authenticate: Authenticate) -> Self {
        Self { authenticate }
    }
}

/// `error` and its causes, `: `-separated.
fn chain<'a>(error: &'a (dyn Error + 'static)) -> String {
    std::iter::successors(Some(error), |&e: &&'a dyn Error| e.source())
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(": ")
}

#[async_trait]
impl Authenticator for IdentityAuthenticator {
    async fn authenticate(&self, token: &str) -> Result<Actor, AuthError> {
        self.authenticate
            .execute(token)
            .await
            .map_err(|error| match error {
                AuthenticateError::Invalid => AuthError::Invalid,
                AuthenticateError::Expired => AuthError::Expired,
                AuthenticateError::Revoked => AuthError::Revoked,
                AuthenticateError::Unavailable(_) => {
                    // Logged here, once, with every cause: the client only
                    // learns that the check could not be made.
                    tracing::error!(error = %chain(&error), "token check failed");
                    AuthError::Unavailable
                }
            })
    }
}
