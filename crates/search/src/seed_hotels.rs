//! The seeded hotels as their suppliers would send them: a hotel file (JSON, see
//! [`crate::hotel_content`]) and, per hotel, one `OTA_HotelAvailNotifRQ` (each room
//! type's allotment over the catalog's days) and one `OTA_HotelRateAmountNotifRQ` (each
//! room type's nightly rates on each rate plan, per month, weeknights and weekends).
//! `ota seed` reads them back through the same readers an outside file takes.

use std::collections::HashMap;
use std::fmt::Write as _;

use ota_contract::search::Board;

use crate::hotel_content::{
    Address, Coordinates, HotelContent, HotelFile, RatePlanContent, RoomTypeContent,
};
use crate::seed::{Blueprint, RATE_PLANS, Rng, non_refundable};

/// Amenities by stars (a five-star hotel has all of them).
const AMENITIES: [&str; 8] = [
    "wifi",
    "air_conditioning",
    "bar",
    "restaurant",
    "fitness_centre",
    "parking",
    "pool",
    "spa",
];

/// The blueprint's hotels as a hotel file.
pub fn hotel_file(bp: &Blueprint) -> HotelFile {
    let airports: HashMap<&str, (f64, f64)> = bp
        .airports
        .iter()
        .map(|a| (a.iata.as_str(), (a.latitude, a.longitude)))
        .collect();
    let mut rooms: HashMap<i64, Vec<RoomTypeContent>> = HashMap::new();
    for rt in &bp.room_types {
        rooms.entry(rt.hotel_id).or_default().push(RoomTypeContent {
            code: rt.code.to_owned(),
            name: rt.name.to_owned(),
            max_guests: rt.max_guests,
            beds: match rt.max_guests {
                2 => vec!["double".to_owned()],
                3 => vec!["double".to_owned(), "single".to_owned()],
                _ => vec!["double".to_owned(), "sofa_bed".to_owned()],
            },
        });
    }
    let hotels = bp
        .hotels
        .iter()
        .map(|h| {
            let (lat, lon) = airports
                .get(h.airport.as_str())
                .copied()
                .unwrap_or_default();
            // Around the city: up to ~0.1° from its airport, the same for every run.
            let spread = |k: i64| ((h.id * k) % 200 - 100) as f64 / 1_000.0;
            HotelContent {
                code: h.code.clone(),
                name: h.name.clone(),
                address: Address {
                    line: format!("{} Central Avenue", 1 + h.id % 300),
                    postal_code: String::new(),
                    city: h.city.clone(),
                    country: h.country.clone(),
                },
                coordinates: Coordinates {
                    latitude: (lat + spread(37)).clamp(-90.0, 90.0),
                    longitude: (lon + spread(53)).clamp(-180.0, 180.0),
                },
                stars: h.stars,
                amenities: AMENITIES[..(h.stars as usize + 3).min(AMENITIES.len())]
                    .iter()
                    .map(|a| (*a).to_owned())
                    .collect(),
                description: format!("A {}-star hotel in {}.", h.stars, h.city),
                check_in: "15:00".to_owned(),
                check_out: "11:00".to_owned(),
                time_zone: h.time_zone.clone(),
                airport: Some(h.airport.clone()),
                room_types: rooms.remove(&h.id).unwrap_or_default(),
                rate_plans: RATE_PLANS
                    .iter()
                    .map(|&(code, name, refundable, days)| RatePlanContent {
                        code: code.to_owned(),
                        name: name.to_owned(),
                        board: Board::RoomOnly,
                        refundable,
                        free_cancellation_days: days,
                    })
                    .collect(),
            }
        })
        .collect();
    HotelFile { hotels }
}

/// `Mon="1" Tue="0" …` for a weekday mask (bit 0 Monday).
fn weekday_attributes(mask: u8) -> String {
    ["Mon", "Tue", "Weds", "Thur", "Fri", "Sat", "Sun"]
        .iter()
        .enumerate()
        .map(|(bit, day)| format!(r#" {day}="{}""#, u8::from(mask & (1 << bit) != 0)))
        .collect()
}

/// Each hotel's availability message and rate message, in hotel order, made as they
/// are read (a `world` catalog's are gigabytes of XML together).
pub fn ari_messages(bp: &Blueprint) -> impl Iterator<Item = (String, String)> + '_ {
    let last = bp.first_day + chrono::Duration::days(i64::from(bp.days) - 1);
    // The same generator the catalog always priced rooms with, over the room types in
    // order (they come hotel by hotel).
    let mut rng = Rng::new(0x0004_07E1);
    let mut room_types = bp.room_types.iter().peekable();
    bp.hotels.iter().map(move |h| {
        let mut avail = String::new();
        let mut rates = String::new();
        while let Some(rt) = room_types.next_if(|rt| rt.hotel_id == h.id) {
            let _ = write!(
                avail,
                r#"<AvailStatusMessage BookingLimit="{}"><StatusApplicationControl Start="{}" End="{last}" InvTypeCode="{}"/></AvailStatusMessage>"#,
                rt.capacity,
                bp.first_day,
                rt.code
            );
            for r in bp.rate_ranges(rt, &mut rng) {
                for (plan, amount) in [
                    (RATE_PLANS[0].0, r.price_amount),
                    (RATE_PLANS[1].0, non_refundable(r.price_amount)),
                ] {
                    let _ = write!(
                        rates,
                        r#"<RateAmountMessage><StatusApplicationControl Start="{}" End="{}" InvTypeCode="{}" RatePlanCode="{plan}"{}/><Rates><Rate CurrencyCode="{}"><BaseByGuestAmts><BaseByGuestAmt AmountAfterTax="{}" DecimalPlaces="2"/></BaseByGuestAmts></Rate></Rates></RateAmountMessage>"#,
                        r.first_night,
                        r.last_night,
                        rt.code,
                        weekday_attributes(r.weekdays),
                        crate::seed::CURRENCY,
                        amount
                    );
                }
            }
        }
        (
            format!(
                r#"<OTA_HotelAvailNotifRQ xmlns="http://www.opentravel.org/OTA/2003/05" Version="1.0"><AvailStatusMessages HotelCode="{}">{avail}</AvailStatusMessages></OTA_HotelAvailNotifRQ>"#,
                h.code
            ),
            format!(
                r#"<OTA_HotelRateAmountNotifRQ xmlns="http://www.opentravel.org/OTA/2003/05" Version="1.0"><RateAmountMessages HotelCode="{}">{rates}</RateAmountMessages></OTA_HotelRateAmountNotifRQ>"#,
                h.code
            ),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ari::{self, AriKind};
    use crate::seed::Size;
    use ota_contract::domain::currency::Currency;

    #[test]
    fn the_seeded_hotels_pass_the_readers_an_outside_file_takes() {
        let today = chrono::NaiveDate::from_ymd_opt(2027, 1, 10).expect("date");
        let bp = Blueprint::new(Size::Small, today);
        let text = serde_json::to_string(&hotel_file(&bp)).expect("json");
        let codes: Vec<String> = bp.airports.iter().map(|a| a.iata.clone()).collect();
        let hotels = crate::hotel_content::parse(&text, &|c| codes.iter().any(|k| k == c))
            .expect("the seeded hotel file is valid");
        assert_eq!(hotels.len(), bp.hotels.len());
        for (avail, rates) in ari_messages(&bp) {
            let a = ari::parse(&avail, AriKind::Avail, today, Currency::USD).expect("avail");
            assert_eq!(a.instructions.len(), 3);
            let r = ari::parse(&rates, AriKind::RateAmount, today, Currency::USD).expect("rates");
            // Two plans × (weeknights, weekend) × the months the 30 days touch.
            assert!((3 * 2 * 2 * 2..=3 * 2 * 2 * 3).contains(&r.instructions.len()));
        }
    }
}
