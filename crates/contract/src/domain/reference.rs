//! A booking reference (PNR-like): six characters read over the phone.

use rand::Rng;

use super::text_value;

/// Letters and digits nobody confuses when reading a reference aloud (no I, O, 0 or 1).
pub const ALPHABET: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZ23456789";
/// Characters in a reference.
pub const LEN: usize = 6;

/// Six characters of [`ALPHABET`], upper case, such as `K7QX2M`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct BookingReference(String);

/// Why a text is not a booking reference.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("must be six letters and digits such as K7QX2M")]
pub struct BookingReferenceError;

impl BookingReference {
    /// Accepts lower case and surrounding white space (people type references).
    pub fn parse(raw: &str) -> Result<Self, BookingReferenceError> {
        let s = raw.trim().to_ascii_uppercase();
        if s.len() == LEN && s.bytes().all(|b| ALPHABET.contains(&b)) {
            Ok(Self(s))
        } else {
            Err(BookingReferenceError)
        }
    }

    /// A fresh random reference (about 10⁹ of them: the store retries a collision).
    pub fn random(rng: &mut impl Rng) -> Self {
        Self(
            (0..LEN)
                .map(|_| char::from(ALPHABET[rng.random_range(0..ALPHABET.len())]))
                .collect(),
        )
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl AsRef<str> for BookingReference {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

text_value!(
    BookingReference,
    BookingReferenceError,
    "K7QX2M",
    "A booking reference: six characters of ABCDEFGHJKLMNPQRSTUVWXYZ23456789."
);

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn references_are_read_as_people_type_them() {
        let r = BookingReference::parse(" k7qx2m ").expect("valid");
        assert_eq!(r.as_str(), "K7QX2M");
        for bad in [
            "", "K7QX2", "K7QX2MM", "K7QX2O", "K7QX21", "K7QX-M", "КQX2MA",
        ] {
            assert_eq!(
                BookingReference::parse(bad),
                Err(BookingReferenceError),
                "{bad}"
            );
        }
        let back: BookingReference = serde_json::from_str("\"K7QX2M\"").expect("json");
        assert_eq!(back, r);
        assert!(serde_json::from_str::<BookingReference>("\"nope\"").is_err());
    }

    #[test]
    fn random_references_parse() {
        let mut rng = rand::rng();
        for _ in 0..200 {
            let r = BookingReference::random(&mut rng);
            assert_eq!(BookingReference::parse(r.as_str()), Ok(r));
        }
    }

    proptest! {
        #[test]
        fn only_six_characters_of_the_alphabet_parse(raw in "\\PC{0,10}") {
            if let Ok(r) = BookingReference::parse(&raw) {
                prop_assert_eq!(r.as_str().len(), LEN);
                prop_assert!(r.as_str().bytes().all(|b| ALPHABET.contains(&b)));
                prop_assert_eq!(r.as_str(), raw.trim().to_ascii_uppercase());
            }
        }
    }
}
