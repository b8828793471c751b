//! What OTA Travel's services and their clients agree on over the wire, shared by the
//! servers that answer and the clients that read the answers, so neither side guesses.
//! No HTTP framework, no storage: plain types with serde and OpenAPI schemas.

pub mod booking;
pub mod money;
pub mod passengers;
pub mod payment;
pub mod problem;

pub use problem::ProblemType;
