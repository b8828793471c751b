//! Money: integer minor units and an ISO 4217 code, never floats.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Money {
    /// Minor units (cents for USD).
    pub amount: i64,
    /// ISO 4217 code.
    pub currency: String,
}

impl Money {
    pub fn new(amount: i64, currency: &str) -> Self {
        Self {
            amount,
            currency: currency.to_owned(),
        }
    }
}

impl std::fmt::Display for Money {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let sign = if self.amount < 0 { "-" } else { "" };
        let a = self.amount.unsigned_abs();
        write!(f, "{sign}{}.{:02} {}", a / 100, a % 100, self.currency)
    }
}

#[cfg(test)]
mod tests {
    use super::Money;

    #[test]
    fn money_shows_minor_units_as_decimals() {
        assert_eq!(Money::new(12345, "USD").to_string(), "123.45 USD");
        assert_eq!(Money::new(-5, "EUR").to_string(), "-0.05 EUR");
    }
}
