//! The checkout pages: the form for the cart, and sending it as one checkout however
//! often it is sent.

mod cards;
mod form;
mod refusal;
#[cfg(test)]
mod tests;

use axum::extract::{Form, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;
use chrono::{Datelike, NaiveDate};
use ota_contract::booking::{CheckoutRequest, ContactInput, TravellerInput};
use ota_contract::payment::{CardInput, CardSecret};
use ota_platform::client::PeerError;

use super::common::{layout, message, one, redirect, refusal, render, signed_in, today};
use super::errors::{forbidden, peer_failure};
use crate::Web;
use crate::clients::encode;
use crate::format;
use crate::session::Session;
use crate::views::{CartRow, CheckoutAlert, CheckoutPage, TravellerFields, TravellerKind};

pub use cards::FormCards;
use form::{CheckoutErrors, CheckoutFields, checkout_problem_errors, expiry, traveller_kinds};
use refusal::{CheckoutRefusal, checkout_refusal, decline_text, refusal_message};

/// The most travellers a checkout form can name (9 seats and an infant per adult).
const MAX_TRAVELLERS: usize = 18;

/// The checkout page for the current cart, or the cart page when it cannot be checked
/// out. A fresh idempotency key per render: every send of this form is the same
/// checkout, a new attempt after a refusal is a new one.
async fn checkout_page(
    web: &Web,
    session: &mut Session,
    token: &str,
    status: StatusCode,
    fields: Option<CheckoutFields>,
    errors: CheckoutErrors,
    alert: Option<CheckoutAlert>,
) -> Response {
    let cart = match web.api.cart(token).await {
        Ok(c) => c,
        Err(e) => return peer_failure(session, &e, "/checkout"),
    };
    if cart.items.is_empty() || cart.items.iter().any(|i| i.expired) {
        return redirect(session, "/cart");
    }
    let kinds = traveller_kinds(&cart.items);
    let user = session.user.clone();
    let mut fields = fields.unwrap_or_else(|| CheckoutFields {
        travellers: Vec::new(),
        email: user.as_ref().map(|u| u.email.clone()).unwrap_or_default(),
        holder: user.as_ref().map(|u| u.name.clone()).unwrap_or_default(),
    });
    fields.travellers.truncate(kinds.len());
    for (i, kind) in kinds.iter().enumerate() {
        match fields.travellers.get_mut(i) {
            Some(t) => t.kind = *kind,
            None => fields.travellers.push(TravellerFields::new(i, *kind)),
        }
    }
    for (i, part, message) in errors.travellers {
        if let Some(t) = fields.travellers.get_mut(i) {
            match part {
                "first_name" => t.first_error = message,
                "last_name" => t.last_error = message,
                _ => t.dob_error = message,
            }
        }
    }
    render(
        session,
        status,
        &CheckoutPage {
            layout: layout(session, "Checkout", "cart"),
            items: cart.items.iter().map(CartRow::of).collect(),
            total: format::money(&cart.total),
            travellers: fields.travellers,
            email: fields.email,
            holder: fields.holder,
            idempotency_key: uuid::Uuid::new_v4().to_string(),
            today: today().to_string(),
            errors: errors.summary,
            field_errors: errors.fields,
            alert,
        },
    )
}

pub(super) async fn checkout_form(State(web): State<Web>, mut session: Session) -> Response {
    let token = match signed_in(&session, "/checkout") {
        Ok(t) => t,
        Err(r) => return r,
    };
    checkout_page(
        &web,
        &mut session,
        &token,
        StatusCode::OK,
        None,
        CheckoutErrors::default(),
        None,
    )
    .await
}

/// How long a send waits for the first send of the same form to finish.
const SAME_FORM_WAIT: std::time::Duration = std::time::Duration::from_secs(10);

pub(super) async fn checkout(
    State(web): State<Web>,
    mut session: Session,
    Form(p): Form<Vec<(String, String)>>,
) -> Response {
    if !session.csrf_ok(&one(&p, "csrf")) {
        return forbidden(&session);
    }
    let token = match signed_in(&session, "/checkout") {
        Ok(t) => t,
        Err(r) => return r,
    };
    let key = one(&p, "idempotency_key");
    let key_ok = key.parse::<uuid::Uuid>().is_ok();
    let count = one(&p, "travellers")
        .parse::<usize>()
        .unwrap_or(1)
        .clamp(1, MAX_TRAVELLERS);
    let mut errors = CheckoutErrors::default();
    let travellers: Vec<TravellerFields> = (0..count)
        .map(|i| {
            let kind = TravellerKind::from_code(&one(&p, &format!("kind_{i}")));
            let mut t = TravellerFields::new(i, kind);
            t.first = one(&p, &format!("first_name_{i}"));
            t.last = one(&p, &format!("last_name_{i}"));
            t.dob = one(&p, &format!("date_of_birth_{i}"));
            t
        })
        .collect();
    for t in &travellers {
        if t.first.is_empty() {
            errors.traveller(t, "first_name", "enter the first name.");
        }
        if t.last.is_empty() {
            errors.traveller(t, "last_name", "enter the last name.");
        }
        match NaiveDate::parse_from_str(&t.dob, "%Y-%m-%d") {
            Ok(d) if d < today() && d.year() > 1900 => {}
            _ => errors.traveller(t, "date_of_birth", "enter a date of birth in the past."),
        }
    }
    let email = one(&p, "email");
    if ota_contract::Email::parse(&email).is_err() {
        errors.field("email", "Enter a contact e-mail address.");
    }
    let number: String = one(&p, "card_number")
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .collect();
    if !(12..=19).contains(&number.len()) || !number.bytes().all(|b| b.is_ascii_digit()) {
        errors.field("card_number", "The card number must be 12 to 19 digits.");
    }
    let exp = expiry(&one(&p, "card_expiry"));
    if exp.is_none() {
        errors.field("card_expiry", "Enter the card's expiry date as MM/YY.");
    }
    let cvc = one(&p, "card_cvc");
    if !(3..=4).contains(&cvc.len()) || !cvc.bytes().all(|b| b.is_ascii_digit()) {
        errors.field(
            "card_cvc",
            "The security code is the 3 or 4 digits on the card.",
        );
    }
    let holder = one(&p, "card_holder");
    if holder.is_empty() {
        errors.field("card_holder", "Enter the name on the card.");
    }
    // The kinds as the form was rendered; the page labels them from the cart again.
    let fields = CheckoutFields {
        travellers,
        email: email.clone(),
        holder: holder.clone(),
    };
    if !key_ok {
        // Not a form we rendered; a new render gives it a key.
        errors
            .summary
            .push("Please submit the checkout form again.".to_owned());
    }
    let (Some((exp_month, exp_year)), true) = (exp, errors.is_empty()) else {
        return checkout_page(
            &web,
            &mut session,
            &token,
            StatusCode::UNPROCESSABLE_ENTITY,
            Some(fields),
            errors,
            None,
        )
        .await;
    };
    let card = CardInput {
        number: CardSecret::new(&number),
        exp_month: i64::from(exp_month),
        exp_year: i64::from(exp_year),
        cvc: CardSecret::new(&cvc),
        holder_name: holder,
    };
    let method = web
        .form_cards
        .card_for(&format!("{}:{key}", email_of(&session)), || async {
            web.api
                .add_card(&token, &card)
                .await
                .map(|m| m.id.to_string())
        })
        .await;
    let method = match method {
        Ok(m) => m,
        Err(e) => {
            return match refusal(&e) {
                Some((400 | 422, body)) => {
                    let errors = checkout_problem_errors(body, &fields.travellers);
                    checkout_page(
                        &web,
                        &mut session,
                        &token,
                        StatusCode::UNPROCESSABLE_ENTITY,
                        Some(fields),
                        errors,
                        None,
                    )
                    .await
                }
                _ => peer_failure(&mut session, &e, "/checkout"),
            };
        }
    };
    let body = CheckoutRequest {
        travellers: Some(
            fields
                .travellers
                .iter()
                .map(|t| TravellerInput {
                    first_name: Some(t.first.clone()),
                    last_name: Some(t.last.clone()),
                    date_of_birth: Some(t.dob.clone()),
                })
                .collect(),
        ),
        contact: Some(ContactInput { email: Some(email) }),
        payment_method_id: Some(method),
    };
    // A send of a form whose first send is still running waits for its outcome.
    let started = std::time::Instant::now();
    let mut delay = std::time::Duration::from_millis(250);
    let answer = loop {
        let answer = web.api.checkout(&token, &key, &body).await;
        match &answer {
            Err(e)
                if checkout_refusal(e) == CheckoutRefusal::InProgress
                    && started.elapsed() + delay < SAME_FORM_WAIT =>
            {
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(std::time::Duration::from_secs(2));
            }
            _ => break answer,
        }
    };
    let e = match answer {
        Ok(b) => {
            return redirect(
                &session,
                &format!("/bookings/{}?confirmed=1", encode(&b.reference)),
            );
        }
        Err(e) => e,
    };
    let refusal = checkout_refusal(&e);
    match refusal {
        CheckoutRefusal::Declined { decline_code } => {
            let alert = CheckoutAlert {
                heading: "Payment declined".to_owned(),
                text: format!(
                    "{} Nothing was charged. Check the details or use another card.",
                    decline_text(&decline_code)
                ),
            };
            checkout_page(
                &web,
                &mut session,
                &token,
                StatusCode::PAYMENT_REQUIRED,
                Some(fields),
                CheckoutErrors::default(),
                Some(alert),
            )
            .await
        }
        CheckoutRefusal::PaymentUnavailable => {
            let alert = CheckoutAlert {
                heading: "The payment service was unavailable".to_owned(),
                text: "We could not reach the payment service, so this booking did not go through and nothing was charged. Please try again.".to_owned(),
            };
            checkout_page(
                &web,
                &mut session,
                &token,
                StatusCode::SERVICE_UNAVAILABLE,
                Some(fields),
                CheckoutErrors::default(),
                Some(alert),
            )
            .await
        }
        CheckoutRefusal::Invalid => {
            let errors = match &e {
                PeerError::Status { body, .. } => checkout_problem_errors(body, &fields.travellers),
                _ => CheckoutErrors::default(),
            };
            checkout_page(
                &web,
                &mut session,
                &token,
                StatusCode::UNPROCESSABLE_ENTITY,
                Some(fields),
                errors,
                None,
            )
            .await
        }
        CheckoutRefusal::CartTaken { reference } => redirect(
            &session,
            &format!("/bookings/{}?confirmed=1", encode(&reference)),
        ),
        CheckoutRefusal::SignedOut => peer_failure(&mut session, &e, "/checkout"),
        other => {
            let (status, heading, text, actions) = refusal_message(&other);
            let mut res = message(&session, status, &heading, &text, actions);
            if status == StatusCode::SERVICE_UNAVAILABLE {
                res.headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
            }
            if other == CheckoutRefusal::Unknown {
                tracing::warn!(error = %e, "a checkout's outcome is unknown");
            }
            res
        }
    }
}

fn email_of(session: &Session) -> String {
    session
        .user
        .as_ref()
        .map(|u| u.email.clone())
        .unwrap_or_default()
}
