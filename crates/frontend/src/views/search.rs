//! The home page's search forms and the flight and hotel results: their forms and
//! the offer cards (the offer page shows a card too).

use askama::Template;

use ota_contract::passengers::PassengerType;
use ota_contract::search::{FlightOffer, HotelOffer};

use super::{Choice, FieldError, Layout, error_at};
use crate::clients::{Passengers, encode};
use crate::format;

/// The flight search form's values, as typed, and its errors at each field.
#[derive(Clone, Default)]
pub struct FlightForm {
    pub origin: String,
    pub destination: String,
    pub departure_date: String,
    pub return_date: String,
    pub adults: String,
    pub children: String,
    pub infants: String,
    pub cabin: String,
    pub today: String,
    pub errors: Vec<FieldError>,
}

impl FlightForm {
    pub fn error(&self, field: &str) -> &str {
        error_at(&self.errors, field)
    }
}

/// "2 adults, 1 child, 1 infant".
pub fn passengers_text(p: &Passengers) -> String {
    let mut parts = vec![format::plural(i64::from(p.adults), "adult", "adults")];
    if p.children > 0 {
        parts.push(format::plural(i64::from(p.children), "child", "children"));
    }
    if p.infants > 0 {
        parts.push(format::plural(i64::from(p.infants), "infant", "infants"));
    }
    parts.join(", ")
}

/// The hotel search form's values, as typed.
#[derive(Clone, Default)]
pub struct HotelForm {
    pub city: String,
    pub check_in: String,
    pub check_out: String,
    pub guests: String,
    pub rooms: String,
    pub today: String,
}

pub fn cabins() -> Vec<Choice> {
    [
        ("economy", "Economy"),
        ("premium_economy", "Premium economy"),
        ("business", "Business"),
        ("first", "First"),
    ]
    .into_iter()
    .map(|(v, l)| Choice::new(v, l, false))
    .collect()
}

#[derive(Template)]
#[template(path = "home.html")]
pub struct HomePage {
    pub layout: Layout,
    pub flight: FlightForm,
    pub hotel: HotelForm,
    pub cabins: Vec<Choice>,
    pub errors: Vec<String>,
}

pub struct SliceView {
    pub origin: String,
    pub destination: String,
    pub depart: String,
    pub arrive: String,
    pub offset: String,
    pub date: String,
    pub duration: String,
    pub stops: String,
    pub carriers: String,
    pub flights: String,
}

pub struct FlightCard {
    pub url: String,
    pub label: String,
    pub price: String,
    /// Who the price is for: "2 adults, 1 child".
    pub passengers: String,
    /// Each passenger type's fare: "Adult $300.00 × 2 · Child $225.00".
    pub per_traveller: String,
    pub seats: String,
    pub fare: String,
    pub slices: Vec<SliceView>,
}

impl FlightCard {
    /// `back` is the results page the card links back from ("" on the offer page).
    pub fn of(o: &FlightOffer, back: Option<&str>) -> Self {
        let slices: Vec<SliceView> = o
            .slices
            .iter()
            .map(|s| {
                let mut carriers: Vec<String> = Vec::new();
                for seg in &s.segments {
                    let name = if seg.carrier_name.is_empty() {
                        seg.carrier.clone()
                    } else {
                        seg.carrier_name.clone()
                    };
                    if !carriers.contains(&name) {
                        carriers.push(name);
                    }
                }
                SliceView {
                    origin: s.origin.clone(),
                    destination: s.destination.clone(),
                    depart: format::clock(&s.departure_at),
                    arrive: format::clock(&s.arrival_at),
                    offset: format::day_offset(&s.departure_at, &s.arrival_at),
                    date: format::day(&s.departure_at),
                    duration: format::duration(s.duration_minutes),
                    stops: format::stops(s.segments.len().saturating_sub(1)),
                    carriers: carriers.join(", "),
                    flights: s
                        .segments
                        .iter()
                        .map(|seg| seg.flight_number.clone())
                        .collect::<Vec<_>>()
                        .join(", "),
                }
            })
            .collect();
        let label = slices
            .iter()
            .map(|s| format!("{} to {}, {} {}", s.origin, s.destination, s.date, s.depart))
            .collect::<Vec<_>>()
            .join("; ");
        let passengers = o.passengers;
        let per_traveller = if o.fares.is_empty() {
            let adults = i64::from(passengers.adults.max(1));
            if passengers.total() == passengers.adults && adults > 1 {
                format!(
                    "{} per adult",
                    format::money(&ota_platform::money::Money::new(
                        o.total.amount / adults,
                        &o.total.currency
                    ))
                )
            } else {
                String::new()
            }
        } else {
            o.fares
                .iter()
                .filter(|f| f.count > 0)
                .map(|f| {
                    let kind = match f.kind {
                        PassengerType::Adult => "Adult",
                        PassengerType::Child => "Child",
                        PassengerType::Infant => "Infant",
                    };
                    let each = format::money(&f.per_passenger);
                    if f.count > 1 {
                        format!("{kind} {each} × {}", f.count)
                    } else {
                        format!("{kind} {each}")
                    }
                })
                .collect::<Vec<_>>()
                .join(" · ")
        };
        let seats = match o.seats_remaining {
            n if (1..=5).contains(&n) => {
                format!(
                    "Only {} left",
                    format::plural(i64::from(n), "seat", "seats")
                )
            }
            _ => String::new(),
        };
        let cabin = cabins()
            .into_iter()
            .find(|x| x.value == o.cabin.as_str())
            .map_or_else(|| o.cabin.as_str().to_owned(), |x| x.label);
        let fare = if o.fare_rules.refundable {
            format!("{cabin} · refundable")
        } else {
            format!("{cabin} · non-refundable")
        };
        Self {
            url: back.map_or_else(String::new, |b| {
                format!("/offers/{}?back={}", encode(&o.offer_id), encode(b))
            }),
            label,
            price: format::money(&o.total),
            passengers: passengers_text(&passengers),
            per_traveller,
            seats,
            fare,
            slices,
        }
    }
}

#[derive(Template)]
#[template(path = "flights.html")]
pub struct FlightsPage {
    pub layout: Layout,
    pub heading: String,
    pub notes: Vec<String>,
    pub errors: Vec<String>,
    pub flight: FlightForm,
    pub cabins: Vec<Choice>,
    pub sorts: Vec<Choice>,
    pub stop_choices: Vec<Choice>,
    pub carriers: Vec<Choice>,
    pub departure_after: String,
    pub departure_before: String,
    pub max_price: String,
    pub currency: String,
    pub reset_url: String,
    pub offers: Vec<FlightCard>,
    pub first_url: Option<String>,
    pub next_url: Option<String>,
}

pub struct HotelCard {
    pub url: String,
    pub name: String,
    pub stars: String,
    pub stars_label: String,
    pub city: String,
    pub room_type: String,
    pub stay: String,
    pub policy: String,
    pub price: String,
    pub nights: String,
    pub rooms_left: String,
}

impl HotelCard {
    pub fn of(h: &HotelOffer, back: Option<&str>) -> Self {
        let stars = h.hotel.stars.clamp(0, 5);
        let stay = format!(
            "{} – {}",
            format::date(&h.check_in.to_string()),
            format::date(&h.check_out.to_string())
        );
        let p = &h.cancellation_policy;
        let policy = if !p.description.is_empty() {
            p.description.clone()
        } else if p.refundable {
            "Free cancellation".to_owned()
        } else {
            "Non-refundable".to_owned()
        };
        let rooms_left = match h.rooms_remaining {
            n if (1..=3).contains(&n) => {
                format!(
                    "Only {} left",
                    format::plural(i64::from(n), "room", "rooms")
                )
            }
            _ => String::new(),
        };
        Self {
            url: back.map_or_else(String::new, |b| {
                format!("/offers/{}?back={}", encode(&h.offer_id), encode(b))
            }),
            name: h.hotel.name.clone(),
            stars: "★".repeat(stars as usize),
            stars_label: format!("{stars} stars"),
            city: h.hotel.city.clone(),
            room_type: h.room_type.clone(),
            stay,
            policy,
            price: format::money(&h.total),
            nights: format::plural(i64::from(h.nights), "night", "nights"),
            rooms_left,
        }
    }
}

#[derive(Template)]
#[template(path = "hotels.html")]
pub struct HotelsPage {
    pub layout: Layout,
    pub heading: String,
    pub errors: Vec<String>,
    pub hotel: HotelForm,
    pub sorts: Vec<Choice>,
    pub stars: Vec<Choice>,
    pub offers: Vec<HotelCard>,
    pub first_url: Option<String>,
    pub next_url: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use ota_platform::money::Money;

    fn offer(passengers: Passengers, fares: &[(PassengerType, u8, i64)]) -> FlightOffer {
        let mut o = FlightOffer::example();
        o.total = Money::new(82_500, "USD");
        o.passengers = passengers;
        o.adults = passengers.adults;
        o.fares = fares
            .iter()
            .map(|&(kind, count, each)| ota_contract::search::Fare {
                kind,
                count,
                per_passenger: Money::new(each, "USD"),
                total: Money::new(each * i64::from(count), "USD"),
            })
            .collect();
        o
    }

    #[test]
    fn offers_show_their_passengers_and_each_types_fare() {
        let family = Passengers {
            adults: 2,
            children: 1,
            infants: 1,
        };
        let card = FlightCard::of(
            &offer(
                family,
                &[
                    (PassengerType::Adult, 2, 30_000),
                    (PassengerType::Child, 1, 22_500),
                    (PassengerType::Infant, 1, 0),
                ],
            ),
            None,
        );
        assert_eq!(card.passengers, "2 adults, 1 child, 1 infant");
        assert_eq!(
            card.per_traveller,
            "Adult $300.00 × 2 · Child $225.00 · Infant $0.00"
        );
        // An offer without fare lines: the price per adult.
        let card = FlightCard::of(&offer(Passengers::adults(2), &[]), None);
        assert_eq!(card.passengers, "2 adults");
        assert_eq!(card.per_traveller, "$412.50 per adult");
    }
}
