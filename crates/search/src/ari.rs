//! OpenTravel ARI messages from channel managers: `OTA_HotelAvailNotifRQ` (allotment,
//! stop-sell, closed to arrival or departure, lengths of stay) and
//! `OTA_HotelRateAmountNotifRQ` (nightly rates per rate plan), read into instructions
//! by date range and days of the week, and their `OTA_*RS` answers.
//!
//! Messages are parsed by quick-xml without a DTD: a document declaring one is refused
//! before anything else is read, and no entity other than XML's five is expanded. Every
//! problem is collected with the place it is found (`AvailStatusMessage[2]/
//! StatusApplicationControl@End`); a message with any problem changes nothing.

use chrono::NaiveDate;
use ota_contract::domain::currency::Currency;
use quick_xml::events::Event;
use serde::{Deserialize, de};

use crate::ranges::{ALL_WEEKDAYS, Span};
use crate::store::{AriChange, AriSet, HotelCodes};

/// The longest range one instruction may name, in nights (two years).
pub const MAX_SPAN_NIGHTS: i64 = 731;
/// The highest nightly price of a room, minor units (1,000,000.00 in a two-decimal
/// currency): a stay's total always fits.
pub const MAX_NIGHTLY_AMOUNT: i64 = 100_000_000;
/// The longest `EchoToken` (OpenTravel's StringLength1to128).
pub const MAX_ECHO_TOKEN: usize = 128;

/// One problem of a message: where, and what.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AriError {
    /// OpenTravel error type: 3 business rule, 4 authentication, 6 authorization,
    /// 7 protocol violation, 10 required field missing, 12 processing exception.
    pub kind: u8,
    /// Where in the message, or empty for the message as a whole.
    pub at: String,
    pub message: String,
}

impl AriError {
    pub fn new(kind: u8, at: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            kind,
            at: at.into(),
            message: message.into(),
        }
    }
}

/// One instruction of a message, by the supplier's codes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Instruction {
    /// Where it is in the message (for errors while resolving its codes).
    pub at: String,
    pub room_type_code: String,
    pub rate_plan_code: Option<String>,
    pub span: Span,
    pub set: AriSet,
}

/// A message read: its echo token, hotel and instructions in message order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AriMessage {
    pub echo_token: Option<String>,
    pub hotel_code: String,
    pub instructions: Vec<Instruction>,
}

/// Which message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AriKind {
    Avail,
    RateAmount,
}

impl AriKind {
    pub fn response_name(self) -> &'static str {
        match self {
            AriKind::Avail => "OTA_HotelAvailNotifRS",
            AriKind::RateAmount => "OTA_HotelRateAmountNotifRS",
        }
    }

    fn request_name(self) -> &'static str {
        match self {
            AriKind::Avail => "OTA_HotelAvailNotifRQ",
            AriKind::RateAmount => "OTA_HotelRateAmountNotifRQ",
        }
    }
}

// ---------------------------------------------------------------------------------------
// The messages' shapes (the parts we read; anything else is ignored)

#[derive(Deserialize)]
struct AvailNotif {
    #[serde(rename = "@EchoToken", default)]
    echo_token: Option<String>,
    #[serde(rename = "AvailStatusMessages")]
    messages: Option<AvailStatusMessages>,
}

#[derive(Deserialize)]
struct AvailStatusMessages {
    #[serde(rename = "@HotelCode", default)]
    hotel_code: Option<String>,
    #[serde(rename = "AvailStatusMessage", default)]
    items: Vec<AvailStatusMessage>,
}

#[derive(Deserialize)]
struct AvailStatusMessage {
    #[serde(rename = "@BookingLimit", default)]
    booking_limit: Option<String>,
    #[serde(rename = "StatusApplicationControl", default)]
    control: Option<Control>,
    #[serde(rename = "LengthsOfStay", default)]
    lengths: Option<LengthsOfStay>,
    #[serde(rename = "RestrictionStatus", default)]
    restrictions: Vec<RestrictionStatus>,
}

#[derive(Deserialize, Default)]
struct Control {
    #[serde(rename = "@Start", default)]
    start: Option<String>,
    #[serde(rename = "@End", default)]
    end: Option<String>,
    #[serde(rename = "@InvTypeCode", default)]
    inv_type_code: Option<String>,
    #[serde(rename = "@RatePlanCode", default)]
    rate_plan_code: Option<String>,
    #[serde(rename = "@Mon", default)]
    mon: Option<String>,
    #[serde(rename = "@Tue", default)]
    tue: Option<String>,
    #[serde(rename = "@Weds", default)]
    wed: Option<String>,
    #[serde(rename = "@Thur", default)]
    thu: Option<String>,
    #[serde(rename = "@Fri", default)]
    fri: Option<String>,
    #[serde(rename = "@Sat", default)]
    sat: Option<String>,
    #[serde(rename = "@Sun", default)]
    sun: Option<String>,
}

#[derive(Deserialize)]
struct LengthsOfStay {
    #[serde(rename = "LengthOfStay", default)]
    items: Vec<LengthOfStay>,
}

#[derive(Deserialize)]
struct LengthOfStay {
    #[serde(rename = "@Time", default)]
    time: Option<String>,
    #[serde(rename = "@TimeUnit", default)]
    time_unit: Option<String>,
    #[serde(rename = "@MinMaxMessageType", default)]
    kind: Option<String>,
}

#[derive(Deserialize)]
struct RestrictionStatus {
    #[serde(rename = "@Status", default)]
    status: Option<String>,
    #[serde(rename = "@Restriction", default)]
    restriction: Option<String>,
}

#[derive(Deserialize)]
struct RateNotif {
    #[serde(rename = "@EchoToken", default)]
    echo_token: Option<String>,
    #[serde(rename = "RateAmountMessages")]
    messages: Option<RateAmountMessages>,
}

#[derive(Deserialize)]
struct RateAmountMessages {
    #[serde(rename = "@HotelCode", default)]
    hotel_code: Option<String>,
    #[serde(rename = "RateAmountMessage", default)]
    items: Vec<RateAmountMessage>,
}

#[derive(Deserialize)]
struct RateAmountMessage {
    #[serde(rename = "StatusApplicationControl", default)]
    control: Option<Control>,
    #[serde(rename = "Rates", default)]
    rates: Option<Rates>,
}

#[derive(Deserialize)]
struct Rates {
    #[serde(rename = "Rate", default)]
    items: Vec<Rate>,
}

#[derive(Deserialize)]
struct Rate {
    #[serde(rename = "@CurrencyCode", default)]
    currency: Option<String>,
    #[serde(rename = "BaseByGuestAmts", default)]
    amounts: Option<BaseByGuestAmts>,
}

#[derive(Deserialize)]
struct BaseByGuestAmts {
    #[serde(rename = "BaseByGuestAmt", default)]
    items: Vec<BaseByGuestAmt>,
}

#[derive(Deserialize)]
struct BaseByGuestAmt {
    #[serde(rename = "@AmountAfterTax", default)]
    amount_after_tax: Option<String>,
    #[serde(rename = "@NumberOfGuests", default)]
    guests: Option<String>,
    #[serde(rename = "@DecimalPlaces", default)]
    decimal_places: Option<String>,
    #[serde(rename = "@CurrencyCode", default)]
    currency: Option<String>,
}

// ---------------------------------------------------------------------------------------
// Reading

/// Refuses a document with a DTD (the door to entity expansion) and checks its root is
/// the message expected, before it is deserialized.
fn check_document(xml: &str, kind: AriKind) -> Result<(), AriError> {
    check_root(xml, kind.request_name())
}

fn check_root(xml: &str, expected: &str) -> Result<(), AriError> {
    let mut reader = quick_xml::Reader::from_str(xml);
    loop {
        match reader.read_event() {
            Ok(Event::DocType(_)) => {
                return Err(AriError::new(
                    7,
                    "",
                    "document type declarations (DTDs) and entities are not accepted",
                ));
            }
            Ok(Event::Start(e) | Event::Empty(e)) => {
                let name = e.local_name();
                let name: &str = name.as_ref();
                let name = name.to_owned();
                if name != expected {
                    return Err(AriError::new(
                        7,
                        name.clone(),
                        format!("expected an {} document, not {name}", expected),
                    ));
                }
                return Ok(());
            }
            Ok(Event::Eof) => return Err(AriError::new(7, "", "the document is empty")),
            Ok(_) => {}
            Err(e) => {
                return Err(AriError::new(
                    7,
                    format!("byte {}", reader.error_position()),
                    format!("not well-formed XML: {e}"),
                ));
            }
        }
    }
}

fn malformed(e: impl std::fmt::Display) -> AriError {
    AriError::new(7, "", format!("not a well-formed message: {e}"))
}

/// The root element's `EchoToken`, to echo even when the message is refused (none when
/// the document cannot be read or the token is over 128 characters).
pub fn echo_token(xml: &str) -> Option<String> {
    let mut reader = quick_xml::Reader::from_str(xml);
    loop {
        match reader.read_event() {
            Ok(Event::Start(e) | Event::Empty(e)) => {
                let attr = e.try_get_attribute("EchoToken").ok().flatten()?;
                let value = attr
                    .normalized_value(quick_xml::XmlVersion::Implicit1_0)
                    .ok()?
                    .into_owned();
                return (value.chars().count() <= MAX_ECHO_TOKEN).then_some(value);
            }
            Ok(Event::Eof | Event::DocType(_)) | Err(_) => return None,
            Ok(_) => {}
        }
    }
}

/// Reads an `OTA_HotelAvailNotifRQ` or `OTA_HotelRateAmountNotifRQ`. `today` is the
/// earliest night a range may still reach; `currency` the currency the catalog sells in.
pub fn parse(
    xml: &str,
    kind: AriKind,
    today: NaiveDate,
    currency: Currency,
) -> Result<AriMessage, Vec<AriError>> {
    check_document(xml, kind).map_err(|e| vec![e])?;
    let mut errors = Vec::new();
    let (echo_token, hotel_code, instructions) = match kind {
        AriKind::Avail => {
            let doc: AvailNotif = quick_xml::de::from_str(xml).map_err(|e| vec![malformed(e)])?;
            let msgs = doc
                .messages
                .ok_or_else(|| vec![AriError::new(10, "AvailStatusMessages", "is required")])?;
            let mut out = Vec::new();
            for (i, m) in msgs.items.iter().enumerate() {
                avail_instructions(
                    m,
                    &format!("AvailStatusMessage[{}]", i + 1),
                    today,
                    &mut out,
                    &mut errors,
                );
            }
            if msgs.items.is_empty() {
                errors.push(AriError::new(
                    10,
                    "AvailStatusMessage",
                    "at least one is required",
                ));
            }
            (doc.echo_token, msgs.hotel_code, out)
        }
        AriKind::RateAmount => {
            let doc: RateNotif = quick_xml::de::from_str(xml).map_err(|e| vec![malformed(e)])?;
            let msgs = doc
                .messages
                .ok_or_else(|| vec![AriError::new(10, "RateAmountMessages", "is required")])?;
            let mut out = Vec::new();
            for (i, m) in msgs.items.iter().enumerate() {
                rate_instructions(
                    m,
                    &format!("RateAmountMessage[{}]", i + 1),
                    today,
                    currency,
                    &mut out,
                    &mut errors,
                );
            }
            if msgs.items.is_empty() {
                errors.push(AriError::new(
                    10,
                    "RateAmountMessage",
                    "at least one is required",
                ));
            }
            (doc.echo_token, msgs.hotel_code, out)
        }
    };
    let messages = match kind {
        AriKind::Avail => "AvailStatusMessages",
        AriKind::RateAmount => "RateAmountMessages",
    };
    if echo_token
        .as_ref()
        .is_some_and(|t| t.chars().count() > MAX_ECHO_TOKEN)
    {
        errors.push(AriError::new(3, "@EchoToken", "is at most 128 characters"));
    }
    let hotel_code = match hotel_code.map(|c| c.trim().to_owned()) {
        Some(c) if !c.is_empty() => c,
        _ => {
            errors.push(AriError::new(
                10,
                format!("{messages}@HotelCode"),
                "is required",
            ));
            String::new()
        }
    };
    if errors.is_empty() {
        Ok(AriMessage {
            echo_token,
            hotel_code,
            instructions,
        })
    } else {
        Err(errors)
    }
}

/// The span, room type and rate plan of a `StatusApplicationControl`.
fn control(
    c: Option<&Control>,
    at: &str,
    today: NaiveDate,
    errors: &mut Vec<AriError>,
) -> Option<(Span, String, Option<String>)> {
    let at = format!("{at}/StatusApplicationControl");
    let Some(c) = c else {
        errors.push(AriError::new(10, at, "is required"));
        return None;
    };
    let date = |v: &Option<String>, attr: &str, errors: &mut Vec<AriError>| match v {
        None => {
            errors.push(AriError::new(10, format!("{at}@{attr}"), "is required"));
            None
        }
        Some(s) => match NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d") {
            Ok(d) => Some(d),
            Err(_) => {
                errors.push(AriError::new(
                    3,
                    format!("{at}@{attr}"),
                    format!("{s:?} is not a date (YYYY-MM-DD)"),
                ));
                None
            }
        },
    };
    let start = date(&c.start, "Start", errors);
    let end = date(&c.end, "End", errors);
    let mut weekdays = 0u8;
    let mut named = false;
    for (bit, (attr, v)) in [
        ("Mon", &c.mon),
        ("Tue", &c.tue),
        ("Weds", &c.wed),
        ("Thur", &c.thu),
        ("Fri", &c.fri),
        ("Sat", &c.sat),
        ("Sun", &c.sun),
    ]
    .into_iter()
    .enumerate()
    {
        match v.as_deref().map(str::trim) {
            None => {}
            Some("1" | "true") => {
                named = true;
                weekdays |= 1 << bit;
            }
            Some("0" | "false") => named = true,
            Some(other) => errors.push(AriError::new(
                3,
                format!("{at}@{attr}"),
                format!("{other:?} must be true, false, 1 or 0"),
            )),
        }
    }
    if !named {
        weekdays = ALL_WEEKDAYS;
    }
    if weekdays == 0 {
        errors.push(AriError::new(3, at.clone(), "names no day of the week"));
    }
    let room_type = match c.inv_type_code.as_deref().map(str::trim) {
        Some(code) if !code.is_empty() => Some(code.to_owned()),
        _ => {
            errors.push(AriError::new(
                10,
                format!("{at}@InvTypeCode"),
                "is required",
            ));
            None
        }
    };
    let plan = c
        .rate_plan_code
        .as_deref()
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .map(str::to_owned);
    let (start, end) = (start?, end?);
    if end < start {
        errors.push(AriError::new(
            3,
            format!("{at}@End"),
            format!("{end} is before Start {start}"),
        ));
        return None;
    }
    if (end - start).num_days() >= MAX_SPAN_NIGHTS {
        errors.push(AriError::new(
            3,
            format!("{at}@End"),
            format!("a range is at most {MAX_SPAN_NIGHTS} nights; split longer ones"),
        ));
        return None;
    }
    if end < today {
        errors.push(AriError::new(
            3,
            format!("{at}@End"),
            format!("{end} is in the past"),
        ));
        return None;
    }
    // Nights already past are not for sale: the range starts today at the earliest.
    let start = start.max(today);
    if weekdays == 0 {
        return None;
    }
    Some((Span::new(start, end, weekdays), room_type?, plan))
}

fn avail_instructions(
    m: &AvailStatusMessage,
    at: &str,
    today: NaiveDate,
    out: &mut Vec<Instruction>,
    errors: &mut Vec<AriError>,
) {
    let found = errors.len();
    let target = control(m.control.as_ref(), at, today, errors);
    let mut sets = Vec::new();
    if let Some(limit) = &m.booking_limit {
        match limit.trim().parse::<i32>() {
            Ok(n) if (0..=9_999).contains(&n) => sets.push(AriSet::BookingLimit(n)),
            _ => errors.push(AriError::new(
                3,
                format!("{at}@BookingLimit"),
                format!("{limit:?} must be a number of rooms from 0 to 9999"),
            )),
        }
    }
    for (i, r) in m.restrictions.iter().enumerate() {
        let here = format!("{at}/RestrictionStatus[{}]", i + 1);
        let open = match r.status.as_deref().map(str::trim) {
            Some("Open") => Some(false),
            Some("Close") => Some(true),
            other => {
                errors.push(AriError::new(
                    if other.is_none() { 10 } else { 3 },
                    format!("{here}@Status"),
                    "must be Open or Close",
                ));
                None
            }
        };
        let Some(close) = open else { continue };
        match r.restriction.as_deref().map(str::trim) {
            None | Some("Master") => sets.push(AriSet::StopSell(close)),
            Some("Arrival") => sets.push(AriSet::ClosedToArrival(close)),
            Some("Departure") => sets.push(AriSet::ClosedToDeparture(close)),
            Some(other) => errors.push(AriError::new(
                3,
                format!("{here}@Restriction"),
                format!("{other:?} must be Master, Arrival or Departure"),
            )),
        }
    }
    for (i, l) in m.lengths.iter().flat_map(|l| &l.items).enumerate() {
        let here = format!("{at}/LengthsOfStay/LengthOfStay[{}]", i + 1);
        if l.time_unit.as_deref().is_some_and(|u| u.trim() != "Day") {
            errors.push(AriError::new(
                3,
                format!("{here}@TimeUnit"),
                "only Day is supported",
            ));
            continue;
        }
        let nights = match l.time.as_deref().map(|t| t.trim().parse::<u16>()) {
            Some(Ok(n)) if n <= 365 => (n > 0).then_some(n),
            _ => {
                errors.push(AriError::new(
                    3,
                    format!("{here}@Time"),
                    "must be a number of nights from 0 (lifts the restriction) to 365",
                ));
                continue;
            }
        };
        match l.kind.as_deref().map(str::trim) {
            Some("SetMinLOS") => sets.push(AriSet::MinLos(nights)),
            Some("SetMaxLOS") => sets.push(AriSet::MaxLos(nights)),
            Some("SetForwardMinStay") => sets.push(AriSet::ForwardMinStay(nights)),
            Some("SetForwardMaxStay") => sets.push(AriSet::ForwardMaxStay(nights)),
            _ => errors.push(AriError::new(
                3,
                format!("{here}@MinMaxMessageType"),
                "must be SetMinLOS, SetMaxLOS, SetForwardMinStay or SetForwardMaxStay",
            )),
        }
    }
    if sets.is_empty() && errors.len() == found {
        errors.push(AriError::new(
            10,
            at,
            "sets nothing: give a BookingLimit, a RestrictionStatus or a LengthOfStay",
        ));
    }
    if let Some((span, room_type_code, rate_plan_code)) = target {
        for set in sets {
            out.push(Instruction {
                at: at.to_owned(),
                room_type_code: room_type_code.clone(),
                rate_plan_code: rate_plan_code.clone(),
                span,
                set,
            });
        }
    }
}

/// An amount in major units (`123.45`, or `12345` with `DecimalPlaces="2"`) in minor
/// units of a currency, exactly: more decimals than the currency has is an error.
pub fn minor_units(amount: &str, decimal_places: Option<u8>, currency: Currency) -> Option<i64> {
    let amount = amount.trim();
    let (whole, fraction) = match amount.split_once('.') {
        Some((w, f)) => (w, f.to_owned()),
        None => match decimal_places {
            Some(d) if d > 0 => {
                let d = usize::from(d);
                let padded = format!("{amount:0>width$}", width = d + 1);
                let (w, f) = padded.split_at(padded.len() - d);
                return minor_units(&format!("{w}.{f}"), None, currency);
            }
            _ => (amount, String::new()),
        },
    };
    if whole.is_empty()
        || !whole.bytes().all(|b| b.is_ascii_digit())
        || !fraction.bytes().all(|b| b.is_ascii_digit())
    {
        return None;
    }
    let exponent = usize::from(currency.minor_units());
    let fraction = fraction.trim_end_matches('0');
    if fraction.len() > exponent {
        return None;
    }
    let digits = format!("{whole}{fraction:0<exponent$}");
    digits.parse::<i64>().ok()
}

fn rate_instructions(
    m: &RateAmountMessage,
    at: &str,
    today: NaiveDate,
    currency: Currency,
    out: &mut Vec<Instruction>,
    errors: &mut Vec<AriError>,
) {
    let target = control(m.control.as_ref(), at, today, errors);
    let rates = m
        .rates
        .as_ref()
        .map(|r| r.items.as_slice())
        .unwrap_or_default();
    if rates.is_empty() {
        errors.push(AriError::new(
            10,
            format!("{at}/Rates/Rate"),
            "at least one is required",
        ));
    }
    for (i, rate) in rates.iter().enumerate() {
        let here = format!("{at}/Rates/Rate[{}]", i + 1);
        let amounts = rate
            .amounts
            .as_ref()
            .map(|a| a.items.as_slice())
            .unwrap_or_default();
        if amounts.is_empty() {
            errors.push(AriError::new(
                10,
                format!("{here}/BaseByGuestAmts/BaseByGuestAmt"),
                "at least one is required",
            ));
        }
        for (k, a) in amounts.iter().enumerate() {
            let here = format!("{here}/BaseByGuestAmts/BaseByGuestAmt[{}]", k + 1);
            let code = a
                .currency
                .as_deref()
                .or(rate.currency.as_deref())
                .map(str::trim);
            if let Some(code) = code
                && code != currency.as_str()
            {
                errors.push(AriError::new(
                    3,
                    format!("{here}@CurrencyCode"),
                    format!("{code:?}: this catalog sells in {}", currency.as_str()),
                ));
                continue;
            }
            let guests = match a.guests.as_deref().map(|g| g.trim().parse::<i16>()) {
                None => 0,
                Some(Ok(g)) if (1..=16).contains(&g) => g,
                Some(_) => {
                    errors.push(AriError::new(
                        3,
                        format!("{here}@NumberOfGuests"),
                        "must be from 1 to 16",
                    ));
                    continue;
                }
            };
            let places = match a.decimal_places.as_deref().map(|d| d.trim().parse::<u8>()) {
                None => None,
                Some(Ok(d)) if d <= 4 => Some(d),
                Some(_) => {
                    errors.push(AriError::new(
                        3,
                        format!("{here}@DecimalPlaces"),
                        "must be from 0 to 4",
                    ));
                    continue;
                }
            };
            let Some(raw) = a.amount_after_tax.as_deref() else {
                errors.push(AriError::new(
                    10,
                    format!("{here}@AmountAfterTax"),
                    "is required",
                ));
                continue;
            };
            match minor_units(raw, places, currency) {
                Some(amount) if amount > 0 && amount <= MAX_NIGHTLY_AMOUNT => {
                    if let Some((span, room_type_code, rate_plan_code)) = &target {
                        out.push(Instruction {
                            at: at.to_owned(),
                            room_type_code: room_type_code.clone(),
                            rate_plan_code: rate_plan_code.clone(),
                            span: *span,
                            set: AriSet::Rate {
                                guests,
                                amount,
                                currency: currency.as_str().to_owned(),
                            },
                        });
                    }
                }
                _ => errors.push(AriError::new(
                    3,
                    format!("{here}@AmountAfterTax"),
                    format!(
                        "{raw:?} must be a positive amount of at most {} with at most {} decimals",
                        ota_contract::Money::new(MAX_NIGHTLY_AMOUNT, currency.as_str()),
                        currency.minor_units()
                    ),
                )),
            }
        }
    }
}

/// Which message a document is, by its root element.
pub fn kind_of(xml: &str) -> Option<AriKind> {
    let mut reader = quick_xml::Reader::from_str(xml);
    loop {
        match reader.read_event() {
            Ok(Event::Start(e) | Event::Empty(e)) => {
                let name = e.local_name();
                let name: &str = name.as_ref();
                return [AriKind::Avail, AriKind::RateAmount]
                    .into_iter()
                    .find(|k| k.request_name() == name);
            }
            Ok(Event::Eof) | Err(_) => return None,
            Ok(_) => {}
        }
    }
}

/// A message's instructions with the hotel's room type and rate plan ids, or every
/// code it names that the hotel does not have.
pub fn resolve(message: &AriMessage, hotel: &HotelCodes) -> Result<Vec<AriChange>, Vec<AriError>> {
    let mut errors = Vec::new();
    let mut changes = Vec::new();
    for i in &message.instructions {
        let room_type = hotel.room_type(&i.room_type_code);
        if room_type.is_none() {
            errors.push(AriError::new(
                3,
                format!("{}/StatusApplicationControl@InvTypeCode", i.at),
                format!(
                    "{} is not a room type of hotel {}",
                    i.room_type_code, message.hotel_code
                ),
            ));
        }
        let plan = match &i.rate_plan_code {
            None => Some(None),
            Some(code) => match hotel.rate_plan(code) {
                Some(id) => Some(Some(id)),
                None => {
                    errors.push(AriError::new(
                        3,
                        format!("{}/StatusApplicationControl@RatePlanCode", i.at),
                        format!("{code} is not a rate plan of hotel {}", message.hotel_code),
                    ));
                    None
                }
            },
        };
        if let (Some(room_type_id), Some(rate_plan_id)) = (room_type, plan) {
            changes.push(AriChange {
                room_type_id,
                rate_plan_id,
                span: i.span,
                set: i.set.clone(),
            });
        }
    }
    errors.dedup();
    if errors.is_empty() {
        Ok(changes)
    } else {
        Err(errors)
    }
}

/// Why a message was not applied (nothing changed).
#[derive(Debug)]
pub enum Refusal {
    /// Problems of the message itself, each named.
    Invalid(Vec<AriError>),
    /// The hotel is not the supplier's (or, for an operator, does not exist).
    NotYours(AriError),
    /// The database could not take it: send it again.
    Unavailable(ota_platform::StoreError),
}

/// Reads, checks and applies one message in one transaction, for a supplier (limited to
/// its hotels) or an operator (`None`: any hotel). Answers the message read and how many
/// instructions it applied, or why nothing changed (with the echo token when it was
/// read).
pub async fn apply(
    store: &crate::store::SearchStore,
    supplier: Option<i64>,
    xml: &str,
    kind: AriKind,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<(AriMessage, usize), (Option<String>, Refusal)> {
    let currency = Currency::parse(crate::seed::CURRENCY).unwrap_or(Currency::USD);
    let today = now.date_naive() - chrono::Duration::days(1);
    let message =
        parse(xml, kind, today, currency).map_err(|e| (echo_token(xml), Refusal::Invalid(e)))?;
    let echo = || message.echo_token.clone();
    let hotel = match store.supplier_hotel(supplier, &message.hotel_code).await {
        Ok(Some(h)) => h,
        Ok(None) => {
            let whose = if supplier.is_some() {
                "a hotel of this supplier"
            } else {
                "a hotel of ours"
            };
            return Err((
                echo(),
                Refusal::NotYours(AriError::new(
                    6,
                    "HotelCode",
                    format!("{} is not {whose}", message.hotel_code),
                )),
            ));
        }
        Err(e) => return Err((echo(), Refusal::Unavailable(e))),
    };
    let changes = resolve(&message, &hotel).map_err(|e| (echo(), Refusal::Invalid(e)))?;
    store
        .apply_ari(&changes)
        .await
        .map_err(|e| (echo(), Refusal::Unavailable(e)))?;
    Ok((message, changes.len()))
}

// ---------------------------------------------------------------------------------------
// Answers

fn escape(s: &str) -> std::borrow::Cow<'_, str> {
    quick_xml::escape::escape(s)
}

/// An `OTA_*RS` document around its body.
fn envelope(
    name: &str,
    echo_token: Option<&str>,
    body: &str,
    now: chrono::DateTime<chrono::Utc>,
) -> String {
    let echo = echo_token
        .map(|t| format!(r#" EchoToken="{}""#, escape(t)))
        .unwrap_or_default();
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<{name} xmlns="http://www.opentravel.org/OTA/2003/05" Version="1.0" TimeStamp="{}"{echo}>
{body}</{name}>
"#,
        now.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
    )
}

/// The `OTA_*RS` answer: `Success`, or `Errors` with one `Error` per problem.
pub fn response(
    name: &str,
    echo_token: Option<&str>,
    errors: &[AriError],
    now: chrono::DateTime<chrono::Utc>,
) -> String {
    let mut out = String::new();
    if errors.is_empty() {
        out.push_str("  <Success/>\n");
    } else {
        out.push_str("  <Errors>\n");
        for e in errors {
            let text = if e.at.is_empty() {
                e.message.clone()
            } else {
                format!("{}: {}", e.at, e.message)
            };
            out.push_str(&format!(
                "    <Error Type=\"{}\" ShortText=\"{}\">{}</Error>\n",
                e.kind,
                escape(&e.at),
                escape(&text)
            ));
        }
        out.push_str("  </Errors>\n");
    }
    envelope(name, echo_token, &out, now)
}

// ---------------------------------------------------------------------------------------
// Reservations: OTA_ReadRQ → OTA_ResRetrieveRS, OTA_NotifReportRQ → OTA_NotifReportRS

#[derive(Deserialize)]
struct ReadRq {
    #[serde(rename = "@EchoToken", default)]
    echo_token: Option<String>,
    #[serde(rename = "ReadRequests", default)]
    requests: Option<ReadRequests>,
}

#[derive(Deserialize)]
struct ReadRequests {
    #[serde(rename = "HotelReadRequest", default)]
    items: Vec<HotelReadRequest>,
}

#[derive(Deserialize)]
struct HotelReadRequest {
    #[serde(rename = "@HotelCode", default)]
    hotel_code: Option<String>,
}

/// A pull of reservations: its echo token and the hotels asked about (none: all of the
/// supplier's).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadRequest {
    pub echo_token: Option<String>,
    pub hotel_codes: Vec<String>,
}

/// Reads an `OTA_ReadRQ` (its `HotelReadRequest@HotelCode`s; anything else, such as
/// `SelectionCriteria`, is ignored: a pull always answers what is not acknowledged).
pub fn parse_read(xml: &str) -> Result<ReadRequest, Vec<AriError>> {
    check_root(xml, "OTA_ReadRQ").map_err(|e| vec![e])?;
    let doc: ReadRq = quick_xml::de::from_str(xml).map_err(|e| vec![malformed(e)])?;
    Ok(ReadRequest {
        echo_token: doc.echo_token,
        hotel_codes: doc
            .requests
            .into_iter()
            .flat_map(|r| r.items)
            .filter_map(|h| h.hotel_code.map(|c| c.trim().to_owned()))
            .filter(|c| !c.is_empty())
            .collect(),
    })
}

#[derive(Deserialize)]
struct NotifReportRq {
    #[serde(rename = "@EchoToken", default)]
    echo_token: Option<String>,
    #[serde(rename = "Success", default)]
    success: Option<de::IgnoredAny>,
    #[serde(rename = "NotifDetails", default)]
    details: Option<NotifDetails>,
}

#[derive(Deserialize)]
struct NotifDetails {
    #[serde(rename = "HotelNotifReport", default)]
    reports: Vec<HotelNotifReport>,
}

#[derive(Deserialize)]
struct HotelNotifReport {
    #[serde(rename = "HotelReservations", default)]
    reservations: Option<NotifReservations>,
}

#[derive(Deserialize)]
struct NotifReservations {
    #[serde(rename = "HotelReservation", default)]
    items: Vec<NotifReservation>,
}

#[derive(Deserialize)]
struct NotifReservation {
    #[serde(rename = "@ResStatus", default)]
    status: Option<String>,
    #[serde(rename = "UniqueID", default)]
    unique_ids: Vec<UniqueId>,
}

#[derive(Deserialize)]
struct UniqueId {
    #[serde(rename = "@ID", default)]
    id: Option<String>,
}

/// A supplier's report on reservations it received: echo token and (reference, our
/// status: `confirmed` or `cancelled`) of each, or nothing when it reports a failure.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotifReport {
    pub echo_token: Option<String>,
    pub received: Vec<(String, String)>,
}

/// Reads an `OTA_NotifReportRQ`. Only a report with `Success` acknowledges anything
/// (one with `Errors` leaves its reservations to be sent again); `ResStatus` `Book`,
/// `Modify` or `Commit` acknowledges a confirmation, `Cancel` a cancellation.
pub fn parse_notif_report(xml: &str) -> Result<NotifReport, Vec<AriError>> {
    check_root(xml, "OTA_NotifReportRQ").map_err(|e| vec![e])?;
    let doc: NotifReportRq = quick_xml::de::from_str(xml).map_err(|e| vec![malformed(e)])?;
    let mut errors = Vec::new();
    let mut received = Vec::new();
    if doc.success.is_some() {
        let items = doc
            .details
            .into_iter()
            .flat_map(|d| d.reports)
            .flat_map(|r| r.reservations)
            .flat_map(|r| r.items);
        for (i, r) in items.enumerate() {
            let at = format!(
                "NotifDetails/HotelNotifReport/HotelReservations/HotelReservation[{}]",
                i + 1
            );
            let status = match r.status.as_deref().map(str::trim) {
                Some("Book" | "Modify" | "Commit") => "confirmed",
                Some("Cancel") => "cancelled",
                _ => {
                    errors.push(AriError::new(
                        3,
                        format!("{at}@ResStatus"),
                        "must be Book, Modify, Commit or Cancel",
                    ));
                    continue;
                }
            };
            match r
                .unique_ids
                .iter()
                .find_map(|u| u.id.as_deref().map(str::trim))
            {
                Some(id) if !id.is_empty() => received.push((id.to_owned(), status.to_owned())),
                _ => errors.push(AriError::new(
                    10,
                    format!("{at}/UniqueID@ID"),
                    "is required",
                )),
            }
        }
    }
    if errors.is_empty() {
        Ok(NotifReport {
            echo_token: doc.echo_token,
            received,
        })
    } else {
        Err(errors)
    }
}

/// `OTA_ResRetrieveRS` with `Success` and the reservations: each a `HotelReservation`
/// with `ResStatus` `Book` or `Cancel`, our reference as `UniqueID` (Type 14), room type,
/// rate plan, rooms, adults, dates and total after tax in major units.
pub fn reservations_response(
    echo_token: Option<&str>,
    reservations: &[crate::store::SupplierReservation],
    now: chrono::DateTime<chrono::Utc>,
) -> String {
    let mut body = String::from("  <Success/>\n  <ReservationsList>\n");
    let instant = |ms: i64| {
        chrono::DateTime::from_timestamp_millis(ms)
            .unwrap_or_default()
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
    };
    for r in reservations {
        let money = ota_contract::Money::new(r.total_amount, &r.currency).to_string();
        let amount = money.split(' ').next().unwrap_or_default();
        let check_out = r.check_in + chrono::Duration::days(i64::from(r.nights));
        body.push_str(&format!(
            r#"    <HotelReservation CreateDateTime="{}" LastModifyDateTime="{}" ResStatus="{}">
      <UniqueID Type="14" ID="{}"/>
      <RoomStays>
        <RoomStay>
          <RoomTypes><RoomType RoomTypeCode="{}" NumberOfUnits="{}"/></RoomTypes>
          <RatePlans><RatePlan RatePlanCode="{}"/></RatePlans>
          <GuestCounts><GuestCount AgeQualifyingCode="10" Count="{}"/></GuestCounts>
          <TimeSpan Start="{}" End="{}"/>
          <Total AmountAfterTax="{amount}" CurrencyCode="{}"/>
          <BasicPropertyInfo HotelCode="{}"/>
        </RoomStay>
      </RoomStays>
    </HotelReservation>
"#,
            instant(r.created_at),
            instant(r.changed_at),
            if r.status == "cancelled" {
                "Cancel"
            } else {
                "Book"
            },
            escape(&r.reference),
            escape(&r.room_type_code),
            r.rooms,
            escape(&r.rate_plan_code),
            r.guests,
            r.check_in,
            check_out,
            escape(&r.currency),
            escape(&r.hotel_code),
        ));
    }
    body.push_str("  </ReservationsList>\n");
    envelope("OTA_ResRetrieveRS", echo_token, &body, now)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2027, m, d).expect("date")
    }

    const TODAY: (u32, u32) = (1, 10);

    fn avail(body: &str) -> Result<AriMessage, Vec<AriError>> {
        let xml = format!(
            r#"<?xml version="1.0" encoding="UTF-8"?>
<OTA_HotelAvailNotifRQ xmlns="http://www.opentravel.org/OTA/2003/05" EchoToken="e-1" Version="1.0">
  <AvailStatusMessages HotelCode="H000001">{body}</AvailStatusMessages>
</OTA_HotelAvailNotifRQ>"#
        );
        parse(&xml, AriKind::Avail, day(TODAY.0, TODAY.1), Currency::USD)
    }

    #[test]
    fn availability_restrictions_and_lengths_of_stay_become_instructions() {
        let m = avail(
            r#"
    <AvailStatusMessage BookingLimit="5">
      <StatusApplicationControl Start="2027-03-01" End="2027-03-31" InvTypeCode="STD" Sat="1" Sun="true" Mon="0"/>
    </AvailStatusMessage>
    <AvailStatusMessage>
      <StatusApplicationControl Start="2027-03-05" End="2027-03-06" InvTypeCode="STD" RatePlanCode="NRF"/>
      <LengthsOfStay><LengthOfStay Time="3" TimeUnit="Day" MinMaxMessageType="SetMinLOS"/></LengthsOfStay>
      <RestrictionStatus Status="Close" Restriction="Arrival"/>
      <RestrictionStatus Status="Close"/>
    </AvailStatusMessage>"#,
        )
        .expect("valid");
        assert_eq!(m.echo_token.as_deref(), Some("e-1"));
        assert_eq!(m.hotel_code, "H000001");
        let sets: Vec<_> = m
            .instructions
            .iter()
            .map(|i| (i.rate_plan_code.as_deref(), i.set.clone()))
            .collect();
        assert_eq!(
            sets,
            vec![
                (None, AriSet::BookingLimit(5)),
                (Some("NRF"), AriSet::ClosedToArrival(true)),
                (Some("NRF"), AriSet::StopSell(true)),
                (Some("NRF"), AriSet::MinLos(Some(3))),
            ]
        );
        assert_eq!(
            m.instructions[0].span,
            Span::new(day(3, 1), day(3, 31), 0b110_0000)
        );
        assert_eq!(m.instructions[1].span.weekdays, ALL_WEEKDAYS);
    }

    #[test]
    fn every_problem_is_named_and_nothing_is_returned() {
        let errors = avail(
            r#"
    <AvailStatusMessage BookingLimit="5">
      <StatusApplicationControl Start="2027-03-01" End="2027-03-31" InvTypeCode="STD"/>
    </AvailStatusMessage>
    <AvailStatusMessage BookingLimit="-1">
      <StatusApplicationControl Start="2027-03-10" End="2027-03-01" InvTypeCode="STD"/>
    </AvailStatusMessage>
    <AvailStatusMessage>
      <StatusApplicationControl Start="2027-13-01" End="2027-03-01"/>
      <RestrictionStatus Status="Shut"/>
    </AvailStatusMessage>"#,
        )
        .expect_err("invalid");
        let places: Vec<&str> = errors.iter().map(|e| e.at.as_str()).collect();
        assert_eq!(
            places,
            vec![
                "AvailStatusMessage[2]/StatusApplicationControl@End",
                "AvailStatusMessage[2]@BookingLimit",
                "AvailStatusMessage[3]/StatusApplicationControl@Start",
                "AvailStatusMessage[3]/StatusApplicationControl@InvTypeCode",
                "AvailStatusMessage[3]/RestrictionStatus[1]@Status",
            ],
            "{errors:?}"
        );
        let past = avail(
            r#"<AvailStatusMessage BookingLimit="1"><StatusApplicationControl Start="2027-01-01" End="2027-01-09" InvTypeCode="STD"/></AvailStatusMessage>"#,
        )
        .expect_err("past");
        assert!(past[0].message.contains("in the past"), "{past:?}");
    }

    #[test]
    fn a_dtd_is_refused_before_anything_is_read() {
        let bomb = r#"<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>
<OTA_HotelAvailNotifRQ><AvailStatusMessages HotelCode="&lol2;"/></OTA_HotelAvailNotifRQ>"#;
        let errors = parse(bomb, AriKind::Avail, day(1, 1), Currency::USD).expect_err("refused");
        assert_eq!(errors[0].kind, 7);
        assert!(errors[0].message.contains("DTD"), "{errors:?}");
        let wrong =
            parse("<OTA_ReadRQ/>", AriKind::Avail, day(1, 1), Currency::USD).expect_err("wrong");
        assert!(
            wrong[0].message.contains("OTA_HotelAvailNotifRQ"),
            "{wrong:?}"
        );
        let garbage = parse(
            "<OTA_HotelAvailNotifRQ><a></b>",
            AriKind::Avail,
            day(1, 1),
            Currency::USD,
        );
        assert!(garbage.is_err());
    }

    #[test]
    fn amounts_turn_into_minor_units_exactly() {
        let jpy = Currency::parse("JPY").expect("JPY");
        let kwd = Currency::parse("KWD").expect("KWD");
        assert_eq!(minor_units("123.45", None, Currency::USD), Some(12_345));
        assert_eq!(minor_units("123.4", None, Currency::USD), Some(12_340));
        assert_eq!(minor_units("123", None, Currency::USD), Some(12_300));
        assert_eq!(minor_units("12345", Some(2), Currency::USD), Some(12_345));
        assert_eq!(minor_units("5", Some(2), Currency::USD), Some(5));
        assert_eq!(minor_units("0.10", None, Currency::USD), Some(10));
        assert_eq!(minor_units("123.456", None, Currency::USD), None);
        assert_eq!(minor_units("1.5", None, jpy), None);
        assert_eq!(minor_units("15000", None, jpy), Some(15_000));
        assert_eq!(minor_units("1.234", None, kwd), Some(1_234));
        assert_eq!(minor_units("-5", None, Currency::USD), None);
        assert_eq!(minor_units("1e3", None, Currency::USD), None);
    }

    #[test]
    fn rates_by_guests_are_read_with_their_currency() {
        let xml = r#"<OTA_HotelRateAmountNotifRQ EchoToken="r&amp;1">
  <RateAmountMessages HotelCode="H000002">
    <RateAmountMessage>
      <StatusApplicationControl Start="2027-02-01" End="2027-02-28" InvTypeCode="DLX" RatePlanCode="FLEX" Fri="1" Sat="1"/>
      <Rates><Rate CurrencyCode="USD"><BaseByGuestAmts>
        <BaseByGuestAmt AmountAfterTax="150.00" NumberOfGuests="1"/>
        <BaseByGuestAmt AmountAfterTax="18000" DecimalPlaces="2" NumberOfGuests="2"/>
      </BaseByGuestAmts></Rate></Rates>
    </RateAmountMessage>
  </RateAmountMessages>
</OTA_HotelRateAmountNotifRQ>"#;
        let m = parse(xml, AriKind::RateAmount, day(1, 10), Currency::USD).expect("valid");
        assert_eq!(m.echo_token.as_deref(), Some("r&1"));
        let sets: Vec<_> = m.instructions.iter().map(|i| i.set.clone()).collect();
        assert_eq!(
            sets,
            vec![
                AriSet::Rate {
                    guests: 1,
                    amount: 15_000,
                    currency: "USD".into()
                },
                AriSet::Rate {
                    guests: 2,
                    amount: 18_000,
                    currency: "USD".into()
                },
            ]
        );
        let euros = xml.replace(r#"CurrencyCode="USD""#, r#"CurrencyCode="EUR""#);
        let errors =
            parse(&euros, AriKind::RateAmount, day(1, 10), Currency::USD).expect_err("EUR");
        assert!(
            errors.iter().all(|e| e.at.ends_with("@CurrencyCode")),
            "{errors:?}"
        );
    }

    #[test]
    fn answers_echo_the_token_and_list_errors_escaped() {
        let now = chrono::DateTime::from_timestamp(1_800_000_000, 0).expect("now");
        let ok = response("OTA_HotelAvailNotifRS", Some("t<1>"), &[], now);
        assert!(ok.contains(r#"EchoToken="t&lt;1&gt;""#), "{ok}");
        assert!(ok.contains("<Success/>"));
        let bad = response(
            "OTA_HotelAvailNotifRS",
            None,
            &[AriError::new(
                3,
                "AvailStatusMessage[1]@BookingLimit",
                "must be \"a number\"",
            )],
            now,
        );
        assert!(
            bad.contains(r#"<Error Type="3" ShortText="AvailStatusMessage[1]@BookingLimit">"#),
            "{bad}"
        );
        assert!(!bad.contains("<Success/>"));
    }

    #[test]
    fn pulls_and_reports_are_read_and_only_a_successful_report_acknowledges() {
        let read = parse_read(
            r#"<OTA_ReadRQ EchoToken="p1"><ReadRequests><HotelReadRequest HotelCode="H000001"><SelectionCriteria SelectionType="Undelivered"/></HotelReadRequest></ReadRequests></OTA_ReadRQ>"#,
        )
        .expect("read");
        assert_eq!(read.hotel_codes, vec!["H000001".to_owned()]);
        assert_eq!(read.echo_token.as_deref(), Some("p1"));
        assert!(
            parse_read("<OTA_ReadRQ/>")
                .expect("all hotels")
                .hotel_codes
                .is_empty()
        );

        let report = |status: &str, outcome: &str| {
            format!(
                r#"<OTA_NotifReportRQ EchoToken="n1">{outcome}<NotifDetails><HotelNotifReport><HotelReservations>
                <HotelReservation ResStatus="{status}"><UniqueID Type="14" ID="ABC123"/></HotelReservation>
                </HotelReservations></HotelNotifReport></NotifDetails></OTA_NotifReportRQ>"#
            )
        };
        let ok = parse_notif_report(&report("Book", "<Success/>")).expect("report");
        assert_eq!(
            ok.received,
            vec![("ABC123".to_owned(), "confirmed".to_owned())]
        );
        let cancel = parse_notif_report(&report("Cancel", "<Success/>")).expect("report");
        assert_eq!(cancel.received[0].1, "cancelled");
        let failed = parse_notif_report(&report(
            "Book",
            r#"<Errors><Error Type="12">busy</Error></Errors>"#,
        ))
        .expect("report");
        assert!(failed.received.is_empty(), "a failure acknowledges nothing");
        let bad = parse_notif_report(&report("Maybe", "<Success/>")).expect_err("status");
        assert!(bad[0].at.ends_with("@ResStatus"), "{bad:?}");
    }

    #[test]
    fn reservations_are_answered_with_reference_dates_and_major_unit_totals() {
        let now = chrono::DateTime::from_timestamp(1_800_000_000, 0).expect("now");
        let r = crate::store::SupplierReservation {
            reference: "ABC123".into(),
            hotel_code: "H000001".into(),
            room_type_code: "STD".into(),
            rate_plan_code: "FLEX".into(),
            check_in: day(3, 1),
            nights: 2,
            rooms: 1,
            guests: 2,
            total_amount: 24_690,
            currency: "USD".into(),
            status: "cancelled".into(),
            created_at: 1_800_000_000_000,
            changed_at: 1_800_000_000_000,
        };
        let doc = reservations_response(Some("p1"), &[r], now);
        for part in [
            r#"ResStatus="Cancel""#,
            r#"<UniqueID Type="14" ID="ABC123"/>"#,
            r#"<TimeSpan Start="2027-03-01" End="2027-03-03"/>"#,
            r#"<Total AmountAfterTax="246.90" CurrencyCode="USD"/>"#,
            r#"<RoomType RoomTypeCode="STD" NumberOfUnits="1"/>"#,
            r#"EchoToken="p1""#,
        ] {
            assert!(doc.contains(part), "{part} missing from {doc}");
        }
    }

    fn rate(amount: &str, plan: &str) -> String {
        format!(
            r#"<OTA_HotelRateAmountNotifRQ EchoToken="e-9"><RateAmountMessages HotelCode="H000001"><RateAmountMessage>
            <StatusApplicationControl Start="2027-02-01" End="2027-02-02" InvTypeCode="STD" RatePlanCode="{plan}"/>
            <Rates><Rate><BaseByGuestAmts><BaseByGuestAmt AmountAfterTax="{amount}"/></BaseByGuestAmts></Rate></Rates>
            </RateAmountMessage></RateAmountMessages></OTA_HotelRateAmountNotifRQ>"#
        )
    }

    #[test]
    fn an_amount_a_stay_could_not_add_up_is_refused() {
        let today = day(1, 10);
        for huge in ["92233720368547758.07", "1000000.01"] {
            let errors = parse(
                &rate(huge, "FLEX"),
                AriKind::RateAmount,
                today,
                Currency::USD,
            )
            .expect_err("too much");
            assert!(errors[0].at.ends_with("@AmountAfterTax"), "{errors:?}");
        }
        assert!(
            parse(
                &rate("1000000.00", "FLEX"),
                AriKind::RateAmount,
                today,
                Currency::USD
            )
            .is_ok()
        );
    }

    #[test]
    fn refusals_echo_the_token_and_name_the_rate_plan_where_it_is_given() {
        let bad = rate("-1", "FLEX");
        assert!(parse(&bad, AriKind::RateAmount, day(1, 10), Currency::USD).is_err());
        assert_eq!(echo_token(&bad).as_deref(), Some("e-9"));
        let long = format!(r#"<OTA_ReadRQ EchoToken="{}"/>"#, "x".repeat(129));
        assert_eq!(echo_token(&long), None);

        let m = parse(
            &rate("100", "XX"),
            AriKind::RateAmount,
            day(1, 10),
            Currency::USD,
        )
        .expect("read");
        let hotel = HotelCodes {
            hotel_id: 1,
            room_types: vec![("STD".into(), 1)],
            rate_plans: vec![("FLEX".into(), 2)],
        };
        let errors = resolve(&m, &hotel).expect_err("no such plan");
        assert_eq!(
            errors[0].at,
            "RateAmountMessage[1]/StatusApplicationControl@RatePlanCode"
        );
    }

    #[test]
    fn nights_already_past_are_left_out_of_a_range() {
        let m = avail(
            r#"<AvailStatusMessage BookingLimit="2"><StatusApplicationControl Start="2027-01-01" End="2027-01-20" InvTypeCode="STD"/></AvailStatusMessage>"#,
        )
        .expect("valid");
        assert_eq!(m.instructions[0].span.first, day(TODAY.0, TODAY.1));
        assert_eq!(m.instructions[0].span.last, day(1, 20));
    }
}
