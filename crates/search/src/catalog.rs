//! The fixed parts of the catalog: airports (a shipped data file), carriers, cabins,
//! and the geography that schedules and fares derive from.

use chrono_tz::Tz;

/// Airports from the `airportsdata` package (MIT); see data/README.md.
const AIRPORTS_CSV: &str = include_str!("../data/airports.csv");

/// The busiest airports by passengers, busiest first: the rank orders search results
/// and sizes the demo network. An airport here has its position + 1 as its rank (1 is
/// the busiest); see [`CAPITAL_RANK`] and [`OTHER_RANK`] for every other airport.
pub const BUSIEST: &[&str] = &[
    "ATL", "DXB", "DFW", "LHR", "HND", "DEN", "IST", "LAX", "ORD", "DEL", "CDG", "JFK", "CAN",
    "AMS", "FRA", "PEK", "PVG", "SIN", "ICN", "BKK", "MAD", "CLT", "LAS", "MCO", "MIA", "SFO",
    "SEA", "PHX", "EWR", "IAH", "BOS", "MSP", "DTW", "PHL", "LGA", "FLL", "BWI", "SLC", "SAN",
    "IAD", "DCA", "MDW", "TPA", "PDX", "HNL", "BCN", "FCO", "MUC", "LGW", "MAN", "DUB", "ZRH",
    "VIE", "CPH", "OSL", "ARN", "HEL", "BRU", "LIS", "ATH", "PRG", "WAW", "BUD", "SVO", "DME",
    "LED", "DOH", "AUH", "JED", "RUH", "CAI", "JNB", "CPT", "NBO", "ADD", "LOS", "CMN", "BOM",
    "BLR", "MAA", "HYD", "CCU", "KUL", "CGK", "MNL", "HKG", "TPE", "NRT", "KIX", "SYD", "MEL",
    "BNE", "PER", "AKL", "YYZ", "YVR", "YUL", "MEX", "CUN", "GRU", "GIG", "EZE", "SCL", "BOG",
    "LIM", "PTY", "SZX", "CTU", "KMG", "XIY", "CKG", "HGH", "SHA", "TLV", "AMM", "BAH", "KWI",
    "MCT", "ISB", "KHI", "LHE", "DAC", "CMB", "KTM", "SGN", "HAN", "DPS", "ORY", "STN", "LTN",
    "EDI", "GVA", "NCE", "MXP", "LIN", "VCE", "NAP", "OTP", "SOF", "BEG", "ZAG", "KBP", "TBS",
    "EVN", "GYD", "ALA", "TAS", "ACC", "DKR", "ABJ", "DAR", "EBB", "KGL", "LAD", "HRE", "LUN",
    "MRU", "SEZ", "RAK", "TUN", "ALG",
];

/// The rank of a capital's airport (data file column `capital` = 1) that is not in
/// [`BUSIEST`]: after every busy airport, before every other airport.
pub const CAPITAL_RANK: u32 = 500;

/// The rank of an airport that is neither in [`BUSIEST`] nor a capital's.
pub const OTHER_RANK: u32 = 1000;

/// The rank of an airport: its place in [`BUSIEST`] (1 is the busiest), else
/// [`CAPITAL_RANK`] for a capital's airport, else [`OTHER_RANK`].
pub fn rank_of(iata: &str, capital: bool) -> u32 {
    match BUSIEST.iter().position(|c| *c == iata) {
        Some(p) => p as u32 + 1,
        None if capital => CAPITAL_RANK,
        None => OTHER_RANK,
    }
}

#[derive(Debug, Clone)]
pub struct Airport {
    pub iata: String,
    pub name: String,
    pub city: String,
    pub country: String,
    pub latitude: f64,
    pub longitude: f64,
    pub time_zone: String,
    pub tz: Tz,
    pub metro: Option<String>,
    /// One of the airports that serve a country's capital (the data file's `capital`
    /// column).
    pub capital: bool,
    /// 1 is the busiest; see [`rank_of`].
    pub rank: u32,
}

/// Metropolitan areas (IATA city codes) and the airports that serve them, for travellers
/// who search "New York" rather than one of its airports. The shipped data file's
/// `metro` column misses some members (EWR, for one); this table wins over it.
pub const METROS: &[(&str, &[&str])] = &[
    ("NYC", &["JFK", "LGA", "EWR"]),
    ("LON", &["LHR", "LGW", "STN", "LTN", "LCY", "SEN"]),
    ("PAR", &["CDG", "ORY", "BVA"]),
    ("TYO", &["HND", "NRT"]),
    ("OSA", &["KIX", "ITM", "UKB"]),
    ("SEL", &["ICN", "GMP"]),
    ("BJS", &["PEK", "PKX"]),
    ("SHA", &["PVG", "SHA"]),
    ("TPE", &["TPE", "TSA"]),
    ("BKK", &["BKK", "DMK"]),
    ("JKT", &["CGK", "HLP"]),
    ("DXB", &["DXB", "DWC"]),
    ("THR", &["IKA", "THR"]),
    ("IST", &["IST", "SAW"]),
    ("MOW", &["SVO", "DME", "VKO"]),
    ("STO", &["ARN", "BMA", "NYO"]),
    ("MIL", &["MXP", "LIN", "BGY"]),
    ("ROM", &["FCO", "CIA"]),
    ("BRU", &["BRU", "CRL"]),
    ("CHI", &["ORD", "MDW"]),
    ("WAS", &["IAD", "DCA", "BWI"]),
    ("HOU", &["IAH", "HOU"]),
    ("DFW", &["DFW", "DAL"]),
    ("YTO", &["YYZ", "YTZ"]),
    ("YMQ", &["YUL", "YMX"]),
    ("SAO", &["GRU", "CGH", "VCP"]),
    ("RIO", &["GIG", "SDU"]),
    ("BUE", &["EZE", "AEP"]),
    ("DKR", &["DSS", "DKR"]),
    ("MEL", &["MEL", "AVV"]),
];

/// The metropolitan area an airport belongs to, by the table above.
pub fn metro_of(iata: &str) -> Option<&'static str> {
    METROS
        .iter()
        .find(|(_, members)| members.contains(&iata))
        .map(|(code, _)| *code)
}

/// Every shipped airport, best rank first: the busiest in [`BUSIEST`] order, then the
/// capitals' airports, then every other airport, each tier by IATA code.
pub fn airports() -> Vec<Airport> {
    let mut out = Vec::new();
    for line in AIRPORTS_CSV.lines().skip(1) {
        let f = split_csv(line);
        if f.len() < 9 {
            continue;
        }
        let Ok(tz) = f[6].parse::<Tz>() else {
            continue;
        };
        let capital = f[8] == "1";
        let rank = rank_of(&f[0], capital);
        out.push(Airport {
            iata: f[0].clone(),
            name: f[1].clone(),
            city: f[2].clone(),
            country: f[3].clone(),
            latitude: f[4].parse().unwrap_or(0.0),
            longitude: f[5].parse().unwrap_or(0.0),
            time_zone: f[6].clone(),
            tz,
            metro: metro_of(&f[0])
                .map(str::to_owned)
                .or_else(|| Some(f[7].clone()).filter(|m| !m.is_empty())),
            capital,
            rank,
        });
    }
    out.sort_by(|a, b| a.rank.cmp(&b.rank).then_with(|| a.iata.cmp(&b.iata)));
    out
}

/// Splits one CSV line, honouring double quotes.
fn split_csv(line: &str) -> Vec<String> {
    let mut fields = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match (c, quoted) {
            ('"', true) if chars.peek() == Some(&'"') => {
                cur.push('"');
                chars.next();
            }
            ('"', _) => quoted = !quoted,
            (',', false) => fields.push(std::mem::take(&mut cur)),
            _ => cur.push(c),
        }
    }
    fields.push(cur);
    fields
}

/// Great-circle distance in kilometres between two airports.
pub fn distance_km(a: &Airport, b: &Airport) -> f64 {
    great_circle_km((a.latitude, a.longitude), (b.latitude, b.longitude))
}

/// Great-circle distance in kilometres between two (latitude, longitude) points in
/// degrees (haversine, mean Earth radius 6,371 km).
pub fn great_circle_km(a: (f64, f64), b: (f64, f64)) -> f64 {
    let (la1, lo1, la2, lo2) = (
        a.0.to_radians(),
        a.1.to_radians(),
        b.0.to_radians(),
        b.1.to_radians(),
    );
    let h = ((la2 - la1) / 2.0).sin().powi(2)
        + la1.cos() * la2.cos() * ((lo2 - lo1) / 2.0).sin().powi(2);
    2.0 * 6371.0 * h.sqrt().asin()
}

/// Gate-to-gate minutes: taxi, climb and descent plus cruise at ~820 km/h, in 5-minute
/// steps as timetables show them.
pub fn block_minutes(km: f64) -> i64 {
    let raw = 35.0 + km / 820.0 * 60.0;
    ((raw / 5.0).round() as i64 * 5).max(45)
}

/// The region a country belongs to, for carrier networks and connection times.
pub fn region(country: &str) -> Region {
    match country {
        "US" | "CA" | "MX" | "PA" | "CU" | "JM" | "DO" | "BS" | "BB" | "TT" | "HT" | "GT"
        | "HN" | "SV" | "NI" | "CR" | "BZ" | "AG" | "DM" | "GD" | "KN" | "LC" | "VC" => {
            Region::NorthAmerica
        }
        "BR" | "AR" | "CL" | "CO" | "PE" | "EC" | "VE" | "BO" | "PY" | "UY" | "GY" | "SR" => {
            Region::SouthAmerica
        }
        "AE" | "QA" | "SA" | "BH" | "KW" | "OM" | "IL" | "JO" | "LB" | "IQ" | "IR" | "YE"
        | "SY" | "TR" | "EG" => Region::MiddleEast,
        "AU" | "NZ" | "FJ" | "PG" | "WS" | "TO" | "VU" | "SB" | "KI" | "TV" | "NR" | "FM"
        | "MH" | "PW" => Region::Oceania,
        "CN" | "JP" | "KR" | "TW" | "HK" | "MO" | "MN" | "KP" | "SG" | "MY" | "TH" | "VN"
        | "ID" | "PH" | "KH" | "LA" | "MM" | "BN" | "TL" | "IN" | "PK" | "BD" | "LK" | "NP"
        | "BT" | "MV" | "AF" | "KZ" | "UZ" | "KG" | "TJ" | "TM" => Region::Asia,
        c if AFRICA.contains(&c) => Region::Africa,
        _ => Region::Europe,
    }
}

const AFRICA: &[&str] = &[
    "DZ", "AO", "BJ", "BW", "BF", "BI", "CV", "CM", "CF", "TD", "KM", "CD", "CG", "CI", "DJ", "GQ",
    "ER", "SZ", "ET", "GA", "GM", "GH", "GN", "GW", "KE", "LS", "LR", "LY", "MG", "MW", "ML", "MR",
    "MU", "MA", "MZ", "NA", "NE", "NG", "RW", "ST", "SN", "SC", "SL", "SO", "ZA", "SS", "SD", "TZ",
    "TG", "TN", "UG", "ZM", "ZW",
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Region {
    NorthAmerica,
    SouthAmerica,
    Europe,
    MiddleEast,
    Africa,
    Asia,
    Oceania,
}

/// Carriers: a few global networks and regional ones.
pub struct Carrier {
    pub code: &'static str,
    pub name: &'static str,
    /// `None` flies everywhere (long haul); otherwise within and from its region.
    pub region: Option<Region>,
}

pub const CARRIERS: &[Carrier] = &[
    Carrier {
        code: "OT",
        name: "Orbit Transcontinental",
        region: None,
    },
    Carrier {
        code: "MG",
        name: "Meridian Global",
        region: None,
    },
    Carrier {
        code: "AU",
        name: "Aurora Airways",
        region: Some(Region::NorthAmerica),
    },
    Carrier {
        code: "PX",
        name: "Prairie Express",
        region: Some(Region::NorthAmerica),
    },
    Carrier {
        code: "EL",
        name: "Euroline",
        region: Some(Region::Europe),
    },
    Carrier {
        code: "NW",
        name: "Northwind",
        region: Some(Region::Europe),
    },
    Carrier {
        code: "SK",
        name: "Saffron Sky",
        region: Some(Region::MiddleEast),
    },
    Carrier {
        code: "LT",
        name: "Lotus Air",
        region: Some(Region::Asia),
    },
    Carrier {
        code: "JD",
        name: "Jade Dragon",
        region: Some(Region::Asia),
    },
    Carrier {
        code: "SX",
        name: "Southern Cross Air",
        region: Some(Region::Oceania),
    },
    Carrier {
        code: "AN",
        name: "Andes Air",
        region: Some(Region::SouthAmerica),
    },
    Carrier {
        code: "SV",
        name: "Savanna Airlines",
        region: Some(Region::Africa),
    },
];

pub use ota_contract::search::Cabin;

/// Folds case and accents so `zurich` finds Zürich, `sao` São Paulo and `lodz` Łódź.
///
/// Letters are spelled in ASCII by `deunicode` (`ü` → `u`, `ø` → `o`, `ß` → `ss`, `İ` →
/// `i`), then lowered; a character it has no spelling for is kept, lowered.
pub fn fold(s: &str) -> String {
    use deunicode::AsciiChars;
    let mut out = String::with_capacity(s.len());
    for (c, ascii) in s.chars().zip(s.ascii_chars()) {
        match ascii {
            Some(ascii) => out.extend(ascii.chars().map(|a| a.to_ascii_lowercase())),
            None => out.extend(c.to_lowercase()),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_busy_airport_ships_with_a_time_zone() {
        let all = airports();
        for code in BUSIEST {
            let a = all.iter().find(|a| a.iata == *code);
            assert!(a.is_some(), "{code} missing from the data file");
        }
        assert!(all.len() >= 150);
        assert_eq!(all[0].iata, "ATL");
        let lhr = all.iter().find(|a| a.iata == "LHR").expect("LHR");
        assert_eq!(lhr.city, "London");
        assert_eq!(lhr.time_zone, "Europe/London");
    }

    #[test]
    fn every_airport_of_the_world_ships_ranked_busiest_then_capitals() {
        let all = airports();
        // Every data row is an airport: none is dropped for its time zone.
        let rows = AIRPORTS_CSV.lines().skip(1).count();
        assert_eq!(all.len(), rows);
        assert!(all.len() > 7_000, "{} airports", all.len());
        for a in &all {
            assert_eq!(a.time_zone.parse::<Tz>().ok(), Some(a.tz), "{}", a.iata);
            assert!(!a.city.is_empty(), "{} has no city", a.iata);
        }
        assert_eq!(all[0].iata, "ATL");
        // The busiest first, in BUSIEST order.
        let first: Vec<&str> = all[..BUSIEST.len()]
            .iter()
            .map(|a| a.iata.as_str())
            .collect();
        assert_eq!(first, BUSIEST);
        for (i, a) in all[..BUSIEST.len()].iter().enumerate() {
            assert_eq!(a.rank, i as u32 + 1);
        }
        // Then every capital's airport, then every other one.
        let rest = &all[BUSIEST.len()..];
        let capitals = rest.iter().take_while(|a| a.capital).count();
        assert!(capitals > 100, "{capitals} capitals' airports");
        assert!(rest[..capitals].iter().all(|a| a.rank == CAPITAL_RANK));
        assert!(
            rest[capitals..]
                .iter()
                .all(|a| !a.capital && a.rank == OTHER_RANK)
        );
        for code in ["BER", "CBR", "YOW", "BSB"] {
            let a = all.iter().find(|a| a.iata == code).expect(code);
            assert_eq!((a.capital, a.rank), (true, CAPITAL_RANK), "{code}");
        }
        // A capital's airport among the busiest keeps its busy rank.
        let lhr = all.iter().find(|a| a.iata == "LHR").expect("LHR");
        assert!(lhr.capital);
        assert_eq!(lhr.rank, 4);
        let small = all.iter().find(|a| a.iata == "BVA").expect("BVA");
        assert_eq!((small.capital, small.rank), (false, OTHER_RANK));
        // Sorted by rank, then IATA code.
        assert!(
            all.windows(2)
                .all(|w| (w[0].rank, &w[0].iata) < (w[1].rank, &w[1].iata))
        );
    }

    #[test]
    fn no_iata_code_ships_twice() {
        let rows: Vec<Vec<String>> = AIRPORTS_CSV.lines().skip(1).map(split_csv).collect();
        let mut codes: Vec<&str> = rows.iter().map(|f| f[0].as_str()).collect();
        codes.sort_unstable();
        let before = codes.len();
        codes.dedup();
        assert_eq!(codes.len(), before, "duplicate IATA codes in the data file");
        assert!(
            codes
                .iter()
                .all(|c| c.len() == 3 && c.bytes().all(|b| b.is_ascii_uppercase()))
        );
    }

    #[test]
    fn metro_codes_name_every_airport_of_their_city() {
        let all = airports();
        let members = |metro: &str| -> Vec<String> {
            let mut m: Vec<String> = all
                .iter()
                .filter(|a| a.metro.as_deref() == Some(metro))
                .map(|a| a.iata.clone())
                .collect();
            m.sort();
            m
        };
        // The data file leaves Newark out of New York.
        assert_eq!(members("NYC"), ["EWR", "JFK", "LGA"]);
        assert_eq!(members("LON"), ["LCY", "LGW", "LHR", "LTN", "SEN", "STN"]);
        assert_eq!(members("PAR"), ["BVA", "CDG", "ORY"]);
        assert_eq!(members("TYO"), ["HND", "NRT"]);
        // Every airport of every metropolitan area ships (the data file's column may
        // add more: ISL, Istanbul's old airport, is in IST).
        for (metro, codes) in METROS {
            let found = members(metro);
            for code in *codes {
                assert!(found.iter().any(|c| c == code), "{code} not in {metro}");
            }
        }
    }

    #[test]
    fn distances_and_block_times_are_plausible() {
        let all = airports();
        let get = |c: &str| all.iter().find(|a| a.iata == c).expect("airport").clone();
        let jfk_lax = distance_km(&get("JFK"), &get("LAX"));
        assert!((3900.0..4050.0).contains(&jfk_lax), "{jfk_lax}");
        let lhr_syd = distance_km(&get("LHR"), &get("SYD"));
        assert!((16_900.0..17_100.0).contains(&lhr_syd), "{lhr_syd}");
        let m = block_minutes(jfk_lax);
        assert!((300..=360).contains(&m), "{m}");
    }

    #[test]
    fn folding_ignores_case_and_accents() {
        assert_eq!(fold("Zürich"), "zurich");
        assert_eq!(fold("São Paulo"), "sao paulo");
        assert_eq!(fold("İSTANBUL"), "istanbul");
        assert_eq!(fold("Malé"), "male");
        assert_eq!(fold("Bogotá"), "bogota");
        assert_eq!(fold("Montréal"), "montreal");
        assert_eq!(fold("Kraków"), "krakow");
        assert_eq!(fold("Łódź"), "lodz");
        assert_eq!(fold("Gdańsk"), "gdansk");
        assert_eq!(fold("Reykjavík"), "reykjavik");
        assert_eq!(fold("København"), "kobenhavn");
        assert_eq!(fold("Tromsø"), "tromso");
        assert_eq!(fold("Düsseldorf"), "dusseldorf");
        assert_eq!(fold("Gießen"), "giessen");
        assert_eq!(fold("Timișoara"), "timisoara");
        assert_eq!(fold("Iași"), "iasi");
        assert_eq!(fold("Brașov"), "brasov");
        assert_eq!(fold("Curaçao"), "curacao");
        assert_eq!(fold("Nuuk"), "nuuk");
        // Decomposed accents fold like composed ones.
        assert_eq!(fold("Zu\u{308}rich"), "zurich");
        // Punctuation, digits and spacing stay as they are.
        assert_eq!(fold("St. John's 2"), "st. john's 2");
    }

    #[test]
    fn catalog_names_are_found_by_their_plain_spelling() {
        let all = airports();
        for a in &all {
            let city = fold(&a.city);
            assert!(city.is_ascii(), "{}: {city}", a.city);
            assert_eq!(city, fold(&city), "folding is idempotent: {}", a.city);
        }
        let get = |c: &str| all.iter().find(|a| a.iata == c).expect("airport");
        assert_eq!(fold(&get("MLE").city), fold("male"));
        assert_eq!(fold(&get("RMO").city), fold("CHISINAU"));
        assert!(fold(&get("PRG").name).starts_with(&fold("vaclav havel")));
        assert!(fold(&get("YUL").name).starts_with(&fold("Montreal-Pierre")));
    }

    #[test]
    fn quoted_csv_fields_keep_their_commas() {
        assert_eq!(split_csv(r#"A,"B, C",D"#), vec!["A", "B, C", "D"]);
    }
}
