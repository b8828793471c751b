//! What OTA Travel's services and their clients agree on over the wire, shared by the
//! servers that answer and the clients that read the answers, so neither side guesses.
//! Today: the problem types every error answer names. No HTTP framework, no storage.

pub mod problem;

pub use problem::ProblemType;
