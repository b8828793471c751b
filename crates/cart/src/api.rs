//! The public cart API of API.md and the internal carts API booking-service uses
//! (docs/checkout.md).

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use chrono::{SubsecRound, Utc};
use ota_contract::cart::{AddItemRequest, CartItemView, CartView, CheckedOutRequest, OfferKind};
use ota_platform::http::Json;
use ota_platform::money::Money;
use ota_platform::tokens::{AuthUser, ServiceCaller};
use ota_platform::{FieldError, Problem};
use utoipa::OpenApi as _;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::cart::{Cart, CartError, CartItem, MAX_ITEMS, cart_view, item_view};
use crate::offers::{self, Offers, Refusal};
use crate::store::{CART_TTL, CartStore, UpdateError};

#[derive(Clone)]
pub struct CartState {
    pub store: CartStore,
    pub offers: Arc<dyn Offers>,
}

/// Every route of cart-service with its OpenAPI operation: one list for both.
pub fn router(state: CartState) -> OpenApiRouter {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(read_cart, clear_cart))
        .routes(routes!(add_item))
        .routes(routes!(remove_item))
        .routes(routes!(read_cart_internal, clear_cart_internal))
        .routes(routes!(checked_out_internal))
        .with_state(state)
}

/// What the route list does not say: the tags and the types named in the document.
#[derive(utoipa::OpenApi)]
#[openapi(
    components(schemas(AddItemRequest, CheckedOutRequest, CartView, CartItemView, OfferKind, Money, Problem, FieldError)),
    tags((name = "cart", description = "The traveller's cart"), (name = "internal", description = "Carts for checkout (service tokens only)"))
)]
pub struct ApiDoc;

fn view(cart: &Cart) -> CartView {
    let now = Utc::now();
    // The read or write that produced `cart` has just renewed its TTL. Whole seconds,
    // like the items' expiry times.
    let expires_at =
        (now + chrono::Duration::from_std(CART_TTL).unwrap_or_default()).trunc_subsecs(0);
    cart_view(cart, now, expires_at)
}

fn added(outcome: &'static str) {
    metrics::counter!("cart_additions_total", "outcome" => outcome).increment(1);
}

fn offer_field(message: impl Into<String>) -> Problem {
    Problem::field("offer_id", message)
}

/// The answer to a refused change of the cart.
fn refused(e: CartError, offer_id: &str) -> Problem {
    match e {
        CartError::Full => offer_field(format!(
            "cannot be added: a cart holds at most {MAX_ITEMS} items"
        )),
        CartError::CurrencyDiffers { cart, offer } => offer_field(format!(
            "is priced in {offer} but the cart is in {cart}; a cart holds one currency"
        )),
        CartError::AlreadyInCart { item_id } => Problem::new(
            StatusCode::CONFLICT,
            "already-in-cart",
            "This offer is already in your cart.",
        )
        .with("offer_id", offer_id)
        .with("item_id", item_id)
        .with(
            "errors",
            [FieldError {
                field: "offer_id".to_owned(),
                message: "is already in the cart".to_owned(),
            }],
        ),
        CartError::NotInCart => Problem::not_found("No such item in your cart."),
    }
}

fn update_problem(e: UpdateError, offer_id: &str) -> Problem {
    match e {
        UpdateError::Refused(e) => refused(e, offer_id),
        UpdateError::Cache(e) => e.into(),
        UpdateError::Contended => {
            Problem::unavailable("Your cart is being changed by other requests; please retry.")
        }
    }
}

fn refusal_problem(r: Refusal, offer_id: &str) -> Problem {
    match r {
        Refusal::Expired => Problem::new(
            StatusCode::GONE,
            "offer-expired",
            "This offer has expired; search again for current prices.",
        )
        .with("offer_id", offer_id),
        Refusal::SoldOut => Problem::new(
            StatusCode::CONFLICT,
            "sold-out",
            "This offer is no longer available: not enough seats or rooms are left. Search again.",
        )
        .with("offer_id", offer_id),
        Refusal::Invalid => offer_field("is not a valid offer id"),
        Refusal::Unavailable => {
            Problem::unavailable("Offers cannot be checked right now; please retry shortly.")
        }
    }
}

fn refusal_outcome(r: &Refusal) -> &'static str {
    match r {
        Refusal::Expired => "expired",
        Refusal::SoldOut => "sold_out",
        Refusal::Invalid => "invalid",
        Refusal::Unavailable => "unavailable",
    }
}

/// The caller's cart.
#[utoipa::path(get, path = "/api/v1/cart", tag = "cart",
    responses(
        (status = 200, body = CartView, description = "The caller's cart (empty if none), its 30-minute expiry renewed; amounts in minor units"),
        (status = 401, body = Problem, description = "No token, a bad one or an expired one (problem `unauthorized`)"),
        (status = 503, body = Problem, description = "The cart store failed (problem `unavailable`; `Retry-After`)")),
    security(("bearer" = [])))]
async fn read_cart(
    State(state): State<CartState>,
    user: AuthUser,
) -> Result<axum::Json<CartView>, Problem> {
    let cart = state.store.read(user.id).await?;
    Ok(axum::Json(view(&cart)))
}

/// Adds an offer, revalidated with search-service, to the caller's cart.
#[utoipa::path(post, path = "/api/v1/cart/items", tag = "cart", request_body = AddItemRequest,
    responses(
        (status = 201, body = CartItemView, description = "The item added, priced as search-service vouched for it; total in minor units"),
        (status = 401, body = Problem, description = "No token, a bad one or an expired one (problem `unauthorized`)"),
        (status = 409, body = Problem, description = "Not enough seats or rooms are left (problem `sold-out`, with `offer_id`), or the offer is in the cart already (problem `already-in-cart`, with `item_id`)"),
        (status = 410, body = Problem, description = "The offer's price guarantee ended or it is no longer for sale (problem `offer-expired`, with `offer_id`): search again"),
        (status = 422, body = Problem, description = "`offer_id` missing or not a valid offer id, priced in another currency than the cart's, or the cart holds 10 items already (problem `validation`; `errors` names `offer_id`)"),
        (status = 503, body = Problem, description = "The cart store or search-service failed, or the cart is being changed by other requests (problem `unavailable`; `Retry-After`): retry")),
    security(("bearer" = [])))]
async fn add_item(
    State(state): State<CartState>,
    user: AuthUser,
    Json(body): Json<AddItemRequest>,
) -> Result<(StatusCode, axum::Json<CartItemView>), Problem> {
    let offer_id = body.offer_id.trim();
    if offer_id.is_empty() {
        return Err(offer_field("is required"));
    }
    if !offers::well_formed(offer_id) {
        added("invalid");
        return Err(offer_field("is not a valid offer id"));
    }
    // A duplicate or a full cart is refused before search-service is asked; the same
    // rules are applied again to the cart actually written.
    let cart = state.store.read(user.id).await?;
    cart.check_addition(offer_id, None).map_err(|e| {
        added("refused");
        refused(e, offer_id)
    })?;
    let offer = state.offers.revalidate(offer_id).await.map_err(|r| {
        added(refusal_outcome(&r));
        refusal_problem(r, offer_id)
    })?;
    let (item, _) = state
        .store
        .update(user.id, |cart| {
            cart.add(CartItem::new(offer.clone())).cloned()
        })
        .await
        .map_err(|e| {
            if matches!(e, UpdateError::Refused(_)) {
                added("refused");
            }
            update_problem(e, offer_id)
        })?;
    added("added");
    tracing::info!(user_id = %user.id, item_id = %item.item_id, kind = ?item.kind, "offer added to a cart");
    Ok((
        StatusCode::CREATED,
        axum::Json(item_view(&item, Utc::now())),
    ))
}

/// Removes one item from the caller's cart.
#[utoipa::path(delete, path = "/api/v1/cart/items/{item_id}", tag = "cart",
    params(("item_id" = Uuid, Path)),
    responses(
        (status = 204, description = "The item is removed from the caller's cart"),
        (status = 401, body = Problem, description = "No token, a bad one or an expired one (problem `unauthorized`)"),
        (status = 404, body = Problem, description = "No item with this id in the caller's cart (problem `not-found`)"),
        (status = 503, body = Problem, description = "The cart store failed (problem `unavailable`; `Retry-After`)")),
    security(("bearer" = [])))]
async fn remove_item(
    State(state): State<CartState>,
    user: AuthUser,
    Path(item_id): Path<String>,
) -> Result<StatusCode, Problem> {
    // An id that is not even a UUID is certainly not in the cart.
    let item_id =
        Uuid::parse_str(&item_id).map_err(|_| Problem::not_found("No such item in your cart."))?;
    state
        .store
        .update(user.id, |cart| cart.remove(item_id).map(|_| ()))
        .await
        .map_err(|e| update_problem(e, ""))?;
    Ok(StatusCode::NO_CONTENT)
}

/// Empties the caller's cart.
#[utoipa::path(delete, path = "/api/v1/cart", tag = "cart",
    responses(
        (status = 204, description = "The caller's cart is empty (also when it was already)"),
        (status = 401, body = Problem, description = "No token, a bad one or an expired one (problem `unauthorized`)"),
        (status = 503, body = Problem, description = "The cart store failed (problem `unavailable`; `Retry-After`)")),
    security(("bearer" = [])))]
async fn clear_cart(State(state): State<CartState>, user: AuthUser) -> Result<StatusCode, Problem> {
    state.store.clear(user.id).await?;
    Ok(StatusCode::NO_CONTENT)
}

fn user_id(raw: &str) -> Result<Uuid, Problem> {
    Uuid::parse_str(raw).map_err(|_| Problem::bad_parameter("user_id", "must be a UUID"))
}

/// A traveller's cart, for checkout: a cart with items always carries its `cart_id`.
#[utoipa::path(get, path = "/internal/v1/carts/{user_id}", tag = "internal",
    params(("user_id" = Uuid, Path)),
    responses(
        (status = 200, body = CartView, description = "The traveller's cart, with its `cart_id` when it has items; amounts in minor units"),
        (status = 400, body = Problem, description = "`user_id` is not a UUID (problem `bad-parameter`)"),
        (status = 401, body = Problem, description = "No service token, a bad one or an expired one (problem `unauthorized`)"),
        (status = 503, body = Problem, description = "The cart store failed (problem `unavailable`; `Retry-After`)")),
    security(("service_token" = [])))]
async fn read_cart_internal(
    State(state): State<CartState>,
    _caller: ServiceCaller,
    Path(user): Path<String>,
) -> Result<axum::Json<CartView>, Problem> {
    let cart = state
        .store
        .for_checkout(user_id(&user)?)
        .await
        .map_err(|e| update_problem(e, ""))?;
    Ok(axum::Json(view(&cart)))
}

/// A booking of this cart was confirmed (booking-service): the bought items leave it and
/// the cart gets a new id; anything added meanwhile stays. A no-op when the cart is
/// already another one.
#[utoipa::path(post, path = "/internal/v1/carts/{user_id}/checked-out", tag = "internal",
    params(("user_id" = Uuid, Path)), request_body = CheckedOutRequest,
    responses(
        (status = 204, description = "The bought offers left the cart and it has a new `cart_id`; nothing changed if the cart is another one already"),
        (status = 400, body = Problem, description = "`user_id` is not a UUID (problem `bad-parameter`)"),
        (status = 401, body = Problem, description = "No service token, a bad one or an expired one (problem `unauthorized`)"),
        (status = 503, body = Problem, description = "The cart store failed (problem `unavailable`; `Retry-After`)")),
    security(("service_token" = [])))]
async fn checked_out_internal(
    State(state): State<CartState>,
    caller: ServiceCaller,
    Path(user): Path<String>,
    Json(body): Json<CheckedOutRequest>,
) -> Result<StatusCode, Problem> {
    let user_id = user_id(&user)?;
    state
        .store
        .check_out(user_id, body.cart_id, &body.offer_ids)
        .await
        .map_err(|e| update_problem(e, ""))?;
    tracing::info!(%user_id, cart_id = %body.cart_id, caller = %caller.service, "cart checked out");
    Ok(StatusCode::NO_CONTENT)
}

/// Empties a traveller's cart (booking-service, after a checkout).
#[utoipa::path(delete, path = "/internal/v1/carts/{user_id}", tag = "internal",
    params(("user_id" = Uuid, Path)),
    responses(
        (status = 204, description = "The traveller's cart is empty (also when it was already)"),
        (status = 400, body = Problem, description = "`user_id` is not a UUID (problem `bad-parameter`)"),
        (status = 401, body = Problem, description = "No service token, a bad one or an expired one (problem `unauthorized`)"),
        (status = 503, body = Problem, description = "The cart store failed (problem `unavailable`; `Retry-After`)")),
    security(("service_token" = [])))]
async fn clear_cart_internal(
    State(state): State<CartState>,
    caller: ServiceCaller,
    Path(user): Path<String>,
) -> Result<StatusCode, Problem> {
    let user_id = user_id(&user)?;
    state.store.clear(user_id).await?;
    tracing::info!(%user_id, caller = %caller.service, "cart cleared");
    Ok(StatusCode::NO_CONTENT)
}
