//! What the checkout form holds and how its errors are placed at its fields.

use ota_contract::cart::{CartItemView, OfferKind};
use serde_json::Value;

use crate::pages::common::{capitalise, detail};
use crate::views::{FieldError, TravellerFields, TravellerKind};

/// What the traveller typed into the checkout form (never the card: it is not shown
/// again, and never kept).
#[derive(Default)]
pub(super) struct CheckoutFields {
    pub(super) travellers: Vec<TravellerFields>,
    pub(super) email: String,
    pub(super) holder: String,
}

/// Who the cart's items need named at checkout: one traveller per passenger of its
/// flights (adults, then children, then infants), or the lead guest of a hotel stay.
pub(super) fn traveller_kinds(items: &[CartItemView]) -> Vec<TravellerKind> {
    let mut need = crate::clients::Passengers::default();
    let mut any_flight = false;
    for p in items
        .iter()
        .filter(|i| i.kind == OfferKind::Flight)
        .map(|i| {
            i.passengers
                .unwrap_or(crate::clients::Passengers::adults(1))
        })
    {
        any_flight = true;
        need.adults = need.adults.max(p.adults);
        need.children = need.children.max(p.children);
        need.infants = need.infants.max(p.infants);
    }
    if !any_flight || need.total() == 0 {
        return vec![TravellerKind::Guest];
    }
    need.adults = need.adults.clamp(1, 9);
    need.children = need.children.min(8);
    need.infants = need.infants.min(9);
    TravellerKind::list(&need)
}

/// An error at checkout, placed where the traveller sees it: the traveller fields, a
/// field of the form, and always the summary at the top.
#[derive(Default)]
pub(super) struct CheckoutErrors {
    pub(super) summary: Vec<String>,
    pub(super) fields: Vec<FieldError>,
    /// (traveller index, `first_name` | `last_name` | `date_of_birth`, message).
    pub(super) travellers: Vec<(usize, &'static str, String)>,
}

impl CheckoutErrors {
    pub(super) fn is_empty(&self) -> bool {
        self.summary.is_empty()
    }

    pub(super) fn field(&mut self, field: &str, message: &str) {
        self.summary.push(message.to_owned());
        self.fields.push(FieldError::new(field, message));
    }

    pub(super) fn traveller(&mut self, t: &TravellerFields, part: &'static str, message: &str) {
        self.summary.push(format!("{}: {message}", t.name()));
        self.travellers
            .push((t.i, part, capitalise_sentence(message)));
    }
}

fn capitalise_sentence(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(first) => first.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

/// `travellers[2].date_of_birth` as (2, "date_of_birth").
pub(super) fn traveller_field(field: &str) -> Option<(usize, &'static str)> {
    let rest = field.strip_prefix("travellers[")?;
    let (index, part) = rest.split_once("].")?;
    let index: usize = index.parse().ok()?;
    let part = match part {
        "first_name" => "first_name",
        "last_name" => "last_name",
        "date_of_birth" => "date_of_birth",
        _ => return None,
    };
    Some((index, part))
}

/// A 422 from payment-service or booking-service, placed at the form's fields.
pub(super) fn checkout_problem_errors(
    body: &Value,
    travellers: &[TravellerFields],
) -> CheckoutErrors {
    let mut out = CheckoutErrors::default();
    let listed = body
        .get("errors")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    for e in &listed {
        let (Some(field), Some(text)) = (
            e.get("field").and_then(Value::as_str),
            e.get("message").and_then(Value::as_str),
        ) else {
            continue;
        };
        if let Some((i, part)) = traveller_field(field)
            && let Some(t) = travellers.get(i)
        {
            let what = match part {
                "first_name" => "first name",
                "last_name" => "last name",
                _ => "date of birth",
            };
            out.traveller(t, part, &format!("the {what} {text}."));
            continue;
        }
        let input = match field {
            "travellers" => Some("travellers"),
            "contact.email" => Some("email"),
            "card.number" => Some("card_number"),
            "card.exp_month" | "card.exp_year" => Some("card_expiry"),
            "card.cvc" => Some("card_cvc"),
            "card.holder_name" => Some("card_holder"),
            _ => None,
        };
        let name = card_field(field);
        // "Travellers must include…", but a message that is a sentence of its own
        // ("the flight in your cart is for…") reads as one.
        let own_sentence = field == "travellers"
            && !["must ", "need ", "needs ", "are ", "is "]
                .iter()
                .any(|verb| text.starts_with(verb));
        let sentence = if name.is_empty() || own_sentence {
            capitalise(text)
        } else {
            format!("{name} {text}.")
        };
        match input {
            Some(input) => out.field(input, &sentence),
            None => out.summary.push(sentence),
        }
    }
    if out.summary.is_empty() {
        out.summary.push(detail(body));
    }
    out
}

/// "MM/YY" or "MM/YYYY" as (month, four-digit year).
pub(super) fn expiry(s: &str) -> Option<(u32, u32)> {
    let (m, y) = s.trim().split_once('/')?;
    let month: u32 = m.trim().parse().ok().filter(|m| (1..=12).contains(m))?;
    let y = y.trim();
    let year: u32 = match y.len() {
        2 => 2000 + y.parse::<u32>().ok()?,
        4 => y.parse().ok()?,
        _ => return None,
    };
    Some((month, year))
}

fn card_field(field: &str) -> &'static str {
    match field {
        "card.number" => "The card number",
        "card.exp_month" | "card.exp_year" => "The expiry date",
        "card.cvc" => "The security code",
        "card.holder_name" => "The name on the card",
        "travellers" => "Travellers",
        "contact.email" => "The e-mail address",
        f if f.contains("first_name") => "A traveller's first name",
        f if f.contains("last_name") => "A traveller's last name",
        f if f.contains("date_of_birth") => "A traveller's date of birth",
        _ => "",
    }
}
