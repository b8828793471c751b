//! Fares in CSV: one row per carrier, origin, destination and cabin (and, optionally, a
//! range of departure dates). The header starts with the seven columns every file has,
//!
//! ```text
//! carrier,origin,destination,cabin,fare,currency,refundable
//! ```
//!
//! and may go on with any of [`OPTIONAL`], in any order. Amounts are in minor units of the
//! currency (cents for USD, yen for JPY). Defaults for what a file leaves out:
//! `child_fare` 75 % and `infant_fare` 10 % of the adult fare (rounded half up),
//! `refund_deadline_hours` 24 (a refundable fare refunds until 24 h before departure),
//! `change_fee` none (changes not sold), `advance_purchase_days` 0, `valid_from` /
//! `valid_to` open (every departure date). The fare applies one way, per passenger.

use chrono::NaiveDate;

use crate::CabinClass;

/// The columns every fare file starts with, in this order.
pub const REQUIRED: [&str; 7] = [
    "carrier",
    "origin",
    "destination",
    "cabin",
    "fare",
    "currency",
    "refundable",
];

/// The further columns a fare file may have.
pub const OPTIONAL: [&str; 7] = [
    "child_fare",
    "infant_fare",
    "refund_deadline_hours",
    "change_fee",
    "advance_purchase_days",
    "valid_from",
    "valid_to",
];

/// Child fare when the file gives none: this share of the adult fare, in percent.
pub const CHILD_PERCENT: i64 = 75;
/// Infant fare when the file gives none: this share of the adult fare, in percent.
pub const INFANT_PERCENT: i64 = 10;
/// Refundable until this many hours before departure when the file says nothing.
pub const REFUND_DEADLINE_HOURS: u32 = 24;
/// The most errors one file reports.
pub const MAX_ERRORS: usize = 50;

/// One fare.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fare {
    /// Line of the row in the file (1-based; the header is line 1).
    pub line: usize,
    /// Airline designator (2-3 characters).
    pub carrier: String,
    /// IATA airport code of departure.
    pub origin: String,
    /// IATA airport code of arrival.
    pub destination: String,
    pub cabin: CabinClass,
    /// Adult fare, minor units.
    pub adult: i64,
    /// Child fare (2-11 years), minor units.
    pub child: i64,
    /// Infant fare (under 2, on a lap), minor units.
    pub infant: i64,
    /// ISO 4217 code.
    pub currency: String,
    pub refundable: bool,
    /// A refundable fare refunds until this many hours before departure.
    pub refund_deadline_hours: u32,
    /// Fee for a change, minor units; `None`: changes are not sold.
    pub change_fee: Option<i64>,
    /// Sold only this many days or more before departure.
    pub advance_purchase_days: u32,
    /// First departure date (local) the fare applies to; `None`: no limit.
    pub valid_from: Option<NaiveDate>,
    /// Last departure date (local) the fare applies to; `None`: no limit.
    pub valid_to: Option<NaiveDate>,
}

impl Fare {
    /// Whether the fare applies to a departure on `date` (local).
    pub fn applies_on(&self, date: NaiveDate) -> bool {
        self.valid_from.is_none_or(|from| date >= from) && self.valid_to.is_none_or(|to| date <= to)
    }
}

/// What is wrong with a fare file, naming the line and the column.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}{}: {problem}", column.as_ref().map(|c| format!(", column {c}")).unwrap_or_default())]
pub struct Error {
    pub line: usize,
    pub column: Option<String>,
    pub problem: String,
}

fn error(line: usize, column: Option<&str>, problem: impl Into<String>) -> Error {
    Error {
        line,
        column: column.map(str::to_owned),
        problem: problem.into(),
    }
}

/// Reads a fare file: every row checked for its form, rows for the same carrier, route
/// and cabin checked for overlapping dates. All errors found, in line order (at most
/// [`MAX_ERRORS`]).
pub fn read(text: &str) -> Result<Vec<Fare>, Vec<Error>> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .trim(csv::Trim::All)
        .from_reader(text.as_bytes());
    let header: Vec<String> = match reader.headers() {
        Ok(h) => h.iter().map(str::to_owned).collect(),
        Err(e) => return Err(vec![error(1, None, format!("unreadable header: {e}"))]),
    };
    let columns = Columns::new(&header).map_err(|e| vec![e])?;
    let mut fares = Vec::new();
    let mut errors = Vec::new();
    for row in reader.records() {
        let row = match row {
            Ok(row) => row,
            Err(e) => {
                let line = e.position().map_or(0, |p| p.line() as usize);
                errors.push(error(line, None, format!("unreadable row: {e}")));
                continue;
            }
        };
        let line = row.position().map_or(0, |p| p.line() as usize);
        match columns.fare(line, &row) {
            Ok(fare) => fares.push(fare),
            Err(e) => errors.push(e),
        }
        if errors.len() >= MAX_ERRORS {
            break;
        }
    }
    if errors.is_empty() {
        overlaps(&mut fares, &mut errors);
    }
    if errors.is_empty() {
        Ok(fares)
    } else {
        errors.sort_by_key(|e| e.line);
        errors.truncate(MAX_ERRORS);
        Err(errors)
    }
}

/// Where each known column is in the file.
struct Columns {
    at: Vec<(&'static str, usize)>,
}

impl Columns {
    fn new(header: &[String]) -> Result<Self, Error> {
        let starts =
            header.len() >= REQUIRED.len() && header.iter().zip(REQUIRED).all(|(h, r)| h == r);
        if !starts {
            return Err(error(
                1,
                None,
                format!("the header must start with {}", REQUIRED.join(",")),
            ));
        }
        let mut at: Vec<(&'static str, usize)> =
            REQUIRED.iter().enumerate().map(|(i, c)| (*c, i)).collect();
        for (i, name) in header.iter().enumerate().skip(REQUIRED.len()) {
            let Some(known) = OPTIONAL.iter().find(|c| *c == name) else {
                return Err(error(
                    1,
                    Some(name),
                    format!(
                        "unknown column; the optional ones are {}",
                        OPTIONAL.join(", ")
                    ),
                ));
            };
            if at.iter().any(|(c, _)| c == known) {
                return Err(error(1, Some(name), "given twice"));
            }
            at.push((known, i));
        }
        Ok(Columns { at })
    }

    fn get<'r>(&self, row: &'r csv::StringRecord, column: &str) -> Option<&'r str> {
        let (_, i) = self.at.iter().find(|(c, _)| *c == column)?;
        row.get(*i).filter(|v| !v.is_empty())
    }

    fn fare(&self, line: usize, row: &csv::StringRecord) -> Result<Fare, Error> {
        let field = |column: &'static str| -> Result<&str, Error> {
            self.get(row, column)
                .ok_or_else(|| error(line, Some(column), "is empty"))
        };
        let amount = |column: &'static str, value: &str| -> Result<i64, Error> {
            match value.parse::<i64>() {
                Ok(n) if n >= 0 => Ok(n),
                _ => Err(error(
                    line,
                    Some(column),
                    format!(
                        "{value:?} is not an amount in minor units (a whole number, 0 or more)"
                    ),
                )),
            }
        };
        let count = |column: &'static str, default: u32| -> Result<u32, Error> {
            self.get(row, column).map_or(Ok(default), |v| {
                v.parse()
                    .map_err(|_| error(line, Some(column), format!("{v:?} is not a whole number")))
            })
        };
        let date = |column: &'static str| -> Result<Option<NaiveDate>, Error> {
            self.get(row, column)
                .map(|v| {
                    NaiveDate::parse_from_str(v, "%Y-%m-%d").map_err(|_| {
                        error(
                            line,
                            Some(column),
                            format!("{v:?} is not a date (YYYY-MM-DD)"),
                        )
                    })
                })
                .transpose()
        };
        let carrier = field("carrier")?;
        let designator = (2..=3).contains(&carrier.len())
            && carrier
                .bytes()
                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
            && carrier.bytes().any(|b| b.is_ascii_uppercase());
        if !designator {
            return Err(error(
                line,
                Some("carrier"),
                format!("{carrier:?} is not an airline designator"),
            ));
        }
        let airport = |column: &'static str| -> Result<String, Error> {
            let code = field(column)?;
            if code.len() == 3 && code.bytes().all(|b| b.is_ascii_uppercase()) {
                Ok(code.to_owned())
            } else {
                Err(error(
                    line,
                    Some(column),
                    format!("{code:?} is not an IATA airport code"),
                ))
            }
        };
        let (origin, destination) = (airport("origin")?, airport("destination")?);
        if origin == destination {
            return Err(error(line, Some("destination"), "is the origin"));
        }
        let cabin = field("cabin")?;
        let cabin = CabinClass::parse(cabin).ok_or_else(|| {
            error(
                line,
                Some("cabin"),
                format!("{cabin:?} is not economy, premium_economy, business or first"),
            )
        })?;
        let adult = amount("fare", field("fare")?)?;
        if adult == 0 {
            return Err(error(line, Some("fare"), "is 0"));
        }
        let currency = field("currency")?;
        if currency.len() != 3 || !currency.bytes().all(|b| b.is_ascii_uppercase()) {
            return Err(error(
                line,
                Some("currency"),
                format!("{currency:?} is not an ISO 4217 code"),
            ));
        }
        let refundable = match field("refundable")? {
            "true" => true,
            "false" => false,
            v => {
                return Err(error(
                    line,
                    Some("refundable"),
                    format!("{v:?} is neither true nor false"),
                ));
            }
        };
        let share = |percent: i64| (adult * percent + 50) / 100;
        let optional_amount = |column: &'static str| -> Result<Option<i64>, Error> {
            self.get(row, column).map(|v| amount(column, v)).transpose()
        };
        let fare = Fare {
            line,
            carrier: carrier.to_owned(),
            origin,
            destination,
            cabin,
            adult,
            child: optional_amount("child_fare")?.unwrap_or(share(CHILD_PERCENT)),
            infant: optional_amount("infant_fare")?.unwrap_or(share(INFANT_PERCENT)),
            currency: currency.to_owned(),
            refundable,
            refund_deadline_hours: count("refund_deadline_hours", REFUND_DEADLINE_HOURS)?,
            change_fee: optional_amount("change_fee")?,
            advance_purchase_days: count("advance_purchase_days", 0)?,
            valid_from: date("valid_from")?,
            valid_to: date("valid_to")?,
        };
        if let (Some(from), Some(to)) = (fare.valid_from, fare.valid_to)
            && to < from
        {
            return Err(error(line, Some("valid_to"), "is before valid_from"));
        }
        Ok(fare)
    }
}

/// Two fares for one carrier, route and cabin must not apply on the same date.
fn overlaps(fares: &mut [Fare], errors: &mut Vec<Error>) {
    fares.sort_by(|a, b| {
        (
            &a.carrier,
            &a.origin,
            &a.destination,
            a.cabin,
            a.valid_from,
            a.line,
        )
            .cmp(&(
                &b.carrier,
                &b.origin,
                &b.destination,
                b.cabin,
                b.valid_from,
                b.line,
            ))
    });
    for pair in fares.windows(2) {
        let (a, b) = (&pair[0], &pair[1]);
        let same = a.carrier == b.carrier
            && a.origin == b.origin
            && a.destination == b.destination
            && a.cabin == b.cabin;
        // Sorted by start: b starts at or after a; they overlap unless a ends before b starts.
        let apart = matches!((a.valid_to, b.valid_from), (Some(to), Some(from)) if to < from);
        if same && !apart {
            let (first, second) = if a.line < b.line { (a, b) } else { (b, a) };
            errors.push(error(
                second.line,
                None,
                format!(
                    "{} {}-{} {} applies on dates line {} already prices",
                    second.carrier,
                    second.origin,
                    second.destination,
                    second.cabin.as_str(),
                    first.line
                ),
            ));
        }
    }
    fares.sort_by_key(|f| f.line);
}

/// Writes fares with every column, so what [`read`] gives back is what was written.
pub fn write(fares: &[Fare], out: impl std::io::Write) -> Result<(), csv::Error> {
    let mut w = csv::Writer::from_writer(out);
    w.write_record(REQUIRED.iter().chain(OPTIONAL.iter()))?;
    let date = |d: Option<NaiveDate>| d.map(|d| d.to_string()).unwrap_or_default();
    for f in fares {
        w.write_record([
            f.carrier.clone(),
            f.origin.clone(),
            f.destination.clone(),
            f.cabin.as_str().to_owned(),
            f.adult.to_string(),
            f.currency.clone(),
            f.refundable.to_string(),
            f.child.to_string(),
            f.infant.to_string(),
            f.refund_deadline_hours.to_string(),
            f.change_fee.map(|c| c.to_string()).unwrap_or_default(),
            f.advance_purchase_days.to_string(),
            date(f.valid_from),
            date(f.valid_to),
        ])?;
    }
    w.flush()?;
    Ok(())
}
