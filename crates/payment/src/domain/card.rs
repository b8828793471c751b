//! Validated payment inputs: a card that cannot be built invalid (and never shows its
//! number or CVC) and money amounts.

use chrono::{Datelike, NaiveDate};
use ota_contract::money::Money;
use ota_contract::payment::{Brand, CardInput};
use ota_platform::FieldError;

/// Largest amount one payment may carry, in minor units (10 million in the major unit):
/// far above any trip, far below where sums of amounts could overflow.
pub const MAX_AMOUNT: i64 = 1_000_000_000;
/// Years ahead a card may expire: issuers use at most 10; 20 leaves room.
pub const MAX_EXPIRY_YEARS: i32 = 20;

fn error(field: &str, message: &str) -> FieldError {
    FieldError {
        field: field.to_owned(),
        message: message.to_owned(),
    }
}

/// The Luhn (mod 10) check every card number carries in its last digit.
pub fn luhn_valid(digits: &str) -> bool {
    let mut sum = 0;
    for (i, c) in digits.bytes().rev().enumerate() {
        if !c.is_ascii_digit() {
            return false;
        }
        let mut d = u32::from(c - b'0');
        if i % 2 == 1 {
            d *= 2;
            if d > 9 {
                d -= 9;
            }
        }
        sum += d;
    }
    !digits.is_empty() && sum % 10 == 0
}

/// A card number: digits only, Luhn-valid, of a brand we accept. Only the provider ever
/// sees it; Debug shows the last four digits.
#[derive(Clone, PartialEq, Eq)]
pub struct CardNumber(String);

impl std::fmt::Debug for CardNumber {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "CardNumber(****{})", self.last4())
    }
}

impl CardNumber {
    pub fn parse(raw: &str) -> Result<(Self, Brand), FieldError> {
        let digits: String = raw.chars().filter(|c| !matches!(c, ' ' | '-')).collect();
        if !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(error("card.number", "must contain only digits"));
        }
        if !(12..=19).contains(&digits.len()) {
            return Err(error("card.number", "must be 12 to 19 digits long"));
        }
        if !luhn_valid(&digits) {
            return Err(error("card.number", "is not a valid card number"));
        }
        let brand = Brand::detect(&digits).ok_or_else(|| {
            error(
                "card.number",
                "must be a Visa, Mastercard, American Express or Discover card",
            )
        })?;
        Ok((Self(digits), brand))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn last4(&self) -> &str {
        &self.0[self.0.len().saturating_sub(4)..]
    }
}

/// The card verification code. Never stored anywhere; Debug hides it.
#[derive(Clone, PartialEq, Eq)]
pub struct Cvc(String);

impl std::fmt::Debug for Cvc {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Cvc([REDACTED])")
    }
}

impl Cvc {
    /// `brand` is None when the number itself was refused: then 3 or 4 digits pass.
    pub fn parse(raw: &str, brand: Option<Brand>) -> Result<Self, FieldError> {
        let s = raw.trim();
        let digits = !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
        let ok = match brand {
            Some(b) => digits && s.len() == b.cvc_len(),
            None => digits && (3..=4).contains(&s.len()),
        };
        if ok {
            Ok(Self(s.to_owned()))
        } else if brand == Some(Brand::Amex) {
            Err(error("card.cvc", "must be 4 digits for American Express"))
        } else {
            Err(error("card.cvc", "must be 3 digits"))
        }
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

/// A card's expiry: valid through the last day of its month.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Expiry {
    pub month: u32,
    pub year: i32,
}

impl Expiry {
    pub fn parse(month: i64, year: i64, today: NaiveDate) -> Result<Self, Vec<FieldError>> {
        let mut errors = Vec::new();
        if !(1..=12).contains(&month) {
            errors.push(error("card.exp_month", "must be from 1 to 12"));
        }
        let this_year = today.year();
        let latest = this_year + MAX_EXPIRY_YEARS;
        let year_ok = (i64::from(this_year)..=i64::from(latest)).contains(&year);
        if !year_ok {
            let message = if year < i64::from(this_year) {
                "the card has expired"
            } else {
                "must be a four-digit year within the next 20 years"
            };
            errors.push(error("card.exp_year", message));
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        // Both are within range: checked just above.
        let expiry = Self {
            month: month as u32,
            year: year as i32,
        };
        if expiry.has_passed(today) {
            return Err(vec![error("card.exp_year", "the card has expired")]);
        }
        Ok(expiry)
    }

    /// True once the expiry month is over.
    pub fn has_passed(&self, today: NaiveDate) -> bool {
        (self.year, self.month) < (today.year(), today.month())
    }
}

/// A cardholder's name as printed on the card.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HolderName(pub String);

impl HolderName {
    pub fn parse(raw: &str) -> Result<Self, FieldError> {
        let s = raw.trim();
        if s.is_empty() {
            return Err(error("card.holder_name", "must not be empty"));
        }
        if s.chars().count() > 100 {
            return Err(error(
                "card.holder_name",
                "must be at most 100 characters long",
            ));
        }
        if s.chars().any(char::is_control) {
            return Err(error(
                "card.holder_name",
                "must not contain control characters",
            ));
        }
        Ok(Self(s.to_owned()))
    }
}

/// A card that passed every check. Debug shows neither its number nor its CVC.
#[derive(Debug, Clone)]
pub struct Card {
    pub number: CardNumber,
    pub brand: Brand,
    pub expiry: Expiry,
    pub cvc: Cvc,
    pub holder_name: HolderName,
}

impl Card {
    /// Checks every field and names each one at fault.
    pub fn parse(input: &CardInput, today: NaiveDate) -> Result<Self, Vec<FieldError>> {
        let mut errors = Vec::new();
        let number = CardNumber::parse(input.number.expose());
        let brand = number.as_ref().ok().map(|(_, b)| *b);
        let expiry = Expiry::parse(input.exp_month, input.exp_year, today);
        let cvc = Cvc::parse(input.cvc.expose(), brand);
        let holder = HolderName::parse(&input.holder_name);
        let number = number.map_err(|e| errors.push(e)).ok();
        let expiry = expiry.map_err(|e| errors.extend(e)).ok();
        let cvc = cvc.map_err(|e| errors.push(e)).ok();
        let holder = holder.map_err(|e| errors.push(e)).ok();
        match (number, expiry, cvc, holder) {
            (Some((number, brand)), Some(expiry), Some(cvc), Some(holder_name)) => Ok(Self {
                number,
                brand,
                expiry,
                cvc,
                holder_name,
            }),
            _ => Err(errors),
        }
    }
}

/// An amount a payment or refund may carry: positive, bounded, in a currency code of
/// three capital letters. `field` is the JSON path named on refusal.
pub fn positive_amount(money: &Money, field: &str) -> Result<(), Vec<FieldError>> {
    let mut errors = Vec::new();
    if money.amount <= 0 {
        errors.push(error(
            &format!("{field}.amount"),
            "must be a positive amount in minor units",
        ));
    } else if money.amount > MAX_AMOUNT {
        errors.push(error(&format!("{field}.amount"), "is too large"));
    }
    if money.currency.len() != 3 || !money.currency.bytes().all(|b| b.is_ascii_uppercase()) {
        errors.push(error(
            &format!("{field}.currency"),
            "must be an ISO 4217 code such as USD",
        ));
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ota_contract::payment::CardSecret;

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, 25).expect("date")
    }

    fn input(number: &str, month: i64, year: i64, cvc: &str) -> CardInput {
        CardInput {
            number: CardSecret::new(number),
            exp_month: month,
            exp_year: year,
            cvc: CardSecret::new(cvc),
            holder_name: "Ada Lovelace".to_owned(),
        }
    }

    fn fields(errors: &[FieldError]) -> Vec<&str> {
        errors.iter().map(|e| e.field.as_str()).collect()
    }

    #[test]
    fn luhn_accepts_test_numbers_and_refuses_one_digit_off() {
        for good in [
            "4242424242424242",
            "5555555555554444",
            "378282246310005",
            "6011111111111117",
            "4000000000000002",
            "4000000000009995",
            "4000000000000069",
            "4000000000000127",
            "4000000000000119",
        ] {
            assert!(luhn_valid(good), "{good}");
        }
        for bad in ["4242424242424241", "5555555555554445", "", "42a2"] {
            assert!(!luhn_valid(bad), "{bad}");
        }
    }

    #[test]
    fn brands_come_from_the_issuer_prefix() {
        assert_eq!(Brand::detect("4242424242424242"), Some(Brand::Visa));
        assert_eq!(Brand::detect("5555555555554444"), Some(Brand::Mastercard));
        assert_eq!(Brand::detect("2223003122003222"), Some(Brand::Mastercard));
        assert_eq!(Brand::detect("378282246310005"), Some(Brand::Amex));
        assert_eq!(Brand::detect("341111111111111"), Some(Brand::Amex));
        assert_eq!(Brand::detect("6011111111111117"), Some(Brand::Discover));
        assert_eq!(Brand::detect("6500000000000002"), Some(Brand::Discover));
        assert_eq!(Brand::detect("6445644564456445"), Some(Brand::Discover));
        assert_eq!(
            Brand::detect("3530111333300000"),
            None,
            "JCB is not accepted"
        );
        assert_eq!(Brand::detect("5105"), Some(Brand::Mastercard));
        assert_eq!(Brand::detect("2720"), Some(Brand::Mastercard));
        assert_eq!(Brand::detect("2721"), None);
    }

    #[test]
    fn numbers_ignore_spaces_and_dashes_and_need_12_to_19_digits() {
        let (n, b) = CardNumber::parse("4242 4242-4242 4242").expect("valid");
        assert_eq!(
            (n.expose(), n.last4(), b),
            ("4242424242424242", "4242", Brand::Visa)
        );
        assert_eq!(
            CardNumber::parse("42424242424")
                .expect_err("11 digits")
                .field,
            "card.number"
        );
        assert!(
            CardNumber::parse("42424242424242424242").is_err(),
            "20 digits"
        );
        assert!(CardNumber::parse("4242424242424241").is_err(), "Luhn");
        assert!(CardNumber::parse("4242x42424242424").is_err(), "letters");
        assert!(CardNumber::parse("3530111333300000").is_err(), "brand");
    }

    #[test]
    fn expiry_month_range_and_the_past_are_refused() {
        assert!(
            Expiry::parse(11, 2026, today()).is_ok(),
            "this month still works"
        );
        assert!(Expiry::parse(12, 2046, today()).is_ok());
        let e = Expiry::parse(10, 2026, today()).expect_err("last month");
        assert_eq!(fields(&e), ["card.exp_year"]);
        let e = Expiry::parse(1, 2025, today()).expect_err("last year");
        assert_eq!(fields(&e), ["card.exp_year"]);
        let e = Expiry::parse(13, 2030, today()).expect_err("month 13");
        assert_eq!(fields(&e), ["card.exp_month"]);
        let e = Expiry::parse(0, 30, today()).expect_err("two digits");
        assert_eq!(fields(&e), ["card.exp_month", "card.exp_year"]);
        assert!(Expiry::parse(1, 2047, today()).is_err(), "too far ahead");
    }

    #[test]
    fn cvc_is_three_digits_or_four_for_amex() {
        assert!(Cvc::parse("123", Some(Brand::Visa)).is_ok());
        assert!(Cvc::parse("1234", Some(Brand::Visa)).is_err());
        assert!(Cvc::parse("1234", Some(Brand::Amex)).is_ok());
        assert!(Cvc::parse("123", Some(Brand::Amex)).is_err());
        assert!(Cvc::parse("12a", Some(Brand::Visa)).is_err());
        assert!(Cvc::parse("", None).is_err());
        assert!(Cvc::parse("1234", None).is_ok());
    }

    #[test]
    fn every_field_at_fault_is_named() {
        let mut bad = input("4242424242424241", 0, 2020, "12");
        bad.holder_name = "  ".to_owned();
        let e = Card::parse(&bad, today()).expect_err("invalid");
        assert_eq!(
            fields(&e),
            [
                "card.number",
                "card.exp_month",
                "card.exp_year",
                "card.cvc",
                "card.holder_name"
            ]
        );
        let card = Card::parse(&input("378282246310005", 3, 2029, "1234"), today()).expect("valid");
        assert_eq!(card.brand, Brand::Amex);
        assert_eq!(card.holder_name.0, "Ada Lovelace");
        let mut long = input("4242424242424242", 3, 2029, "123");
        long.holder_name = "n".repeat(101);
        assert_eq!(
            fields(&Card::parse(&long, today()).expect_err("long")),
            ["card.holder_name"]
        );
    }

    #[test]
    fn debug_never_shows_the_number_or_the_cvc() {
        let raw = input("4242424242424242", 3, 2029, "987");
        let card = Card::parse(&raw, today()).expect("valid");
        for shown in [format!("{raw:?}"), format!("{card:?}")] {
            assert!(!shown.contains("4242424242424242"), "{shown}");
            assert!(!shown.contains("987"), "{shown}");
        }
        assert!(format!("{card:?}").contains("****4242"));
    }

    #[test]
    fn a_card_number_sent_as_a_json_number_is_not_quoted_back() {
        let body = r#"{"number": 4242424242424242, "exp_month": 1, "exp_year": 2030, "cvc": 987, "holder_name": "A"}"#;
        let problem = ota_platform::http::parse_json::<CardInput>(body.as_bytes())
            .expect_err("numbers are refused");
        let shown = serde_json::to_string(&problem).expect("json");
        assert!(shown.contains("number"), "{shown}");
        assert!(!shown.contains("4242424242424242"), "{shown}");
        let ok = r#"{"number": "4242424242424242", "exp_month": "07", "exp_year": 2030, "cvc": "987", "holder_name": "A"}"#;
        let card = ota_platform::http::parse_json::<CardInput>(ok.as_bytes()).expect("strings");
        assert_eq!(card.exp_month, 7);
    }

    #[test]
    fn amounts_are_positive_minor_units_in_an_iso_currency() {
        assert!(positive_amount(&Money::new(1, "USD"), "amount").is_ok());
        let e = positive_amount(&Money::new(0, "usd"), "amount").expect_err("bad");
        assert_eq!(fields(&e), ["amount.amount", "amount.currency"]);
        assert!(positive_amount(&Money::new(MAX_AMOUNT + 1, "USD"), "amount").is_err());
    }
}
