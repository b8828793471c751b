//! The checkout's tests: refusals, the form's travellers and errors, its page and its card.

use askama::Template;
use ota_contract::cart::{CartItemView, OfferKind};
use ota_platform::money::Money;
use serde_json::{Value, json};

use super::form::traveller_field;
use super::*;
use crate::clients::Passengers;
use crate::views::{FieldError, Layout, error_at};

fn problem(status: u16, body: Value) -> PeerError {
    PeerError::Status {
        peer: "booking-service".to_owned(),
        status,
        body,
    }
}

fn slug(s: &str) -> String {
    format!("https://ota-travel.example.com/problems/{s}")
}

#[test]
fn a_payment_service_fault_is_never_a_declined_card() {
    for kind in ["unavailable", "timeout"] {
        let e = problem(
            503,
            json!({"type": slug(kind), "detail": "x",
                   "reference": "ABC234", "status": "PAYMENT_PENDING"}),
        );
        let r = checkout_refusal(&e);
        assert_eq!(
            r,
            CheckoutRefusal::Settling {
                reference: "ABC234".to_owned()
            }
        );
        let (status, heading, text, actions) = refusal_message(&r);
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
        assert!(heading.contains("could not reach the payment service"));
        assert!(text.contains("ABC234") && text.contains("nothing is charged twice"));
        assert!(
            !format!("{heading} {text}")
                .to_lowercase()
                .contains("declin")
        );
        assert_eq!(actions[0].href, "/bookings/ABC234");
    }
    // Recovery found the payment never went through: a failed booking, try again.
    let e = problem(
        503,
        json!({"type": slug("payment-unavailable"), "reference": "ABC234", "status": "FAILED"}),
    );
    assert_eq!(checkout_refusal(&e), CheckoutRefusal::PaymentUnavailable);
    // Only a 402 payment-declined is a refused card.
    let e = problem(
        402,
        json!({"type": slug("payment-declined"), "reference": "ABC234", "status": "FAILED",
               "decline_code": "insufficient_funds"}),
    );
    assert_eq!(
        checkout_refusal(&e),
        CheckoutRefusal::Declined {
            decline_code: "insufficient_funds".to_owned()
        }
    );
    let e = problem(402, json!({"type": slug("something-else")}));
    assert_eq!(checkout_refusal(&e), CheckoutRefusal::Unknown);
    // Our own request to booking-service failing says nothing about the booking.
    let e = PeerError::Unavailable {
        peer: "booking-service".to_owned(),
        reason: "no answer".to_owned(),
    };
    let (_, _, text, _) = refusal_message(&checkout_refusal(&e));
    assert!(!text.contains("Nothing has been charged"), "{text}");
    assert!(text.contains("My bookings"), "{text}");
}

#[test]
fn refusals_are_told_apart_by_their_type_never_by_their_members_or_wording() {
    // A second checkout of a claimed cart names the booking that holds it.
    let e = problem(
        409,
        json!({"type": slug("cart-taken"), "reference": "XYZ789", "status": "CONFIRMED"}),
    );
    assert_eq!(
        checkout_refusal(&e),
        CheckoutRefusal::CartTaken {
            reference: "XYZ789".to_owned()
        }
    );
    // Sold out, whether or not it names a booking.
    for body in [
        json!({"type": slug("sold-out"), "reference": "XYZ789", "status": "FAILED"}),
        json!({"type": slug("sold-out"), "offer_id": "k.p.m"}),
    ] {
        assert_eq!(
            checkout_refusal(&problem(409, body)),
            CheckoutRefusal::SoldOut
        );
    }
    // The same form still running.
    assert_eq!(
        checkout_refusal(&problem(409, json!({"type": slug("in-progress")}))),
        CheckoutRefusal::InProgress
    );
    // A traveller's name that mentions idempotency is still a traveller error.
    let e = problem(
        422,
        json!({"type": slug("validation"), "errors": [
            {"field": "travellers[0].last_name", "message": "Idempotency is not a surname"}]}),
    );
    assert_eq!(checkout_refusal(&e), CheckoutRefusal::Invalid);
    // Only the type tells a reused key: a validation problem naming the key's header is
    // still a validation problem.
    let e = problem(
        422,
        json!({"type": slug("validation"), "errors": [
            {"field": "Idempotency-Key", "message": "was already used"}]}),
    );
    assert_eq!(checkout_refusal(&e), CheckoutRefusal::Invalid);
    assert_eq!(
        checkout_refusal(&problem(422, json!({"type": slug("idempotency-mismatch")}))),
        CheckoutRefusal::AlreadySent
    );
    // A reference that is not one is not followed.
    let e = problem(
        409,
        json!({"type": slug("cart-taken"), "reference": "../../evil"}),
    );
    assert_eq!(checkout_refusal(&e), CheckoutRefusal::AlreadySent);
}

fn item(kind: OfferKind, passengers: Option<Passengers>) -> CartItemView {
    CartItemView {
        item_id: uuid::Uuid::nil(),
        offer_id: "k.p.m".into(),
        kind,
        total: Money::new(100, "USD"),
        expires_at: String::new(),
        expired: false,
        summary: String::new(),
        passengers,
    }
}

#[test]
fn the_form_asks_for_one_traveller_per_passenger_by_type() {
    let family = Passengers {
        adults: 2,
        children: 1,
        infants: 1,
    };
    assert_eq!(
        traveller_kinds(&[
            item(OfferKind::Hotel, None),
            item(OfferKind::Flight, Some(family))
        ]),
        vec![
            TravellerKind::Adult,
            TravellerKind::Adult,
            TravellerKind::Child,
            TravellerKind::Infant
        ]
    );
    assert_eq!(
        traveller_kinds(&[item(OfferKind::Hotel, None)]),
        vec![TravellerKind::Guest]
    );
    assert_eq!(
        traveller_kinds(&[item(OfferKind::Flight, Some(Passengers::adults(3)))]).len(),
        3
    );
}

#[test]
fn traveller_errors_are_shown_at_the_traveller() {
    let travellers: Vec<TravellerFields> = [
        TravellerKind::Adult,
        TravellerKind::Child,
        TravellerKind::Infant,
    ]
    .into_iter()
    .enumerate()
    .map(|(i, k)| TravellerFields::new(i, k))
    .collect();
    let body = json!({"type": slug("validation"), "errors": [
        {"field": "travellers[2].date_of_birth", "message": "makes this traveller 3 years old on the day of the first departure, not an infant"},
        {"field": "travellers", "message": "must include an adult 18 or over"},
        {"field": "card.cvc", "message": "must be 3 or 4 digits"}
    ]});
    let e = checkout_problem_errors(&body, &travellers);
    assert_eq!(e.travellers.len(), 1);
    assert_eq!(e.travellers[0].0, 2);
    assert_eq!(e.travellers[0].1, "date_of_birth");
    assert!(e.travellers[0].2.starts_with("The date of birth makes"));
    assert_eq!(
        error_at(&e.fields, "travellers"),
        "Travellers must include an adult 18 or over."
    );
    let body = json!({"type": slug("validation"), "errors": [
        {"field": "travellers", "message": "the flight in your cart is for 2 adults"}]});
    assert_eq!(
        error_at(
            &checkout_problem_errors(&body, &travellers).fields,
            "travellers"
        ),
        "The flight in your cart is for 2 adults."
    );
    assert_eq!(
        error_at(&e.fields, "card_cvc"),
        "The security code must be 3 or 4 digits."
    );
    // Every error is in the summary too, naming the traveller by type.
    assert_eq!(e.summary.len(), 3);
    assert!(e.summary[0].starts_with("Traveller 3 (infant): the date of birth"));
    assert_eq!(
        traveller_field("travellers[12].first_name"),
        Some((12, "first_name"))
    );
    assert_eq!(traveller_field("travellers[x].first_name"), None);
    assert_eq!(traveller_field("travellers[1].passport"), None);
}

fn page_with(travellers: Vec<TravellerFields>, fields: Vec<FieldError>) -> CheckoutPage {
    CheckoutPage {
        layout: Layout {
            title: "Checkout".into(),
            user: Some("Ada".into()),
            csrf: "c".into(),
            section: "cart",
        },
        items: Vec::new(),
        total: "$1.00".into(),
        travellers,
        email: String::new(),
        holder: String::new(),
        idempotency_key: "k".into(),
        today: "2026-01-01".into(),
        errors: vec!["x".into()],
        field_errors: fields,
        alert: None,
    }
}

#[test]
fn the_checkout_page_labels_travellers_and_ties_errors_to_their_fields() {
    let mut child = TravellerFields::new(1, TravellerKind::Child);
    child.dob_error = "The date of birth makes this traveller 12.".into();
    let html = page_with(
        vec![TravellerFields::new(0, TravellerKind::Adult), child],
        vec![FieldError::new(
            "travellers",
            "Travellers must include an adult.",
        )],
    )
    .render()
    .expect("renders");
    assert!(html.contains("Traveller 1: Adult"), "{html}");
    assert!(html.contains("Traveller 2: Child"), "{html}");
    assert!(html.contains("2 to 11 years"), "{html}");
    assert!(html.contains(
        r#"id="date_of_birth_1" name="date_of_birth_1" type="date" value="" required max="2026-01-01" aria-invalid="true" aria-describedby="date_of_birth_1-error""#
    ), "{html}");
    assert!(html.contains(r#"<span class="field-error" id="date_of_birth_1-error">"#));
    assert!(!html.contains(r#"aria-describedby="date_of_birth_0-error""#));
    assert!(html.contains(r#"id="travellers-error""#));
    assert!(html.contains(r#"aria-describedby="travellers-error""#));
    // No e-mail is sent: the page does not promise one, nor changes it cannot make.
    let lower = html.to_lowercase();
    for promise in [
        "confirmation",
        "we will e-mail",
        "we'll e-mail",
        "send you",
        "change",
    ] {
        assert!(
            !lower.contains(promise),
            "the checkout page promises {promise:?}"
        );
    }
}

#[test]
fn card_expiry_reads_both_year_forms() {
    assert_eq!(expiry("12/30"), Some((12, 2030)));
    assert_eq!(expiry("01/2031"), Some((1, 2031)));
    assert_eq!(expiry("13/30"), None);
    assert_eq!(expiry("1230"), None);
}

#[tokio::test]
async fn every_send_of_one_form_pays_with_the_same_card() {
    let cards = std::sync::Arc::new(FormCards::default());
    let stored = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let send = |form: &'static str| {
        let cards = cards.clone();
        let stored = stored.clone();
        tokio::spawn(async move {
            cards
                .card_for(form, || async move {
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                    let n = stored.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    Ok(format!("card-{n}"))
                })
                .await
        })
    };
    let (a, b) = (send("form-1"), send("form-1"));
    let (a, b) = (a.await.expect("task"), b.await.expect("task"));
    assert_eq!(a.ok(), b.ok());
    assert_eq!(stored.load(std::sync::atomic::Ordering::SeqCst), 1);
    let c = send("form-2").await.expect("task");
    assert_eq!(c.ok().as_deref(), Some("card-1"));
    // A refused card is not remembered: the corrected form stores the next one.
    let refused = cards
        .card_for("form-3", || async {
            Err(PeerError::Status {
                peer: "payment-service".into(),
                status: 422,
                body: Value::Null,
            })
        })
        .await;
    assert!(refused.is_err());
    let again = cards
        .card_for("form-3", || async { Ok("card-ok".to_owned()) })
        .await;
    assert_eq!(again.ok().as_deref(), Some("card-ok"));
}
