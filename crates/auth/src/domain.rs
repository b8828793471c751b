//! Validated inputs: an email, a password and a display name that cannot be built
//! invalid.

use std::collections::HashSet;
use std::sync::LazyLock;

use ota_platform::FieldError;

/// Common passwords refused at registration (from the zxcvbn lists; see data/README.md).
static COMMON_PASSWORDS: LazyLock<HashSet<&'static str>> = LazyLock::new(|| {
    include_str!("../data/common-passwords.txt")
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect()
});

pub const PASSWORD_MIN_CHARS: usize = 12;
pub const PASSWORD_MAX_CHARS: usize = 128;

fn error(field: &str, message: &str) -> FieldError {
    FieldError {
        field: field.to_owned(),
        message: message.to_owned(),
    }
}

/// An account's e-mail address: the one rule every service checks, with the
/// lower-cased form accounts match on.
pub use ota_contract::Email;

/// The address at `email`, or the field error registration answers.
pub fn email(raw: &str) -> Result<Email, FieldError> {
    Email::parse(raw)
        .map_err(|_| error("email", "must be an e-mail address such as ada@example.com"))
}

/// A password that meets our rules. Never logged, never stored: only its hash is.
pub struct Password(String);

impl std::fmt::Debug for Password {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Password([REDACTED])")
    }
}

impl Password {
    /// The rules for a new password.
    pub fn parse_new(raw: &str, email: Option<&Email>) -> Result<Self, FieldError> {
        let chars = raw.chars().count();
        if chars < PASSWORD_MIN_CHARS {
            return Err(error("password", "must be at least 12 characters long"));
        }
        if chars > PASSWORD_MAX_CHARS {
            return Err(error("password", "must be at most 128 characters long"));
        }
        let lower = raw.to_lowercase();
        let mut distinct: Vec<char> = lower.chars().collect();
        distinct.sort_unstable();
        distinct.dedup();
        if COMMON_PASSWORDS.contains(lower.as_str()) || distinct.len() < 4 {
            return Err(error(
                "password",
                "is too common or too easy to guess; choose another",
            ));
        }
        if let Some(e) = email {
            let local = e.local_part();
            if lower == e.normalized() || (local.len() >= 4 && lower.contains(local)) {
                return Err(error("password", "must not contain your e-mail address"));
            }
        }
        Ok(Self(raw.to_owned()))
    }

    /// A password presented at login: only bounded in length (the hash costs time).
    pub fn parse_presented(raw: &str) -> Option<Self> {
        (raw.chars().count() <= PASSWORD_MAX_CHARS).then(|| Self(raw.to_owned()))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

/// A traveller's display name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Name(pub String);

impl Name {
    pub fn parse(raw: &str) -> Result<Self, FieldError> {
        let s = raw.trim();
        if s.is_empty() {
            return Err(error("name", "must not be empty"));
        }
        if s.chars().count() > 100 {
            return Err(error("name", "must be at most 100 characters long"));
        }
        if s.chars().any(char::is_control) {
            return Err(error("name", "must not contain control characters"));
        }
        Ok(Self(s.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_checked_and_normalised() {
        let e = email("  Ada.Lovelace@Example.COM ").expect("valid");
        assert_eq!(e.as_str(), "Ada.Lovelace@Example.COM");
        assert_eq!(e.normalized(), "ada.lovelace@example.com");
        for bad in [
            "",
            "ada",
            "ada@",
            "@example.com",
            "ada@example",
            "ada @example.com",
            "a@b@c.com",
            "ada@.com",
            "ada@example..com",
        ] {
            let refused = email(bad).expect_err(bad);
            assert_eq!(refused.field, "email");
        }
    }

    #[test]
    fn passwords_need_length_and_must_not_be_common() {
        assert!(Password::parse_new("short-pass", None).is_err());
        assert!(Password::parse_new(&"x".repeat(129), None).is_err());
        assert!(Password::parse_new("password1234", None).is_err());
        assert!(Password::parse_new("PASSWORD1234", None).is_err());
        assert!(Password::parse_new("aaaaaaaaaaaaaaaa", None).is_err());
        assert!(Password::parse_new("correct horse battery staple", None).is_ok());
        // 12 characters counted as characters, not bytes.
        assert!(Password::parse_new("çàéüöñßøåæœł", None).is_ok());
    }

    #[test]
    fn passwords_must_not_contain_the_email() {
        let e = email("marguerite@example.com").expect("valid");
        assert!(Password::parse_new("marguerite-2026!", Some(&e)).is_err());
        assert!(Password::parse_new("violet-tulip-harbour", Some(&e)).is_ok());
    }

    #[test]
    fn debug_never_shows_a_password() {
        let p = Password::parse_new("violet-tulip-harbour", None).expect("valid");
        assert!(!format!("{p:?}").contains("violet"));
    }

    #[test]
    fn names_are_trimmed_and_bounded() {
        assert_eq!(Name::parse("  Ada ").expect("valid").0, "Ada");
        assert!(Name::parse("   ").is_err());
        assert!(Name::parse(&"n".repeat(101)).is_err());
        assert!(Name::parse("a\u{0}b").is_err());
    }
}
