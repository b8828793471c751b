//! The checkout form: its traveller fieldsets and what it says of the last attempt.

use askama::Template;

use super::{CartRow, FieldError, Layout, error_at};
use crate::clients::Passengers;

/// A traveller's fare type, as the checkout form labels it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TravellerKind {
    Adult,
    Child,
    Infant,
    /// The guest who takes a hotel room (a booking without flights).
    Guest,
}

impl TravellerKind {
    pub fn label(self) -> &'static str {
        match self {
            TravellerKind::Adult => "Adult",
            TravellerKind::Child => "Child",
            TravellerKind::Infant => "Infant",
            TravellerKind::Guest => "Lead guest",
        }
    }

    /// As the checkout form carries it.
    pub fn code(self) -> &'static str {
        match self {
            TravellerKind::Adult => "adult",
            TravellerKind::Child => "child",
            TravellerKind::Infant => "infant",
            TravellerKind::Guest => "guest",
        }
    }

    pub fn from_code(code: &str) -> Self {
        match code {
            "child" => TravellerKind::Child,
            "infant" => TravellerKind::Infant,
            "guest" => TravellerKind::Guest,
            _ => TravellerKind::Adult,
        }
    }

    pub fn hint(self) -> &'static str {
        match self {
            TravellerKind::Adult => "12 years or over on the day of the first flight",
            TravellerKind::Child => "2 to 11 years on the day of the first flight",
            TravellerKind::Infant => "under 2 on the day of the first flight, on an adult's lap",
            TravellerKind::Guest => "18 years or over",
        }
    }

    /// One traveller per passenger: adults first, then children, then infants.
    pub fn list(p: &Passengers) -> Vec<TravellerKind> {
        let mut all = Vec::with_capacity(usize::from(p.total()));
        all.extend(std::iter::repeat_n(
            TravellerKind::Adult,
            usize::from(p.adults),
        ));
        all.extend(std::iter::repeat_n(
            TravellerKind::Child,
            usize::from(p.children),
        ));
        all.extend(std::iter::repeat_n(
            TravellerKind::Infant,
            usize::from(p.infants),
        ));
        all
    }
}

pub struct TravellerFields {
    pub i: usize,
    pub n: usize,
    pub kind: TravellerKind,
    pub first: String,
    pub last: String,
    pub dob: String,
    pub first_error: String,
    pub last_error: String,
    pub dob_error: String,
}

impl TravellerFields {
    pub fn new(i: usize, kind: TravellerKind) -> Self {
        Self {
            i,
            n: i + 1,
            kind,
            first: String::new(),
            last: String::new(),
            dob: String::new(),
            first_error: String::new(),
            last_error: String::new(),
            dob_error: String::new(),
        }
    }

    /// "Traveller 2 (child)", as messages name it.
    pub fn name(&self) -> String {
        format!(
            "Traveller {} ({})",
            self.n,
            self.kind.label().to_lowercase()
        )
    }
}

/// An alert above the checkout form: what happened to the last attempt.
pub struct CheckoutAlert {
    pub heading: String,
    pub text: String,
}

#[derive(Template)]
#[template(path = "checkout.html")]
pub struct CheckoutPage {
    pub layout: Layout,
    pub items: Vec<CartRow>,
    pub total: String,
    pub travellers: Vec<TravellerFields>,
    pub email: String,
    pub holder: String,
    pub idempotency_key: String,
    pub today: String,
    /// The summary of every error, each sentence naming its field.
    pub errors: Vec<String>,
    /// Errors at the fields outside the traveller fieldsets (`travellers`, `email`,
    /// `card_number`, ...).
    pub field_errors: Vec<FieldError>,
    pub alert: Option<CheckoutAlert>,
}

impl CheckoutPage {
    pub fn error(&self, field: &str) -> &str {
        error_at(&self.field_errors, field)
    }
}
