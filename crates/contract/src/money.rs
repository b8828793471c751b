//! Money: integer minor units and an ISO 4217 code, never floats.
//!
//! The wire shape is `{"amount": <minor units>, "currency": "USD"}`. Sums, differences
//! and multiples go through the checked operations, which refuse to mix currencies and
//! to overflow rather than answer a wrong amount.

use serde::{Deserialize, Serialize};

use crate::domain::{Currency, CurrencyError};

/// An amount of money: `amount` in minor units of `currency` (cents for USD, yen for
/// JPY, fils for KWD), never a float.
// The fields stay public while payment-service still builds amounts from its own rows'
// text; `Money::of` and `currency_code` are the typed way in and out.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[schema(example = json!({"amount": 12345, "currency": "USD"}))]
pub struct Money {
    /// Minor units (cents for USD, yen for JPY, fils for KWD).
    pub amount: i64,
    /// ISO 4217 code.
    pub currency: String,
}

/// Why a money operation has no answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MoneyError {
    #[error("cannot combine {0} with {1}")]
    MixedCurrencies(String, String),
    #[error("the amount is too large")]
    Overflow,
}

impl Money {
    pub fn new(amount: i64, currency: &str) -> Self {
        Self {
            amount,
            currency: currency.to_owned(),
        }
    }

    /// `amount` minor units of `currency`.
    pub fn of(amount: i64, currency: Currency) -> Self {
        Self::new(amount, currency.as_str())
    }

    pub fn zero(currency: Currency) -> Self {
        Self::of(0, currency)
    }

    /// The currency, when the code is one in circulation.
    pub fn currency_code(&self) -> Result<Currency, CurrencyError> {
        Currency::parse(&self.currency)
    }

    fn same_currency(&self, other: &Money) -> Result<(), MoneyError> {
        if self.currency == other.currency {
            Ok(())
        } else {
            Err(MoneyError::MixedCurrencies(
                self.currency.clone(),
                other.currency.clone(),
            ))
        }
    }

    pub fn checked_add(&self, other: &Money) -> Result<Money, MoneyError> {
        self.same_currency(other)?;
        let amount = self
            .amount
            .checked_add(other.amount)
            .ok_or(MoneyError::Overflow)?;
        Ok(Money::new(amount, &self.currency))
    }

    pub fn checked_sub(&self, other: &Money) -> Result<Money, MoneyError> {
        self.same_currency(other)?;
        let amount = self
            .amount
            .checked_sub(other.amount)
            .ok_or(MoneyError::Overflow)?;
        Ok(Money::new(amount, &self.currency))
    }

    /// `count` times this amount (a fare per passenger times the passengers).
    pub fn checked_mul(&self, count: i64) -> Result<Money, MoneyError> {
        let amount = self.amount.checked_mul(count).ok_or(MoneyError::Overflow)?;
        Ok(Money::new(amount, &self.currency))
    }

    /// The sum of `amounts`, all in `currency` (zero when there are none).
    pub fn checked_sum<'a>(
        currency: &str,
        amounts: impl IntoIterator<Item = &'a Money>,
    ) -> Result<Money, MoneyError> {
        amounts
            .into_iter()
            .try_fold(Money::new(0, currency), |sum, m| sum.checked_add(m))
    }
}

impl std::fmt::Display for Money {
    /// The amount in major units with the currency's decimals: "1234 JPY", "12.34 USD",
    /// "1.234 KWD" (two decimals for a code not in circulation).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let decimals = self.currency_code().map_or(2, Currency::minor_units);
        let sign = if self.amount < 0 { "-" } else { "" };
        let a = self.amount.unsigned_abs();
        if decimals == 0 {
            return write!(f, "{sign}{a} {}", self.currency);
        }
        let unit = 10u64.pow(u32::from(decimals));
        let width = usize::from(decimals);
        write!(
            f,
            "{sign}{}.{:0width$} {}",
            a / unit,
            a % unit,
            self.currency
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn money_shows_minor_units_as_the_currency_has_them() {
        assert_eq!(Money::new(12345, "USD").to_string(), "123.45 USD");
        assert_eq!(Money::new(-5, "EUR").to_string(), "-0.05 EUR");
        assert_eq!(Money::new(1234, "JPY").to_string(), "1234 JPY");
        assert_eq!(Money::new(1234, "KWD").to_string(), "1.234 KWD");
        assert_eq!(Money::new(-1, "KWD").to_string(), "-0.001 KWD");
        assert_eq!(
            Money::new(i64::MIN, "JPY").to_string(),
            "-9223372036854775808 JPY"
        );
    }

    #[test]
    fn the_wire_shape_is_minor_units_and_a_code() {
        let m = Money::of(12345, Currency::USD);
        let json = serde_json::to_value(&m).expect("json");
        assert_eq!(
            json,
            serde_json::json!({"amount": 12345, "currency": "USD"})
        );
        assert_eq!(m.currency_code(), Ok(Currency::USD));
    }

    #[test]
    fn arithmetic_refuses_mixed_currencies_and_overflow() {
        let usd = |a| Money::new(a, "USD");
        assert_eq!(usd(150).checked_add(&usd(50)), Ok(usd(200)));
        assert_eq!(usd(150).checked_sub(&usd(200)), Ok(usd(-50)));
        assert_eq!(usd(150).checked_mul(3), Ok(usd(450)));
        assert_eq!(
            usd(1).checked_add(&Money::new(1, "EUR")),
            Err(MoneyError::MixedCurrencies("USD".into(), "EUR".into()))
        );
        assert_eq!(
            usd(i64::MAX).checked_add(&usd(1)),
            Err(MoneyError::Overflow)
        );
        assert_eq!(
            usd(i64::MIN).checked_sub(&usd(1)),
            Err(MoneyError::Overflow)
        );
        assert_eq!(usd(i64::MAX).checked_mul(2), Err(MoneyError::Overflow));
        assert_eq!(
            Money::checked_sum("USD", &[usd(1), usd(2), usd(3)]),
            Ok(usd(6))
        );
        assert_eq!(Money::checked_sum("USD", &[]), Ok(usd(0)));
        assert!(Money::checked_sum("USD", &[usd(1), Money::new(2, "JPY")]).is_err());
    }

    proptest! {
        #[test]
        fn checked_sums_are_exact_or_refused(amounts in proptest::collection::vec(any::<i64>(), 0..8)) {
            let money: Vec<Money> = amounts.iter().map(|a| Money::new(*a, "USD")).collect();
            let exact: i128 = amounts.iter().map(|a| i128::from(*a)).sum();
            match Money::checked_sum("USD", &money) {
                Ok(sum) => prop_assert_eq!(i128::from(sum.amount), exact),
                // Some partial sum left the range.
                Err(e) => prop_assert_eq!(e, MoneyError::Overflow),
            }
        }

        #[test]
        fn display_reads_back_as_the_amount(amount in any::<i64>(), code in prop::sample::select(vec!["JPY", "USD", "KWD", "CLF"])) {
            let shown = Money::new(amount, code).to_string();
            let number = shown.strip_suffix(&format!(" {code}")).expect("code last");
            let digits: String = number.chars().filter(|c| *c != '.').collect();
            prop_assert_eq!(digits.parse::<i128>().ok(), Some(i128::from(amount)));
        }
    }
}
