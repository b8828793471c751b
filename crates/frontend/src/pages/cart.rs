//! The cart pages: adding an offer, the cart itself and removing an item.

use axum::extract::{Form, Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use ota_contract::ProblemType;
use ota_platform::client::PeerError;
use serde::Deserialize;

use super::common::{
    CsrfForm, field_errors, layout, message, problem_type, redirect, refusal, render, search_back,
    signed_in, well_formed_offer,
};
use super::errors::{expired_offer, forbidden, page_not_found, peer_failure, sold_out};
use crate::Web;
use crate::clients::encode;
use crate::format;
use crate::session::Session;
use crate::views::{Action, CartPage, CartRow};

#[derive(Deserialize, Default)]
pub(super) struct AddForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    offer_id: String,
    #[serde(default)]
    back: String,
}

pub(super) async fn add_to_cart(
    State(web): State<Web>,
    mut session: Session,
    Form(f): Form<AddForm>,
) -> Response {
    if !session.csrf_ok(&f.csrf) {
        return forbidden(&session);
    }
    if !well_formed_offer(&f.offer_id) {
        return page_not_found(&session);
    }
    let back = search_back(&f.back);
    let Some(user) = session.user.clone() else {
        return redirect(
            &session,
            &format!(
                "/login?add={}&back={}&reason=cart",
                encode(&f.offer_id),
                encode(&back)
            ),
        );
    };
    add_offer(&web, &mut session, &user.access_token, &f.offer_id, &back).await
}

/// Adds an offer to the cart and shows the cart, or says why it could not be added.
pub(super) async fn add_offer(
    web: &Web,
    session: &mut Session,
    token: &str,
    offer_id: &str,
    back: &str,
) -> Response {
    match web.api.add_to_cart(token, offer_id).await {
        Ok(_) => redirect(session, "/cart?added=1"),
        Err(e) => match refusal(&e) {
            Some((_, body)) => match problem_type(body) {
                Some(ProblemType::OfferExpired) => expired_offer(session, back),
                Some(ProblemType::AlreadyInCart) => redirect(session, "/cart"),
                Some(ProblemType::SoldOut) => sold_out(session, back),
                _ => message(
                    session,
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "We could not add this to your cart",
                    &field_errors(body, |_| "").join(" "),
                    vec![
                        Action::new("See your cart", "/cart"),
                        Action::new("Back to results", back),
                    ],
                ),
            },
            None => peer_failure(session, &e, back),
        },
    }
}

#[derive(Deserialize, Default)]
pub(super) struct CartQuery {
    #[serde(default)]
    added: Option<String>,
    #[serde(default)]
    removed: Option<String>,
}

pub(super) async fn cart(
    State(web): State<Web>,
    mut session: Session,
    Query(q): Query<CartQuery>,
) -> Response {
    let token = match signed_in(&session, "/cart") {
        Ok(t) => t,
        Err(r) => return r,
    };
    let cart = match web.api.cart(&token).await {
        Ok(c) => c,
        Err(e) => return peer_failure(&mut session, &e, "/cart"),
    };
    let mut notes = Vec::new();
    if q.added.is_some() {
        notes.push("Added to your cart.".to_owned());
    }
    if q.removed.is_some() {
        notes.push("Removed from your cart.".to_owned());
    }
    let items: Vec<CartRow> = cart.items.iter().map(CartRow::of).collect();
    render(
        &session,
        StatusCode::OK,
        &CartPage {
            layout: layout(&session, "Your cart", "cart"),
            notes,
            any_expired: items.iter().any(|i| i.expired),
            items,
            total: format::money(&cart.total),
        },
    )
}

pub(super) async fn remove_from_cart(
    State(web): State<Web>,
    mut session: Session,
    Path(item_id): Path<String>,
    Form(f): Form<CsrfForm>,
) -> Response {
    if !session.csrf_ok(&f.csrf) {
        return forbidden(&session);
    }
    let token = match signed_in(&session, "/cart") {
        Ok(t) => t,
        Err(r) => return r,
    };
    let Ok(item_id) = item_id.parse::<uuid::Uuid>() else {
        return page_not_found(&session);
    };
    match web.api.remove_from_cart(&token, item_id).await {
        // Already gone is what the traveller wanted.
        Ok(()) | Err(PeerError::Status { status: 404, .. }) => {
            redirect(&session, "/cart?removed=1")
        }
        Err(e) => peer_failure(&mut session, &e, "/cart"),
    }
}
