//! Signing in and out: [`Login`] (email and password, within the
//! per-account limit of failed attempts), [`Authenticate`] (an access token
//! to the acting user, as the user is now) and [`Logout`] (every token
//! issued so far stops working).

use std::error::Error;

use hub_identity_domain::{Email, User};
use hub_kernel::Actor;
use uuid::Uuid;

use crate::ports::{AttemptOutcome, HashError, IdentityPorts, IssuedToken, TokenError};
use crate::users::UserCommandError;

/// Why a sign-in failed. A wrong email, a wrong password and a deactivated
/// account are the same answer, so it reveals nothing.
#[derive(Debug, thiserror::Error)]
pub enum LoginError {
    #[error("invalid email or password")]
    InvalidCredentials,
    /// Too many failed sign-ins on this account (known or not): nothing
    /// was looked up or checked.
    #[error("too many failed sign-ins for this account; retry later")]
    Throttled { retry_after: std::time::Duration },
    /// Too many password checks in progress: nothing was checked.
    #[error("too many sign-ins are in progress; retry shortly")]
    Busy,
    /// Storage or hashing failed, or no token could be issued: a 500,
    /// logged with its cause.
    #[error("sign-in is temporarily unavailable")]
    Unavailable(#[source] Box<dyn Error + Send + Sync>),
}

hub_kernel::use_cases! {
    IdentityPorts;
    /// Signs a user in with email and password, within the per-account limit
    /// of failed attempts.
    Login,
    /// Turns an access token into the acting user, as the user is *now*: a
    /// deactivated user's tokens, and tokens issued before the user's last
    /// sign-out or deactivation, stop working at once; a changed role applies
    /// at once.
    Authenticate,
    /// Signs a user out everywhere: every token issued to them so far stops
    /// working (the version they carry is raised in one atomic update).
    Logout,
}

impl Login {
    pub async fn execute(
        &self,
        email: &str,
        password: &str,
    ) -> Result<(IssuedToken, User), LoginError> {
        // A locked account is refused before the lookup and the hash: the
        // answer and its cost are the same whether the account exists.
        let account = account_key(email);
        self.ports
            .throttle
            .begin(&account)
            .map_err(|locked| LoginError::Throttled {
                retry_after: locked.retry_after,
            })?;
        let result = self.check(email, password).await;
        let outcome = match &result {
            Ok(_) => AttemptOutcome::Succeeded,
            Err(LoginError::InvalidCredentials) => AttemptOutcome::Failed,
            Err(_) => AttemptOutcome::NotChecked,
        };
        self.ports.throttle.finish(&account, outcome);
        result
    }

    async fn check(&self, email: &str, password: &str) -> Result<(IssuedToken, User), LoginError> {
        let user = match Email::parse(email) {
            Ok(email) => self
                .ports
                .users
                .find_by_email(&email)
                .await
                .map_err(|e| LoginError::Unavailable(e.into()))?,
            Err(_) => None,
        };
        // Always pay for one hash check, even for an unknown email.
        let matches = self
            .ports
            .hasher
            .verify(password, user.as_ref().map(|u| u.password_hash().clone()))
            .await
            .map_err(|e| match e {
                HashError::Busy => LoginError::Busy,
                failed @ HashError::Failed(_) => LoginError::Unavailable(failed.into()),
            })?;
        let user = match user {
            Some(user) if matches && user.is_active() => user,
            _ => return Err(LoginError::InvalidCredentials),
        };
        let token = self
            .ports
            .tokens
            .issue(
                user.id(),
                user.role(),
                user.token_version(),
                self.ports.clock.now(),
            )
            .map_err(|e| LoginError::Unavailable(e.into()))?;
        Ok((token, user))
    }
}

/// The account a sign-in attempt counts against: the email as the users
/// table stores it (trimmed, lower-case), or the same normalisation of
/// whatever was typed when it is not an email at all.
fn account_key(email: &str) -> String {
    Email::parse(email).map_or_else(|_| email.trim().to_lowercase(), |e| e.as_str().to_owned())
}

/// Why a token does not authenticate anyone.
#[derive(Debug, thiserror::Error)]
pub enum AuthenticateError {
    #[error("the token is invalid")]
    Invalid,
    #[error("the token has expired")]
    Expired,
    #[error("the token was revoked, or the account is deactivated or no longer exists")]
    Revoked,
    /// The user could not be read: logged with its cause.
    #[error("authentication is unavailable")]
    Unavailable(#[source] Box<dyn Error + Send + Sync>),
}

impl Authenticate {
    pub async fn execute(&self, token: &str) -> Result<Actor, AuthenticateError> {
        let claims = self
            .ports
            .tokens
            .verify(token, self.ports.clock.now())
            .map_err(|e| match e {
                TokenError::Expired => AuthenticateError::Expired,
                TokenError::Invalid | TokenError::Issue(_) => AuthenticateError::Invalid,
            })?;
        let user = self
            .ports
            .users
            .find_for_authentication(claims.user_id)
            .await
            .map_err(|e| AuthenticateError::Unavailable(e.into()))?;
        match user {
            Some(user) if user.is_active() && user.token_version() == claims.token_version => {
                Ok(Actor {
                    user_id: user.id(),
                    role: user.role(),
                })
            }
            _ => Err(AuthenticateError::Revoked),
        }
    }
}

impl Logout {
    pub async fn execute(&self, user_id: Uuid) -> Result<(), UserCommandError> {
        Ok(self.ports.users.revoke_tokens(user_id).await?)
    }
}
