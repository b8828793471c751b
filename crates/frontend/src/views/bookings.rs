//! A traveller's bookings: the list, one booking's page and its cancellation.

use askama::Template;

use ota_contract::booking::{BookingStatus, BookingView as Booking};

use super::Layout;
use crate::format;

pub struct ItemRow {
    pub kind: String,
    pub summary: String,
    pub price: String,
    /// The itinerary, a line each (segments with local times, or the stay).
    pub details: Vec<String>,
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
    /// The address confirmations go to.
    pub contact: String,
    /// Confirmed: its confirmation can be sent again.
    pub confirmed: bool,
    /// Has flights or stays to put in a calendar (confirmed or cancelled).
    pub calendar: bool,
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
                details: i
                    .itinerary
                    .as_ref()
                    .map(ota_contract::booking::ItemItinerary::describe)
                    .unwrap_or_default(),
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
            contact: b.contact.email.clone(),
            confirmed: b.status == BookingStatus::Confirmed,
            calendar: matches!(
                b.status,
                BookingStatus::Confirmed | BookingStatus::Cancelled
            ) && b.items.iter().any(|i| i.itinerary.is_some()),
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
    /// Back from "resend confirmation".
    pub resent: bool,
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
