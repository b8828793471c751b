//! Shared by the booking test suites.

use chrono::{Duration, NaiveDate, Utc};
use ota_booking::domain::{Currency, Email, ItemKind, Traveller};
use ota_booking::store::{Item, NewBooking};
use ota_platform::passengers::{PassengerType, Passengers};
use uuid::Uuid;

/// Offer times are whole seconds; PostgreSQL keeps microseconds, not nanoseconds.
fn whole(t: chrono::DateTime<Utc>) -> chrono::DateTime<Utc> {
    chrono::SubsecRound::trunc_subsecs(t, 0)
}

pub fn new_booking(user_id: Uuid) -> NewBooking {
    NewBooking {
        id: Uuid::now_v7(),
        user_id,
        total_amount: 42_000,
        currency: Currency::USD,
        payment_method_id: Uuid::now_v7().to_string(),
        contact_email: Email::parse("ada@example.com").expect("an e-mail address"),
        items: vec![
            Item {
                offer_id: "offer-flight".to_owned(),
                kind: ItemKind::Flight,
                total_amount: 30_000,
                currency: Currency::USD,
                refundable: true,
                refund_until: Some(whole(Utc::now() + Duration::days(3))),
                starts_at: Some(whole(Utc::now() + Duration::days(4))),
                passengers: Some(Passengers::adults(2)),
                rooms: None,
                summary: "JFK → LAX".to_owned(),
                itinerary: None,
            },
            Item {
                offer_id: "offer-hotel".to_owned(),
                kind: ItemKind::Hotel,
                total_amount: 12_000,
                currency: Currency::USD,
                refundable: false,
                refund_until: None,
                starts_at: None,
                passengers: None,
                rooms: Some(1),
                summary: "Le Petit, Paris".to_owned(),
                itinerary: None,
            },
        ],
        travellers: vec![
            Traveller {
                first_name: "Ada".to_owned(),
                last_name: "Lovelace".to_owned(),
                date_of_birth: NaiveDate::from_ymd_opt(1990, 12, 10).expect("date"),
                passenger_type: Some(PassengerType::Adult),
            },
            Traveller {
                first_name: "Charles".to_owned(),
                last_name: "Babbage".to_owned(),
                date_of_birth: NaiveDate::from_ymd_opt(1991, 12, 26).expect("date"),
                passenger_type: Some(PassengerType::Adult),
            },
        ],
        idempotency_key: None,
        cart_id: None,
    }
}
