//! The pages' templates and the view models they render. Values are formatted here, so
//! the templates only place text (askama escapes every value).

use askama::Template;

use ota_contract::booking::{BookingStatus, BookingView as Booking};
use ota_contract::cart::{CartItemView, OfferKind};
use ota_contract::passengers::PassengerType;
use ota_contract::search::{FlightOffer, HotelOffer};

use crate::clients::{Passengers, encode};
use crate::format;

/// What every page's frame needs.
pub struct Layout {
    pub title: String,
    pub user: Option<String>,
    pub csrf: String,
    /// The navigation entry to mark as current.
    pub section: &'static str,
}

/// An option of a select or a checkbox.
pub struct Choice {
    pub value: String,
    pub label: String,
    pub checked: bool,
}

impl Choice {
    pub fn new(value: &str, label: &str, checked: bool) -> Self {
        Self {
            value: value.to_owned(),
            label: label.to_owned(),
            checked,
        }
    }
}

/// A form's error at one of its fields: the field's input id and what is wrong.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

impl FieldError {
    pub fn new(field: &str, message: &str) -> Self {
        Self {
            field: field.to_owned(),
            message: message.to_owned(),
        }
    }
}

/// The message at a field ("" when it has none).
pub fn error_at<'a>(errors: &'a [FieldError], field: &str) -> &'a str {
    errors
        .iter()
        .find(|e| e.field == field)
        .map_or("", |e| e.message.as_str())
}

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

#[derive(Template)]
#[template(path = "offer.html")]
pub struct OfferPage {
    pub layout: Layout,
    pub heading: String,
    pub offer_id: String,
    pub flight: Option<FlightCard>,
    pub hotel: Option<HotelCard>,
    pub valid_until: String,
    pub rules: String,
    pub back: String,
}

pub struct CartRow {
    pub item_id: String,
    pub kind: String,
    pub summary: String,
    /// "Travellers: 2 adults, 1 infant" for a flight; "" for a hotel.
    pub passengers: String,
    pub price: String,
    pub expired: bool,
    pub search_again: String,
}

impl CartRow {
    pub fn of(i: &CartItemView) -> Self {
        Self {
            item_id: i.item_id.to_string(),
            kind: match i.kind {
                OfferKind::Hotel => "Hotel",
                OfferKind::Flight => "Flight",
            }
            .to_owned(),
            summary: i.summary.clone(),
            // Unless the item's summary already says who travels.
            passengers: match (&i.passengers, i.kind) {
                (Some(p), OfferKind::Flight) if !i.summary.contains(&passengers_text(p)) => {
                    format!("Travellers: {}", passengers_text(p))
                }
                _ => String::new(),
            },
            price: format::money(&i.total),
            expired: i.expired,
            search_again: search_again(i),
        }
    }
}

/// A fresh search for an expired cart item, from its summary ("JFK → LAX, 2026-12-09,
/// 1 stop, 2 adults"; a round trip lists both slices). Home when it cannot be read.
pub fn search_again(i: &CartItemView) -> String {
    if i.kind != OfferKind::Flight {
        return "/".to_owned();
    }
    let legs: Vec<(&str, &str, &str)> = i
        .summary
        .split(';')
        .filter_map(|leg| {
            let mut parts = leg.split(',').map(str::trim);
            let (from, to) = parts.next()?.split_once('→')?;
            let date = parts.next()?;
            Some((from.trim(), to.trim(), date))
        })
        .collect();
    let Some((from, to, date)) = legs.first() else {
        return "/".to_owned();
    };
    let ok = |code: &str| code.len() == 3 && code.bytes().all(|b| b.is_ascii_uppercase());
    if !ok(from) || !ok(to) || chrono::NaiveDate::parse_from_str(date, "%Y-%m-%d").is_err() {
        return "/".to_owned();
    }
    let mut url = format!("/flights?origin={from}&destination={to}&departure_date={date}");
    if let Some((_, _, back)) = legs.get(1)
        && chrono::NaiveDate::parse_from_str(back, "%Y-%m-%d").is_ok()
    {
        url.push_str(&format!("&return_date={back}"));
    }
    if let Some(p) = i.passengers {
        url.push_str(&format!("&adults={}", p.adults));
        if p.children > 0 {
            url.push_str(&format!("&children={}", p.children));
        }
        if p.infants > 0 {
            url.push_str(&format!("&infants={}", p.infants));
        }
    }
    url
}

#[derive(Template)]
#[template(path = "cart.html")]
pub struct CartPage {
    pub layout: Layout,
    pub notes: Vec<String>,
    pub items: Vec<CartRow>,
    pub total: String,
    pub any_expired: bool,
}

/// A traveller's fare type, as the checkout form labels it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TravellerKind {
    Adult,
    Child,
    Infant,
    /// The guest who takes a hotel room (a booking without flights).
    Guest,
}

impl TravellerKind {
    pub fn label(self) -> &'static str {
        match self {
            TravellerKind::Adult => "Adult",
            TravellerKind::Child => "Child",
            TravellerKind::Infant => "Infant",
            TravellerKind::Guest => "Lead guest",
        }
    }

    /// As the checkout form carries it.
    pub fn code(self) -> &'static str {
        match self {
            TravellerKind::Adult => "adult",
            TravellerKind::Child => "child",
            TravellerKind::Infant => "infant",
            TravellerKind::Guest => "guest",
        }
    }

    pub fn from_code(code: &str) -> Self {
        match code {
            "child" => TravellerKind::Child,
            "infant" => TravellerKind::Infant,
            "guest" => TravellerKind::Guest,
            _ => TravellerKind::Adult,
        }
    }

    pub fn hint(self) -> &'static str {
        match self {
            TravellerKind::Adult => "12 years or over on the day of the first flight",
            TravellerKind::Child => "2 to 11 years on the day of the first flight",
            TravellerKind::Infant => "under 2 on the day of the first flight, on an adult's lap",
            TravellerKind::Guest => "18 years or over",
        }
    }

    /// One traveller per passenger: adults first, then children, then infants.
    pub fn list(p: &Passengers) -> Vec<TravellerKind> {
        let mut all = Vec::with_capacity(usize::from(p.total()));
        all.extend(std::iter::repeat_n(
            TravellerKind::Adult,
            usize::from(p.adults),
        ));
        all.extend(std::iter::repeat_n(
            TravellerKind::Child,
            usize::from(p.children),
        ));
        all.extend(std::iter::repeat_n(
            TravellerKind::Infant,
            usize::from(p.infants),
        ));
        all
    }
}

pub struct TravellerFields {
    pub i: usize,
    pub n: usize,
    pub kind: TravellerKind,
    pub first: String,
    pub last: String,
    pub dob: String,
    pub first_error: String,
    pub last_error: String,
    pub dob_error: String,
}

impl TravellerFields {
    pub fn new(i: usize, kind: TravellerKind) -> Self {
        Self {
            i,
            n: i + 1,
            kind,
            first: String::new(),
            last: String::new(),
            dob: String::new(),
            first_error: String::new(),
            last_error: String::new(),
            dob_error: String::new(),
        }
    }

    /// "Traveller 2 (child)", as messages name it.
    pub fn name(&self) -> String {
        format!(
            "Traveller {} ({})",
            self.n,
            self.kind.label().to_lowercase()
        )
    }
}

/// An alert above the checkout form: what happened to the last attempt.
pub struct CheckoutAlert {
    pub heading: String,
    pub text: String,
}

#[derive(Template)]
#[template(path = "checkout.html")]
pub struct CheckoutPage {
    pub layout: Layout,
    pub items: Vec<CartRow>,
    pub total: String,
    pub travellers: Vec<TravellerFields>,
    pub email: String,
    pub holder: String,
    pub idempotency_key: String,
    pub today: String,
    /// The summary of every error, each sentence naming its field.
    pub errors: Vec<String>,
    /// Errors at the fields outside the traveller fieldsets (`travellers`, `email`,
    /// `card_number`, ...).
    pub field_errors: Vec<FieldError>,
    pub alert: Option<CheckoutAlert>,
}

impl CheckoutPage {
    pub fn error(&self, field: &str) -> &str {
        error_at(&self.field_errors, field)
    }
}

pub struct ItemRow {
    pub kind: String,
    pub summary: String,
    pub price: String,
}

pub struct BookingView {
    pub reference: String,
    pub status: String,
    pub status_class: &'static str,
    pub total: String,
    /// What a cancellation refunded, from the booking's own state ("" if none).
    pub refund: String,
    pub summary: String,
    pub created: String,
    pub travellers: String,
    pub items: Vec<ItemRow>,
    pub cancellable: bool,
}

impl BookingView {
    pub fn of(b: &Booking) -> Self {
        let status_class = match b.status {
            BookingStatus::Confirmed => "ok",
            BookingStatus::Failed | BookingStatus::Cancelled => "bad",
            _ => "wait",
        };
        let items: Vec<ItemRow> = b
            .items
            .iter()
            .map(|i| ItemRow {
                kind: {
                    let mut k = i.kind.as_str().to_owned();
                    if let Some(first) = k.get_mut(0..1) {
                        first.make_ascii_uppercase();
                    }
                    k
                },
                summary: i.summary.clone(),
                price: format::money(&i.total),
            })
            .collect();
        let summary = items
            .iter()
            .map(|i| i.summary.as_str())
            .filter(|s| !s.is_empty())
            .collect::<Vec<_>>()
            .join(" · ");
        Self {
            reference: b.reference.clone(),
            status: match b.status {
                BookingStatus::Confirmed => "Confirmed",
                BookingStatus::Cancelled => "Cancelled",
                BookingStatus::Failed => "Failed",
                BookingStatus::Cancelling => "Cancelling",
                _ => "In progress",
            }
            .to_owned(),
            status_class,
            total: format::money(&b.total),
            refund: match b.status {
                BookingStatus::Cancelled | BookingStatus::Cancelling => {
                    b.refund.as_ref().map(format::money).unwrap_or_default()
                }
                _ => String::new(),
            },
            summary,
            created: format::parse_time(&b.created_at)
                .map(|t| t.format("%-d %b %Y, %H:%M UTC").to_string())
                .unwrap_or_default(),
            travellers: b
                .travellers
                .iter()
                .map(|t| format!("{} {}", t.first_name, t.last_name))
                .collect::<Vec<_>>()
                .join(", "),
            items,
            cancellable: b.status == BookingStatus::Confirmed,
        }
    }
}

/// What the booking page says above the booking, from the booking's state only.
#[derive(Debug, PartialEq, Eq)]
pub enum BookingBanner {
    None,
    /// Just booked and confirmed.
    Confirmed,
    /// A checkout or a cancellation is still being completed.
    Settling,
    Failed,
    /// Cancelled, with the refund when the booking states one.
    Cancelled {
        refund: String,
    },
    Cancelling {
        refund: String,
    },
}

impl BookingBanner {
    /// `just_booked`: the traveller arrives from the checkout form.
    pub fn of(b: &BookingView, status: BookingStatus, just_booked: bool) -> Self {
        match status {
            BookingStatus::Confirmed if just_booked => BookingBanner::Confirmed,
            BookingStatus::Confirmed => BookingBanner::None,
            BookingStatus::Cancelled => BookingBanner::Cancelled {
                refund: b.refund.clone(),
            },
            BookingStatus::Cancelling => BookingBanner::Cancelling {
                refund: b.refund.clone(),
            },
            BookingStatus::Failed => BookingBanner::Failed,
            _ => BookingBanner::Settling,
        }
    }
}

#[derive(Template)]
#[template(path = "booking.html")]
pub struct BookingPage {
    pub layout: Layout,
    pub b: BookingView,
    pub banner: BookingBanner,
}

#[derive(Template)]
#[template(path = "cancel.html")]
pub struct CancelPage {
    pub layout: Layout,
    pub b: BookingView,
    pub refund: String,
    pub refund_nothing: bool,
    pub quote_expires: String,
}

#[derive(Template)]
#[template(path = "bookings.html")]
pub struct BookingsPage {
    pub layout: Layout,
    pub rows: Vec<BookingView>,
    pub next_url: Option<String>,
}

#[derive(Template)]
#[template(path = "auth.html")]
pub struct AuthPage {
    pub layout: Layout,
    pub register: bool,
    pub reason: String,
    pub errors: Vec<String>,
    pub email: String,
    pub name: String,
    pub next: String,
    pub add: String,
    pub other_url: String,
}

pub struct Action {
    pub label: String,
    pub href: String,
}

impl Action {
    pub fn new(label: &str, href: &str) -> Self {
        Self {
            label: label.to_owned(),
            href: href.to_owned(),
        }
    }
}

#[derive(Template)]
#[template(path = "message.html")]
pub struct MessagePage {
    pub layout: Layout,
    pub tone: &'static str,
    pub heading: String,
    pub message: String,
    pub actions: Vec<Action>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use ota_platform::money::Money;

    fn item(kind: OfferKind, summary: &str, passengers: Option<u8>) -> CartItemView {
        let passengers = passengers.map(Passengers::adults);
        CartItemView {
            item_id: uuid::Uuid::nil(),
            offer_id: "k.p.m".into(),
            kind,
            total: Money::new(100, "USD"),
            expires_at: String::new(),
            expired: true,
            summary: summary.into(),
            passengers,
        }
    }

    #[test]
    fn an_expired_flight_is_one_click_from_a_fresh_search() {
        let one_way = item(
            OfferKind::Flight,
            "JFK → LAX, 2026-12-09, 1 stop, 2 adults",
            Some(2),
        );
        assert_eq!(
            search_again(&one_way),
            "/flights?origin=JFK&destination=LAX&departure_date=2026-12-09&adults=2"
        );
        let round = item(
            OfferKind::Flight,
            "JFK → LHR, 2026-12-09, nonstop; LHR → JFK, 2026-12-16, 2 stops, 1 adult",
            Some(1),
        );
        assert_eq!(
            search_again(&round),
            "/flights?origin=JFK&destination=LHR&departure_date=2026-12-09&return_date=2026-12-16&adults=1"
        );
        assert_eq!(search_again(&item(OfferKind::Flight, "garbage", None)), "/");
        assert_eq!(
            search_again(&item(OfferKind::Hotel, "Inn, Twin, 1 night", None)),
            "/"
        );
        let mut family = item(OfferKind::Flight, "JFK → LAX, 2026-12-09, 1 stop", None);
        family.passengers = Some(Passengers {
            adults: 2,
            children: 1,
            infants: 1,
        });
        assert_eq!(
            search_again(&family),
            "/flights?origin=JFK&destination=LAX&departure_date=2026-12-09&adults=2&children=1&infants=1"
        );
        assert_eq!(
            CartRow::of(&family).passengers,
            "Travellers: 2 adults, 1 child, 1 infant"
        );
    }

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
