//! search-service's API: airports, flight and hotel offers (`/api/v1/...`), and the
//! inventory holds booking-service takes (`/internal/v1/holds...`).
//!
//! Instants are RFC 3339 strings with an offset: flight times in each airport's local
//! time, hotel times in the hotel's, price guarantees (`expires_at`) in UTC. Prices are
//! [`Money`]: integer minor units and an ISO 4217 code.

use chrono::NaiveDate;
use serde::{Deserialize, Deserializer, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::money::Money;
use crate::passengers::{PassengerType, Passengers};

// ---------------------------------------------------------------------------------------
// Airports (`GET /api/v1/airports`)

/// What an airport suggestion stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum AirportKind {
    /// One airport.
    Airport,
    /// A city's metropolitan code standing for several airports (`NYC`).
    City,
}

/// One airport suggestion.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({"iata": "LHR", "name": "London Heathrow", "city": "London", "country": "GB", "time_zone": "Europe/London", "kind": "airport"}))]
pub struct AirportView {
    /// The airport's code, or a city's metropolitan code (`NYC`) that flight and hotel
    /// searches take as well.
    pub iata: String,
    pub name: String,
    pub city: String,
    /// ISO 3166 alpha-2 country code.
    pub country: String,
    /// IANA zone name, such as `Europe/London`.
    pub time_zone: String,
    /// `airport`, or `city` for a metropolitan code standing for several airports.
    pub kind: AirportKind,
    /// A city's airports, busiest first (absent for an airport).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub airports: Vec<String>,
}

/// Airport suggestions, best match first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({"airports": [{"iata": "LHR", "name": "London Heathrow", "city": "London", "country": "GB", "time_zone": "Europe/London", "kind": "airport"}]}))]
pub struct AirportsAnswer {
    pub airports: Vec<AirportView>,
}

// ---------------------------------------------------------------------------------------
// Offers

/// Whether an offer (or a cart item) is a flight or a hotel stay.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum OfferKind {
    Flight,
    Hotel,
}

/// Cabins, cheapest first.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Cabin {
    Economy,
    PremiumEconomy,
    Business,
    First,
}

impl Cabin {
    pub const ALL: [Cabin; 4] = [
        Cabin::Economy,
        Cabin::PremiumEconomy,
        Cabin::Business,
        Cabin::First,
    ];

    /// As the API spells it: `economy`, `premium_economy`, `business`, `first`.
    pub fn as_str(self) -> &'static str {
        match self {
            Cabin::Economy => "economy",
            Cabin::PremiumEconomy => "premium_economy",
            Cabin::Business => "business",
            Cabin::First => "first",
        }
    }

    pub fn parse(s: &str) -> Option<Cabin> {
        Cabin::ALL.into_iter().find(|c| c.as_str() == s)
    }
}

/// Whether a hotel rate can be cancelled free of charge (the rate plan itself is named
/// by `rate_plan_code`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RatePlan {
    /// A refundable rate plan: free cancellation until its deadline.
    Flexible,
    /// A non-refundable rate plan: cancelling refunds nothing.
    NonRefundable,
}

/// What a rate plan includes besides the room.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Board {
    RoomOnly,
    Breakfast,
    HalfBoard,
    FullBoard,
    AllInclusive,
}

impl Board {
    pub const ALL: [Board; 5] = [
        Board::RoomOnly,
        Board::Breakfast,
        Board::HalfBoard,
        Board::FullBoard,
        Board::AllInclusive,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Board::RoomOnly => "room_only",
            Board::Breakfast => "breakfast",
            Board::HalfBoard => "half_board",
            Board::FullBoard => "full_board",
            Board::AllInclusive => "all_inclusive",
        }
    }

    pub fn parse(s: &str) -> Option<Board> {
        Board::ALL.into_iter().find(|b| b.as_str() == s)
    }
}

/// One flight of a slice.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Segment {
    /// IATA carrier code.
    #[schema(example = "AA")]
    pub carrier: String,
    pub carrier_name: String,
    /// Carrier code and number.
    #[schema(example = "AA100")]
    pub flight_number: String,
    /// IATA airport code.
    pub origin: String,
    pub destination: String,
    /// RFC 3339 with the origin airport's offset (local time there).
    #[schema(example = "2026-12-01T08:05:00-05:00")]
    pub departure_at: String,
    /// RFC 3339 with the destination airport's offset (local time there).
    #[schema(example = "2026-12-01T11:25:00-08:00")]
    pub arrival_at: String,
    pub duration_minutes: i64,
    /// The origin airport's IANA time zone (the calendar file's TZID); empty in
    /// bookings made before it was kept.
    #[serde(default)]
    #[schema(example = "America/New_York")]
    pub origin_time_zone: String,
    /// The destination airport's IANA time zone.
    #[serde(default)]
    #[schema(example = "America/Los_Angeles")]
    pub destination_time_zone: String,
}

/// One direction of a trip: the outbound, or the return of a round trip.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Slice {
    /// IATA airport code of the first departure.
    pub origin: String,
    /// IATA airport code of the last arrival.
    pub destination: String,
    /// RFC 3339 with the origin airport's offset: its date is the one on the ticket.
    #[schema(example = "2026-12-01T08:05:00-05:00")]
    pub departure_at: String,
    /// RFC 3339 with the destination airport's offset.
    #[schema(example = "2026-12-01T11:25:00-08:00")]
    pub arrival_at: String,
    /// From the first departure to the last arrival, connections included.
    pub duration_minutes: i64,
    /// Connections: `segments.len() - 1`.
    pub stops: usize,
    pub segments: Vec<Segment>,
}

/// Refundability, judged when the answer is made.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct FareRules {
    /// Whether cancelling now would refund the fare: a refundable fare whose refund
    /// window is still open.
    pub refundable: bool,
    /// The end of the refund window (24 hours before the first departure), an RFC 3339
    /// instant with the departure airport's offset; null when there is no window left.
    #[schema(example = "2026-12-13T08:05:00-05:00")]
    pub refund_until: Option<String>,
    /// The rules in one sentence, for people.
    pub description: String,
}

/// The fare of one passenger type.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Fare {
    /// `adult` (12 and over), `child` (2–11: 75 % of the adult fare) or `infant` (under 2
    /// on a lap: 10 % of the adult fare), rounded to whole minor units.
    #[serde(rename = "type")]
    #[schema(value_type = String, example = "child")]
    pub kind: PassengerType,
    pub count: u8,
    /// What one passenger of this type pays for the whole itinerary, minor units.
    pub per_passenger: Money,
    /// `count` × `per_passenger`, minor units.
    pub total: Money,
}

/// A flight offer: one slice one way, two for a round trip, priced for every passenger.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[schema(as = Offer, example = FlightOffer::example)]
pub struct FlightOffer {
    /// Signed and self-contained: `GET /api/v1/offers/{offer_id}` revalidates it.
    pub offer_id: String,
    /// Always `flight`.
    pub kind: OfferKind,
    /// Until when the price is guaranteed (RFC 3339, UTC).
    #[schema(example = "2026-12-01T10:20:00+00:00")]
    pub expires_at: String,
    /// For every passenger: the sum of `fares[].total`, minor units.
    pub total: Money,
    /// The adult fare, per passenger, minor units.
    pub price_per_adult: Money,
    /// The same as `passengers.adults`.
    pub adults: u8,
    pub passengers: Passengers,
    /// One line per passenger type travelling.
    pub fares: Vec<Fare>,
    pub cabin: Cabin,
    /// Seats left at this price on the fullest flight of the itinerary.
    pub seats_remaining: i32,
    pub fare_rules: FareRules,
    pub slices: Vec<Slice>,
}

impl FlightOffer {
    /// A one-way offer for two adults, JFK to LAX nonstop (the document's example).
    pub fn example() -> FlightOffer {
        let usd = |amount| Money::new(amount, "USD");
        FlightOffer {
            offer_id: "k1.eyJrIjoiZiJ9.c2lnbmF0dXJl".to_owned(),
            kind: OfferKind::Flight,
            expires_at: "2026-12-01T10:20:00+00:00".to_owned(),
            total: usd(60_000),
            price_per_adult: usd(30_000),
            adults: 2,
            passengers: Passengers::adults(2),
            fares: vec![Fare {
                kind: PassengerType::Adult,
                count: 2,
                per_passenger: usd(30_000),
                total: usd(60_000),
            }],
            cabin: Cabin::Economy,
            seats_remaining: 9,
            fare_rules: FareRules {
                refundable: true,
                refund_until: Some("2026-12-13T08:05:00-05:00".to_owned()),
                description:
                    "Refundable until 24 hours before departure (2026-12-13T08:05:00-05:00)."
                        .to_owned(),
            },
            slices: vec![Slice {
                origin: "JFK".to_owned(),
                destination: "LAX".to_owned(),
                departure_at: "2026-12-14T08:05:00-05:00".to_owned(),
                arrival_at: "2026-12-14T11:25:00-08:00".to_owned(),
                duration_minutes: 380,
                stops: 0,
                segments: vec![Segment {
                    carrier: "AA".to_owned(),
                    carrier_name: "American Airlines".to_owned(),
                    flight_number: "AA100".to_owned(),
                    origin: "JFK".to_owned(),
                    destination: "LAX".to_owned(),
                    departure_at: "2026-12-14T08:05:00-05:00".to_owned(),
                    arrival_at: "2026-12-14T11:25:00-08:00".to_owned(),
                    duration_minutes: 380,
                    origin_time_zone: "America/New_York".to_owned(),
                    destination_time_zone: "America/Los_Angeles".to_owned(),
                }],
            }],
        }
    }
}

/// `GET /api/v1/flights/search`: one page of offers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[schema(example = FlightsAnswer::example)]
pub struct FlightsAnswer {
    pub offers: Vec<FlightOffer>,
    /// Pass as `cursor` for the next page; null on the last one.
    pub next_cursor: Option<String>,
}

/// The hotel of an offer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct HotelSummary {
    pub id: i64,
    /// The hotel's code, as its supplier names it (`HotelCode` in OpenTravel messages).
    #[serde(default)]
    #[schema(example = "H000001")]
    pub code: String,
    pub name: String,
    /// 1 to 5.
    pub stars: i16,
    pub city: String,
    /// ISO 3166 alpha-2 country code.
    pub country: String,
    /// Street and postal code, as the hotel file gives them (empty when it gave none).
    #[serde(default)]
    #[schema(example = "12 Rue de Rivoli, 75001")]
    pub address: String,
    /// The hotel's IANA time zone (its local times and the calendar file's TZID); empty
    /// in bookings made before it was kept.
    #[serde(default)]
    #[schema(example = "Europe/Paris")]
    pub time_zone: String,
}

/// What cancelling a hotel offer refunds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct CancellationPolicy {
    pub refundable: bool,
    /// Until when cancelling refunds everything, if ever: an RFC 3339 instant with the
    /// hotel's offset. A flexible rate is only offered while this is in the future.
    #[schema(example = "2026-12-18T14:00:00+01:00")]
    pub free_cancellation_until: Option<String>,
    /// The policy in one sentence, for people.
    pub description: String,
}

/// A hotel offer: rooms of one type for a stay.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[schema(example = HotelOffer::example)]
pub struct HotelOffer {
    /// Signed and self-contained: `GET /api/v1/offers/{offer_id}` revalidates it.
    pub offer_id: String,
    /// Always `hotel`.
    pub kind: OfferKind,
    /// Until when the price is guaranteed (RFC 3339, UTC).
    #[schema(example = "2026-12-01T10:20:00+00:00")]
    pub expires_at: String,
    /// Every room, every night, minor units.
    pub total: Money,
    pub nights: u16,
    /// The hotel's local date of arrival.
    pub check_in: NaiveDate,
    /// The hotel's local date of departure.
    pub check_out: NaiveDate,
    /// The stay's first moment: check-in time (15:00) at the hotel, RFC 3339 with the
    /// hotel's offset. Offers cannot be bought after it.
    #[schema(example = "2026-12-20T15:00:00+01:00")]
    pub check_in_at: String,
    /// Check-out time (11:00) on the last day, RFC 3339 with the hotel's offset.
    #[schema(example = "2026-12-23T11:00:00+01:00")]
    pub check_out_at: String,
    pub rooms: u8,
    pub guests: u8,
    /// Rooms of this type left every night of the stay.
    pub rooms_remaining: i32,
    pub room_type: String,
    pub room_type_id: i64,
    /// The room type's code within the hotel (`InvTypeCode` in OpenTravel messages).
    #[serde(default)]
    #[schema(example = "STD")]
    pub room_type_code: String,
    pub max_guests_per_room: i32,
    /// Refundable (`flexible`) or not (`non_refundable`), from the rate plan.
    pub rate: RatePlan,
    /// The rate plan's code within the hotel (`RatePlanCode` in OpenTravel messages).
    #[serde(default)]
    #[schema(example = "FLEX")]
    pub rate_plan_code: String,
    /// The rate plan's name, for people.
    #[serde(default)]
    pub rate_plan_name: String,
    /// What the rate plan includes besides the room.
    #[serde(default = "room_only")]
    pub board: Board,
    pub hotel: HotelSummary,
    pub cancellation_policy: CancellationPolicy,
}

fn room_only() -> Board {
    Board::RoomOnly
}

impl HotelOffer {
    /// Three nights in Paris on the flexible rate (the document's example).
    pub fn example() -> HotelOffer {
        HotelOffer {
            offer_id: "k1.eyJrIjoiaCJ9.c2lnbmF0dXJl".to_owned(),
            kind: OfferKind::Hotel,
            expires_at: "2026-12-01T10:20:00+00:00".to_owned(),
            total: Money::new(54_000, "EUR"),
            nights: 3,
            check_in: NaiveDate::from_ymd_opt(2026, 12, 20).unwrap_or_default(),
            check_out: NaiveDate::from_ymd_opt(2026, 12, 23).unwrap_or_default(),
            check_in_at: "2026-12-20T15:00:00+01:00".to_owned(),
            check_out_at: "2026-12-23T11:00:00+01:00".to_owned(),
            rooms: 1,
            guests: 2,
            rooms_remaining: 4,
            room_type: "Standard Room".to_owned(),
            room_type_id: 1,
            room_type_code: "STD".to_owned(),
            max_guests_per_room: 2,
            rate: RatePlan::Flexible,
            rate_plan_code: "FLEX".to_owned(),
            rate_plan_name: "Flexible".to_owned(),
            board: Board::RoomOnly,
            hotel: HotelSummary {
                id: 1,
                code: "H000001".to_owned(),
                name: "Grand Paris Hotel".to_owned(),
                stars: 4,
                city: "Paris".to_owned(),
                country: "FR".to_owned(),
                address: "12 Rue de Rivoli, 75001".to_owned(),
                time_zone: "Europe/Paris".to_owned(),
            },
            cancellation_policy: CancellationPolicy {
                refundable: true,
                free_cancellation_until: Some("2026-12-18T14:00:00+01:00".to_owned()),
                description:
                    "Free cancellation until 2026-12-18 14:00 (hotel time); no refund after."
                        .to_owned(),
            },
        }
    }
}

/// `GET /api/v1/hotels/search`: one page of offers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[schema(example = HotelsAnswer::example)]
pub struct HotelsAnswer {
    pub offers: Vec<HotelOffer>,
    /// Pass as `cursor` for the next page; null on the last one.
    pub next_cursor: Option<String>,
}

/// `GET /api/v1/offers/{offer_id}`: a flight or a hotel offer, told apart by its `kind`.
// An answer made once per request and serialised at once: boxing the larger variant
// buys nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
#[serde(untagged)]
#[schema(example = AnyOffer::example)]
pub enum AnyOffer {
    Flight(FlightOffer),
    Hotel(HotelOffer),
}

impl FlightsAnswer {
    /// One offer and no further page (the document's example).
    pub fn example() -> FlightsAnswer {
        FlightsAnswer {
            offers: vec![FlightOffer::example()],
            next_cursor: None,
        }
    }
}

impl HotelsAnswer {
    /// One offer and no further page (the document's example).
    pub fn example() -> HotelsAnswer {
        HotelsAnswer {
            offers: vec![HotelOffer::example()],
            next_cursor: None,
        }
    }
}

impl AnyOffer {
    /// A flight offer, revalidated (the document's example).
    pub fn example() -> AnyOffer {
        AnyOffer::Flight(FlightOffer::example())
    }

    pub fn kind(&self) -> OfferKind {
        match self {
            AnyOffer::Flight(_) => OfferKind::Flight,
            AnyOffer::Hotel(_) => OfferKind::Hotel,
        }
    }

    pub fn offer_id(&self) -> &str {
        match self {
            AnyOffer::Flight(o) => &o.offer_id,
            AnyOffer::Hotel(o) => &o.offer_id,
        }
    }
}

/// Reads the offer its `kind` names, so an offer is never told by which members happen
/// to be present.
impl<'de> Deserialize<'de> for AnyOffer {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use serde::de::Error as _;
        let value = serde_json::Value::deserialize(d)?;
        let kind = value
            .get("kind")
            .ok_or_else(|| D::Error::missing_field("kind"))?;
        let kind = OfferKind::deserialize(kind).map_err(D::Error::custom)?;
        match kind {
            OfferKind::Flight => FlightOffer::deserialize(value).map(AnyOffer::Flight),
            OfferKind::Hotel => HotelOffer::deserialize(value).map(AnyOffer::Hotel),
        }
        .map_err(D::Error::custom)
    }
}

// ---------------------------------------------------------------------------------------
// Holds (internal, service tokens only)

/// `POST /internal/v1/holds`: hold the inventory of a booking's offers, all or nothing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct HoldRequest {
    /// The booking the hold is for; holding again for it answers the same hold.
    pub booking_id: Uuid,
    /// 1 to 10 offer ids.
    pub offer_ids: Vec<String>,
    /// How long the inventory stays held, in seconds (60–1800, default 900).
    pub ttl_seconds: Option<i64>,
    /// The booking's reference, as hotels' suppliers receive their reservations (the
    /// booking id where none is given).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
}

/// Where a hold stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum HoldStatus {
    /// Reserved until `expires_at`.
    Held,
    /// Sold.
    Committed,
    /// Given back.
    Released,
}

/// A booking's hold (create, read, commit and release answer it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct HoldView {
    pub booking_id: Uuid,
    pub status: HoldStatus,
    /// When a hold not committed gives its inventory back: RFC 3339, UTC, whole seconds.
    #[schema(example = "2026-12-01T10:35:00+00:00")]
    pub expires_at: String,
}

// ---------------------------------------------------------------------------------------
// Catalog imports (internal, service tokens only)

/// `POST /internal/v1/catalog/imports`: an airline schedule and/or fares to import, as a
/// job. What `ota catalog import` takes as files.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct CatalogImportRequest {
    /// An IATA SSIM chapter 7 file (200-byte records; zero-filled padding records and
    /// CRLF are read).
    pub ssim: Option<String>,
    /// A fare CSV whose header starts `carrier,origin,destination,cabin,fare,currency,refundable`.
    pub fares: Option<String>,
    /// Replace only the flights the schedule has (default: the carrier's whole schedule
    /// over the file's period of validity).
    #[serde(default)]
    pub merge: bool,
    /// Where the files came from, for the import log.
    pub source: Option<String>,
}

/// Where an import job stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ImportStatus {
    Running,
    Done,
    /// Refused (nothing was imported): `errors` says why, naming lines.
    Failed,
}

/// How an import changed one dated leg that had seats sold or held.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum LegChange {
    /// The flight no longer operates on that date.
    Cancelled,
    /// It operates at other times or to another airport.
    Retimed,
    /// It has fewer seats than are sold and held (capacity stays at what is taken until
    /// staff move passengers).
    Oversold,
}

impl LegChange {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Cancelled => "cancelled",
            Self::Retimed => "retimed",
            Self::Oversold => "oversold",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [Self::Cancelled, Self::Retimed, Self::Oversold]
            .into_iter()
            .find(|c| c.as_str() == s)
    }
}

/// A booking a schedule import changed a flight of.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ScheduleChange {
    /// Ascending: pass the last one seen as `after` for what came since.
    pub seq: i64,
    pub booking_id: Uuid,
    /// Carrier and number, such as `OT101`.
    pub flight: String,
    /// The flight date (local at the flight's origin).
    #[schema(value_type = String, example = "2026-12-14")]
    pub flight_date: chrono::NaiveDate,
    /// The leg's board point (IATA).
    pub origin: String,
    pub change: LegChange,
}

/// `GET /internal/v1/schedule-changes`: changes after `after`, oldest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ScheduleChanges {
    pub changes: Vec<ScheduleChange>,
}

/// A dated leg an import changed under sold or held seats, and the bookings on it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct AffectedLeg {
    /// Carrier and number, such as `OT101`.
    #[schema(example = "OT101")]
    pub flight: String,
    /// The flight date (local at the flight's origin), YYYY-MM-DD.
    #[schema(value_type = String, example = "2026-12-14")]
    pub flight_date: chrono::NaiveDate,
    /// The leg's board point (IATA).
    #[schema(example = "LHR")]
    pub origin: String,
    pub change: LegChange,
    /// Seats sold and held on it, all cabins.
    pub sold: i32,
    pub held: i32,
    /// Bookings holding or owning seats on it.
    pub bookings: Vec<Uuid>,
}

/// What an import did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ImportReport {
    pub import_id: i64,
    /// Carrier designators imported.
    pub carriers: Vec<String>,
    /// Flight-leg records written.
    pub legs: usize,
    /// Records of earlier imports replaced (whole, or cut at the window's edges).
    pub replaced_legs: usize,
    /// Fares written (`null`: the fares were left as they were).
    pub fares: Option<usize>,
    /// Dated legs with seats sold or held that the import cancelled, retimed or downsized.
    pub affected: Vec<AffectedLeg>,
}

/// An import job (`202` answer and `GET /internal/v1/catalog/imports/{id}`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct CatalogImportView {
    pub import_id: i64,
    pub status: ImportStatus,
    /// Where to ask how it went.
    #[schema(example = "/internal/v1/catalog/imports/7")]
    pub status_url: String,
    pub source: String,
    /// When it started and finished: RFC 3339, UTC.
    pub created_at: String,
    pub finished_at: Option<String>,
    /// The report, once done.
    pub report: Option<ImportReport>,
    /// Why nothing was imported, once failed: each names its line (and columns).
    pub errors: Vec<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_offer_is_read_as_the_kind_it_names() {
        let flight = serde_json::to_value(FlightOffer::example()).expect("json");
        let hotel = serde_json::to_value(HotelOffer::example()).expect("json");
        assert_eq!(flight["kind"], "flight");
        assert_eq!(hotel["kind"], "hotel");
        let read = |v: &serde_json::Value| serde_json::from_value::<AnyOffer>(v.clone());
        assert_eq!(
            read(&flight).expect("flight"),
            AnyOffer::Flight(FlightOffer::example())
        );
        assert_eq!(
            read(&hotel).expect("hotel"),
            AnyOffer::Hotel(HotelOffer::example())
        );
        // A hotel's members do not make a flight a hotel, nor does a missing kind pass.
        let mut mixed = flight.clone();
        mixed["hotel"] = hotel["hotel"].clone();
        assert_eq!(read(&mixed).expect("flight").kind(), OfferKind::Flight);
        let mut unnamed = hotel.clone();
        unnamed.as_object_mut().map(|o| o.remove("kind"));
        assert!(read(&unnamed).is_err());
        let mut wrong = hotel;
        wrong["kind"] = "flight".into();
        assert!(read(&wrong).is_err(), "a hotel's members are not a flight");
    }

    #[test]
    fn a_single_airport_lists_no_airports() {
        let lhr = AirportView {
            iata: "LHR".into(),
            name: "London Heathrow".into(),
            city: "London".into(),
            country: "GB".into(),
            time_zone: "Europe/London".into(),
            kind: AirportKind::Airport,
            airports: Vec::new(),
        };
        let json = serde_json::to_value(&lhr).expect("json");
        assert_eq!(json["kind"], "airport");
        assert!(json.get("airports").is_none());
        assert_eq!(
            serde_json::from_value::<AirportView>(json).expect("read"),
            lhr
        );
    }

    #[test]
    fn cabins_read_as_the_api_spells_them() {
        for c in Cabin::ALL {
            assert_eq!(Cabin::parse(c.as_str()), Some(c));
            assert_eq!(serde_json::to_value(c).expect("json"), c.as_str());
        }
        assert_eq!(Cabin::parse("steerage"), None);
    }
}
