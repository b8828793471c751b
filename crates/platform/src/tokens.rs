//! Access and service tokens: HS256 JWTs signed from a key ring.
//!
//! Hand-written on `hmac` rather than a general JWT library: we accept exactly one
//! algorithm, so the verifier cannot be talked into `none` or an asymmetric-key
//! confusion, and the build stays free of RSA/EC stacks we never use.

use std::path::Path;
use std::sync::Arc;

use anyhow::Context;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use hmac::{Hmac, Mac};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::config::JwtSettings;
use crate::problem::Problem;

pub const ISSUER: &str = "ota-travel";
/// Audience of the tokens travellers carry.
pub const AUDIENCE_PUBLIC: &str = "ota-travel";
/// Audience of the tokens services present to each other's internal APIs.
pub const AUDIENCE_INTERNAL: &str = "ota-internal";
/// Clock skew tolerated on `exp` and `nbf`.
const LEEWAY_SECS: i64 = 30;
/// Shortest secret we sign with: 32 bytes of entropy, as `openssl rand -base64 32` gives.
pub const MIN_SECRET_LEN: usize = 32;

struct Key {
    kid: String,
    secret: SecretString,
}

impl Key {
    fn new(secret: &str) -> anyhow::Result<Self> {
        anyhow::ensure!(
            secret.len() >= MIN_SECRET_LEN,
            "JWT secrets must be at least {MIN_SECRET_LEN} characters"
        );
        Ok(Self {
            kid: key_id(secret),
            secret: SecretString::from(secret.to_owned()),
        })
    }

    fn mac(&self) -> Hmac<Sha256> {
        // HMAC takes keys of any length.
        Hmac::<Sha256>::new_from_slice(self.secret.expose_secret().as_bytes())
            .unwrap_or_else(|_| unreachable!("HMAC accepts every key length"))
    }
}

/// The public id of a secret: a short hash, so logs can say which keys are live without
/// revealing them.
pub fn key_id(secret: &str) -> String {
    let digest = Sha256::digest(secret.as_bytes());
    digest[..6].iter().map(|b| format!("{b:02x}")).collect()
}

/// The signing key and the previous keys still accepted for verification.
pub struct KeyRing {
    current: Key,
    previous: Vec<Key>,
}

impl std::fmt::Debug for KeyRing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyRing")
            .field("current", &self.current.kid)
            .field("previous", &self.key_ids().split_off(1))
            .finish()
    }
}

#[derive(Deserialize)]
#[serde(untagged)]
enum Previous {
    One(String),
    Many(Vec<String>),
}

#[derive(Deserialize)]
struct SecretDocument {
    secret: String,
    #[serde(default)]
    previous: Option<Previous>,
}

impl KeyRing {
    /// Parses either a raw secret or the secret document `{"secret", "previous"}`.
    pub fn parse(text: &str) -> anyhow::Result<Self> {
        let text = text.trim();
        if text.starts_with('{') {
            let doc: SecretDocument = serde_json::from_str(text).context(
                "the JWT secret looks like JSON but is not {\"secret\": ..., \"previous\": ...}",
            )?;
            let previous = match doc.previous {
                None => Vec::new(),
                Some(Previous::One(s)) if s.is_empty() => Vec::new(),
                Some(Previous::One(s)) => vec![s],
                Some(Previous::Many(v)) => v,
            };
            let mut ring = Self {
                current: Key::new(&doc.secret)?,
                previous: Vec::new(),
            };
            for s in previous.iter().filter(|s| **s != doc.secret) {
                ring.previous.push(Key::new(s)?);
            }
            Ok(ring)
        } else {
            Ok(Self {
                current: Key::new(text)?,
                previous: Vec::new(),
            })
        }
    }

    /// From `JWT_SECRET`, `JWT_SECRET_FILE`, or else a secret generated once and kept in
    /// the data directory (fine for a laptop, never for production).
    pub fn load(settings: &JwtSettings, data_dir: &Path) -> anyhow::Result<Self> {
        if let Some(secret) = &settings.jwt_secret {
            return Self::parse(secret.expose_secret()).context("JWT_SECRET");
        }
        if let Some(file) = &settings.jwt_secret_file {
            let text = std::fs::read_to_string(file)
                .with_context(|| format!("reading JWT_SECRET_FILE {}", file.display()))?;
            return Self::parse(&text)
                .with_context(|| format!("JWT_SECRET_FILE {}", file.display()));
        }
        let path = data_dir.join("jwt-secret");
        if let Ok(text) = std::fs::read_to_string(&path) {
            tracing::warn!(path = %path.display(), "JWT secret read from the data directory: set JWT_SECRET or JWT_SECRET_FILE in production");
            return Self::parse(&text).with_context(|| format!("{}", path.display()));
        }
        std::fs::create_dir_all(data_dir)
            .with_context(|| format!("creating the data directory {}", data_dir.display()))?;
        let secret = generate_secret();
        write_private(&path, &secret)?;
        tracing::warn!(path = %path.display(), "no JWT secret configured: generated one in the data directory (fine for a laptop, set JWT_SECRET or JWT_SECRET_FILE in production)");
        Self::parse(&secret)
    }

    /// Current key first.
    pub fn key_ids(&self) -> Vec<String> {
        std::iter::once(&self.current)
            .chain(&self.previous)
            .map(|k| k.kid.clone())
            .collect()
    }

    pub fn sign<C: Serialize>(&self, claims: &C) -> String {
        let header = serde_json::json!({"alg": "HS256", "typ": "JWT", "kid": self.current.kid});
        let signing_input = format!(
            "{}.{}",
            B64.encode(header.to_string()),
            B64.encode(serde_json::to_vec(claims).unwrap_or_default())
        );
        let mut mac = self.current.mac();
        mac.update(signing_input.as_bytes());
        let signature = B64.encode(mac.finalize().into_bytes());
        format!("{signing_input}.{signature}")
    }

    /// Checks signature, algorithm, key id, issuer, audience and validity window.
    pub fn verify(&self, token: &str, audience: &str) -> Result<Claims, TokenError> {
        let mut parts = token.split('.');
        let (Some(h), Some(c), Some(s), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(TokenError::Malformed);
        };
        let header: Header =
            serde_json::from_slice(&B64.decode(h).map_err(|_| TokenError::Malformed)?)
                .map_err(|_| TokenError::Malformed)?;
        if header.alg != "HS256" {
            return Err(TokenError::Algorithm);
        }
        let key = std::iter::once(&self.current)
            .chain(&self.previous)
            .find(|k| Some(k.kid.as_str()) == header.kid.as_deref())
            .ok_or(TokenError::UnknownKey)?;
        let signature = B64.decode(s).map_err(|_| TokenError::Malformed)?;
        let mut mac = key.mac();
        mac.update(&token.as_bytes()[..h.len() + 1 + c.len()]);
        mac.verify_slice(&signature)
            .map_err(|_| TokenError::Signature)?;
        let claims: Claims =
            serde_json::from_slice(&B64.decode(c).map_err(|_| TokenError::Malformed)?)
                .map_err(|_| TokenError::Malformed)?;
        let now = chrono::Utc::now().timestamp();
        if claims.iss != ISSUER || claims.aud != audience {
            return Err(TokenError::Audience);
        }
        if claims.exp + LEEWAY_SECS < now {
            return Err(TokenError::Expired);
        }
        if claims.nbf - LEEWAY_SECS > now {
            return Err(TokenError::NotYetValid);
        }
        Ok(claims)
    }

    /// Signs `data` for one purpose (offers, cursors) with a key derived from the current
    /// secret; answers the key id and the MAC. Derivation keeps each purpose's MACs
    /// useless for every other purpose, JWTs included.
    pub fn mac(&self, purpose: &str, data: &[u8]) -> (String, Vec<u8>) {
        (
            self.current.kid.clone(),
            derived_mac(&self.current, purpose, data),
        )
    }

    /// Checks a MAC made by [`KeyRing::mac`] with the current or a previous key, in
    /// constant time.
    pub fn verify_mac(&self, kid: &str, purpose: &str, data: &[u8], mac: &[u8]) -> bool {
        let Some(key) = std::iter::once(&self.current)
            .chain(&self.previous)
            .find(|k| k.kid == kid)
        else {
            return false;
        };
        let expected = derived_mac(key, purpose, data);
        subtle::ConstantTimeEq::ct_eq(expected.as_slice(), mac).into()
    }

    /// A short-lived token one service presents to another's internal API.
    pub fn service_token(&self, service: &str) -> String {
        let now = chrono::Utc::now().timestamp();
        self.sign(&Claims {
            sub: format!("service:{service}"),
            iss: ISSUER.to_owned(),
            aud: AUDIENCE_INTERNAL.to_owned(),
            exp: now + 120,
            nbf: now,
            iat: now,
            jti: uuid::Uuid::now_v7().to_string(),
            email: None,
            name: None,
        })
    }
}

fn derived_mac(key: &Key, purpose: &str, data: &[u8]) -> Vec<u8> {
    let mut kdf = key.mac();
    kdf.update(b"ota-travel/");
    kdf.update(purpose.as_bytes());
    let derived = kdf.finalize().into_bytes();
    let mut mac = Hmac::<Sha256>::new_from_slice(&derived)
        .unwrap_or_else(|_| unreachable!("HMAC accepts every key length"));
    mac.update(data);
    mac.finalize().into_bytes().to_vec()
}

/// 32 random bytes, base64: what `ota ops jwt rotate` and the embedded default use.
pub fn generate_secret() -> String {
    let bytes: [u8; 32] = rand::random();
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

fn write_private(path: &Path, text: &str) -> anyhow::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options
        .open(path)
        .with_context(|| format!("creating {}", path.display()))?;
    file.write_all(text.as_bytes())?;
    Ok(())
}

#[derive(Deserialize)]
struct Header {
    alg: String,
    kid: Option<String>,
}

/// The claims we issue and accept.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Claims {
    pub sub: String,
    pub iss: String,
    pub aud: String,
    pub exp: i64,
    pub nbf: i64,
    pub iat: i64,
    pub jti: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error("the token is malformed")]
    Malformed,
    #[error("the token's algorithm is not accepted")]
    Algorithm,
    #[error("the token was signed with an unknown key")]
    UnknownKey,
    #[error("the token's signature is invalid")]
    Signature,
    #[error("the token is not meant for this audience")]
    Audience,
    #[error("the token has expired")]
    Expired,
    #[error("the token is not valid yet")]
    NotYetValid,
}

// ---------------------------------------------------------------------------------------
// Extractors

/// The verifier every service shares, placed in request extensions by the HTTP stack.
#[derive(Clone)]
pub struct Verifier(pub Arc<KeyRing>);

fn bearer(parts: &Parts) -> Result<&str, Problem> {
    let value = parts
        .headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .ok_or_else(|| {
            Problem::unauthorized("Sign in first: an Authorization: Bearer token is required.")
        })?;
    let (scheme, token) = value.split_once(' ').ok_or_else(|| {
        Problem::unauthorized("The Authorization header must be `Bearer <token>`.")
    })?;
    if !scheme.eq_ignore_ascii_case("bearer") || token.trim().is_empty() {
        return Err(Problem::unauthorized(
            "The Authorization header must be `Bearer <token>`.",
        ));
    }
    Ok(token.trim())
}

fn verified(parts: &Parts, audience: &str) -> Result<Claims, Problem> {
    let token = bearer(parts)?;
    let verifier = parts.extensions.get::<Verifier>().ok_or_else(|| {
        tracing::error!("no token verifier installed on this router");
        Problem::internal()
    })?;
    verifier
        .0
        .verify(token, audience)
        .map_err(|e| Problem::unauthorized(format!("Invalid access token: {e}.")))
}

/// A signed-in traveller.
#[derive(Debug, Clone)]
pub struct AuthUser {
    pub id: uuid::Uuid,
    pub claims: Claims,
}

impl<S: Send + Sync> FromRequestParts<S> for AuthUser {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let claims = verified(parts, AUDIENCE_PUBLIC)?;
        let id = claims
            .sub
            .parse()
            .map_err(|_| Problem::unauthorized("Invalid access token: not a user token."))?;
        Ok(AuthUser { id, claims })
    }
}

/// Another OTA service calling an internal API.
#[derive(Debug, Clone)]
pub struct ServiceCaller {
    pub service: String,
}

impl<S: Send + Sync> FromRequestParts<S> for ServiceCaller {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let claims = verified(parts, AUDIENCE_INTERNAL)?;
        let service = claims
            .sub
            .strip_prefix("service:")
            .ok_or_else(|| Problem::forbidden("Internal APIs take service tokens only."))?;
        Ok(ServiceCaller {
            service: service.to_owned(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: &str = "first-secret-first-secret-first-secret-0001";
    const B: &str = "second-secret-second-secret-second-secret-02";

    fn claims(aud: &str, exp_in: i64) -> Claims {
        let now = chrono::Utc::now().timestamp();
        Claims {
            sub: uuid::Uuid::nil().to_string(),
            iss: ISSUER.into(),
            aud: aud.into(),
            exp: now + exp_in,
            nbf: now,
            iat: now,
            jti: "j".into(),
            email: None,
            name: None,
        }
    }

    #[test]
    fn a_signed_token_verifies_with_its_audience_only() {
        let ring = KeyRing::parse(A).expect("ring");
        let t = ring.sign(&claims(AUDIENCE_PUBLIC, 60));
        assert!(ring.verify(&t, AUDIENCE_PUBLIC).is_ok());
        assert_eq!(
            ring.verify(&t, AUDIENCE_INTERNAL),
            Err(TokenError::Audience)
        );
    }

    #[test]
    fn expired_tokens_are_refused() {
        let ring = KeyRing::parse(A).expect("ring");
        let t = ring.sign(&claims(AUDIENCE_PUBLIC, -120));
        assert_eq!(ring.verify(&t, AUDIENCE_PUBLIC), Err(TokenError::Expired));
    }

    #[test]
    fn alg_none_and_other_algorithms_are_refused() {
        let ring = KeyRing::parse(A).expect("ring");
        let t = ring.sign(&claims(AUDIENCE_PUBLIC, 60));
        let body = t.split('.').nth(1).expect("payload");
        for alg in ["none", "HS512", "RS256"] {
            let header = B64.encode(format!(
                r#"{{"alg":"{alg}","typ":"JWT","kid":"{}"}}"#,
                key_id(A)
            ));
            let forged = format!("{header}.{body}.");
            assert_eq!(
                ring.verify(&forged, AUDIENCE_PUBLIC),
                Err(TokenError::Algorithm)
            );
        }
    }

    #[test]
    fn tampered_payloads_and_unknown_keys_are_refused() {
        let ring = KeyRing::parse(A).expect("ring");
        let t = ring.sign(&claims(AUDIENCE_PUBLIC, 60));
        let mut parts: Vec<String> = t.split('.').map(str::to_owned).collect();
        let mut other = claims(AUDIENCE_PUBLIC, 60);
        other.sub = uuid::Uuid::max().to_string();
        parts[1] = B64.encode(serde_json::to_vec(&other).expect("json"));
        assert_eq!(
            ring.verify(&parts.join("."), AUDIENCE_PUBLIC),
            Err(TokenError::Signature)
        );
        let stranger = KeyRing::parse(B).expect("ring");
        assert_eq!(
            stranger.verify(&t, AUDIENCE_PUBLIC),
            Err(TokenError::UnknownKey)
        );
    }

    #[test]
    fn rotation_keeps_tokens_signed_with_the_previous_secret() {
        let old = KeyRing::parse(A).expect("ring");
        let t = old.sign(&claims(AUDIENCE_PUBLIC, 60));
        let rotated =
            KeyRing::parse(&format!(r#"{{"secret":"{B}","previous":"{A}"}}"#)).expect("ring");
        assert!(rotated.verify(&t, AUDIENCE_PUBLIC).is_ok());
        assert_eq!(rotated.key_ids(), vec![key_id(B), key_id(A)]);
        let fresh = rotated.sign(&claims(AUDIENCE_PUBLIC, 60));
        assert_eq!(
            old.verify(&fresh, AUDIENCE_PUBLIC),
            Err(TokenError::UnknownKey)
        );
    }

    #[test]
    fn purpose_macs_verify_only_for_their_purpose_and_data() {
        let ring = KeyRing::parse(A).expect("ring");
        let (kid, mac) = ring.mac("offer", b"payload");
        assert!(ring.verify_mac(&kid, "offer", b"payload", &mac));
        assert!(!ring.verify_mac(&kid, "cursor", b"payload", &mac));
        assert!(!ring.verify_mac(&kid, "offer", b"payloaD", &mac));
        assert!(!ring.verify_mac("unknown", "offer", b"payload", &mac));
        let rotated =
            KeyRing::parse(&format!(r#"{{"secret":"{B}","previous":"{A}"}}"#)).expect("ring");
        assert!(rotated.verify_mac(&kid, "offer", b"payload", &mac));
    }

    #[test]
    fn short_secrets_are_refused_and_debug_hides_secrets() {
        assert!(KeyRing::parse("short").is_err());
        let ring =
            KeyRing::parse(&format!(r#"{{"secret":"{B}","previous":["{A}"]}}"#)).expect("ring");
        let shown = format!("{ring:?}");
        assert!(!shown.contains("secret-"), "{shown}");
    }
}
