//! `ota ops jwt …`: the JWT key ring.

use std::io::Read;

use anyhow::Context;
use clap::Subcommand;
use ota_platform::tokens::{KeyRing, generate_secret, key_id};
use secrecy::{ExposeSecret, SecretString};

#[derive(Subcommand, Debug)]
pub enum JwtCommand {
    /// Print the next secret JSON: a fresh `secret`, the current one moved to
    /// `previous`, so tokens already issued stay valid until they expire and nobody is
    /// logged out. Reads the current secret (raw or JSON) from JWT_SECRET or stdin.
    Rotate {
        #[arg(long = "current", env = "JWT_SECRET", hide_env_values = true)]
        current: Option<SecretString>,
    },
}

pub fn run(command: JwtCommand) -> anyhow::Result<i32> {
    match command {
        JwtCommand::Rotate { current } => {
            let current = match current {
                Some(c) => c.expose_secret().to_owned(),
                None => {
                    let mut s = String::new();
                    std::io::stdin()
                        .read_to_string(&mut s)
                        .context("reading the current secret from stdin")?;
                    s
                }
            };
            let next = rotate(&current)?;
            println!("{next}");
            Ok(0)
        }
    }
}

/// The rotated secret document for the current one.
pub fn rotate(current: &str) -> anyhow::Result<String> {
    // Validate the current secret the way the services will read it.
    KeyRing::parse(current).context("the current secret is not a valid JWT secret")?;
    let current_secret = if current.trim().starts_with('{') {
        let doc: serde_json::Value = serde_json::from_str(current.trim())?;
        doc.get("secret")
            .and_then(|s| s.as_str())
            .map(str::to_owned)
            .context("the current secret JSON has no \"secret\"")?
    } else {
        current.trim().to_owned()
    };
    let fresh = generate_secret();
    eprintln!(
        "new signing key id {}; previous key id {} stays accepted until its tokens expire",
        key_id(&fresh),
        key_id(&current_secret)
    );
    Ok(serde_json::json!({"secret": fresh, "previous": current_secret}).to_string())
}

#[cfg(test)]
mod tests {
    use super::rotate;
    use ota_platform::tokens::KeyRing;

    #[test]
    fn rotation_moves_the_current_secret_to_previous() {
        let current = r#"{"secret":"current-secret-current-secret-current-1","previous":"older-secret-older-secret-older-secret-2"}"#;
        let next = rotate(current).expect("rotates");
        let doc: serde_json::Value = serde_json::from_str(&next).expect("json");
        assert_eq!(doc["previous"], "current-secret-current-secret-current-1");
        assert_ne!(doc["secret"], doc["previous"]);
        let ring = KeyRing::parse(&next).expect("valid ring");
        assert_eq!(ring.key_ids().len(), 2);
    }

    #[test]
    fn a_raw_secret_rotates_too_and_garbage_is_refused() {
        assert!(rotate("raw-secret-raw-secret-raw-secret-raw-secret").is_ok());
        assert!(rotate("short").is_err());
    }
}
