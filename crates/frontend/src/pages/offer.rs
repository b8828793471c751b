//! The offer page: one flight or hotel offer, its rules and how long its price holds.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use ota_contract::ProblemType;
use ota_contract::search::AnyOffer;
use serde::Deserialize;

use super::common::{layout, problem_type, refusal, render, search_back, well_formed_offer};
use super::errors::{expired_offer, page_not_found, peer_failure, sold_out};
use crate::Web;
use crate::clients::encode;
use crate::format;
use crate::session::Session;
use crate::views::{FlightCard, HotelCard, OfferPage};

#[derive(Deserialize, Default)]
pub(super) struct BackQuery {
    #[serde(default)]
    back: String,
}

pub(super) async fn offer(
    State(web): State<Web>,
    mut session: Session,
    Path(offer_id): Path<String>,
    Query(q): Query<BackQuery>,
) -> Response {
    if !well_formed_offer(&offer_id) {
        return page_not_found(&session);
    }
    let back = search_back(&q.back);
    let here = format!("/offers/{}?back={}", encode(&offer_id), encode(&back));
    let found = match web.api.offer(&offer_id).await {
        Ok(o) => o,
        Err(e) => {
            return match refusal(&e).map(|(_, body)| problem_type(body)) {
                Some(Some(ProblemType::OfferExpired)) => expired_offer(&session, &back),
                Some(Some(ProblemType::SoldOut)) => sold_out(&session, &back),
                Some(Some(
                    ProblemType::BadParameter | ProblemType::NotFound | ProblemType::Validation,
                )) => page_not_found(&session),
                _ => peer_failure(&mut session, &e, &here),
            };
        }
    };
    let (heading, flight, hotel, expires, rules) = match found {
        AnyOffer::Flight(o) => {
            let card = FlightCard::of(&o, None);
            let heading = o.slices.first().map_or_else(
                || "Your flight".to_owned(),
                |s| {
                    let last = o.slices.last().map_or(&s.destination, |l| &l.destination);
                    if o.slices.len() > 1 {
                        format!("{} ⇄ {}", s.origin, s.destination)
                    } else {
                        format!("{} → {}", s.origin, last)
                    }
                },
            );
            let rules = o.fare_rules.description.clone();
            (heading, Some(card), None, o.expires_at.clone(), rules)
        }
        AnyOffer::Hotel(h) => {
            let card = HotelCard::of(&h, None);
            let rules = h.cancellation_policy.description.clone();
            (
                h.hotel.name.clone(),
                None,
                Some(card),
                h.expires_at.clone(),
                rules,
            )
        }
    };
    let valid_until = format::until(&expires);
    render(
        &session,
        StatusCode::OK,
        &OfferPage {
            layout: layout(&session, &heading, "search"),
            heading,
            offer_id,
            flight,
            hotel,
            valid_until: if valid_until.is_empty() {
                "for a limited time".to_owned()
            } else {
                format!("until {valid_until}")
            },
            rules,
            back,
        },
    )
}
