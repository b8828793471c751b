//! Inventory holds booking-service takes for a checkout (`/internal/v1/holds...`,
//! service tokens only): hold, read, commit (sold) and release, each idempotent.

use std::collections::BTreeMap;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use chrono::{NaiveDate, Utc};
use ota_contract::search::{HoldRequest, HoldView};
use ota_platform::http::Json;
use ota_platform::tokens::ServiceCaller;
use ota_platform::{FieldError, Problem, StoreError};
use uuid::Uuid;

use super::SearchState;
use super::offers::{no_longer_for_sale, on_sale_on_its_plan, sold_out};
use crate::catalog::Cabin;
use crate::offers::OfferClaims;
use crate::store::{Hold, HoldError, HotelStay, InventoryItem};

fn hold_view(h: Hold) -> HoldView {
    HoldView {
        booking_id: h.booking_id,
        status: h.status,
        expires_at: h.expires_at.to_rfc3339(),
    }
}

fn hold_problem(e: HoldError, offers: &[(String, Vec<InventoryItem>)]) -> Problem {
    match e {
        HoldError::SoldOut(item) | HoldError::Unknown(item) => {
            let offer = offers
                .iter()
                .find(|(_, items)| items.iter().any(|i| same_inventory(i, &item)));
            sold_out(offer.map_or("", |(id, _)| id.as_str()))
        }
        HoldError::NotActive(status) => {
            Problem::conflict("The hold is no longer active (expired or released).")
                .with("status", status)
        }
        HoldError::Store(StoreError::NotFound) => Problem::not_found("No hold for this booking."),
        HoldError::Store(e) => e.into(),
    }
}

fn same_inventory(a: &InventoryItem, b: &InventoryItem) -> bool {
    match (a, b) {
        (
            InventoryItem::Seats {
                flight_id: f1,
                cabin: c1,
                ..
            },
            InventoryItem::Seats {
                flight_id: f2,
                cabin: c2,
                ..
            },
        ) => f1 == f2 && c1 == c2,
        (
            InventoryItem::Rooms {
                room_type_id: r1,
                night: n1,
                ..
            },
            InventoryItem::Rooms {
                room_type_id: r2,
                night: n2,
                ..
            },
        ) => r1 == r2 && n1 == n2,
        _ => false,
    }
}

/// Sums quantities of the same inventory across offers.
fn merge(items: impl IntoIterator<Item = InventoryItem>) -> Vec<InventoryItem> {
    let mut seats: BTreeMap<(i64, Cabin), i32> = BTreeMap::new();
    let mut rooms: BTreeMap<(i64, NaiveDate), i32> = BTreeMap::new();
    for i in items {
        match i {
            InventoryItem::Seats {
                flight_id,
                cabin,
                quantity,
            } => *seats.entry((flight_id, cabin)).or_default() += quantity,
            InventoryItem::Rooms {
                room_type_id,
                night,
                quantity,
            } => *rooms.entry((room_type_id, night)).or_default() += quantity,
        }
    }
    seats
        .into_iter()
        .map(|((flight_id, cabin), quantity)| InventoryItem::Seats {
            flight_id,
            cabin,
            quantity,
        })
        .chain(
            rooms
                .into_iter()
                .map(|((room_type_id, night), quantity)| InventoryItem::Rooms {
                    room_type_id,
                    night,
                    quantity,
                }),
        )
        .collect()
}

/// Holds the inventory of a booking's offers, all or nothing; idempotent by booking id.
#[utoipa::path(post, path = "/internal/v1/holds", tag = "internal", request_body = HoldRequest,
    responses(
        (status = 201, body = HoldView, description = "The inventory is held for the booking (`held`) until `expires_at`"),
        (status = 200, body = HoldView, description = "This booking has a hold already: that hold, as it stands (nothing more is held)"),
        (status = 401, body = Problem, description = "No service token, a bad one or an expired one (problem `unauthorized`)"),
        (status = 403, body = Problem, description = "A traveller's token: internal APIs take service tokens only (problem `forbidden`)"),
        (status = 409, body = Problem, description = "Not enough seats or rooms are left for an offer; nothing is held (problem `sold-out`, with `offer_id`)"),
        (status = 410, body = Problem, description = "An offer is no longer for sale: expired, departed or past check-in (problem `offer-expired`, with `offer_id`)"),
        (status = 422, body = Problem, description = "Not 1 to 10 offers, an invalid offer id, `ttl_seconds` not 60 to 1800, or a `reference` not 1 to 64 characters (problem `validation`; `errors` names each field)")),
    security(("service_token" = [])))]
pub(super) async fn create_hold(
    State(state): State<SearchState>,
    caller: ServiceCaller,
    Json(body): Json<HoldRequest>,
) -> Result<Response, Problem> {
    if let Some(existing) = state.store.hold(body.booking_id).await? {
        return Ok((StatusCode::OK, axum::Json(hold_view(existing))).into_response());
    }
    if body.offer_ids.is_empty() || body.offer_ids.len() > 10 {
        return Err(Problem::field("offer_ids", "must list 1 to 10 offers"));
    }
    let ttl = body.ttl_seconds.unwrap_or(900);
    if !(60..=1800).contains(&ttl) {
        return Err(Problem::field("ttl_seconds", "must be from 60 to 1800"));
    }
    let mut offers = Vec::new();
    let mut stays = Vec::new();
    let mut errors = Vec::new();
    let reference = match &body.reference {
        None => body.booking_id.to_string(),
        Some(r) if !r.trim().is_empty() && r.len() <= 64 => r.trim().to_owned(),
        Some(_) => return Err(Problem::field("reference", "must be 1 to 64 characters")),
    };
    for (i, id) in body.offer_ids.iter().enumerate() {
        match OfferClaims::verify(id, &state.keys) {
            Ok(c) => {
                if let Some(gone) = no_longer_for_sale(&state.index.get(), &c, id, Utc::now()) {
                    return Err(gone);
                }
                if !on_sale_on_its_plan(&state.index.get(), &c) {
                    return Err(sold_out(id));
                }
                if let OfferClaims::Hotel {
                    rt,
                    rp,
                    ci,
                    n,
                    r,
                    g,
                    t,
                    cur,
                    ..
                } = &c
                {
                    stays.push(HotelStay {
                        reference: reference.clone(),
                        room_type_id: *rt,
                        rate_plan_code: rp.clone(),
                        check_in: *ci,
                        nights: i32::from(*n),
                        rooms: i32::from(*r),
                        guests: i32::from(*g),
                        total_amount: *t,
                        currency: cur.clone(),
                    });
                }
                offers.push((id.clone(), c.items()));
            }
            Err(_) => errors.push(FieldError {
                field: format!("offer_ids[{i}]"),
                message: "is not a valid offer id".to_owned(),
            }),
        }
    }
    if !errors.is_empty() {
        return Err(Problem::invalid(errors));
    }
    let items = merge(offers.iter().flat_map(|(_, items)| items.clone()));
    // Whole seconds: both engines store them exactly, so every answer shows the same.
    let expires_at =
        chrono::SubsecRound::trunc_subsecs(Utc::now() + chrono::Duration::seconds(ttl), 0);
    let hold = state
        .store
        .create_hold_for(body.booking_id, &items, expires_at, &stays)
        .await
        .map_err(|e| hold_problem(e, &offers))?;
    tracing::info!(booking_id = %body.booking_id, caller = %caller.service, items = items.len(), "inventory held");
    Ok((StatusCode::CREATED, axum::Json(hold_view(hold))).into_response())
}

/// A booking's hold.
#[utoipa::path(get, path = "/internal/v1/holds/{booking_id}", tag = "internal",
    params(("booking_id" = Uuid, Path)),
    responses(
        (status = 200, body = HoldView, description = "The booking's hold: `held`, `committed` or `released`, and `expires_at`"),
        (status = 401, body = Problem, description = "No service token, a bad one or an expired one (problem `unauthorized`)"),
        (status = 403, body = Problem, description = "A traveller's token: internal APIs take service tokens only (problem `forbidden`)"),
        (status = 404, body = Problem, description = "This booking has no hold (problem `not-found`)")),
    security(("service_token" = [])))]
pub(super) async fn read_hold(
    State(state): State<SearchState>,
    _caller: ServiceCaller,
    Path(booking_id): Path<Uuid>,
) -> Result<axum::Json<HoldView>, Problem> {
    let hold = state
        .store
        .hold(booking_id)
        .await?
        .ok_or_else(|| Problem::not_found("No hold for this booking."))?;
    Ok(axum::Json(hold_view(hold)))
}

/// Turns the held inventory into sold inventory (idempotent).
#[utoipa::path(post, path = "/internal/v1/holds/{booking_id}/commit", tag = "internal",
    params(("booking_id" = Uuid, Path)),
    responses(
        (status = 200, body = HoldView, description = "The hold, `committed`: its inventory is sold; also the answer to a repeated commit"),
        (status = 401, body = Problem, description = "No service token, a bad one or an expired one (problem `unauthorized`)"),
        (status = 403, body = Problem, description = "A traveller's token: internal APIs take service tokens only (problem `forbidden`)"),
        (status = 404, body = Problem, description = "This booking has no hold (problem `not-found`)"),
        (status = 409, body = Problem, description = "The hold was released or expired before it was committed; nothing is sold (problem `conflict`, with the hold's `status`)")),
    security(("service_token" = [])))]
pub(super) async fn commit_hold(
    State(state): State<SearchState>,
    _caller: ServiceCaller,
    Path(booking_id): Path<Uuid>,
) -> Result<axum::Json<HoldView>, Problem> {
    settled(
        state.store.commit_hold(booking_id).await,
        booking_id,
        "sold",
    )
}

/// Gives the inventory back, held or sold (idempotent).
#[utoipa::path(post, path = "/internal/v1/holds/{booking_id}/release", tag = "internal",
    params(("booking_id" = Uuid, Path)),
    responses(
        (status = 200, body = HoldView, description = "The hold, `released`: its inventory, held or sold, is back on sale; also the answer to a repeated release"),
        (status = 401, body = Problem, description = "No service token, a bad one or an expired one (problem `unauthorized`)"),
        (status = 403, body = Problem, description = "A traveller's token: internal APIs take service tokens only (problem `forbidden`)"),
        (status = 404, body = Problem, description = "This booking has no hold (problem `not-found`)")),
    security(("service_token" = [])))]
pub(super) async fn release_hold(
    State(state): State<SearchState>,
    _caller: ServiceCaller,
    Path(booking_id): Path<Uuid>,
) -> Result<axum::Json<HoldView>, Problem> {
    settled(
        state.store.release_hold(booking_id).await,
        booking_id,
        "released",
    )
}

/// The answer to a commit or a release: the hold as it now stands, the inventory logged
/// as `what` became of it.
fn settled(
    hold: Result<Hold, HoldError>,
    booking_id: Uuid,
    what: &str,
) -> Result<axum::Json<HoldView>, Problem> {
    let hold = hold.map_err(|e| hold_problem(e, &[]))?;
    tracing::info!(%booking_id, "inventory {what}");
    Ok(axum::Json(hold_view(hold)))
}
