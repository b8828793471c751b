//! Password hashing: argon2id at OWASP's minimum (19 MiB, t=2, p=1), run on the
//! blocking pool so a burst of logins never stalls the async workers.

use std::sync::LazyLock;

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};

use crate::domain::Password;

fn argon2() -> Argon2<'static> {
    let params = Params::new(19 * 1024, 2, 1, None)
        .unwrap_or_else(|_| unreachable!("OWASP parameters are valid argon2 parameters"));
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// A hash to verify against when the e-mail is unknown, so that answer takes as long as
/// a wrong password and does not reveal which accounts exist.
static DECOY: LazyLock<String> =
    LazyLock::new(|| hash_blocking("decoy-password-never-matches").unwrap_or_default());

fn hash_blocking(password: &str) -> Result<String, argon2::password_hash::Error> {
    let salt = SaltString::generate(&mut OsRng);
    Ok(argon2()
        .hash_password(password.as_bytes(), &salt)?
        .to_string())
}

pub async fn hash(password: Password) -> anyhow::Result<String> {
    tokio::task::spawn_blocking(move || hash_blocking(password.expose()))
        .await?
        .map_err(|e| anyhow::anyhow!("hashing a password: {e}"))
}

/// Verifies a password against a stored hash, or against the decoy when there is none.
pub async fn verify(password: Password, stored: Option<String>) -> anyhow::Result<bool> {
    tokio::task::spawn_blocking(move || {
        let known = stored.is_some();
        let stored = stored.unwrap_or_else(|| DECOY.clone());
        let parsed = PasswordHash::new(&stored)
            .map_err(|e| anyhow::anyhow!("a stored password hash is unreadable: {e}"))?;
        let ok = argon2()
            .verify_password(password.expose().as_bytes(), &parsed)
            .is_ok();
        Ok(known && ok)
    })
    .await?
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_hash_verifies_its_password_only() {
        let pw = || Password::parse_new("violet-tulip-harbour", None).expect("valid");
        let stored = hash(pw()).await.expect("hash");
        assert!(
            stored.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{stored}"
        );
        assert!(!stored.contains("violet"));
        assert!(verify(pw(), Some(stored.clone())).await.expect("verify"));
        let other = Password::parse_presented("violet-tulip-harbor").expect("bounded");
        assert!(!verify(other, Some(stored)).await.expect("verify"));
        assert!(!verify(pw(), None).await.expect("decoy"));
    }
}
