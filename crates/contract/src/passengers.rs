//! Passenger types as every service exchanges them: how many adults, children and
//! infants an offer is for, and which type a traveller is on a given date.
//!
//! Fare types follow IATA: an infant is under 2 on the day of travel and sits on an
//! adult's lap, a child is 2 to 11, everyone 12 and over pays the adult fare. Someone
//! must be of age (18) to travel with an infant or to take a hotel room.

use chrono::{Datelike, NaiveDate};
use serde::{Deserialize, Deserializer, Serialize};

/// Travellers per booking: at most nine seats (adults + children), and an infant per adult.
pub const MAX_SEATED: u8 = 9;
/// Age from which a traveller pays the adult fare.
pub const ADULT_FARE_FROM: u32 = 12;
/// Age from which a traveller pays the child fare (below it: an infant on a lap).
pub const CHILD_FARE_FROM: u32 = 2;
/// Age of majority: who may travel with an infant or take a hotel room.
pub const OF_AGE: u32 = 18;

/// How many travellers of each type an offer is for.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize, utoipa::ToSchema,
)]
pub struct Passengers {
    /// 12 years and over on the date of the first departure.
    pub adults: u8,
    /// 2 to 11 years on the date of the first departure.
    #[serde(default)]
    pub children: u8,
    /// Under 2 on the date of the first departure, on an adult's lap (no seat).
    #[serde(default)]
    pub infants: u8,
}

/// A traveller's fare type on a date.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum PassengerType {
    Adult,
    Child,
    Infant,
}

impl PassengerType {
    pub fn as_str(self) -> &'static str {
        match self {
            PassengerType::Adult => "adult",
            PassengerType::Child => "child",
            PassengerType::Infant => "infant",
        }
    }
}

/// Whole years from `born` to `on` (a birthday on 29 February counts on 1 March in
/// other years); `None` when `on` is before `born`.
pub fn age_on(born: NaiveDate, on: NaiveDate) -> Option<u32> {
    if on < born {
        return None;
    }
    let mut years = on.year() - born.year();
    if (on.month(), on.day()) < (born.month(), born.day()) {
        years -= 1;
    }
    u32::try_from(years).ok()
}

/// The fare type of someone born on `born`, travelling on `on`.
pub fn type_on(born: NaiveDate, on: NaiveDate) -> Option<PassengerType> {
    let age = age_on(born, on)?;
    Some(if age >= ADULT_FARE_FROM {
        PassengerType::Adult
    } else if age >= CHILD_FARE_FROM {
        PassengerType::Child
    } else {
        PassengerType::Infant
    })
}

impl Passengers {
    pub fn adults(adults: u8) -> Self {
        Self {
            adults,
            children: 0,
            infants: 0,
        }
    }

    /// Seats needed: infants sit on a lap.
    pub fn seated(self) -> u8 {
        self.adults.saturating_add(self.children)
    }

    /// Everyone travelling.
    pub fn total(self) -> u8 {
        self.seated().saturating_add(self.infants)
    }

    /// Counts travellers by their type on `on`; `None` when a date of birth is after it.
    pub fn of_travellers(births: &[NaiveDate], on: NaiveDate) -> Option<Passengers> {
        let mut p = Passengers::default();
        for born in births {
            let n = match type_on(*born, on)? {
                PassengerType::Adult => &mut p.adults,
                PassengerType::Child => &mut p.children,
                PassengerType::Infant => &mut p.infants,
            };
            *n = n.saturating_add(1);
        }
        Some(p)
    }

    /// Why this mix cannot be sold, naming the field at fault: at least one adult,
    /// at most nine seats, no more infants than adults.
    pub fn check(self) -> Result<(), (&'static str, String)> {
        if self.adults == 0 {
            return Err(("adults", "must be at least 1".to_owned()));
        }
        if self.seated() > MAX_SEATED {
            return Err((
                "children",
                format!("adults and children together must be at most {MAX_SEATED}"),
            ));
        }
        if self.infants > self.adults {
            return Err((
                "infants",
                "must be at most the number of adults (one infant per lap)".to_owned(),
            ));
        }
        Ok(())
    }
}

/// Reads `{"adults","children","infants"}` or, as carts and offers written before
/// passenger types had it, a bare count of adults. For `#[serde(deserialize_with)]`.
pub fn typed_or_adults<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Passengers>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Wire {
        Typed(Passengers),
        Adults(u8),
    }
    Ok(Option::<Wire>::deserialize(d)?.map(|w| match w {
        Wire::Typed(p) => p,
        Wire::Adults(n) => Passengers::adults(n),
    }))
}

impl std::fmt::Display for Passengers {
    /// "2 adults, 1 child, 1 infant".
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut parts = Vec::new();
        for (n, one, many) in [
            (self.adults, "adult", "adults"),
            (self.children, "child", "children"),
            (self.infants, "infant", "infants"),
        ] {
            if n > 0 || one == "adult" {
                parts.push(format!("{n} {}", if n == 1 { one } else { many }));
            }
        }
        f.write_str(&parts.join(", "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).expect("date")
    }

    #[test]
    fn ages_are_whole_years_on_the_day_of_travel() {
        assert_eq!(age_on(d(2000, 6, 15), d(2026, 6, 14)), Some(25));
        assert_eq!(age_on(d(2000, 6, 15), d(2026, 6, 15)), Some(26));
        assert_eq!(age_on(d(2004, 2, 29), d(2026, 2, 28)), Some(21));
        assert_eq!(age_on(d(2004, 2, 29), d(2026, 3, 1)), Some(22));
        assert_eq!(age_on(d(2027, 1, 1), d(2026, 1, 1)), None);
    }

    #[test]
    fn fare_types_change_on_the_second_and_twelfth_birthdays() {
        let travel = d(2026, 12, 14);
        assert_eq!(
            type_on(d(2024, 12, 15), travel),
            Some(PassengerType::Infant)
        );
        assert_eq!(type_on(d(2024, 12, 14), travel), Some(PassengerType::Child));
        assert_eq!(type_on(d(2014, 12, 15), travel), Some(PassengerType::Child));
        assert_eq!(type_on(d(2014, 12, 14), travel), Some(PassengerType::Adult));
        // Six months old today is an infant, whatever the fare they were booked on.
        assert_eq!(type_on(d(2026, 6, 14), travel), Some(PassengerType::Infant));
        let mix = Passengers::of_travellers(&[d(1980, 1, 1), d(2018, 5, 5), d(2026, 1, 1)], travel);
        assert_eq!(
            mix,
            Some(Passengers {
                adults: 1,
                children: 1,
                infants: 1
            })
        );
    }

    #[test]
    fn a_mix_needs_an_adult_nine_seats_at_most_and_a_lap_per_infant() {
        assert!(Passengers::adults(1).check().is_ok());
        assert_eq!(
            Passengers::adults(0).check().map_err(|e| e.0),
            Err("adults")
        );
        let too_many = Passengers {
            adults: 5,
            children: 5,
            infants: 0,
        };
        assert_eq!(too_many.check().map_err(|e| e.0), Err("children"));
        let laps = Passengers {
            adults: 2,
            children: 0,
            infants: 3,
        };
        assert_eq!(laps.check().map_err(|e| e.0), Err("infants"));
        let full = Passengers {
            adults: 9,
            children: 0,
            infants: 9,
        };
        assert!(full.check().is_ok());
        assert_eq!(full.total(), 18);
        assert_eq!(full.seated(), 9);
    }

    #[test]
    fn a_bare_count_reads_as_that_many_adults() {
        #[derive(Deserialize)]
        struct Item {
            #[serde(default, deserialize_with = "typed_or_adults")]
            passengers: Option<Passengers>,
        }
        let read =
            |v: serde_json::Value| serde_json::from_value::<Item>(v).expect("read").passengers;
        assert_eq!(
            read(serde_json::json!({"passengers": 2})),
            Some(Passengers::adults(2))
        );
        assert_eq!(
            read(serde_json::json!({"passengers": {"adults": 1, "infants": 1}})),
            Some(Passengers {
                adults: 1,
                children: 0,
                infants: 1
            })
        );
        assert_eq!(read(serde_json::json!({"passengers": null})), None);
        assert_eq!(read(serde_json::json!({})), None);
    }

    #[test]
    fn a_mix_reads_as_people_say_it() {
        assert_eq!(Passengers::adults(1).to_string(), "1 adult");
        let family = Passengers {
            adults: 2,
            children: 1,
            infants: 2,
        };
        assert_eq!(family.to_string(), "2 adults, 1 child, 2 infants");
    }

    mod properties {
        use super::*;
        use proptest::prelude::*;

        proptest! {
            #[test]
            fn check_holds_exactly_the_rules(adults in 0u8..=20, children in 0u8..=20, infants in 0u8..=20) {
                let p = Passengers { adults, children, infants };
                let sellable = adults >= 1
                    && u16::from(adults) + u16::from(children) <= u16::from(MAX_SEATED)
                    && infants <= adults;
                prop_assert_eq!(p.check().is_ok(), sellable, "{:?}", p);
            }

            #[test]
            fn a_count_or_an_object_reads_the_same_and_anything_else_is_refused_without_panic(
                adults in 0u8..=255, children in 0u8..=255, infants in 0u8..=255, junk in "\\PC{0,12}",
            ) {
                #[derive(Deserialize)]
                struct Item {
                    #[serde(default, deserialize_with = "typed_or_adults")]
                    passengers: Option<Passengers>,
                }
                let read = |v: serde_json::Value| serde_json::from_value::<Item>(v).map(|i| i.passengers);
                let typed = serde_json::json!({"passengers": {"adults": adults, "children": children, "infants": infants}});
                prop_assert_eq!(read(typed).ok(), Some(Some(Passengers { adults, children, infants })));
                prop_assert_eq!(read(serde_json::json!({"passengers": adults})).ok(), Some(Some(Passengers::adults(adults))));
                // Text, negative or oversized counts are refused, never read as something else.
                let text = read(serde_json::json!({"passengers": junk}));
                let negative = read(serde_json::json!({"passengers": -i64::from(adults) - 1}));
                let oversized = read(serde_json::json!({"passengers": {"adults": 256 + u32::from(adults)}}));
                prop_assert!(text.is_err());
                prop_assert!(negative.is_err());
                prop_assert!(oversized.is_err());
            }

            #[test]
            fn every_age_has_one_fare_type(days in 0i64..40_000) {
                let on = NaiveDate::from_ymd_opt(2026, 12, 1).expect("date");
                let born = on - chrono::Duration::days(days);
                let age = age_on(born, on).expect("born before");
                let expected = if age >= ADULT_FARE_FROM { PassengerType::Adult }
                    else if age >= CHILD_FARE_FROM { PassengerType::Child }
                    else { PassengerType::Infant };
                prop_assert_eq!(type_on(born, on), Some(expected));
            }
        }
    }
}
