//! Airport autocomplete: code, city or name prefix, accent- and case-insensitive, best
//! match first.

use crate::catalog::{OTHER_RANK, fold};
use crate::index::{AirportInfo, Index};

fn score(a: &AirportInfo, q: &str, upper: &str) -> u32 {
    if a.iata == upper {
        return 1_000;
    }
    if a.metro.as_deref() == Some(upper) {
        return 900;
    }
    // A busy or capital airport whose city starts with what was typed scores as the
    // exact city would, so a small town's exact name does not crowd out the city most
    // travellers mean: `tok` is Tokyo before Tok (Alaska), `bost` Boston before Bost
    // (Afghanistan). The rank then puts the bigger airport first.
    let ranked = u32::try_from(a.rank).is_ok_and(|r| r < OTHER_RANK);
    if a.folded_city == q || (ranked && a.folded_city.starts_with(q)) {
        return 800;
    }
    if a.folded_city.starts_with(q) {
        return 600;
    }
    if upper.len() < 3 && a.iata.starts_with(upper) {
        return 500;
    }
    if a.folded_name.starts_with(q) {
        return 400;
    }
    if a.folded_name
        .split([' ', '-', '/'])
        .any(|w| w.starts_with(q))
    {
        return 300;
    }
    if q.len() >= 3 && (a.folded_name.contains(q) || a.folded_city.contains(q)) {
        return 100;
    }
    0
}

/// What autocomplete offers: an airport, or a city with several airports under its
/// metropolitan code (NYC for JFK, LGA and EWR), which searches take as well.
pub enum Suggestion<'a> {
    Airport(&'a AirportInfo),
    Metro {
        code: &'a str,
        /// Busiest first.
        airports: Vec<&'a AirportInfo>,
    },
}

/// How well a suggestion matches: score, a city before its airports, then the busiest.
type Rank<'a> = (u32, bool, i32, &'a str);

/// The best `limit` suggestions for what a traveller typed; a city's metropolitan
/// entry comes just before its airports.
pub fn suggest<'a>(index: &'a Index, typed: &str, limit: usize) -> Vec<Suggestion<'a>> {
    let q = fold(typed.trim());
    if q.is_empty() {
        return Vec::new();
    }
    let upper = typed.trim().to_uppercase();
    let mut hits: Vec<(Rank<'a>, Suggestion<'a>)> = index
        .airports
        .iter()
        .map(|a| (score(a, &q, &upper), a))
        .filter(|(s, _)| *s > 0)
        .map(|(s, a)| ((s, false, a.rank, a.iata.as_str()), Suggestion::Airport(a)))
        .collect();
    for (code, members) in &index.metros {
        if members.len() < 2 {
            continue;
        }
        let mut airports: Vec<&AirportInfo> = members
            .iter()
            .map(|&i| &index.airports[i as usize])
            .collect();
        airports.sort_by_key(|a| a.rank);
        let best = airports
            .iter()
            .map(|a| score(a, &q, &upper))
            .max()
            .unwrap_or(0);
        if best > 0 {
            let key = (best, true, airports[0].rank, code.as_str());
            hits.push((key, Suggestion::Metro { code, airports }));
        }
    }
    hits.sort_by(|(a, _), (b, _)| {
        b.0.cmp(&a.0)
            .then(b.1.cmp(&a.1))
            .then(a.2.cmp(&b.2))
            .then(a.3.cmp(b.3))
    });
    hits.into_iter().take(limit).map(|(_, s)| s).collect()
}

/// The airport that names a metropolitan area: the busiest of the city most of its
/// airports are in (WAS is Washington, though BWI, in Baltimore, is the busiest).
pub fn main_airport<'a>(airports: &[&'a AirportInfo]) -> Option<&'a AirportInfo> {
    let in_city = |city: &str| airports.iter().filter(|a| a.city == city).count();
    airports.iter().copied().max_by(|a, b| {
        in_city(&a.city)
            .cmp(&in_city(&b.city))
            .then(b.rank.cmp(&a.rank))
    })
}

#[cfg(test)]
mod main_airport_tests {
    use super::*;

    fn airport(iata: &str, city: &str, rank: i32) -> AirportInfo {
        AirportInfo {
            iata: iata.to_owned(),
            name: format!("{city} airport"),
            city: city.to_owned(),
            country: "US".to_owned(),
            latitude: 39.0,
            longitude: -77.0,
            time_zone: "America/New_York".to_owned(),
            tz: chrono_tz::America::New_York,
            metro: Some("WAS".to_owned()),
            rank,
            folded_name: String::new(),
            folded_city: city.to_lowercase(),
        }
    }

    #[test]
    fn a_metropolitan_area_is_named_after_the_city_most_of_its_airports_serve() {
        let (bwi, iad, dca) = (
            airport("BWI", "Baltimore", 20),
            airport("IAD", "Washington", 25),
            airport("DCA", "Washington", 22),
        );
        let main = main_airport(&[&bwi, &iad, &dca]).expect("one");
        assert_eq!(
            (main.city.as_str(), main.iata.as_str()),
            ("Washington", "DCA")
        );
        let (jfk, ewr) = (airport("JFK", "New York", 5), airport("EWR", "Newark", 9));
        assert_eq!(
            main_airport(&[&ewr, &jfk]).map(|a| a.iata.as_str()),
            Some("JFK")
        );
        assert!(main_airport(&[]).is_none());
    }
}

#[cfg(test)]
mod catalog_tests {
    use super::*;
    use crate::catalog;

    /// An index of every shipped airport, without flights or hotels.
    fn world() -> Index {
        let airports: Vec<AirportInfo> = catalog::airports()
            .into_iter()
            .map(|a| AirportInfo {
                folded_name: fold(&a.name),
                folded_city: fold(&a.city),
                rank: i32::try_from(a.rank).expect("a small rank"),
                iata: a.iata,
                name: a.name,
                city: a.city,
                country: a.country,
                latitude: a.latitude,
                longitude: a.longitude,
                time_zone: a.time_zone,
                tz: a.tz,
                metro: a.metro,
            })
            .collect();
        Index::with_airports(airports)
    }

    /// The first suggestion's code and city, and the codes of the suggestions after it.
    fn first(index: &Index, typed: &str) -> (String, String, Vec<String>) {
        let found = suggest(index, typed, 8);
        let code = |s: &Suggestion<'_>| match s {
            Suggestion::Airport(a) => a.iata.clone(),
            Suggestion::Metro { code, .. } => (*code).to_owned(),
        };
        let city = match found.first() {
            Some(Suggestion::Airport(a)) => a.city.clone(),
            Some(Suggestion::Metro { airports, .. }) => {
                main_airport(airports).expect("airports").city.clone()
            }
            None => panic!("nothing for {typed:?}"),
        };
        (code(&found[0]), city, found[1..].iter().map(code).collect())
    }

    #[test]
    fn the_busy_airport_comes_first_among_every_airport_of_the_world() {
        let index = world();
        assert!(index.airports.len() > 7_000);
        let (code, city, next) = first(&index, "lon");
        assert_eq!((code.as_str(), city.as_str()), ("LON", "London"));
        assert_eq!(next[0], "LHR", "{next:?}");
        let (code, city, next) = first(&index, "par");
        assert_eq!((code.as_str(), city.as_str()), ("PAR", "Paris"));
        assert_eq!(next[0], "CDG", "{next:?}");
        let (code, city, next) = first(&index, "new y");
        assert_eq!((code.as_str(), city.as_str()), ("NYC", "New York"));
        assert_eq!(next[0], "JFK", "{next:?}");
        let (code, city, _) = first(&index, "New York");
        assert_eq!((code.as_str(), city.as_str()), ("NYC", "New York"));
        // An exact code is that airport, just after its city when it has several.
        let (code, _, next) = first(&index, "JFK");
        assert_eq!(code, "NYC");
        assert_eq!(next, ["JFK"]);
        let (code, _, _) = first(&index, "jfk");
        assert_eq!(code, "NYC");
        let (code, city, _) = first(&index, "SYD");
        assert_eq!((code.as_str(), city.as_str()), ("SYD", "Sydney"));
        // A small town named exactly what was typed comes after the big city.
        let (code, city, next) = first(&index, "tok");
        assert_eq!((code.as_str(), city.as_str()), ("TYO", "Tokyo"));
        assert_eq!(next[..3], ["HND", "NRT", "TKJ"], "Tok, Alaska, still shows");
        let (code, _, next) = first(&index, "bost");
        assert_eq!(code, "BOS");
        assert_eq!(next[0], "BST", "Bost, Afghanistan, still shows");
        let (code, _, _) = first(&index, "alma");
        assert_eq!(code, "ALA");
        // A capital comes before the small airports of the same name.
        let (code, city, _) = first(&index, "san jose");
        assert_eq!((code.as_str(), city.as_str()), ("SJO", "San Jose"));
        // A small airport whose city is exactly what was typed still shows: Paris, Texas.
        let paris = suggest(&index, "paris", 8);
        assert!(
            paris
                .iter()
                .any(|s| matches!(s, Suggestion::Airport(a) if a.iata == "PRX"))
        );
    }
}
