//! Offers revalidated against the live inventory: `GET /api/v1/offers/{offer_id}`, and
//! the checks a hold makes of the offers it holds.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use chrono::{DateTime, NaiveDate, Utc};
use ota_contract::search::AnyOffer;
use ota_platform::Problem;

use super::SearchState;
use super::answers::{json_bytes, to_json};
use crate::flights;
use crate::hotels;
use crate::index::Index;
use crate::offers::{OfferClaims, OfferError};
use crate::store::InventoryItem;

/// Why an offer can no longer be sold at `now` (410), judged the same way when it is
/// revalidated and when it is held: its price guarantee expired, a flight has left,
/// check-in has passed, or a flexible rate's free cancellation has ended.
pub(super) fn no_longer_for_sale(
    index: &Index,
    claims: &OfferClaims,
    offer_id: &str,
    now: DateTime<Utc>,
) -> Option<Problem> {
    let why = if claims.expires_at() <= now {
        "This offer has expired; search again for current prices."
    } else {
        match claims {
            OfferClaims::Flight { s, .. } => s
                .iter()
                .flatten()
                .any(|id| index.flight(*id).is_none_or(|f| f.departure <= now))
                .then_some("This flight has already left.")?,
            OfferClaims::Hotel { rt, rp, ci, .. } => match hotels::offer_parts(index, *rt, rp) {
                None => "This hotel, room type or rate plan is no longer sold.",
                Some((h, ..)) if h.check_in_at(*ci) <= now => {
                    "Check-in time for this stay has passed."
                }
                Some((h, _, plan))
                    if plan.refundable
                        && hotels::free_cancellation_until(h, plan, *ci)
                            .is_none_or(|until| until <= now) =>
                {
                    "Free cancellation for this rate has ended; search again for the rates on sale now."
                }
                Some(_) => return None,
            },
        }
    };
    Some(Problem::new(StatusCode::GONE, "offer-expired", why).with("offer_id", offer_id))
}

/// Whether a hotel offer's rate plan still sells its stay (a plan stop-sold or
/// restricted since the offer was made no longer does); flight offers always.
pub(super) fn on_sale_on_its_plan(index: &Index, claims: &OfferClaims) -> bool {
    match claims {
        OfferClaims::Hotel {
            rt,
            rp,
            ci,
            n,
            r,
            g,
            ..
        } => hotels::plan_sells(index, *rt, rp, *ci, *n, *g, *r),
        OfferClaims::Flight { .. } => true,
    }
}

/// Checks a signed offer against the live inventory.
pub async fn check_offer(
    state: &SearchState,
    offer_id: &str,
    field: &str,
) -> Result<OfferClaims, Problem> {
    let claims = OfferClaims::verify(offer_id, &state.keys).map_err(|OfferError::Invalid| {
        Problem::field(
            field,
            "is not a valid offer id (malformed or tampered with)",
        )
    })?;
    if let Some(gone) = no_longer_for_sale(&state.index.get(), &claims, offer_id, Utc::now()) {
        return Err(gone);
    }
    if !on_sale_on_its_plan(&state.index.get(), &claims) {
        return Err(sold_out(offer_id));
    }
    for item in claims.items() {
        let needed = match &item {
            InventoryItem::Seats { quantity, .. } | InventoryItem::Rooms { quantity, .. } => {
                *quantity
            }
        };
        let left = state.store.available(&item).await?.unwrap_or(0);
        if left < needed {
            return Err(sold_out(offer_id));
        }
    }
    Ok(claims)
}

pub(super) fn sold_out(offer_id: &str) -> Problem {
    Problem::new(
        StatusCode::CONFLICT,
        "sold-out",
        "This offer is no longer available: not enough seats or rooms are left.",
    )
    .with("offer_id", offer_id)
}

/// The offer, revalidated at the moment of asking: 200 available (fare rules as they
/// stand now), 410 expired, departed, past check-in or past a flexible rate's free
/// cancellation, 409 no longer available.
#[utoipa::path(get, path = "/api/v1/offers/{offer_id}", tag = "search",
    params(("offer_id" = String, Path)),
    responses(
        (status = 200, body = AnyOffer, description = "The offer, still for sale: a flight or a hotel offer told apart by `kind`, fare rules as they stand now; prices in minor units"),
        (status = 409, body = Problem, description = "Not enough seats or rooms are left (problem `sold-out`, with `offer_id`)"),
        (status = 410, body = Problem, description = "The price guarantee ended, the flight left, check-in passed or a flexible rate's free cancellation ended (problem `offer-expired`, with `offer_id`): search again"),
        (status = 422, body = Problem, description = "Not an offer id of ours: malformed or tampered with (problem `validation`; `errors` names `offer_id`)")))]
pub(super) async fn revalidate_offer(
    State(state): State<SearchState>,
    Path(offer_id): Path<String>,
) -> Result<Response, Problem> {
    let claims = check_offer(&state, &offer_id, "offer_id").await?;
    let rendered = match &claims {
        OfferClaims::Flight { .. } => {
            flights::render(&state.index.get(), &claims, offer_id.clone(), Utc::now())
                .map(AnyOffer::Flight)
        }
        OfferClaims::Hotel { rt, ci, n, .. } => {
            let left = hotels_left(&state, *rt, *ci, *n).await?;
            hotels::render(&state.index.get(), &claims, offer_id.clone(), left).map(AnyOffer::Hotel)
        }
    };
    let offer = rendered.ok_or_else(|| sold_out(&offer_id))?;
    Ok(json_bytes(to_json(&offer)?))
}

async fn hotels_left(state: &SearchState, rt: i64, ci: NaiveDate, n: u16) -> Result<i32, Problem> {
    let mut left = i32::MAX;
    for d in 0..n {
        let item = InventoryItem::Rooms {
            room_type_id: rt,
            night: ci + chrono::Duration::days(i64::from(d)),
            quantity: 1,
        };
        left = left.min(state.store.available(&item).await?.unwrap_or(0));
    }
    Ok(left)
}
