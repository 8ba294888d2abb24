//! argon2id password hashing, off the async threads.

use argon2::Argon2;
use argon2::password_hash::{
    PasswordHash as Phc, PasswordHasher as _, PasswordVerifier as _, SaltString,
};
use async_trait::async_trait;
use hub_identity_application::PasswordHasher;
use hub_identity_domain::{PasswordHash, PlainPassword};

/// argon2id with the crate's defaults (19 MiB, 2 passes, 1 lane: OWASP's
/// recommended minimum). Hashing takes tens of milliseconds, so it runs on
/// tokio's blocking pool.
#[derive(Debug, Clone)]
pub struct Argon2Hasher {
    /// Checked against when the account does not exist, so that an unknown
    /// email costs as much as a wrong password.
    dummy: String,
}

impl Argon2Hasher {
    /// Prepares the hasher (hashes one random value for the dummy check).
    pub fn new() -> Result<Self, String> {
        let salt = fresh_salt()?;
        let dummy = Argon2::default()
            .hash_password(salt.as_str().as_bytes(), &salt)
            .map_err(|e| e.to_string())?
            .to_string();
        Ok(Self { dummy })
    }
}

/// 16 random bytes from the operating system (ring's `SystemRandom`).
fn fresh_salt() -> Result<SaltString, String> {
    let mut bytes = [0u8; 16];
    ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut bytes)
        .map_err(|_| "no randomness available for a salt".to_owned())?;
    SaltString::encode_b64(&bytes).map_err(|e| e.to_string())
}

#[async_trait]
impl PasswordHasher for Argon2Hasher {
    async fn hash(&self, password: &PlainPassword) -> Result<PasswordHash, String> {
        let password = password.expose().to_owned();
        tokio::task::spawn_blocking(move || {
            let salt = fresh_salt()?;
            Argon2::default()
                .hash_password(password.as_bytes(), &salt)
                .map(|hash| PasswordHash::from_phc(hash.to_string()))
                .map_err(|e| e.to_string())
        })
        .await
        .map_err(|e| e.to_string())?
    }

    async fn verify(&self, password: &str, hash: Option<PasswordHash>) -> bool {
        let known = hash.is_some();
        let phc = hash.map_or_else(|| self.dummy.clone(), |h| h.as_phc().to_owned());
        let password = password.to_owned();
        let matches = tokio::task::spawn_blocking(move || {
            Phc::new(&phc)
                .map(|parsed| {
                    Argon2::default()
                        .verify_password(password.as_bytes(), &parsed)
                        .is_ok()
                })
                .unwrap_or(false)
        })
        .await
        .unwrap_or(false);
        known && matches
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hashes_are_argon2id_salted_and_verify() {
        let hasher = Argon2Hasher::new().unwrap();
        let password = PlainPassword::parse("correct horse battery").unwrap();
        let first = hasher.hash(&password).await.unwrap();
        let second = hasher.hash(&password).await.unwrap();
        assert!(first.as_phc().starts_with("$argon2id$"));
        assert_ne!(first, second, "a fresh salt each time");
        assert!(
            hasher
                .verify("correct horse battery", Some(first.clone()))
                .await
        );
        assert!(
            !hasher
                .verify("correct horse batterY", Some(first.clone()))
                .await
        );
        // Unknown account: never a match, even with the dummy's own input.
        assert!(!hasher.verify("anything at all", None).await);
        assert!(
            !hasher
                .verify("x", Some(PasswordHash::from_phc("not a phc".into())))
                .await
        );
    }
}
