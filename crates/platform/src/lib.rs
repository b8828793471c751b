//! What every OTA Travel service shares: configuration, storage on both engines, the
//! cache, telemetry, HTTP hygiene, tokens, peer clients and the server lifecycle.

pub mod cache;
pub mod client;
pub mod config;
pub mod db;
pub mod http;
pub mod idempotency;
pub mod management;
pub mod problem;
pub mod server;
pub mod store;
pub mod telemetry;
pub mod tokens;

pub use ota_contract::{money, passengers};
pub use problem::{FieldError, Problem};
pub use store::StoreError;
