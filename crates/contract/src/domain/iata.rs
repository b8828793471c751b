//! IATA codes: an airport (or a metropolitan area: `NYC`) and an airline.

use super::text_value;

/// Why a text is not an IATA code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum IataError {
    #[error("must be a three-letter IATA airport or city code")]
    Airport,
    #[error("must be a two-character IATA airline code")]
    Carrier,
}

/// Upper-cases `raw` (trimmed) into `N` bytes when every byte passes `ok`.
fn code<const N: usize>(raw: &str, ok: fn(u8) -> bool) -> Option<[u8; N]> {
    let s = raw.trim().as_bytes();
    if s.len() != N || !s.iter().all(|b| ok(*b)) {
        return None;
    }
    let mut out = [0u8; N];
    for (o, b) in out.iter_mut().zip(s) {
        *o = b.to_ascii_uppercase();
    }
    Some(out)
}

/// Every byte of a code is ASCII, so this never falls back.
fn text(bytes: &[u8]) -> &str {
    std::str::from_utf8(bytes).unwrap_or_default()
}

/// An airport or metropolitan area: three letters, upper case (`JFK`, `NYC`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct AirportCode([u8; 3]);

impl AirportCode {
    /// Three ASCII letters in either case, surrounding white space dropped.
    pub fn parse(raw: &str) -> Result<Self, IataError> {
        code(raw, |b| b.is_ascii_alphabetic())
            .map(Self)
            .ok_or(IataError::Airport)
    }

    pub fn as_str(&self) -> &str {
        text(&self.0)
    }
}

impl AsRef<str> for AirportCode {
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

text_value!(
    AirportCode,
    IataError,
    "JFK",
    "An IATA airport code, or a metropolitan code standing for several airports (NYC)."
);

/// An airline designator: two letters or digits, upper case (`BA`, `U2`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CarrierCode([u8; 2]);

impl CarrierCode {
    /// Two ASCII letters or digits in either case, surrounding white space dropped.
    pub fn parse(raw: &str) -> Result<Self, IataError> {
        code(raw, |b| b.is_ascii_alphanumeric())
            .map(Self)
            .ok_or(IataError::Carrier)
    }

    pub fn as_str(&self) -> &str {
        text(&self.0)
    }
}

impl AsRef<str> for CarrierCode {
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

text_value!(
    CarrierCode,
    IataError,
    "BA",
    "An IATA airline designator: two letters or digits."
);

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn airport_codes_are_three_letters() {
        assert_eq!(AirportCode::parse(" jfk").expect("valid").as_str(), "JFK");
        for bad in ["", "JF", "JFKX", "J1K", "ÅLK", "J K"] {
            assert_eq!(AirportCode::parse(bad), Err(IataError::Airport), "{bad}");
        }
        let back: AirportCode = serde_json::from_str("\"NYC\"").expect("json");
        assert_eq!(serde_json::to_string(&back).expect("json"), "\"NYC\"");
    }

    #[test]
    fn carrier_codes_are_two_letters_or_digits() {
        assert_eq!(CarrierCode::parse("u2").expect("valid").as_str(), "U2");
        assert_eq!(CarrierCode::parse("BA").expect("valid").to_string(), "BA");
        for bad in ["", "B", "BAW", "B-", "ß"] {
            assert_eq!(CarrierCode::parse(bad), Err(IataError::Carrier), "{bad}");
        }
    }

    proptest! {
        #[test]
        fn parsed_codes_are_upper_case_ascii(raw in "\\PC{0,6}") {
            if let Ok(a) = AirportCode::parse(&raw) {
                prop_assert_eq!(a.as_str(), raw.trim().to_ascii_uppercase());
                prop_assert!(a.as_str().bytes().all(|b| b.is_ascii_uppercase()));
            }
            if let Ok(c) = CarrierCode::parse(&raw) {
                prop_assert_eq!(c.as_str().len(), 2);
                prop_assert!(c.as_str().bytes().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit()));
            }
        }
    }
}
