//! Tokens. Access tokens are HS256 JWTs (60 minutes) naming the user, role, hospital and login
//! (`sid`, the refresh-token family). Refresh tokens are 256 random bits, shown once and stored
//! only as their SHA-256.

use base64::{Engine as _, engine::general_purpose::URL_SAFE_NO_PAD};
use chrono::{Duration, Utc};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use rand::Rng as _;
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use super::model::{Principal, UserType};
use crate::ids::{HospitalId, UserId};

/// The claims of an access token. `token_type` and `user_id` are the names simplejwt uses, so
/// frontends that decode the token keep working.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AccessClaims {
    pub token_type: String,
    pub exp: i64,
    pub iat: i64,
    pub jti: Uuid,
    pub user_id: UserId,
    pub user_type: UserType,
    pub hospital_id: Option<HospitalId>,
    pub sid: Uuid,
}

impl AccessClaims {
    pub fn principal(&self) -> Principal {
        Principal {
            user_id: self.user_id,
            user_type: self.user_type,
            hospital_id: self.hospital_id,
            session_id: self.sid,
        }
    }
}

/// Signs and checks access tokens.
#[derive(Clone)]
pub struct TokenKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    access_ttl: Duration,
}

impl TokenKeys {
    pub fn new(secret: &SecretString, access_ttl_minutes: i64) -> Self {
        let bytes = secret.expose_secret().as_bytes();
        let mut validation = Validation::new(Algorithm::HS256);
        validation.leeway = 5;
        validation.set_required_spec_claims(&["exp", "iat"]);
        Self {
            encoding: EncodingKey::from_secret(bytes),
            decoding: DecodingKey::from_secret(bytes),
            validation,
            access_ttl: Duration::minutes(access_ttl_minutes),
        }
    }

    /// A fresh access token for this principal.
    pub fn issue_access(&self, principal: &Principal) -> anyhow::Result<String> {
        let now = Utc::now();
        let claims = AccessClaims {
            token_type: "access".into(),
            exp: (now + self.access_ttl).timestamp(),
            iat: now.timestamp(),
            jti: Uuid::new_v4(),
            user_id: principal.user_id,
            user_type: principal.user_type,
            hospital_id: principal.hospital_id,
            sid: principal.session_id,
        };
        Ok(jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)?)
    }

    /// The claims of a well-signed, unexpired access token; `None` for anything else.
    pub fn decode_access(&self, token: &str) -> Option<AccessClaims> {
        let data = jsonwebtoken::decode::<AccessClaims>(token, &self.decoding, &self.validation).ok()?;
        (data.claims.token_type == "access").then_some(data.claims)
    }
}

/// A new refresh token: the text for the client and the hash to store.
pub fn new_refresh_token() -> (String, Vec<u8>) {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    let token = URL_SAFE_NO_PAD.encode(bytes);
    let hash = hash_refresh_token(&token);
    (token, hash)
}

/// The stored form of a refresh token.
pub fn hash_refresh_token(token: &str) -> Vec<u8> {
    Sha256::digest(token.as_bytes()).to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn principal() -> Principal {
        Principal {
            user_id: UserId(7),
            user_type: UserType::Doctor,
            hospital_id: Some(HospitalId(3)),
            session_id: Uuid::new_v4(),
        }
    }

    #[test]
    fn access_tokens_round_trip_and_reject_other_keys() {
        let keys = TokenKeys::new(&SecretString::from("a".repeat(40)), 60);
        let token = keys.issue_access(&principal()).expect("issue");
        let claims = keys.decode_access(&token).expect("valid");
        assert_eq!(claims.principal().user_id, UserId(7));
        assert_eq!(claims.hospital_id, Some(HospitalId(3)));
        let other = TokenKeys::new(&SecretString::from("b".repeat(40)), 60);
        assert!(other.decode_access(&token).is_none());
        assert!(keys.decode_access("not.a.jwt").is_none());
    }

    #[test]
    fn expired_access_tokens_are_refused() {
        let keys = TokenKeys::new(&SecretString::from("a".repeat(40)), -10);
        let token = keys.issue_access(&principal()).expect("issue");
        assert!(keys.decode_access(&token).is_none());
    }

    #[test]
    fn refresh_tokens_are_random_and_hashed() {
        let (a, hash_a) = new_refresh_token();
        let (b, _) = new_refresh_token();
        assert_ne!(a, b);
        assert_eq!(a.len(), 43);
        assert_eq!(hash_refresh_token(&a), hash_a);
    }
}
