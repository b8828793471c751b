//! payment-service's wire types: the public API (payment methods, a traveller's payments)
//! and the internal API booking-service drives (authorise, abandon, capture, void,
//! refund, ledger balances), as docs/checkout.md fixes them. Amounts are [`Money`]:
//! integer minor units of an ISO 4217 currency. Times are RFC 3339 in UTC.

use serde::{Deserialize, Deserializer, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::money::Money;

// ---------------------------------------------------------------------------------------
// States and reasons

/// Where a payment is: `authorized` → `captured` → `partially_refunded` → `refunded`, or
/// `authorized` → `voided`; `declined` when the card issuer refused it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PaymentStatus {
    Authorized,
    Declined,
    Captured,
    Voided,
    PartiallyRefunded,
    Refunded,
}

impl PaymentStatus {
    pub const ALL: [PaymentStatus; 6] = [
        PaymentStatus::Authorized,
        PaymentStatus::Declined,
        PaymentStatus::Captured,
        PaymentStatus::Voided,
        PaymentStatus::PartiallyRefunded,
        PaymentStatus::Refunded,
    ];

    /// The JSON (and stored) string: `authorized`, `partially_refunded`, …
    pub fn as_str(self) -> &'static str {
        match self {
            PaymentStatus::Authorized => "authorized",
            PaymentStatus::Declined => "declined",
            PaymentStatus::Captured => "captured",
            PaymentStatus::Voided => "voided",
            PaymentStatus::PartiallyRefunded => "partially_refunded",
            PaymentStatus::Refunded => "refunded",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|st| st.as_str() == s)
    }

    /// Money has been taken (and maybe partly or wholly given back).
    pub fn is_captured(self) -> bool {
        matches!(
            self,
            PaymentStatus::Captured | PaymentStatus::PartiallyRefunded | PaymentStatus::Refunded
        )
    }
}

impl std::fmt::Display for PaymentStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why the card issuer refused a payment (what a 402 `payment-declined` names). A fault
/// of the provider is never one of these: it is a 503 `processing_error`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DeclineCode {
    CardDeclined,
    InsufficientFunds,
    ExpiredCard,
    IncorrectCvc,
}

impl DeclineCode {
    pub const ALL: [DeclineCode; 4] = [
        DeclineCode::CardDeclined,
        DeclineCode::InsufficientFunds,
        DeclineCode::ExpiredCard,
        DeclineCode::IncorrectCvc,
    ];

    /// The JSON (and stored) string: `card_declined`, `insufficient_funds`, …
    pub fn as_str(self) -> &'static str {
        match self {
            DeclineCode::CardDeclined => "card_declined",
            DeclineCode::InsufficientFunds => "insufficient_funds",
            DeclineCode::ExpiredCard => "expired_card",
            DeclineCode::IncorrectCvc => "incorrect_cvc",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.as_str() == s)
    }

    /// What a traveller is told.
    pub fn explain(self) -> &'static str {
        match self {
            DeclineCode::CardDeclined => "The card was declined.",
            DeclineCode::InsufficientFunds => "The card has insufficient funds.",
            DeclineCode::ExpiredCard => "The card has expired.",
            DeclineCode::IncorrectCvc => "The card's security code is incorrect.",
        }
    }
}

impl std::fmt::Display for DeclineCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A card network.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Brand {
    Visa,
    Mastercard,
    Amex,
    Discover,
}

impl Brand {
    pub fn as_str(self) -> &'static str {
        match self {
            Brand::Visa => "visa",
            Brand::Mastercard => "mastercard",
            Brand::Amex => "amex",
            Brand::Discover => "discover",
        }
    }

    /// The brand as people write it: "Visa", "American Express".
    pub fn display_name(self) -> &'static str {
        match self {
            Brand::Visa => "Visa",
            Brand::Mastercard => "Mastercard",
            Brand::Amex => "American Express",
            Brand::Discover => "Discover",
        }
    }

    pub fn parse(s: &str) -> Option<Brand> {
        match s {
            "visa" => Some(Brand::Visa),
            "mastercard" => Some(Brand::Mastercard),
            "amex" => Some(Brand::Amex),
            "discover" => Some(Brand::Discover),
            _ => None,
        }
    }

    /// The brand from the issuer prefix of a card number's digits (IIN ranges as the
    /// networks publish them).
    pub fn detect(digits: &str) -> Option<Brand> {
        let prefix = |n: usize| digits.get(..n).and_then(|p| p.parse::<u32>().ok());
        if digits.starts_with('4') {
            return Some(Brand::Visa);
        }
        if matches!(prefix(2), Some(34 | 37)) {
            return Some(Brand::Amex);
        }
        if matches!(prefix(2), Some(51..=55)) || matches!(prefix(4), Some(2221..=2720)) {
            return Some(Brand::Mastercard);
        }
        if prefix(4) == Some(6011)
            || prefix(2) == Some(65)
            || matches!(prefix(3), Some(644..=649))
            || matches!(prefix(6), Some(622_126..=622_925))
        {
            return Some(Brand::Discover);
        }
        None
    }

    /// Digits of the card verification code: 4 for American Express, else 3.
    pub fn cvc_len(self) -> usize {
        match self {
            Brand::Amex => 4,
            _ => 3,
        }
    }
}

// ---------------------------------------------------------------------------------------
// Payment methods (public)

/// A string read from JSON that never echoes itself: serde's own errors quote the value
/// they refused ("invalid type: integer `4242…`"), which for a card number would put it
/// in the 422 answer. Anything but a JSON string is refused with a fixed message. Its
/// Debug shows nothing.
#[derive(Clone, Default, Serialize)]
#[serde(transparent)]
pub struct CardSecret(String);

impl CardSecret {
    pub fn new(s: &str) -> Self {
        Self(s.to_owned())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for CardSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("[REDACTED]")
    }
}

impl<'de> Deserialize<'de> for CardSecret {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        match serde_json::Value::deserialize(d)? {
            serde_json::Value::String(s) => Ok(Self(s)),
            _ => Err(serde::de::Error::custom("must be a string of digits")),
        }
    }
}

/// An expiry month or year: a JSON integer or a string of digits ("07"), refused with a
/// fixed message otherwise (a mistaken card number here must not be quoted back either).
fn whole_number<'de, D: Deserializer<'de>>(d: D) -> Result<i64, D::Error> {
    let refused = || serde::de::Error::custom("must be a whole number");
    match serde_json::Value::deserialize(d)? {
        serde_json::Value::Number(n) => n.as_i64().ok_or_else(refused),
        serde_json::Value::String(s) if !s.is_empty() && s.len() <= 4 => {
            s.trim().parse().map_err(|_| refused())
        }
        _ => Err(refused()),
    }
}

/// The card as the client sends it. Its Debug hides the number and the CVC.
#[derive(Serialize, Deserialize, Clone, ToSchema)]
#[schema(example = json!({"number": "4242 4242 4242 4242", "exp_month": 12, "exp_year": 2030, "cvc": "123", "holder_name": "Ada Lovelace"}))]
pub struct CardInput {
    /// 12–19 digits; spaces and dashes are ignored. Sandbox: 4242424242424242 succeeds,
    /// 4000000000000002 is declined, 4000000000009995 has insufficient funds.
    #[schema(value_type = String, example = "4242 4242 4242 4242")]
    pub number: CardSecret,
    /// 1–12 (a JSON integer, or a string of digits such as "07").
    #[serde(deserialize_with = "whole_number")]
    #[schema(value_type = i64, example = 12)]
    pub exp_month: i64,
    /// Four digits, this year to 20 years ahead.
    #[serde(deserialize_with = "whole_number")]
    #[schema(value_type = i64, example = 2030)]
    pub exp_year: i64,
    /// 3 digits, 4 for American Express. Never stored.
    #[schema(value_type = String, example = "123")]
    pub cvc: CardSecret,
    /// As printed on the card, 1–100 characters.
    pub holder_name: String,
}

impl std::fmt::Debug for CardInput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CardInput")
            .field("number", &self.number)
            .field("exp_month", &self.exp_month)
            .field("exp_year", &self.exp_year)
            .field("cvc", &self.cvc)
            .field("holder_name", &self.holder_name)
            .finish()
    }
}

/// `POST /api/v1/payment-methods`: card details in; only a provider token, the brand,
/// last 4 and expiry are kept.
#[derive(Serialize, Deserialize, Debug, Clone, ToSchema)]
#[schema(example = json!({"card": {"number": "4242424242424242", "exp_month": 12, "exp_year": 2030, "cvc": "123", "holder_name": "Ada Lovelace"}}))]
pub struct CreateMethodRequest {
    pub card: CardInput,
}

/// A stored card as its owner sees it: never the number.
#[derive(Serialize, Deserialize, ToSchema, Debug, Clone, PartialEq, Eq)]
#[schema(example = json!({"id": "0193a0b2-7c4e-7d21-9a55-2f8e4b1c6d70", "brand": "visa", "last4": "4242", "exp_month": 12, "exp_year": 2030}))]
pub struct PaymentMethodView {
    /// The opaque token a checkout names as `payment_method_id`.
    pub id: Uuid,
    pub brand: Brand,
    pub last4: String,
    /// 1–12.
    pub exp_month: i32,
    pub exp_year: i32,
}

/// `GET /api/v1/payment-methods`: the caller's cards, newest first.
#[derive(Serialize, Deserialize, ToSchema, Debug, Clone)]
#[schema(example = json!({"payment_methods": [{"id": "0193a0b2-7c4e-7d21-9a55-2f8e4b1c6d70", "brand": "visa", "last4": "4242", "exp_month": 12, "exp_year": 2030}]}))]
pub struct PaymentMethodsAnswer {
    pub payment_methods: Vec<PaymentMethodView>,
}

// ---------------------------------------------------------------------------------------
// Payments

/// `GET /api/v1/payments/{id}`: a payment as its traveller sees it. Amounts in minor
/// units of the payment's currency.
#[derive(Serialize, Deserialize, ToSchema, Debug, Clone, PartialEq, Eq)]
#[schema(example = json!({"id": "0193a0b2-7c4e-7d21-9a55-2f8e4b1c6d71", "status": "captured",
    "amount": {"amount": 45800, "currency": "USD"}, "captured": {"amount": 45800, "currency": "USD"},
    "refunded": {"amount": 0, "currency": "USD"}, "booking_reference": "K7M2QX", "decline_code": null,
    "created_at": "2026-12-01T08:05:00.000Z"}))]
pub struct OwnPaymentView {
    pub id: Uuid,
    pub status: PaymentStatus,
    /// What was authorised, minor units of its currency.
    pub amount: Money,
    /// What was taken: the whole amount once captured, else 0 (minor units).
    pub captured: Money,
    /// What was given back so far, minor units.
    pub refunded: Money,
    pub booking_reference: String,
    /// Set when `status` is `declined`.
    pub decline_code: Option<DeclineCode>,
    /// RFC 3339, UTC, milliseconds.
    pub created_at: String,
}

/// A payment as the internal API answers it (`Payment` of docs/checkout.md). Amounts in
/// minor units of the payment's currency.
#[derive(Serialize, Deserialize, ToSchema, Debug, Clone, PartialEq, Eq)]
pub struct PaymentView {
    pub id: Uuid,
    pub status: PaymentStatus,
    pub amount: Money,
    pub captured: Money,
    pub refunded: Money,
    pub booking_reference: String,
    pub user_id: Uuid,
    pub payment_method_id: Uuid,
    pub decline_code: Option<DeclineCode>,
    /// RFC 3339, UTC, milliseconds.
    pub created_at: String,
    /// RFC 3339, UTC, milliseconds.
    pub updated_at: String,
    /// The card paid with (brand and last four digits), in authorisation answers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub card: Option<CardSummary>,
}

/// Which card paid: enough for a traveller to recognise it, never the number.
#[derive(Serialize, Deserialize, ToSchema, Debug, Clone, PartialEq, Eq)]
pub struct CardSummary {
    pub brand: Brand,
    #[schema(example = "4242")]
    pub last4: String,
}

/// `GET /internal/v1/payments?booking_reference=`: a booking's payments, oldest first.
#[derive(Serialize, Deserialize, ToSchema, Debug, Clone)]
pub struct PaymentsAnswer {
    pub payments: Vec<PaymentView>,
}

/// `POST /internal/v1/payments/authorize` and `/abandon`.
#[derive(Serialize, Deserialize, ToSchema, Debug, Clone, PartialEq, Eq)]
pub struct AuthorizeRequest {
    /// 1–200 printable characters; booking-service sends `<booking_id>:authorize`.
    pub idempotency_key: String,
    pub user_id: Uuid,
    /// An id that is not a UUID names no method: 404 like any unknown one.
    pub payment_method_id: String,
    /// Positive, at most 1,000,000,000 minor units.
    pub amount: Money,
    /// 1–64 printable characters.
    pub booking_reference: String,
}

/// `POST /internal/v1/payments/{id}/capture` and `/void`.
#[derive(Serialize, Deserialize, ToSchema, Debug, Clone, PartialEq, Eq)]
pub struct KeyRequest {
    /// 1–200 printable characters.
    pub idempotency_key: String,
}

/// `POST /internal/v1/payments/{id}/refund`.
#[derive(Serialize, Deserialize, ToSchema, Debug, Clone, PartialEq, Eq)]
pub struct RefundRequest {
    /// 1–200 printable characters.
    pub idempotency_key: String,
    /// Positive, in the payment's currency, at most captured minus refunded.
    pub amount: Money,
}

// ---------------------------------------------------------------------------------------
// Ledger

/// One ledger account's balance in one currency: debits minus credits, minor units.
#[derive(Serialize, Deserialize, ToSchema, Debug, Clone, PartialEq, Eq)]
pub struct AccountBalanceView {
    /// `customer_card` or `merchant_revenue`.
    pub account: String,
    pub balance: Money,
}

/// `GET /internal/v1/ledger/balances`: every account's balance, and per currency the sum
/// over all accounts, always zero while the ledger is consistent.
#[derive(Serialize, Deserialize, ToSchema, Debug, Clone, PartialEq, Eq)]
pub struct LedgerBalances {
    pub accounts: Vec<AccountBalanceView>,
    pub totals: Vec<Money>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn states_and_codes_keep_their_json_strings() {
        for s in PaymentStatus::ALL {
            let json = serde_json::to_value(s).expect("json");
            assert_eq!(json, s.as_str());
            assert_eq!(PaymentStatus::parse(s.as_str()), Some(s));
        }
        assert_eq!(
            serde_json::to_value(PaymentStatus::PartiallyRefunded).expect("json"),
            "partially_refunded"
        );
        for c in DeclineCode::ALL {
            assert_eq!(serde_json::to_value(c).expect("json"), c.as_str());
            assert_eq!(DeclineCode::parse(c.as_str()), Some(c));
        }
        assert_eq!(DeclineCode::parse("processing_error"), None);
        assert_eq!(PaymentStatus::parse("AUTHORIZED"), None);
    }

    #[test]
    fn a_card_sent_by_a_client_reads_back_the_same() {
        let card = CardInput {
            number: CardSecret::new("4242424242424242"),
            exp_month: 7,
            exp_year: 2030,
            cvc: CardSecret::new("123"),
            holder_name: "Ada".to_owned(),
        };
        let json = serde_json::to_value(CreateMethodRequest { card }).expect("json");
        assert_eq!(json["card"]["number"], "4242424242424242");
        assert_eq!(json["card"]["exp_month"], 7);
        let back: CreateMethodRequest = serde_json::from_value(json).expect("read back");
        assert_eq!(back.card.number.expose(), "4242424242424242");
        assert!(!format!("{back:?}").contains("4242424242424242"));
    }
}
