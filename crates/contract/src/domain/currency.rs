//! ISO 4217 currencies in circulation and their minor units.

use super::text_value;

/// Codes in circulation whose minor unit is not the hundredth (ISO 4217's list; funds
/// and precious metals, which have none, are not currencies we price in).
const NOT_TWO: &[(&str, u8)] = &[
    ("BHD", 3),
    ("BIF", 0),
    ("CLF", 4),
    ("CLP", 0),
    ("DJF", 0),
    ("GNF", 0),
    ("IQD", 3),
    ("ISK", 0),
    ("JOD", 3),
    ("JPY", 0),
    ("KMF", 0),
    ("KRW", 0),
    ("KWD", 3),
    ("LYD", 3),
    ("OMR", 3),
    ("PYG", 0),
    ("RWF", 0),
    ("TND", 3),
    ("UGX", 0),
    ("UYI", 0),
    ("UYW", 4),
    ("VND", 0),
    ("VUV", 0),
    ("XAF", 0),
    ("XOF", 0),
    ("XPF", 0),
];

/// Codes in circulation with two decimals, sorted.
const TWO: &[&str] = &[
    "AED", "AFN", "ALL", "AMD", "ANG", "AOA", "ARS", "AUD", "AWG", "AZN", "BAM", "BBD", "BDT",
    "BGN", "BMD", "BND", "BOB", "BOV", "BRL", "BSD", "BTN", "BWP", "BYN", "BZD", "CAD", "CDF",
    "CHE", "CHF", "CHW", "CNY", "COP", "COU", "CRC", "CUP", "CVE", "CZK", "DKK", "DOP", "DZD",
    "EGP", "ERN", "ETB", "EUR", "FJD", "FKP", "GBP", "GEL", "GHS", "GIP", "GMD", "GTQ", "GYD",
    "HKD", "HNL", "HTG", "HUF", "IDR", "ILS", "INR", "IRR", "JMD", "KES", "KGS", "KHR", "KPW",
    "KYD", "KZT", "LAK", "LBP", "LKR", "LRD", "LSL", "MAD", "MDL", "MGA", "MKD", "MMK", "MNT",
    "MOP", "MRU", "MUR", "MVR", "MWK", "MXN", "MXV", "MYR", "MZN", "NAD", "NGN", "NIO", "NOK",
    "NPR", "NZD", "PAB", "PEN", "PGK", "PHP", "PKR", "PLN", "QAR", "RON", "RSD", "RUB", "SAR",
    "SBD", "SCR", "SDG", "SEK", "SGD", "SHP", "SLE", "SOS", "SRD", "SSP", "STN", "SVC", "SYP",
    "SZL", "THB", "TJS", "TMT", "TOP", "TRY", "TTD", "TWD", "TZS", "UAH", "USD", "USN", "UYU",
    "UZS", "VED", "VES", "WST", "XCD", "XCG", "YER", "ZAR", "ZMW", "ZWG",
];

/// An ISO 4217 currency in circulation, such as `USD`, with its minor units.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Currency {
    code: [u8; 3],
    minor_units: u8,
}

/// Why a text is not a currency.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("must be an ISO 4217 currency code in upper case, such as USD")]
pub struct CurrencyError;

impl Currency {
    pub const USD: Currency = Currency {
        code: *b"USD",
        minor_units: 2,
    };
    pub const EUR: Currency = Currency {
        code: *b"EUR",
        minor_units: 2,
    };

    /// Three upper-case letters naming a currency in circulation.
    pub fn parse(raw: &str) -> Result<Self, CurrencyError> {
        let code: [u8; 3] = raw.as_bytes().try_into().map_err(|_| CurrencyError)?;
        let minor_units = if TWO.binary_search(&raw).is_ok() {
            2
        } else {
            NOT_TWO
                .binary_search_by(|(c, _)| c.cmp(&raw))
                .map(|i| NOT_TWO[i].1)
                .map_err(|_| CurrencyError)?
        };
        Ok(Self { code, minor_units })
    }

    /// Decimal places of the minor unit: JPY 0, USD 2, KWD 3.
    pub fn minor_units(self) -> u8 {
        self.minor_units
    }

    pub fn as_str(&self) -> &str {
        // Parsed from a `str` of three ASCII letters: always UTF-8.
        std::str::from_utf8(&self.code).unwrap_or_default()
    }
}

impl AsRef<str> for Currency {
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

text_value!(
    Currency,
    CurrencyError,
    "USD",
    "An ISO 4217 currency code in circulation."
);

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn the_tables_are_sorted_and_apart() {
        assert!(TWO.windows(2).all(|w| w[0] < w[1]));
        assert!(NOT_TWO.windows(2).all(|w| w[0].0 < w[1].0));
        assert!(NOT_TWO.iter().all(|(c, _)| TWO.binary_search(c).is_err()));
    }

    #[test]
    fn currencies_know_their_minor_units() {
        let units = |c: &str| Currency::parse(c).map(Currency::minor_units);
        assert_eq!(units("JPY"), Ok(0));
        assert_eq!(units("USD"), Ok(2));
        assert_eq!(units("EUR"), Ok(2));
        assert_eq!(units("KWD"), Ok(3));
        assert_eq!(units("CLF"), Ok(4));
        assert_eq!(Currency::parse("USD"), Ok(Currency::USD));
        assert_eq!(Currency::parse("EUR"), Ok(Currency::EUR));
        for bad in ["", "usd", "US", "USDD", "XXX", "XAU", "ABC"] {
            assert_eq!(Currency::parse(bad), Err(CurrencyError), "{bad}");
        }
        let back: Currency = serde_json::from_str("\"JPY\"").expect("json");
        assert_eq!(back.to_string(), "JPY");
        assert!(serde_json::from_str::<Currency>("\"yen\"").is_err());
    }

    proptest! {
        #[test]
        fn only_listed_codes_parse(raw in "\\PC{0,4}") {
            if let Ok(c) = Currency::parse(&raw) {
                prop_assert_eq!(c.as_str(), raw.as_str());
                prop_assert!(c.minor_units() <= 4);
            }
        }
    }
}
