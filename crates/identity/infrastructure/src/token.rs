//! Access tokens: JWT signed with HS256, issued by and for this API only.

use hub_identity_application::{IssuedToken, TokenClaims, TokenError, TokenService};
use hub_kernel::Role;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

/// The signing secret (`JWT_SECRET`): at least 32 bytes.
#[derive(Clone)]
pub struct JwtSecret(Vec<u8>);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "JWT_SECRET must be at least {min} bytes long (got {got}); generate one with `openssl rand -base64 48`"
)]
pub struct JwtSecretError {
    pub min: usize,
    pub got: usize,
}

impl JwtSecret {
    pub const MIN_LEN: usize = 32;

    pub fn new(secret: &str) -> Result<Self, JwtSecretError> {
        let bytes = secret.trim().as_bytes();
        if bytes.len() < Self::MIN_LEN {
            return Err(JwtSecretError {
                min: Self::MIN_LEN,
                got: bytes.len(),
            });
        }
        Ok(Self(bytes.to_vec()))
    }
}

impl std::fmt::Debug for JwtSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("JwtSecret(***)")
    }
}

/// Who issues the tokens (`iss`). Fixed: a token from anything else that
/// happens to share the secret is refused.
pub const ISSUER: &str = "hub-chantier";
/// Whom the tokens are for (`aud`): this API, not some other service.
pub const AUDIENCE: &str = "hub-chantier-api";
/// How far in the future a token's `iat` may be: the instances of a
/// deployment sign with the same secret, and their clocks may differ by a
/// few seconds; a minute covers any NTP-synchronised host, while a token
/// "issued" hours ahead (a forged or misconfigured issuer) is refused.
const CLOCK_SKEW: Duration = Duration::seconds(60);

#[derive(Debug, Serialize, Deserialize)]
struct Claims {
    sub: Uuid,
    role: Role,
    /// The user's token version at issue (required: a token without it
    /// could not be revoked).
    ver: i32,
    iss: String,
    aud: String,
    iat: i64,
    exp: i64,
}

/// Issues and verifies HS256 tokens valid for `ttl`.
pub struct JwtTokenService {
    encoding: EncodingKey,
    decoding: DecodingKey,
    ttl: Duration,
}

impl std::fmt::Debug for JwtTokenService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JwtTokenService")
            .field("ttl", &self.ttl)
            .finish_non_exhaustive()
    }
}

impl JwtTokenService {
    pub fn new(secret: &JwtSecret, ttl: std::time::Duration) -> Self {
        Self {
            encoding: EncodingKey::from_secret(&secret.0),
            decoding: DecodingKey::from_secret(&secret.0),
            ttl: Duration::try_from(ttl).unwrap_or(Duration::hours(1)),
        }
    }
}

/// The token service of a process that signs nobody in (the `create-admin`
/// command builds the identity use cases from [`IdentityPorts`], tokens
/// included): it issues no token and accepts none.
///
/// [`IdentityPorts`]: hub_identity_application::IdentityPorts
#[derive(Debug, Clone, Copy, Default)]
pub struct NoTokens;

impl TokenService for NoTokens {
    fn issue(
        &self,
        _user_id: Uuid,
        _role: Role,
        _token_version: i32,
        _now: OffsetDateTime,
    ) -> Result<IssuedToken, TokenError> {
        Err(TokenError::Issue(
            "this process issues no tokens".to_owned(),
        ))
    }

    fn verify(&self, _token: &str, _now: OffsetDateTime) -> Result<TokenClaims, TokenError> {
        Err(TokenError::Invalid)
    }
}

impl TokenService for JwtTokenService {
    fn issue(
        &self,
        user_id: Uuid,
        role: Role,
        token_version: i32,
        now: OffsetDateTime,
    ) -> Result<IssuedToken, TokenError> {
        let claims = Claims {
            sub: user_id,
            role,
            ver: token_version,
            iss: ISSUER.to_owned(),
            aud: AUDIENCE.to_owned(),
            iat: now.unix_timestamp(),
            exp: (now + self.ttl).unix_timestamp(),
        };
        let token = jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .map_err(|e| TokenError::Issue(e.to_string()))?;
        Ok(IssuedToken {
            token,
            expires_in: self.ttl,
        })
    }

    fn verify(&self, token: &str, now: OffsetDateTime) -> Result<TokenClaims, TokenError> {
        // Only HS256 is accepted (no `none`, no algorithm confusion), from
        // this issuer for this audience; expiry and issue time are checked
        // below against the injected clock.
        let mut validation = Validation::new(Algorithm::HS256);
        validation.validate_exp = false;
        validation.set_issuer(&[ISSUER]);
        validation.set_audience(&[AUDIENCE]);
        validation.set_required_spec_claims(&["exp", "sub", "iat", "iss", "aud"]);
        let claims = jsonwebtoken::decode::<Claims>(token, &self.decoding, &validation)
            .map_err(|_| TokenError::Invalid)?
            .claims;
        let to_time =
            |secs| OffsetDateTime::from_unix_timestamp(secs).map_err(|_| TokenError::Invalid);
        let (issued_at, expires_at) = (to_time(claims.iat)?, to_time(claims.exp)?);
        if issued_at > now + CLOCK_SKEW {
            return Err(TokenError::Invalid);
        }
        if now >= expires_at {
            return Err(TokenError::Expired);
        }
        Ok(TokenClaims {
            user_id: claims.sub,
            role: claims.role,
            token_version: claims.ver,
            issued_at,
            expires_at,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    const NOW: OffsetDateTime = datetime!(2026-11-26 10:00 UTC);

    fn service(secret: &str) -> JwtTokenService {
        JwtTokenService::new(
            &JwtSecret::new(secret).unwrap(),
            std::time::Duration::from_secs(3600),
        )
    }

    #[test]
    fn no_tokens_issues_none_and_accepts_none() {
        let issued = NoTokens.issue(Uuid::now_v7(), Role::Admin, 0, NOW);
        assert!(matches!(issued, Err(TokenError::Issue(_))), "{issued:?}");
        let valid = service(&"k".repeat(32))
            .issue(Uuid::now_v7(), Role::Admin, 0, NOW)
            .unwrap();
        assert_eq!(NoTokens.verify(&valid.token, NOW), Err(TokenError::Invalid));
    }

    #[test]
    fn secret_must_be_long_enough() {
        let error = JwtSecret::new("short").unwrap_err();
        assert_eq!(error.got, 5);
        assert!(error.to_string().contains("at least 32 bytes"));
        assert!(JwtSecret::new(&"k".repeat(32)).is_ok());
        assert_eq!(
            format!("{:?}", JwtSecret::new(&"k".repeat(32)).unwrap()),
            "JwtSecret(***)"
        );
    }

    #[test]
    fn issued_tokens_verify_until_they_expire() {
        let tokens = service(&"a".repeat(40));
        let user = Uuid::now_v7();
        let issued = tokens.issue(user, Role::Conducteur, 4, NOW).unwrap();
        assert_eq!(issued.expires_in, Duration::hours(1));
        let claims = tokens
            .verify(&issued.token, NOW + Duration::minutes(59))
            .unwrap();
        assert_eq!(
            (claims.user_id, claims.role, claims.token_version),
            (user, Role::Conducteur, 4)
        );
        assert_eq!(claims.expires_at, NOW + Duration::hours(1));
        assert_eq!(
            tokens.verify(&issued.token, NOW + Duration::hours(1)),
            Err(TokenError::Expired)
        );
    }

    #[test]
    fn foreign_tampered_and_unsigned_tokens_are_invalid() {
        let issued = service(&"a".repeat(40))
            .issue(Uuid::now_v7(), Role::Compagnon, 0, NOW)
            .unwrap();
        let other = service(&"b".repeat(40));
        assert_eq!(other.verify(&issued.token, NOW), Err(TokenError::Invalid));

        // Swap the payload for one claiming admin, keeping the signature.
        let mut parts: Vec<&str> = issued.token.split('.').collect();
        let forged_payload = base64_url(&format!(
            r#"{{"sub":"{}","role":"admin","ver":0,"iss":"hub-chantier","aud":"hub-chantier-api","iat":{},"exp":{}}}"#,
            Uuid::now_v7(),
            NOW.unix_timestamp(),
            NOW.unix_timestamp() + 3600
        ));
        parts[1] = &forged_payload;
        let forged = parts.join(".");
        let tokens = service(&"a".repeat(40));
        assert_eq!(tokens.verify(&forged, NOW), Err(TokenError::Invalid));

        let unsigned = format!(
            "{}.{}.",
            base64_url(r#"{"alg":"none","typ":"JWT"}"#),
            forged_payload
        );
        assert_eq!(tokens.verify(&unsigned, NOW), Err(TokenError::Invalid));
        assert_eq!(tokens.verify("garbage", NOW), Err(TokenError::Invalid));
    }

    /// A token signed with `secret` carrying exactly `claims`.
    fn signed(secret: &str, claims: &serde_json::Value) -> String {
        jsonwebtoken::encode(
            &Header::new(Algorithm::HS256),
            claims,
            &EncodingKey::from_secret(secret.as_bytes()),
        )
        .unwrap()
    }

    fn good_claims(user: Uuid) -> serde_json::Value {
        serde_json::json!({
            "sub": user, "role": "conducteur", "ver": 0,
            "iss": "hub-chantier", "aud": "hub-chantier-api",
            "iat": NOW.unix_timestamp(), "exp": NOW.unix_timestamp() + 3600,
        })
    }

    #[test]
    fn issuer_audience_and_version_are_required_and_checked() {
        let secret = "a".repeat(40);
        let tokens = service(&secret);
        let user = Uuid::now_v7();
        let good = good_claims(user);
        assert_eq!(
            tokens.verify(&signed(&secret, &good), NOW).unwrap().user_id,
            user
        );
        let issued = tokens.issue(user, Role::Conducteur, 0, NOW).unwrap();
        let payload: serde_json::Value =
            serde_json::from_slice(&base64_url_decode(issued.token.split('.').nth(1).unwrap()))
                .unwrap();
        assert_eq!(payload["iss"], "hub-chantier");
        assert_eq!(payload["aud"], "hub-chantier-api");

        let mut cases = Vec::new();
        for (claim, value) in [
            ("iss", serde_json::json!("someone-else")),
            ("aud", serde_json::json!("another-api")),
            ("aud", serde_json::json!(["another-api"])),
        ] {
            let mut claims = good.clone();
            claims[claim] = value;
            cases.push((format!("wrong {claim}"), claims));
        }
        for claim in ["iss", "aud", "ver"] {
            let mut claims = good.clone();
            claims.as_object_mut().unwrap().remove(claim);
            cases.push((format!("no {claim}"), claims));
        }
        for (case, claims) in cases {
            assert_eq!(
                tokens.verify(&signed(&secret, &claims), NOW),
                Err(TokenError::Invalid),
                "{case}"
            );
        }
    }

    #[test]
    fn a_token_issued_in_the_future_is_refused_beyond_a_minute_of_clock_skew() {
        let secret = "a".repeat(40);
        let tokens = service(&secret);
        let issued_at = |offset: i64| {
            let mut claims = good_claims(Uuid::now_v7());
            claims["iat"] = serde_json::json!(NOW.unix_timestamp() + offset);
            signed(&secret, &claims)
        };
        // Another instance's clock may run a little ahead of ours.
        assert!(tokens.verify(&issued_at(60), NOW).is_ok());
        assert_eq!(tokens.verify(&issued_at(61), NOW), Err(TokenError::Invalid));
        assert_eq!(
            tokens.verify(&issued_at(3000), NOW),
            Err(TokenError::Invalid)
        );
    }

    fn base64_url_decode(text: &str) -> Vec<u8> {
        const ALPHABET: &[u8; 64] =
            b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        let mut bits = 0u32;
        let mut count = 0;
        let mut out = Vec::new();
        for c in text.bytes() {
            let value = ALPHABET.iter().position(|&a| a == c).unwrap() as u32;
            bits = (bits << 6) | value;
            count += 6;
            if count >= 8 {
                count -= 8;
                out.push((bits >> count) as u8);
                bits &= (1 << count) - 1;
            }
        }
        out
    }

    fn base64_url(text: &str) -> String {
        const ALPHABET: &[u8; 64] =
            b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        let bytes = text.as_bytes();
        let mut out = String::new();
        for chunk in bytes.chunks(3) {
            let n = chunk
                .iter()
                .enumerate()
                .fold(0u32, |acc, (i, b)| acc | (u32::from(*b) << (16 - 8 * i)));
            for i in 0..=chunk.len() {
                out.push(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize] as char);
            }
        }
        out
    }
}
