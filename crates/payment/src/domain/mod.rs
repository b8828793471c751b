//! The payment domain: validated card input and amounts (`card`), and what capture,
//! void and refund do from each state of a payment (`lifecycle`). The wire types and the
//! states and decline codes they carry live in `ota_contract::payment`.

mod card;
pub mod lifecycle;

pub use card::{
    Card, CardNumber, Cvc, Expiry, HolderName, MAX_AMOUNT, MAX_EXPIRY_YEARS, luhn_valid,
    positive_amount,
};
pub use ota_contract::payment::{Brand, CardInput, CardSecret, DeclineCode, PaymentStatus};
