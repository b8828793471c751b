//! booking-service's wire types: the checkout request, the booking with its items,
//! travellers and payment, the list of a traveller's bookings, the cancellation quote
//! and the cancellation's answer (API.md, docs/checkout.md). Amounts are [`Money`]:
//! integer minor units of an ISO 4217 currency. Instants are RFC 3339 in UTC, dates
//! `YYYY-MM-DD`.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::money::Money;
use crate::passengers::{PassengerType, Passengers};
use crate::payment::PaymentStatus;

// ---------------------------------------------------------------------------------------
// States

/// Where a booking is in its saga. Transitions only move forward:
/// PENDING → HELD → AUTHORIZED → CONFIRMED → CANCELLING → CANCELLED, any step before
/// CONFIRMED may end in FAILED.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
#[schema(as = Status)]
pub enum BookingStatus {
    Pending,
    Held,
    Authorized,
    Confirmed,
    Failed,
    Cancelling,
    Cancelled,
}

impl BookingStatus {
    pub const ALL: [BookingStatus; 7] = [
        BookingStatus::Pending,
        BookingStatus::Held,
        BookingStatus::Authorized,
        BookingStatus::Confirmed,
        BookingStatus::Failed,
        BookingStatus::Cancelling,
        BookingStatus::Cancelled,
    ];

    /// The JSON (and stored) string: `PENDING`, `CONFIRMED`, …
    pub fn as_str(self) -> &'static str {
        match self {
            BookingStatus::Pending => "PENDING",
            BookingStatus::Held => "HELD",
            BookingStatus::Authorized => "AUTHORIZED",
            BookingStatus::Confirmed => "CONFIRMED",
            BookingStatus::Failed => "FAILED",
            BookingStatus::Cancelling => "CANCELLING",
            BookingStatus::Cancelled => "CANCELLED",
        }
    }

    pub fn parse(s: &str) -> Option<BookingStatus> {
        BookingStatus::ALL.into_iter().find(|st| st.as_str() == s)
    }

    /// CONFIRMED, FAILED and CANCELLED: the saga has nothing left to do.
    pub fn is_settled(self) -> bool {
        matches!(
            self,
            BookingStatus::Confirmed | BookingStatus::Failed | BookingStatus::Cancelled
        )
    }

    /// Statuses the checkout saga passes through; at most a few per user at once.
    pub fn is_checking_out(self) -> bool {
        matches!(
            self,
            BookingStatus::Pending | BookingStatus::Held | BookingStatus::Authorized
        )
    }
}

impl std::fmt::Display for BookingStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a cart or booking item sells.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ItemKind {
    Flight,
    Hotel,
}

impl ItemKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ItemKind::Flight => "flight",
            ItemKind::Hotel => "hotel",
        }
    }

    pub fn parse(s: &str) -> Option<ItemKind> {
        match s {
            "flight" => Some(ItemKind::Flight),
            "hotel" => Some(ItemKind::Hotel),
            _ => None,
        }
    }
}

// ---------------------------------------------------------------------------------------
// Checkout

/// `POST /api/v1/bookings` with an `Idempotency-Key` header: checks out the caller's
/// whole cart. Every member is optional on the wire so the server can name each one
/// that is missing (422 naming the field).
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({"travellers": [{"first_name": "Ada", "last_name": "Lovelace", "date_of_birth": "1990-12-10"}],
    "contact": {"email": "ada@example.com"}, "payment_method_id": "0193a0b2-7c4e-7d21-9a55-2f8e4b1c6d70"}))]
pub struct CheckoutRequest {
    /// 1 to 18 travellers; a flight item needs one per passenger of its offer, by type.
    #[serde(default)]
    pub travellers: Option<Vec<TravellerInput>>,
    #[serde(default)]
    pub contact: Option<ContactInput>,
    /// The `id` of one of the caller's payment methods.
    #[serde(default)]
    pub payment_method_id: Option<String>,
}

/// A traveller as the checkout names them.
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({"first_name": "Ada", "last_name": "Lovelace", "date_of_birth": "1990-12-10"}))]
pub struct TravellerInput {
    /// Letters, spaces, hyphens, apostrophes and dots, 1–100 characters.
    #[serde(default)]
    pub first_name: Option<String>,
    #[serde(default)]
    pub last_name: Option<String>,
    /// YYYY-MM-DD, in the past.
    #[serde(default)]
    pub date_of_birth: Option<String>,
}

/// Where the booking's confirmation goes.
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({"email": "ada@example.com"}))]
pub struct ContactInput {
    #[serde(default)]
    pub email: Option<String>,
}

// ---------------------------------------------------------------------------------------
// Bookings

/// One item of a booking, priced when it was sold.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({"offer_id": "k1.eyJ.mac", "kind": "flight", "total": {"amount": 45800, "currency": "USD"},
    "summary": "JFK → LAX, 1 Dec 08:05", "passengers": {"adults": 1, "children": 0, "infants": 0}, "rooms": null,
    "refundable": true, "refund_until": "2026-11-30T13:05:00Z", "starts_at": "2026-12-01T13:05:00Z"}))]
pub struct ItemView {
    pub offer_id: String,
    pub kind: ItemKind,
    /// The item's price, minor units.
    pub total: Money,
    pub summary: String,
    /// A flight's travellers by type; null for hotels.
    pub passengers: Option<Passengers>,
    /// A hotel's rooms; null for flights.
    #[serde(default)]
    pub rooms: Option<u8>,
    /// Whether cancelling refunds this item, as judged when it was sold.
    pub refundable: bool,
    /// Until when cancelling refunds this item (RFC 3339, UTC), if ever.
    pub refund_until: Option<String>,
    /// First departure or hotel check-in (RFC 3339, UTC): no cancellation after it.
    pub starts_at: Option<String>,
    /// What was sold, as the offer described it at checkout: a flight's slices and
    /// segments (local times with each airport's offset), or a hotel stay. Absent for
    /// bookings made before it was kept.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub itinerary: Option<ItemItinerary>,
}

/// What a booked item is, as its offer described it at checkout.
// A document read and written whole, once per item: boxing the larger variant buys nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ItemItinerary {
    Flight {
        /// The outbound, and the return of a round trip.
        slices: Vec<crate::search::Slice>,
        /// Cabin of every segment.
        cabin: crate::search::Cabin,
    },
    Hotel {
        hotel: crate::search::HotelSummary,
        room_type: String,
        board: crate::search::Board,
        rooms: u8,
        guests: u8,
        nights: u16,
        /// Check-in time on the arrival date, RFC 3339 with the hotel's offset.
        check_in_at: String,
        /// Check-out time on the departure date, RFC 3339 with the hotel's offset.
        check_out_at: String,
        cancellation_policy: crate::search::CancellationPolicy,
    },
}

fn local(rfc3339: &str) -> String {
    chrono::DateTime::parse_from_rfc3339(rfc3339)
        .map(|t| t.format("%a %-d %b %Y %H:%M").to_string())
        .unwrap_or_else(|_| rfc3339.to_owned())
}

fn hours(minutes: i64) -> String {
    format!("{}h{:02}", minutes / 60, minutes % 60)
}

impl ItemItinerary {
    /// For people, a line each: every segment of a flight (number, carrier, cabin,
    /// airports with local departure and arrival, duration) with the connection between
    /// them, or the hotel stay (name, stars, address, room, board, guests, nights, local
    /// check-in and check-out, cancellation policy). English; times local to the place.
    pub fn describe(&self) -> Vec<String> {
        match self {
            Self::Flight { slices, cabin } => {
                let mut lines = Vec::new();
                for slice in slices {
                    for (k, s) in slice.segments.iter().enumerate() {
                        if k > 0 {
                            let prev = &slice.segments[k - 1];
                            let layover = chrono::DateTime::parse_from_rfc3339(&s.departure_at)
                                .ok()
                                .zip(chrono::DateTime::parse_from_rfc3339(&prev.arrival_at).ok())
                                .map(|(d, a)| (d - a).num_minutes());
                            lines.push(match layover {
                                Some(m) => format!("Connection in {}: {}", s.origin, hours(m)),
                                None => format!("Connection in {}", s.origin),
                            });
                        }
                        lines.push(format!(
                            "{} {} ({}): {} {} → {} {}, {}",
                            s.flight_number,
                            s.carrier_name,
                            cabin.as_str().replace('_', " "),
                            s.origin,
                            local(&s.departure_at),
                            s.destination,
                            local(&s.arrival_at),
                            hours(s.duration_minutes)
                        ));
                    }
                }
                lines
            }
            Self::Hotel {
                hotel,
                room_type,
                board,
                rooms,
                guests,
                nights,
                check_in_at,
                check_out_at,
                cancellation_policy,
            } => vec![
                format!(
                    "{} ({}★), {}",
                    hotel.name,
                    hotel.stars,
                    [
                        hotel.address.as_str(),
                        hotel.city.as_str(),
                        hotel.country.as_str()
                    ]
                    .into_iter()
                    .filter(|s| !s.is_empty())
                    .collect::<Vec<_>>()
                    .join(", ")
                ),
                format!(
                    "{rooms} × {room_type}, {}, {guests} guest{}, {nights} night{}",
                    board.as_str().replace('_', " "),
                    if *guests == 1 { "" } else { "s" },
                    if *nights == 1 { "" } else { "s" }
                ),
                format!("Check-in {} (local time)", local(check_in_at)),
                format!("Check-out {} (local time)", local(check_out_at)),
                cancellation_policy.description.clone(),
            ],
        }
    }
}

/// The booking's payment at payment-service (`GET /api/v1/payments/{id}` tells more).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({"id": "0193a0b2-7c4e-7d21-9a55-2f8e4b1c6d71", "status": "captured"}))]
pub struct PaymentView {
    pub id: String,
    pub status: PaymentStatus,
    /// The card paid with (brand, last four digits), once authorised.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub card: Option<crate::payment::CardSummary>,
}

/// Where the booking's messages go.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({"email": "ada@example.com"}))]
pub struct ContactView {
    /// The contact e-mail as the checkout gave it (trimmed; its case kept: the part before
    /// the `@` may be case-sensitive at the receiving server). Messages go there.
    pub email: String,
}

/// A traveller of a booking, with the fare type the booking gave them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[schema(as = Traveller, example = json!({"first_name": "Ada", "last_name": "Lovelace", "date_of_birth": "1990-12-10", "type": "adult"}))]
pub struct BookedTraveller {
    pub first_name: String,
    pub last_name: String,
    /// YYYY-MM-DD.
    pub date_of_birth: NaiveDate,
    /// Fare type on the date of the first departure (the check-in date for hotel-only
    /// bookings): `adult` 12+, `child` 2–11, `infant` under 2.
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub passenger_type: Option<PassengerType>,
}

/// A booking: `GET /api/v1/bookings/{reference}`, and a checkout's 201.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({"reference": "K7M2QX", "status": "CONFIRMED", "total": {"amount": 45800, "currency": "USD"},
    "items": [{"offer_id": "k1.eyJ.mac", "kind": "flight", "total": {"amount": 45800, "currency": "USD"},
    "summary": "JFK → LAX, 1 Dec 08:05", "passengers": {"adults": 1, "children": 0, "infants": 0}, "rooms": null,
    "refundable": true, "refund_until": "2026-11-30T13:05:00Z", "starts_at": "2026-12-01T13:05:00Z"}], "payment": {"id": "0193a0b2-7c4e-7d21-9a55-2f8e4b1c6d71", "status": "captured"},
    "travellers": [{"first_name": "Ada", "last_name": "Lovelace", "date_of_birth": "1990-12-10", "type": "adult"}],
    "contact": {"email": "ada@example.com"}, "created_at": "2026-11-25T10:00:00Z", "updated_at": "2026-11-25T10:00:02Z"}))]
pub struct BookingView {
    /// Six characters of `ABCDEFGHJKLMNPQRSTUVWXYZ23456789`.
    pub reference: String,
    pub status: BookingStatus,
    /// Sum of the items, minor units.
    pub total: Money,
    pub items: Vec<ItemView>,
    /// Null until payment-service was asked.
    pub payment: Option<PaymentView>,
    pub travellers: Vec<BookedTraveller>,
    pub contact: ContactView,
    /// RFC 3339, UTC, seconds.
    pub created_at: String,
    /// RFC 3339, UTC, seconds.
    pub updated_at: String,
    /// Why a FAILED booking failed (`sold_out`, `card_declined`, `payment_unavailable`, …).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure_reason: Option<FailureReason>,
    /// What the cancellation refunded (or is refunding), minor units.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refund: Option<Money>,
}

/// `GET /api/v1/bookings`: the caller's bookings, newest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({"bookings": [{"reference": "K7M2QX", "status": "CONFIRMED",
    "total": {"amount": 45800, "currency": "USD"}, "items": [{"offer_id": "k1.eyJ.mac", "kind": "flight", "total": {"amount": 45800, "currency": "USD"},
    "summary": "JFK → LAX, 1 Dec 08:05", "passengers": {"adults": 1, "children": 0, "infants": 0}, "rooms": null,
    "refundable": true, "refund_until": "2026-11-30T13:05:00Z", "starts_at": "2026-12-01T13:05:00Z"}],
    "payment": {"id": "0193a0b2-7c4e-7d21-9a55-2f8e4b1c6d71", "status": "captured"},
    "travellers": [{"first_name": "Ada", "last_name": "Lovelace", "date_of_birth": "1990-12-10", "type": "adult"}],
    "contact": {"email": "ada@example.com"}, "created_at": "2026-11-25T10:00:00Z",
    "updated_at": "2026-11-25T10:00:02Z"}], "next_cursor": null}))]
pub struct BookingList {
    pub bookings: Vec<BookingView>,
    /// Pass as `cursor` for the next page; null on the last page.
    pub next_cursor: Option<String>,
}

/// `GET /api/v1/bookings/{reference}/cancellation-quote`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({"refund": {"amount": 45800, "currency": "USD"}, "expires_at": "2026-11-30T13:05:00Z"}))]
pub struct QuoteView {
    /// What cancelling now refunds, minor units.
    pub refund: Money,
    /// Until when this quote holds (the next refund deadline, RFC 3339, UTC), if it ever
    /// changes.
    pub expires_at: Option<String>,
}

/// `POST /api/v1/bookings/{reference}/cancel`: 200 `CANCELLED`, or 202 `CANCELLING`
/// while the refund is under way.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({"reference": "K7M2QX", "status": "CANCELLED", "refund": {"amount": 45800, "currency": "USD"}}))]
pub struct CancellationView {
    pub reference: String,
    pub status: BookingStatus,
    /// What was (or is being) refunded, minor units.
    pub refund: Money,
}

// ---------------------------------------------------------------------------------------
// Failure reasons

/// Why a FAILED booking failed: its `failure_reason`, as booking-service stores it.
/// Nothing was charged for any of them (an authorisation is voided, a capture refunded).
///
/// - `sold_out`: not enough seats or rooms were left to hold.
/// - `offer_expired`: an offer expired before it could be held.
/// - `hold_refused`: search-service refused the hold for another reason.
/// - `hold_expired`: the hold expired or was released before it could be committed.
/// - `payment_method_not_found`: the payment method is not one of the traveller's.
/// - `payment_refused`: payment-service refused the payment for a reason other than a
///   decline (a bad request, a missing payment id).
/// - `payment_unavailable`: payment-service failed or did not answer and no
///   authorisation was made; not the card's fault.
/// - `processing_error`: what `payment_unavailable` was called before it existed.
/// - `payment_voided`: the authorisation was voided before it could be captured.
/// - `abandoned`: left mid-checkout (a crash, a service away) and undone by recovery.
/// - `card_declined`, `insufficient_funds`, `expired_card`, `incorrect_cvc`: the card
///   issuer refused the payment, with payment-service's decline code.
/// - `unknown`: a reason this version does not know (a newer service's, or an
///   unreadable stored one).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum FailureReason {
    SoldOut,
    OfferExpired,
    HoldRefused,
    HoldExpired,
    PaymentMethodNotFound,
    PaymentRefused,
    PaymentUnavailable,
    ProcessingError,
    PaymentVoided,
    Abandoned,
    CardDeclined,
    InsufficientFunds,
    ExpiredCard,
    IncorrectCvc,
    /// Any other string: reading a reason never fails.
    #[serde(other)]
    Unknown,
}

impl FailureReason {
    /// Every reason booking-service writes (not [`FailureReason::Unknown`]).
    pub const ALL: [FailureReason; 14] = [
        FailureReason::SoldOut,
        FailureReason::OfferExpired,
        FailureReason::HoldRefused,
        FailureReason::HoldExpired,
        FailureReason::PaymentMethodNotFound,
        FailureReason::PaymentRefused,
        FailureReason::PaymentUnavailable,
        FailureReason::ProcessingError,
        FailureReason::PaymentVoided,
        FailureReason::Abandoned,
        FailureReason::CardDeclined,
        FailureReason::InsufficientFunds,
        FailureReason::ExpiredCard,
        FailureReason::IncorrectCvc,
    ];

    /// The JSON (and stored) string: `sold_out`, `card_declined`, …
    pub fn as_str(self) -> &'static str {
        match self {
            FailureReason::SoldOut => "sold_out",
            FailureReason::OfferExpired => "offer_expired",
            FailureReason::HoldRefused => "hold_refused",
            FailureReason::HoldExpired => "hold_expired",
            FailureReason::PaymentMethodNotFound => "payment_method_not_found",
            FailureReason::PaymentRefused => "payment_refused",
            FailureReason::PaymentUnavailable => "payment_unavailable",
            FailureReason::ProcessingError => "processing_error",
            FailureReason::PaymentVoided => "payment_voided",
            FailureReason::Abandoned => "abandoned",
            FailureReason::CardDeclined => "card_declined",
            FailureReason::InsufficientFunds => "insufficient_funds",
            FailureReason::ExpiredCard => "expired_card",
            FailureReason::IncorrectCvc => "incorrect_cvc",
            FailureReason::Unknown => "unknown",
        }
    }

    /// A reason booking-service writes; `None` for any other string (callers reading
    /// stored or received text map that to [`FailureReason::Unknown`]).
    pub fn parse(s: &str) -> Option<FailureReason> {
        FailureReason::ALL.into_iter().find(|r| r.as_str() == s)
    }

    /// The card issuer's refusal, when this is one.
    pub fn decline(self) -> Option<crate::payment::DeclineCode> {
        use crate::payment::DeclineCode;
        match self {
            FailureReason::CardDeclined => Some(DeclineCode::CardDeclined),
            FailureReason::InsufficientFunds => Some(DeclineCode::InsufficientFunds),
            FailureReason::ExpiredCard => Some(DeclineCode::ExpiredCard),
            FailureReason::IncorrectCvc => Some(DeclineCode::IncorrectCvc),
            _ => None,
        }
    }
}

/// A decline is kept as its decline code.
impl From<crate::payment::DeclineCode> for FailureReason {
    fn from(code: crate::payment::DeclineCode) -> Self {
        use crate::payment::DeclineCode;
        match code {
            DeclineCode::CardDeclined => FailureReason::CardDeclined,
            DeclineCode::InsufficientFunds => FailureReason::InsufficientFunds,
            DeclineCode::ExpiredCard => FailureReason::ExpiredCard,
            DeclineCode::IncorrectCvc => FailureReason::IncorrectCvc,
        }
    }
}

impl std::fmt::Display for FailureReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_keep_their_json_strings() {
        for s in BookingStatus::ALL {
            assert_eq!(BookingStatus::parse(s.as_str()), Some(s));
            assert_eq!(serde_json::to_value(s).ok(), Some(s.as_str().into()));
        }
        assert_eq!(BookingStatus::parse("pending"), None);
        assert_eq!(ItemKind::parse("hotel"), Some(ItemKind::Hotel));
        assert_eq!(
            serde_json::to_value(ItemKind::Flight).ok(),
            Some("flight".into())
        );
    }

    #[test]
    fn a_checkout_as_the_web_site_sends_it_is_what_the_server_reads() {
        let sent = CheckoutRequest {
            travellers: Some(vec![TravellerInput {
                first_name: Some("Ada".into()),
                last_name: Some("Lovelace".into()),
                date_of_birth: Some("1990-12-10".into()),
            }]),
            contact: Some(ContactInput {
                email: Some("ada@example.com".into()),
            }),
            payment_method_id: Some("pm".into()),
        };
        let json = serde_json::to_value(&sent).expect("json");
        assert_eq!(json["travellers"][0]["date_of_birth"], "1990-12-10");
        assert_eq!(json["contact"]["email"], "ada@example.com");
        let read: CheckoutRequest = serde_json::from_value(json).expect("read");
        assert_eq!(read, sent);
        let empty: CheckoutRequest = serde_json::from_str("{}").expect("members may be missing");
        assert_eq!(empty, CheckoutRequest::default());
    }

    #[test]
    fn failure_reasons_keep_their_json_and_stored_strings() {
        for r in FailureReason::ALL {
            assert_eq!(FailureReason::parse(r.as_str()), Some(r));
            assert_eq!(serde_json::to_value(r).ok(), Some(r.as_str().into()));
            let read: FailureReason =
                serde_json::from_value(r.as_str().into()).expect("a known reason");
            assert_eq!(read, r);
        }
        for code in crate::payment::DeclineCode::ALL {
            let r = FailureReason::from(code);
            assert_eq!(r.as_str(), code.as_str());
            assert_eq!(r.decline(), Some(code));
        }
        assert_eq!(FailureReason::PaymentUnavailable.decline(), None);
        assert_eq!(FailureReason::parse("unknown"), None);
        assert_eq!(FailureReason::parse("Sold_Out"), None);
        // A reason this version does not know is read, not refused.
        let read: BookingView = serde_json::from_value(serde_json::json!({
            "reference": "K7M2QX", "status": "FAILED", "total": {"amount": 100, "currency": "USD"},
            "items": [], "payment": null, "travellers": [], "contact": {"email": "a@b.c"},
            "created_at": "2026-11-25T10:00:00Z", "updated_at": "2026-11-25T10:00:00Z",
            "failure_reason": "fraud_suspected"}))
        .expect("an unknown reason is read");
        assert_eq!(read.failure_reason, Some(FailureReason::Unknown));
    }

    #[test]
    fn the_failure_reason_schema_lists_and_describes_every_reason() {
        use utoipa::PartialSchema;
        let schema = serde_json::to_value(FailureReason::schema()).expect("schema");
        let values: Vec<&str> = schema["enum"]
            .as_array()
            .expect("a string enum")
            .iter()
            .filter_map(|v| v.as_str())
            .collect();
        let description = schema["description"].as_str().unwrap_or_default();
        for r in FailureReason::ALL
            .into_iter()
            .chain([FailureReason::Unknown])
        {
            assert!(values.contains(&r.as_str()), "{r} in {schema}");
            assert!(
                description.contains(&format!("`{r}`")),
                "{r} described in {description}"
            );
        }
    }
}

/// The version of the notification document ([`EventDocument`]); a change that could
/// break a receiver gets a new one.
pub const EVENTS_API_VERSION: &str = "2026-12-01";

/// A notification event as receivers get it (a webhook's body) and as e-mails are made
/// from: what happened to a booking, and the booking as it stood then.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({"id": "evt_0193a0b27c4e7d219a552f8e4b1c6d71", "type": "booking.confirmed",
    "api_version": "2026-12-01", "timestamp": "2026-11-25T10:00:02Z", "data": {"reference": "K7M2QX", "status": "CONFIRMED",
    "total": {"amount": 45800, "currency": "USD"}, "items": [], "payment": null, "travellers": [],
    "contact": {"email": "ada@example.com"}, "created_at": "2026-11-25T10:00:00Z", "updated_at": "2026-11-25T10:00:02Z"}}))]
pub struct EventDocument {
    /// `evt_` and 32 hex digits; the same on every delivery and resend of the event.
    pub id: String,
    /// `booking.confirmed`, `booking.failed`, `booking.cancelled`, `refund.succeeded`,
    /// `booking.schedule_changed` or `booking.reminder`.
    #[serde(rename = "type")]
    pub kind: String,
    /// [`EVENTS_API_VERSION`] when the event was written.
    pub api_version: String,
    /// When the change happened (RFC 3339, UTC, seconds).
    pub timestamp: String,
    /// The booking as it stood after the change.
    pub data: BookingView,
    /// For `booking.schedule_changed`: which flight changed, and how.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schedule_change: Option<ScheduleChangeView>,
}

/// A change the airline made to a booked flight (from a schedule import).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ScheduleChangeView {
    /// Carrier and number, such as `BA117`.
    pub flight: String,
    /// The flight date (local at its origin), YYYY-MM-DD.
    #[schema(value_type = String, example = "2026-12-14")]
    pub flight_date: NaiveDate,
    /// The leg's board point (IATA).
    pub origin: String,
    /// `cancelled` (no longer operates that day), `retimed` (other times or airports) or
    /// `oversold` (fewer seats than are sold; the airline will rebook some travellers).
    pub change: crate::search::LegChange,
}
