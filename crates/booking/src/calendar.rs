//! A booking as a calendar file (RFC 5545): one VEVENT per flight segment (departure
//! to arrival, each in its airport's time zone) and one per hotel stay (check-in to
//! check-out in the hotel's), with a VTIMEZONE for every TZID used. UIDs come from the
//! booking reference and the item's and segment's places, so a resent or re-downloaded
//! file updates the same calendar entries instead of adding new ones; a cancelled
//! booking's file marks them cancelled.
//!
//! The events are written by the `icalendar` crate (escaping, line folding). Its writer
//! stamps DTSTAMP and UID on every component, which VTIMEZONE and its observances must
//! not carry, so the time zone definitions are written here from the IANA database
//! (`chrono-tz`): the observance in force at the first event and every transition up
//! to the last.

use chrono::{DateTime, Duration, FixedOffset, NaiveDateTime, Offset as _, TimeZone as _, Utc};
use chrono_tz::{OffsetComponents as _, OffsetName as _, Tz};
use icalendar::{Calendar, CalendarDateTime, Component as _, Event, EventLike as _, EventStatus};
use ota_contract::booking::{BookingStatus, BookingView, ItemItinerary};

/// The media type of a calendar file.
pub const CONTENT_TYPE: &str = "text/calendar; charset=utf-8";

/// One end of a calendar entry: the instant, and the place's IANA zone when known.
struct End {
    at: DateTime<FixedOffset>,
    zone: Option<Tz>,
}

impl End {
    fn read(rfc3339: &str, zone: &str) -> Option<Self> {
        Some(Self {
            at: DateTime::parse_from_rfc3339(rfc3339).ok()?,
            zone: zone.parse().ok(),
        })
    }

    fn value(&self) -> CalendarDateTime {
        match self.zone {
            Some(tz) => CalendarDateTime::WithTimezone {
                date_time: self.at.with_timezone(&tz).naive_local(),
                tzid: tz.name().to_owned(),
            },
            None => CalendarDateTime::Utc(self.at.with_timezone(&Utc)),
        }
    }
}

/// The booking's calendar file. `uid_domain` ends every UID (the sender's domain).
pub fn ics(b: &BookingView, uid_domain: &str) -> String {
    let cancelled = matches!(b.status, BookingStatus::Cancelled | BookingStatus::Failed);
    let stamp = DateTime::parse_from_rfc3339(&b.updated_at)
        .map(|t| t.with_timezone(&Utc))
        .unwrap_or_else(|_| Utc::now());
    let mut calendar = Calendar::empty();
    calendar
        .append_property(("VERSION", "2.0"))
        .append_property(("PRODID", "-//OTA Travel//Bookings//EN"))
        .append_property(("CALSCALE", "GREGORIAN"))
        .append_property(("METHOD", "PUBLISH"));
    calendar.name(&format!("OTA Travel booking {}", b.reference));
    let mut zones: Vec<(Tz, DateTime<Utc>, DateTime<Utc>)> = Vec::new();
    let mut add = |calendar: &mut Calendar,
                   uid: String,
                   summary: String,
                   location: String,
                   description: String,
                   start: End,
                   end: End| {
        for e in [&start, &end] {
            if let Some(tz) = e.zone {
                let at = e.at.with_timezone(&Utc);
                match zones.iter_mut().find(|z| z.0 == tz) {
                    Some(z) => {
                        z.1 = z.1.min(at);
                        z.2 = z.2.max(at);
                    }
                    None => zones.push((tz, at, at)),
                }
            }
        }
        let event = Event::new()
            .uid(&format!("{uid}@{uid_domain}"))
            .timestamp(stamp)
            .summary(&summary)
            .location(&location)
            .description(&description)
            .starts(start.value())
            .ends(end.value())
            .status(if cancelled {
                EventStatus::Cancelled
            } else {
                EventStatus::Confirmed
            })
            // The cancellation is a revision of the same entries: calendars apply the
            // higher sequence.
            .sequence(u32::from(cancelled))
            .done();
        calendar.push(event);
    };
    for (n, item) in b.items.iter().enumerate() {
        match &item.itinerary {
            Some(ItemItinerary::Flight { slices, cabin }) => {
                let segments = slices.iter().flat_map(|s| s.segments.iter());
                for (k, s) in segments.enumerate() {
                    let (Some(start), Some(end)) = (
                        End::read(&s.departure_at, &s.origin_time_zone),
                        End::read(&s.arrival_at, &s.destination_time_zone),
                    ) else {
                        continue;
                    };
                    add(
                        &mut calendar,
                        format!("{}-{n}-{k}", b.reference),
                        format!(
                            "Flight {} {} → {}",
                            s.flight_number, s.origin, s.destination
                        ),
                        s.origin.clone(),
                        format!(
                            "{} {} from {} to {}, {} cabin. Booking {}.",
                            s.carrier_name,
                            s.flight_number,
                            s.origin,
                            s.destination,
                            cabin.as_str().replace('_', " "),
                            b.reference
                        ),
                        start,
                        end,
                    );
                }
            }
            Some(ItemItinerary::Hotel {
                hotel,
                room_type,
                rooms,
                guests,
                check_in_at,
                check_out_at,
                ..
            }) => {
                let (Some(start), Some(end)) = (
                    End::read(check_in_at, &hotel.time_zone),
                    End::read(check_out_at, &hotel.time_zone),
                ) else {
                    continue;
                };
                let place = [
                    hotel.address.as_str(),
                    hotel.city.as_str(),
                    hotel.country.as_str(),
                ]
                .into_iter()
                .filter(|s| !s.is_empty())
                .collect::<Vec<_>>()
                .join(", ");
                add(
                    &mut calendar,
                    format!("{}-{n}-stay", b.reference),
                    format!("Hotel: {}", hotel.name),
                    format!("{}, {place}", hotel.name),
                    format!(
                        "{rooms} × {room_type} for {guests} guest{}. Booking {}.",
                        if *guests == 1 { "" } else { "s" },
                        b.reference
                    ),
                    start,
                    end,
                );
            }
            None => {}
        }
    }
    let text = calendar.to_string();
    // The time zone definitions go before the first event (RFC 5545 3.6.5).
    let zones: String = zones
        .iter()
        .map(|(tz, from, to)| vtimezone(*tz, *from, *to))
        .collect();
    match text.find("BEGIN:VEVENT") {
        Some(at) => format!("{}{zones}{}", &text[..at], &text[at..]),
        None => text,
    }
}

/// A VTIMEZONE for `tz` covering `from` to `to`: the observance in force at `from` and
/// each transition up to `to`.
fn vtimezone(tz: Tz, from: DateTime<Utc>, to: DateTime<Utc>) -> String {
    let mut out = format!("BEGIN:VTIMEZONE\r\nTZID:{}\r\n", tz.name());
    let mut observance = |at: DateTime<Utc>, before: FixedOffset| {
        let offset = tz.offset_from_utc_datetime(&at.naive_utc());
        let kind = if offset.dst_offset().is_zero() {
            "STANDARD"
        } else {
            "DAYLIGHT"
        };
        let local: NaiveDateTime = at.naive_utc() + before;
        out.push_str(&format!(
            "BEGIN:{kind}\r\nDTSTART:{}\r\nTZOFFSETFROM:{}\r\nTZOFFSETTO:{}\r\nTZNAME:{}\r\nEND:{kind}\r\n",
            local.format("%Y%m%dT%H%M%S"),
            utc_offset(before),
            utc_offset(offset.fix()),
            // Zones without an abbreviation (Asia/Bangkok) are named by their offset.
            offset
                .abbreviation()
                .map_or_else(|| utc_offset(offset.fix()), str::to_owned),
        ));
    };
    let fix = |at: DateTime<Utc>| tz.offset_from_utc_datetime(&at.naive_utc()).fix();
    // The observance in force at `from` began at the last transition in the year before,
    // or (none found: a zone without changes) at the epoch.
    let transitions = transitions(tz, from - Duration::days(400), to);
    let (first, rest): (Vec<_>, Vec<_>) = transitions.into_iter().partition(|t| *t <= from);
    match first.last() {
        Some(t) => observance(*t, fix(*t - Duration::seconds(1))),
        None => observance(DateTime::UNIX_EPOCH, fix(from)),
    }
    for t in rest {
        observance(t, fix(t - Duration::seconds(1)));
    }
    out.push_str("END:VTIMEZONE\r\n");
    out
}

/// The instants in `from..=to` at which `tz`'s offset or daylight flag changes, to the
/// second.
fn transitions(tz: Tz, from: DateTime<Utc>, to: DateTime<Utc>) -> Vec<DateTime<Utc>> {
    let state = |at: DateTime<Utc>| {
        let o = tz.offset_from_utc_datetime(&at.naive_utc());
        (o.fix(), o.dst_offset())
    };
    let mut found = Vec::new();
    let mut t = from;
    while t < to {
        let next = (t + Duration::hours(6)).min(to);
        if state(t) != state(next) {
            // The change lies in (t, next]: narrow it to the second.
            let (mut lo, mut hi) = (t, next);
            while hi - lo > Duration::seconds(1) {
                let mid = lo + (hi - lo) / 2;
                if state(mid) == state(lo) {
                    lo = mid;
                } else {
                    hi = mid;
                }
            }
            found.push(hi);
        }
        t = next;
    }
    found
}

/// `+0100`, `-0430`.
fn utc_offset(o: FixedOffset) -> String {
    let s = o.local_minus_utc();
    let sign = if s < 0 { '-' } else { '+' };
    let s = s.abs();
    if s % 60 == 0 {
        format!("{sign}{:02}{:02}", s / 3600, s / 60 % 60)
    } else {
        format!("{sign}{:02}{:02}{:02}", s / 3600, s / 60 % 60, s % 60)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_zone_with_summer_time_gets_its_observance_and_each_change_in_range() {
        let tz: Tz = "Europe/London".parse().expect("test data");
        let from = Utc
            .with_ymd_and_hms(2026, 3, 20, 9, 0, 0)
            .single()
            .expect("test data");
        let to = Utc
            .with_ymd_and_hms(2026, 11, 2, 9, 0, 0)
            .single()
            .expect("test data");
        let v = vtimezone(tz, from, to);
        // In force on 20 March: GMT since 25 October 2025; then BST from 29 March, GMT
        // again from 25 October 2026.
        assert!(
            v.contains("BEGIN:STANDARD\r\nDTSTART:20251026T020000\r\nTZOFFSETFROM:+0100\r\nTZOFFSETTO:+0000\r\nTZNAME:GMT"),
            "{v}"
        );
        assert!(
            v.contains("BEGIN:DAYLIGHT\r\nDTSTART:20260329T010000\r\nTZOFFSETFROM:+0000\r\nTZOFFSETTO:+0100\r\nTZNAME:BST"),
            "{v}"
        );
        assert!(
            v.contains("DTSTART:20261025T020000\r\nTZOFFSETFROM:+0100"),
            "{v}"
        );
        assert_eq!(v.matches("BEGIN:").count(), 4, "{v}");
    }

    #[test]
    fn a_zone_without_changes_has_one_standard_observance() {
        let tz: Tz = "Asia/Tokyo".parse().expect("test data");
        let at = Utc
            .with_ymd_and_hms(2026, 12, 20, 1, 0, 0)
            .single()
            .expect("test data");
        let v = vtimezone(tz, at, at + Duration::hours(3));
        assert!(v.contains("BEGIN:STANDARD\r\nDTSTART:19700101T090000\r\nTZOFFSETFROM:+0900\r\nTZOFFSETTO:+0900\r\nTZNAME:JST"), "{v}");
        assert_eq!(v.matches("BEGIN:").count(), 2, "{v}");
    }

    #[test]
    fn offsets_read_as_rfc_5545_writes_them() {
        let east = |s| FixedOffset::east_opt(s).expect("test data");
        assert_eq!(utc_offset(east(0)), "+0000");
        assert_eq!(utc_offset(east(-16_200)), "-0430");
        assert_eq!(utc_offset(east(20_700)), "+0545");
    }
}
