//! An e-mail address: the one rule auth, booking and the web site check.

use super::text_value;

/// The longest address SMTP carries (RFC 5321: 254 characters) and the longest local part.
const MAX_LEN: usize = 254;
const MAX_LOCAL_LEN: usize = 64;

/// An e-mail address as given (trimmed), and its lower-cased form that accounts match on.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Email {
    display: String,
    normalized: String,
}

/// Why a text is not an e-mail address.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum EmailError {
    #[error("is required")]
    Empty,
    #[error("must be an e-mail address such as ada@example.com")]
    Invalid,
}

impl Email {
    /// One `@` between a local part (1 to 64 characters) and a dotted domain (no empty
    /// label at either end, no `..`), at most 254 characters, no spaces or control
    /// characters; surrounding white space is dropped.
    pub fn parse(raw: &str) -> Result<Self, EmailError> {
        let s = raw.trim();
        if s.is_empty() {
            return Err(EmailError::Empty);
        }
        if s.len() > MAX_LEN || s.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(EmailError::Invalid);
        }
        let (local, domain) = s.rsplit_once('@').ok_or(EmailError::Invalid)?;
        let domain_ok = domain.contains('.')
            && !domain.starts_with('.')
            && !domain.ends_with('.')
            && !domain.contains("..");
        if local.is_empty() || local.len() > MAX_LOCAL_LEN || local.contains('@') || !domain_ok {
            return Err(EmailError::Invalid);
        }
        Ok(Self {
            display: s.to_owned(),
            normalized: s.to_lowercase(),
        })
    }

    /// The address as the person typed it (trimmed).
    pub fn as_str(&self) -> &str {
        &self.display
    }

    /// Lower-cased: what two spellings of one address have in common.
    pub fn normalized(&self) -> &str {
        &self.normalized
    }

    /// The lower-cased part before the `@`.
    pub fn local_part(&self) -> &str {
        self.normalized
            .rsplit_once('@')
            .map_or(self.normalized.as_str(), |(local, _)| local)
    }
}

impl AsRef<str> for Email {
    fn as_ref(&self) -> &str {
        &self.display
    }
}

text_value!(
    Email,
    EmailError,
    "ada@example.com",
    "An e-mail address: one @ between a local part and a dotted domain, at most 254 characters."
);

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn addresses_are_trimmed_and_matched_lower_cased() {
        let e = Email::parse("  Ada.Lovelace@Example.COM ").expect("valid");
        assert_eq!(e.as_str(), "Ada.Lovelace@Example.COM");
        assert_eq!(e.normalized(), "ada.lovelace@example.com");
        assert_eq!(e.local_part(), "ada.lovelace");
        assert_eq!(e.to_string(), "Ada.Lovelace@Example.COM");
    }

    #[test]
    fn what_is_not_an_address_is_refused() {
        assert_eq!(Email::parse("  "), Err(EmailError::Empty));
        for bad in [
            "ada",
            "ada@",
            "@example.com",
            "ada@example",
            "a b@example.com",
            "a@b@c.com",
            "ada@.example.com",
            "ada@example.com.",
            "ada@example..com",
            "ada\u{7}@example.com",
        ] {
            assert_eq!(Email::parse(bad), Err(EmailError::Invalid), "{bad}");
        }
        let long_local = format!("{}@example.com", "a".repeat(65));
        assert_eq!(Email::parse(&long_local), Err(EmailError::Invalid));
        let long = format!("ada@{}.com", "a".repeat(250));
        assert_eq!(Email::parse(&long), Err(EmailError::Invalid));
    }

    #[test]
    fn json_refuses_a_bad_address_on_the_way_in() {
        let e: Email = serde_json::from_str("\"ada@example.com\"").expect("valid");
        assert_eq!(
            serde_json::to_string(&e).expect("json"),
            "\"ada@example.com\""
        );
        let err = serde_json::from_str::<Email>("\"ada@\"").expect_err("refused");
        assert!(
            err.to_string().contains("must be an e-mail address"),
            "{err}"
        );
    }

    proptest! {
        #[test]
        fn any_parsed_address_reads_back_as_itself(raw in "\\PC{0,80}") {
            if let Ok(e) = Email::parse(&raw) {
                prop_assert_eq!(Email::parse(e.as_str()), Ok(e.clone()));
                prop_assert_eq!(e.as_str().matches('@').count(), 1);
                prop_assert!(e.as_str().len() <= MAX_LEN);
                prop_assert_eq!(e.normalized(), e.as_str().to_lowercase());
            }
        }

        #[test]
        fn plain_addresses_parse(local in "[a-z0-9._+-]{1,64}", domain in "[a-z0-9-]{1,20}(\\.[a-z]{2,6}){1,3}") {
            let raw = format!("{local}@{domain}");
            let e = Email::parse(&raw).expect("a plain address");
            prop_assert_eq!(e.as_str(), raw.as_str());
        }
    }
}
