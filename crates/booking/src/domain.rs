//! The booking domain: statuses, references, travellers and the refund rules.

use chrono::{DateTime, NaiveDate, Utc};
use ota_platform::FieldError;
use ota_platform::passengers::{OF_AGE, Passengers, age_on, type_on};

/// A booking's status, its item kinds and its travellers are what its API says they
/// are.
pub use ota_contract::booking::{BookedTraveller as Traveller, BookingStatus as Status, ItemKind};

pub use ota_contract::{BookingReference, Currency, Email};

/// Nine seated travellers and an infant on each of their laps.
pub const MAX_TRAVELLERS: usize = 18;

/// What a cart's items ask of its travellers.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Party {
    /// The day ages are taken on: the first departure's local date, or the first
    /// check-in date when the booking has no flight.
    pub travel_date: Option<NaiveDate>,
    /// Each flight item's passengers by type.
    pub flights: Vec<Passengers>,
    /// Each hotel item's rooms.
    pub hotel_rooms: Vec<u8>,
}

/// Checks the travellers against the party the offers were priced for, and gives each
/// traveller their type. Errors name `travellers`.
pub fn match_travellers(travellers: &mut [Traveller], party: &Party) -> Result<(), FieldError> {
    let field = |message: String| FieldError {
        field: "travellers".to_owned(),
        message,
    };
    let Some(on) = party.travel_date else {
        return Ok(());
    };
    let births: Vec<NaiveDate> = travellers.iter().map(|t| t.date_of_birth).collect();
    let found = Passengers::of_travellers(&births, on)
        .ok_or_else(|| field(format!("must all be born by {on}, the day of travel")))?;
    for t in travellers.iter_mut() {
        t.passenger_type = type_on(t.date_of_birth, on);
    }
    let of_age = births
        .iter()
        .filter(|b| age_on(**b, on).is_some_and(|a| a >= OF_AGE))
        .count();
    for wanted in &party.flights {
        if *wanted != found {
            return Err(field(format!(
                "the flight in your cart is priced for {wanted}, but on {on} the travellers named are {found}: name one traveller per passenger, of that age"
            )));
        }
    }
    if of_age == 0 {
        return Err(field(format!(
            "at least one traveller must be {OF_AGE} or older on {on}"
        )));
    }
    if usize::from(found.infants) > of_age {
        return Err(field(format!(
            "each infant travels on the lap of a traveller aged {OF_AGE} or older: {} infants, {of_age} such travellers",
            found.infants
        )));
    }
    if let Some(rooms) = party.hotel_rooms.iter().max()
        && usize::from(*rooms) > of_age
    {
        return Err(field(format!(
            "each hotel room needs a guest aged {OF_AGE} or older: {rooms} rooms, {of_age} such travellers"
        )));
    }
    Ok(())
}
const MAX_NAME_CHARS: usize = 100;

/// A name on a ticket: letters, spaces, hyphens, apostrophes and dots, 1–100 characters.
pub fn check_name(field: String, value: Option<&str>, errors: &mut Vec<FieldError>) -> String {
    let v = value.map(str::trim).unwrap_or_default();
    let message = if v.is_empty() {
        Some("is required")
    } else if v.chars().count() > MAX_NAME_CHARS {
        Some("must be at most 100 characters")
    } else if !v
        .chars()
        .all(|c| c.is_alphabetic() || matches!(c, ' ' | '-' | '\'' | '.'))
    {
        Some("may contain only letters, spaces, hyphens, apostrophes and dots")
    } else {
        None
    };
    if let Some(m) = message {
        errors.push(FieldError {
            field,
            message: m.to_owned(),
        });
    }
    v.to_owned()
}

/// A real calendar date (YYYY-MM-DD) in the past, and not before 1900.
pub fn check_date_of_birth(
    field: String,
    value: Option<&str>,
    today: NaiveDate,
    errors: &mut Vec<FieldError>,
) -> Option<NaiveDate> {
    let Some(v) = value.map(str::trim).filter(|v| !v.is_empty()) else {
        errors.push(FieldError {
            field,
            message: "is required".to_owned(),
        });
        return None;
    };
    let message = match NaiveDate::parse_from_str(v, "%Y-%m-%d") {
        Err(_) => "must be a real date as YYYY-MM-DD",
        Ok(d) if d >= today => "must be in the past",
        Ok(d) if d < NaiveDate::from_ymd_opt(1900, 1, 1).unwrap_or(NaiveDate::MIN) => {
            "must be after 1900-01-01"
        }
        Ok(d) => return Some(d),
    };
    errors.push(FieldError {
        field,
        message: message.to_owned(),
    });
    None
}

/// The contact address at `field`, or `None` with the field's error in `errors`.
pub fn check_email(
    field: &str,
    value: Option<&str>,
    errors: &mut Vec<FieldError>,
) -> Option<Email> {
    Email::parse(value.unwrap_or_default())
        .map_err(|e| {
            errors.push(FieldError {
                field: field.to_owned(),
                message: match e {
                    ota_contract::domain::EmailError::Empty => "is required",
                    ota_contract::domain::EmailError::Invalid => "must be an e-mail address",
                }
                .to_owned(),
            })
        })
        .ok()
}

/// What an item refunds when cancelled at `now`: everything before its refund
/// deadline, nothing after (or ever, for non-refundable rates).
pub fn item_refund(
    total: i64,
    refundable: bool,
    refund_until: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> i64 {
    match refund_until {
        Some(until) if refundable && now < until => total,
        _ => 0,
    }
}

/// The refund of a whole booking at `now`, and until when that quote holds (the first
/// deadline still ahead among the items that refund), if it ever changes.
pub fn quote<'a>(
    items: impl IntoIterator<Item = (i64, bool, Option<DateTime<Utc>>)> + 'a,
    now: DateTime<Utc>,
) -> (i64, Option<DateTime<Utc>>) {
    let mut refund = 0;
    let mut expires: Option<DateTime<Utc>> = None;
    for (total, refundable, until) in items {
        let r = item_refund(total, refundable, until, now);
        refund += r;
        if r > 0
            && let Some(u) = until
        {
            expires = Some(expires.map_or(u, |e| e.min(u)));
        }
    }
    (refund, expires)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Duration;
    use ota_platform::passengers::PassengerType;

    #[test]
    fn statuses_round_trip() {
        for s in Status::ALL {
            assert_eq!(Status::parse(s.as_str()), Some(s));
            assert_eq!(serde_json::to_value(s).ok(), Some(s.as_str().into()));
        }
        assert_eq!(Status::parse("pending"), None);
    }

    #[test]
    fn names_and_dates_of_birth_are_checked() {
        let today = NaiveDate::from_ymd_opt(2026, 11, 25).expect("date");
        let mut errors = Vec::new();
        assert_eq!(
            check_name("n".into(), Some(" Zoë O'Neil-Smith "), &mut errors),
            "Zoë O'Neil-Smith"
        );
        assert!(errors.is_empty());
        check_name("a".into(), Some(""), &mut errors);
        check_name("b".into(), None, &mut errors);
        check_name("c".into(), Some("R2D2"), &mut errors);
        check_name("d".into(), Some(&"x".repeat(101)), &mut errors);
        let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["a", "b", "c", "d"]);

        let mut errors = Vec::new();
        assert!(check_date_of_birth("x".into(), Some("1990-02-28"), today, &mut errors).is_some());
        for bad in [
            "1990-02-30",
            "2026-11-25",
            "2030-01-01",
            "1850-01-01",
            "28/02/1990",
        ] {
            assert!(check_date_of_birth("x".into(), Some(bad), today, &mut errors).is_none());
        }
        assert!(check_date_of_birth("x".into(), None, today, &mut errors).is_none());
        assert_eq!(errors.len(), 6);
    }

    #[test]
    fn contact_emails_name_their_field() {
        let mut errors = Vec::new();
        let ada = check_email("contact.email", Some(" ada@example.com"), &mut errors);
        assert_eq!(ada.as_ref().map(Email::as_str), Some("ada@example.com"));
        assert!(errors.is_empty());
        assert_eq!(check_email("contact.email", None, &mut errors), None);
        assert_eq!(
            check_email("contact.email", Some("a@b@c.com"), &mut errors),
            None
        );
        let said: Vec<(&str, &str)> = errors
            .iter()
            .map(|e| (e.field.as_str(), e.message.as_str()))
            .collect();
        assert_eq!(
            said,
            [
                ("contact.email", "is required"),
                ("contact.email", "must be an e-mail address")
            ]
        );
    }

    #[test]
    fn refunds_follow_the_rate_and_its_deadline() {
        let now = Utc::now();
        let later = Some(now + Duration::hours(30));
        let earlier = Some(now - Duration::minutes(1));
        assert_eq!(item_refund(500, true, later, now), 500);
        assert_eq!(item_refund(500, true, earlier, now), 0);
        assert_eq!(item_refund(500, false, later, now), 0);
        assert_eq!(item_refund(500, true, None, now), 0);
        let soon = now + Duration::hours(2);
        let (refund, until) = quote(
            [
                (500, true, later),
                (300, true, Some(soon)),
                (200, false, None),
                (100, true, earlier),
            ],
            now,
        );
        assert_eq!((refund, until), (800, Some(soon)));
        assert_eq!(quote([(200, false, None)], now), (0, None));
    }

    fn person(born: &str) -> Traveller {
        Traveller {
            first_name: "Ada".into(),
            last_name: "Lovelace".into(),
            date_of_birth: NaiveDate::parse_from_str(born, "%Y-%m-%d").expect("date"),
            passenger_type: None,
        }
    }

    fn party(flight: Option<Passengers>, rooms: Option<u8>) -> Party {
        Party {
            travel_date: NaiveDate::from_ymd_opt(2026, 12, 14),
            flights: flight.into_iter().collect(),
            hotel_rooms: rooms.into_iter().collect(),
        }
    }

    #[test]
    fn travellers_must_be_the_types_the_flight_was_priced_for_on_the_day_of_travel() {
        let family = Passengers {
            adults: 1,
            children: 1,
            infants: 1,
        };
        let mut ok = vec![
            person("1985-03-01"),
            person("2018-12-14"),
            person("2025-06-01"),
        ];
        assert_eq!(
            match_travellers(&mut ok, &party(Some(family), None)),
            Ok(())
        );
        let types: Vec<_> = ok.iter().map(|t| t.passenger_type).collect();
        assert_eq!(
            types,
            [
                Some(PassengerType::Adult),
                Some(PassengerType::Child),
                Some(PassengerType::Infant)
            ]
        );
        // A baby of six months sold an adult seat: refused.
        let mut baby_alone = vec![person("2026-06-14")];
        let e = match_travellers(&mut baby_alone, &party(Some(Passengers::adults(1)), None));
        assert_eq!(e.map_err(|e| e.field), Err("travellers".to_owned()));
        // Turning 2 the day before travel makes a child, not an infant.
        let mut turned_two = vec![person("1985-03-01"), person("2024-12-13")];
        let one_infant = Passengers {
            adults: 1,
            children: 0,
            infants: 1,
        };
        assert!(match_travellers(&mut turned_two, &party(Some(one_infant), None)).is_err());
    }

    #[test]
    fn someone_of_age_travels_and_takes_each_hotel_room() {
        // Two 14-year-olds pay adult fares but cannot travel alone.
        let mut teens = vec![person("2012-01-01"), person("2012-02-02")];
        assert!(match_travellers(&mut teens, &party(Some(Passengers::adults(2)), None)).is_err());
        // A one-year-old is nobody's hotel guest on their own.
        let mut toddler = vec![person("2025-10-01")];
        assert!(match_travellers(&mut toddler, &party(None, Some(1))).is_err());
        let mut couple = vec![person("1990-01-01"), person("1991-01-01")];
        assert!(match_travellers(&mut couple, &party(None, Some(2))).is_ok());
        assert!(match_travellers(&mut couple, &party(None, Some(3))).is_err());
        // Two infants need two laps of age.
        let mut one_lap = vec![
            person("1990-01-01"),
            person("2016-01-01"),
            person("2026-01-01"),
            person("2026-02-01"),
        ];
        let p = Passengers {
            adults: 1,
            children: 1,
            infants: 2,
        };
        assert!(match_travellers(&mut one_lap, &party(Some(p), None)).is_err());
    }
}
