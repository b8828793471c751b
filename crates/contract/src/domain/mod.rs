//! Values that are checked once, where they enter, and cannot be built invalid: each has
//! a private field, a `parse` that answers a typed error, and serde that parses on the
//! way in, so a bad value is refused at the edge.

pub mod currency;
pub mod email;
pub mod iata;
pub mod reference;

pub use currency::{Currency, CurrencyError};
pub use email::{Email, EmailError};
pub use iata::{AirportCode, CarrierCode, IataError};
pub use reference::{BookingReference, BookingReferenceError};

/// The text traits of a value with `parse` and `AsRef<str>`: Display, FromStr,
/// `TryFrom<String>` (for database rows), serde as
/// a string that parses on the way in, and an OpenAPI string schema with an example.
macro_rules! text_value {
    ($ty:ty, $err:ty, $example:literal, $description:literal) => {
        impl std::fmt::Display for $ty {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_ref())
            }
        }

        impl std::str::FromStr for $ty {
            type Err = $err;

            fn from_str(s: &str) -> Result<Self, $err> {
                <$ty>::parse(s)
            }
        }

        impl TryFrom<String> for $ty {
            type Error = $err;

            fn try_from(s: String) -> Result<Self, $err> {
                <$ty>::parse(&s)
            }
        }

        impl serde::Serialize for $ty {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_ref())
            }
        }

        impl<'de> serde::Deserialize<'de> for $ty {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let raw = <std::borrow::Cow<'de, str>>::deserialize(d)?;
                <$ty>::parse(&raw).map_err(serde::de::Error::custom)
            }
        }

        impl utoipa::PartialSchema for $ty {
            fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
                utoipa::openapi::ObjectBuilder::new()
                    .schema_type(utoipa::openapi::schema::Type::String)
                    .description(Some($description))
                    .examples([$example])
                    .build()
                    .into()
            }
        }

        impl utoipa::ToSchema for $ty {}
    };
}

pub(crate) use text_value;
