//! A refused checkout: what the refusal means, read from its problem type, and the page
//! that tells the traveller.

use axum::http::StatusCode;
use ota_contract::ProblemType;
use ota_platform::client::PeerError;
use serde_json::Value;

use crate::pages::common::{problem_type, well_formed_reference};
use crate::views::Action;

pub(super) fn decline_text(code: &str) -> &'static str {
    match code {
        "insufficient_funds" => "The card has insufficient funds.",
        "expired_card" => "The card has expired.",
        "incorrect_cvc" => "The security code (CVC) is incorrect.",
        _ => "Your bank declined the payment.",
    }
}

/// What a refused checkout means for the traveller, read from the problem's `type`
/// (never from its wording).
#[derive(Debug, PartialEq, Eq)]
pub(super) enum CheckoutRefusal {
    /// 402 `payment-declined`: the card provider refused the card.
    Declined {
        decline_code: String,
    },
    /// 409 `cart-taken`: another send of this checkout (a second tab, a second click)
    /// booked the cart.
    CartTaken {
        reference: String,
    },
    /// 503 `unavailable` or `timeout` after the booking was started: it settles later.
    Settling {
        reference: String,
    },
    /// 503 `payment-unavailable`: the payment never went through; the booking failed.
    PaymentUnavailable,
    /// 409 `in-progress`: this very form's first send is still running.
    InProgress,
    /// 422 `idempotency-mismatch`: this form's key was used with another request.
    AlreadySent,
    SoldOut,
    OfferExpired,
    Throttled,
    /// 400/422 naming fields.
    Invalid,
    /// 409 `checkout-failed` and other settled failures: nothing was charged.
    Failed,
    /// A peer is down before any booking was made (no reference).
    Unavailable,
    /// The session ended.
    SignedOut,
    /// Anything else (an answer we could not read): the outcome is unknown.
    Unknown,
}

fn reference_in(body: &Value) -> Option<String> {
    body.get("reference")
        .and_then(Value::as_str)
        .filter(|r| well_formed_reference(r))
        .map(str::to_owned)
}

pub(super) fn checkout_refusal(e: &PeerError) -> CheckoutRefusal {
    let PeerError::Status { status, body, .. } = e else {
        return match e {
            PeerError::Unavailable { .. } => CheckoutRefusal::Unknown,
            _ => CheckoutRefusal::Unknown,
        };
    };
    if *status == 401 {
        return CheckoutRefusal::SignedOut;
    }
    use ProblemType as P;
    let Some(kind) = problem_type(body) else {
        return CheckoutRefusal::Unknown;
    };
    match kind {
        P::PaymentDeclined => CheckoutRefusal::Declined {
            decline_code: body
                .get("decline_code")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned(),
        },
        P::CartTaken => match reference_in(body) {
            Some(reference) => CheckoutRefusal::CartTaken { reference },
            None => CheckoutRefusal::AlreadySent,
        },
        P::Unavailable | P::Timeout => match reference_in(body) {
            Some(reference) => CheckoutRefusal::Settling { reference },
            // Refused before a booking existed: nothing was booked or charged.
            None => CheckoutRefusal::Unavailable,
        },
        P::PaymentUnavailable => CheckoutRefusal::PaymentUnavailable,
        // `conflict` is what a still-running key answered before it had its own kind
        // (a booking-service not yet upgraded, during a rolling deploy).
        P::InProgress | P::Conflict => CheckoutRefusal::InProgress,
        P::IdempotencyMismatch => CheckoutRefusal::AlreadySent,
        P::SoldOut => CheckoutRefusal::SoldOut,
        P::OfferExpired => CheckoutRefusal::OfferExpired,
        P::RateLimited => CheckoutRefusal::Throttled,
        P::Validation | P::BadParameter => CheckoutRefusal::Invalid,
        P::CheckoutFailed => CheckoutRefusal::Failed,
        _ => CheckoutRefusal::Unknown,
    }
}

/// The page for a refused checkout that is not shown on the form itself.
pub(super) fn refusal_message(r: &CheckoutRefusal) -> (StatusCode, String, String, Vec<Action>) {
    let bookings = || Action::new("My bookings", "/bookings");
    let cart = || Action::new("Back to your cart", "/cart");
    match r {
        CheckoutRefusal::Settling { reference } => {
            let here = format!("/bookings/{reference}");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                "We could not reach the payment service".to_owned(),
                format!(
                    "Your booking {reference} is being settled: it will be confirmed or undone shortly, and nothing is charged twice. Check its status in a moment."
                ),
                vec![Action::new(&format!("Check booking {reference}"), &here), bookings()],
            )
        }
        CheckoutRefusal::InProgress | CheckoutRefusal::AlreadySent => (
            StatusCode::CONFLICT,
            "Your booking is being processed".to_owned(),
            "This checkout was already sent and is still being completed; nothing is charged twice. Check My bookings in a moment.".to_owned(),
            vec![bookings()],
        ),
        CheckoutRefusal::SoldOut => (
            StatusCode::CONFLICT,
            "Sold out".to_owned(),
            "Sorry, one of the items in your cart sold out while you were booking. Nothing was charged. Remove it and search again.".to_owned(),
            vec![cart()],
        ),
        CheckoutRefusal::OfferExpired => (
            StatusCode::GONE,
            "An offer in your cart has expired".to_owned(),
            "Prices are guaranteed for 20 minutes. Nothing was charged. Remove the expired item and search again.".to_owned(),
            vec![cart()],
        ),
        CheckoutRefusal::Throttled => (
            StatusCode::TOO_MANY_REQUESTS,
            "Too many bookings in progress".to_owned(),
            "You have several bookings being processed. Wait a moment, then check My bookings.".to_owned(),
            vec![bookings()],
        ),
        CheckoutRefusal::Failed => (
            StatusCode::CONFLICT,
            "The booking could not be completed".to_owned(),
            "Nothing was charged. Check your cart and try again.".to_owned(),
            vec![cart()],
        ),
        CheckoutRefusal::Unavailable => (
            StatusCode::SERVICE_UNAVAILABLE,
            "We are having a short break".to_owned(),
            "Part of OTA Travel is not answering right now, so nothing was booked or charged. Please try again in a minute.".to_owned(),
            vec![Action::new("Try again", "/checkout"), cart()],
        ),
        // Sent, but no answer we could read: the booking may exist.
        _ => (
            StatusCode::BAD_GATEWAY,
            "We could not confirm your booking".to_owned(),
            "We did not get an answer about this booking. If it went through it is in My bookings; nothing is charged twice. Check there before trying again.".to_owned(),
            vec![bookings()],
        ),
    }
}
