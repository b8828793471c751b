//! What OTA Travel's services and their clients agree on over the wire, shared by the
//! servers that answer and the clients that read the answers, so neither side guesses.
//! No HTTP framework, no storage: plain types with serde and OpenAPI schemas.

pub mod auth;
pub mod booking;
pub mod cart;
pub mod domain;
pub mod money;
pub mod passengers;
pub mod payment;
pub mod problem;
pub mod search;
pub mod webhooks;

pub use domain::{AirportCode, BookingReference, CarrierCode, Currency, Email};
pub use money::{Money, MoneyError};
pub use problem::ProblemType;
