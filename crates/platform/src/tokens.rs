//! Access and service tokens: HS256 JWTs signed from a key ring.
//!
//! Encoding, signature checks and claim validation are `jsonwebtoken`'s; this module pins
//! the one algorithm we accept (HS256, so neither `none` nor an asymmetric-key confusion
//! gets through), picks the verifying key by the token's `kid`, and names what the library
//! requires: issuer, audience, `exp`, `nbf` and `sub`.

use std::path::Path;
use std::sync::Arc;

use anyhow::Context;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use base64::Engine;
use hmac::{Hmac, Mac};
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
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
/// The one algorithm tokens are signed and verified with.
const ALGORITHM: Algorithm = Algorithm::HS256;
/// Clock skew tolerated on `exp` and `nbf`, in seconds.
const LEEWAY_SECS: u64 = 30;
/// Shortest secret we sign with: 32 bytes of entropy, as `openssl rand -base64 32` gives.
pub const MIN_SECRET_LEN: usize = 32;

struct Key {
    kid: String,
    secret: SecretString,
    encoding: EncodingKey,
    decoding: DecodingKey,
    /// The keyed MAC of each purpose signed or checked so far (purposes are constants in
    /// code, so this stays a handful): deriving it costs four SHA-256 blocks, more than
    /// an offer's payload.
    purposes: std::sync::RwLock<Vec<(String, Hmac<Sha256>)>>,
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
            encoding: EncodingKey::from_secret(secret.as_bytes())?,
            decoding: DecodingKey::from_secret(secret.as_bytes())?,
            purposes: std::sync::RwLock::default(),
        })
    }

    /// The MAC keyed for one purpose: HMAC(secret, "ota-travel/" + purpose) as its key.
    fn purpose_mac(&self, purpose: &str) -> Hmac<Sha256> {
        let known = |list: &[(String, Hmac<Sha256>)]| {
            list.iter()
                .find(|(p, _)| p == purpose)
                .map(|(_, mac)| mac.clone())
        };
        if let Some(mac) = known(&self.purposes.read().unwrap_or_else(|e| e.into_inner())) {
            return mac;
        }
        let mut kdf = self.mac();
        kdf.update(b"ota-travel/");
        kdf.update(purpose.as_bytes());
        let derived = kdf.finalize().into_bytes();
        let mac = Hmac::<Sha256>::new_from_slice(&derived)
            .unwrap_or_else(|_| unreachable!("HMAC accepts every key length"));
        let mut list = self.purposes.write().unwrap_or_else(|e| e.into_inner());
        if known(&list).is_none() {
            list.push((purpose.to_owned(), mac.clone()));
        }
        mac
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

    /// Signs `claims` with the current key, naming it in the header's `kid`.
    pub fn sign<C: Serialize>(&self, claims: &C) -> String {
        let header = Header {
            kid: Some(self.current.kid.clone()),
            ..Header::new(ALGORITHM)
        };
        jsonwebtoken::encode(&header, claims, &self.current.encoding)
            .expect("claims serialise to a JSON object and HMAC signs with any key")
    }

    /// Checks algorithm, key id, signature, issuer, audience and validity window.
    pub fn verify(&self, token: &str, audience: &str) -> Result<Claims, TokenError> {
        let header = jsonwebtoken::decode_header(token).map_err(|_| header_error(token))?;
        if header.alg != ALGORITHM {
            return Err(TokenError::Algorithm);
        }
        let key = std::iter::once(&self.current)
            .chain(&self.previous)
            .find(|k| Some(k.kid.as_str()) == header.kid.as_deref())
            .ok_or(TokenError::UnknownKey)?;
        let mut validation = Validation::new(ALGORITHM);
        validation.leeway = LEEWAY_SECS;
        validation.validate_exp = true;
        validation.validate_nbf = true;
        validation.set_issuer(&[ISSUER]);
        validation.set_audience(&[audience]);
        validation.set_required_spec_claims(&["exp", "nbf", "iss", "aud", "sub"]);
        jsonwebtoken::decode::<Claims>(token, &key.decoding, &validation)
            .map(|data| data.claims)
            .map_err(|e| TokenError::from(e.kind()))
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
    let mut mac = key.purpose_mac(purpose);
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

/// Why a header the library would not read was refused: a readable header naming an
/// algorithm the library does not know (`none`, `hs256`) is the algorithm's fault, anything
/// else is malformed. Only the answer's wording depends on this; the token is refused
/// either way.
fn header_error(token: &str) -> TokenError {
    #[derive(Deserialize)]
    struct Alg {
        alg: String,
    }
    let alg = token
        .split('.')
        .next()
        .and_then(|h| {
            base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(h)
                .ok()
        })
        .and_then(|json| serde_json::from_slice::<Alg>(&json).ok());
    match alg {
        Some(Alg { alg }) if alg != "HS256" => TokenError::Algorithm,
        _ => TokenError::Malformed,
    }
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

impl From<&ErrorKind> for TokenError {
    fn from(kind: &ErrorKind) -> Self {
        match kind {
            ErrorKind::InvalidSignature => TokenError::Signature,
            ErrorKind::InvalidAlgorithm
            | ErrorKind::MissingAlgorithm
            | ErrorKind::UnsupportedAlgorithm => TokenError::Algorithm,
            ErrorKind::InvalidIssuer | ErrorKind::InvalidAudience => TokenError::Audience,
            ErrorKind::ExpiredSignature => TokenError::Expired,
            ErrorKind::ImmatureSignature => TokenError::NotYetValid,
            _ => TokenError::Malformed,
        }
    }
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
    use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;

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

    /// A token built by hand: header and claims as given, HMAC-SHA256 (or -SHA512) over
    /// them with `secret`.
    fn hand_signed(header: &str, claims: &serde_json::Value, secret: &str, sha512: bool) -> String {
        let input = format!(
            "{}.{}",
            B64.encode(header),
            B64.encode(serde_json::to_vec(claims).expect("json"))
        );
        let signature = if sha512 {
            let mut mac =
                Hmac::<sha2::Sha512>::new_from_slice(secret.as_bytes()).expect("any key length");
            mac.update(input.as_bytes());
            mac.finalize().into_bytes().to_vec()
        } else {
            let mut mac =
                Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("any key length");
            mac.update(input.as_bytes());
            mac.finalize().into_bytes().to_vec()
        };
        format!("{input}.{}", B64.encode(signature))
    }

    fn header(alg: &str, kid: &str) -> String {
        format!(r#"{{"alg":"{alg}","typ":"JWT","kid":"{kid}"}}"#)
    }

    #[test]
    fn tokens_signed_before_the_library_took_over_still_verify() {
        let ring = KeyRing::parse(A).expect("ring");
        let c = claims(AUDIENCE_PUBLIC, 60);
        let t = hand_signed(
            &header("HS256", &key_id(A)),
            &serde_json::to_value(&c).expect("json"),
            A,
            false,
        );
        assert_eq!(ring.verify(&t, AUDIENCE_PUBLIC), Ok(c));
        let signed = ring.sign(&claims(AUDIENCE_PUBLIC, 60));
        let header: serde_json::Value = serde_json::from_slice(
            &B64.decode(signed.split('.').next().expect("header"))
                .expect("base64"),
        )
        .expect("json");
        assert_eq!(header["alg"], "HS256");
        assert_eq!(header["typ"], "JWT");
        assert_eq!(header["kid"], key_id(A));
    }

    #[test]
    fn algorithm_confusion_is_refused_even_with_a_valid_signature() {
        let ring = KeyRing::parse(A).expect("ring");
        let c = serde_json::to_value(claims(AUDIENCE_PUBLIC, 60)).expect("json");
        // Correctly signed with our own secret, but under HS512.
        let hs512 = hand_signed(&header("HS512", &key_id(A)), &c, A, true);
        assert_eq!(
            ring.verify(&hs512, AUDIENCE_PUBLIC),
            Err(TokenError::Algorithm)
        );
        // An asymmetric algorithm whose "public key" would be our HMAC secret.
        for alg in ["RS256", "ES256", "PS256", "EdDSA"] {
            let confused = hand_signed(&header(alg, &key_id(A)), &c, A, false);
            assert_eq!(
                ring.verify(&confused, AUDIENCE_PUBLIC),
                Err(TokenError::Algorithm),
                "{alg}"
            );
        }
        // Spellings the library does not know are the algorithm's fault too.
        for alg in ["none", "None", "hs256", ""] {
            let forged = hand_signed(&header(alg, &key_id(A)), &c, A, false);
            assert_eq!(
                ring.verify(&forged, AUDIENCE_PUBLIC),
                Err(TokenError::Algorithm),
                "{alg}"
            );
        }
    }

    #[test]
    fn wrong_keys_and_missing_or_unknown_kids_are_refused() {
        let ring = KeyRing::parse(A).expect("ring");
        let c = serde_json::to_value(claims(AUDIENCE_PUBLIC, 60)).expect("json");
        // Our kid, someone else's secret.
        let wrong_key = hand_signed(&header("HS256", &key_id(A)), &c, B, false);
        assert_eq!(
            ring.verify(&wrong_key, AUDIENCE_PUBLIC),
            Err(TokenError::Signature)
        );
        let no_kid = hand_signed(r#"{"alg":"HS256","typ":"JWT"}"#, &c, A, false);
        assert_eq!(
            ring.verify(&no_kid, AUDIENCE_PUBLIC),
            Err(TokenError::UnknownKey)
        );
        let unknown_kid = hand_signed(&header("HS256", "000000000000"), &c, A, false);
        assert_eq!(
            ring.verify(&unknown_kid, AUDIENCE_PUBLIC),
            Err(TokenError::UnknownKey)
        );
        // A signature stripped or swapped from another token.
        let t = ring.sign(&claims(AUDIENCE_PUBLIC, 60));
        let (input, _) = t.rsplit_once('.').expect("signature");
        assert_eq!(
            ring.verify(&format!("{input}."), AUDIENCE_PUBLIC),
            Err(TokenError::Signature)
        );
        let other = ring.sign(&claims(AUDIENCE_INTERNAL, 60));
        let (_, other_signature) = other.rsplit_once('.').expect("signature");
        assert_eq!(
            ring.verify(&format!("{input}.{other_signature}"), AUDIENCE_PUBLIC),
            Err(TokenError::Signature)
        );
    }

    #[test]
    fn tokens_are_refused_before_nbf_and_after_exp_beyond_the_leeway() {
        let ring = KeyRing::parse(A).expect("ring");
        let now = chrono::Utc::now().timestamp();
        let mut c = claims(AUDIENCE_PUBLIC, 600);
        c.nbf = now + 300;
        assert_eq!(
            ring.verify(&ring.sign(&c), AUDIENCE_PUBLIC),
            Err(TokenError::NotYetValid)
        );
        // Clock skew within the leeway is tolerated on both ends.
        c.nbf = now + 10;
        assert!(ring.verify(&ring.sign(&c), AUDIENCE_PUBLIC).is_ok());
        let c = claims(AUDIENCE_PUBLIC, -10);
        assert!(ring.verify(&ring.sign(&c), AUDIENCE_PUBLIC).is_ok());
        let c = claims(AUDIENCE_PUBLIC, -60);
        assert_eq!(
            ring.verify(&ring.sign(&c), AUDIENCE_PUBLIC),
            Err(TokenError::Expired)
        );
    }

    #[test]
    fn foreign_issuers_and_audiences_are_refused() {
        let ring = KeyRing::parse(A).expect("ring");
        let mut c = claims(AUDIENCE_PUBLIC, 60);
        c.iss = "someone-else".into();
        assert_eq!(
            ring.verify(&ring.sign(&c), AUDIENCE_PUBLIC),
            Err(TokenError::Audience)
        );
        let c = claims("ota-travel-staging", 60);
        assert_eq!(
            ring.verify(&ring.sign(&c), AUDIENCE_PUBLIC),
            Err(TokenError::Audience)
        );
        let service = ring.service_token("booking-service");
        assert!(ring.verify(&service, AUDIENCE_INTERNAL).is_ok());
        assert_eq!(
            ring.verify(&service, AUDIENCE_PUBLIC),
            Err(TokenError::Audience)
        );
    }

    #[test]
    fn malformed_tokens_and_claims_are_refused() {
        let ring = KeyRing::parse(A).expect("ring");
        for garbage in ["", "not.a.jwt", "a.b", "a.b.c.d", "...", "e30.e30.e30"] {
            assert_eq!(
                ring.verify(garbage, AUDIENCE_PUBLIC),
                Err(TokenError::Malformed),
                "{garbage}"
            );
        }
        // Correctly signed, but missing a claim we require or with one of the wrong type.
        let mut c = serde_json::to_value(claims(AUDIENCE_PUBLIC, 60)).expect("json");
        let h = header("HS256", &key_id(A));
        for claim in ["nbf", "exp", "sub", "iss", "aud"] {
            let mut missing = c.clone();
            missing.as_object_mut().expect("object").remove(claim);
            assert_eq!(
                ring.verify(&hand_signed(&h, &missing, A, false), AUDIENCE_PUBLIC),
                Err(TokenError::Malformed),
                "{claim}"
            );
        }
        c["exp"] = serde_json::json!("tomorrow");
        assert_eq!(
            ring.verify(&hand_signed(&h, &c, A, false), AUDIENCE_PUBLIC),
            Err(TokenError::Malformed)
        );
    }
}
