//! Offers: self-contained, HMAC-signed and expiring. Whatever a client holds, the
//! price it shows is the one signed; tampering breaks the signature.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use chrono::{DateTime, NaiveDate, Utc};
use ota_platform::passengers::Passengers;
use ota_platform::tokens::KeyRing;
use serde::{Deserialize, Serialize};

use crate::catalog::Cabin;
use crate::store::InventoryItem;

const PURPOSE: &str = "offer";
/// How long an offer's price is guaranteed.
pub const OFFER_TTL_SECS: i64 = 20 * 60;

/// What an offer id carries, signed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "k")]
pub enum OfferClaims {
    #[serde(rename = "f")]
    Flight {
        /// Flight ids per slice (one slice one-way, two for a round trip).
        s: Vec<Vec<i64>>,
        c: Cabin,
        /// Adults, children (2–11) and infants (under 2, on a lap): holds take a seat
        /// for each adult and child. Offers signed before passenger types have neither.
        a: u8,
        #[serde(default, skip_serializing_if = "is_zero")]
        ch: u8,
        #[serde(default, skip_serializing_if = "is_zero")]
        inf: u8,
        /// The adult fare per passenger, minor units (0 in offers signed before
        /// passenger types, whose total is adults × the adult fare).
        #[serde(default)]
        f: i64,
        /// The child and infant fares per passenger, minor units, from the fare file (0
        /// in offers signed before fares had them: the default shares of `f` apply).
        #[serde(default, skip_serializing_if = "is_zero_amount")]
        fc: i64,
        #[serde(default, skip_serializing_if = "is_zero_amount")]
        fi: i64,
        /// Total for all passengers, minor units.
        t: i64,
        cur: String,
        /// Expiry, seconds since the epoch.
        x: i64,
    },
    #[serde(rename = "h")]
    Hotel {
        /// Room type id.
        rt: i64,
        /// The rate plan's code within the hotel.
        rp: String,
        ci: NaiveDate,
        n: u16,
        r: u8,
        g: u8,
        t: i64,
        cur: String,
        x: i64,
    },
}

fn is_zero(n: &u8) -> bool {
    *n == 0
}

fn is_zero_amount(n: &i64) -> bool {
    *n == 0
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum OfferError {
    #[error("the offer id is malformed or has been tampered with")]
    Invalid,
}

impl OfferClaims {
    pub fn expires_at(&self) -> DateTime<Utc> {
        let x = match self {
            OfferClaims::Flight { x, .. } | OfferClaims::Hotel { x, .. } => *x,
        };
        DateTime::from_timestamp(x, 0).unwrap_or_default()
    }

    pub fn total(&self) -> (i64, &str) {
        match self {
            OfferClaims::Flight { t, cur, .. } | OfferClaims::Hotel { t, cur, .. } => (*t, cur),
        }
    }

    pub fn kind(&self) -> &'static str {
        match self {
            OfferClaims::Flight { .. } => "flight",
            OfferClaims::Hotel { .. } => "hotel",
        }
    }

    /// Who a flight offer is for.
    pub fn passengers(&self) -> Option<Passengers> {
        match self {
            OfferClaims::Flight { a, ch, inf, .. } => Some(Passengers {
                adults: *a,
                children: *ch,
                infants: *inf,
            }),
            OfferClaims::Hotel { .. } => None,
        }
    }

    /// A flight offer's adult fare per passenger.
    pub fn adult_fare(&self) -> Option<i64> {
        match self {
            OfferClaims::Flight { f, .. } if *f > 0 => Some(*f),
            OfferClaims::Flight { a, t, .. } => Some(*t / i64::from((*a).max(1))),
            OfferClaims::Hotel { .. } => None,
        }
    }

    /// What one passenger of each type pays for a flight offer.
    pub fn type_fares(&self) -> Option<crate::flights::TypeFares> {
        let adult = self.adult_fare()?;
        match self {
            OfferClaims::Flight { fc, fi, .. } if *fc > 0 || *fi > 0 => {
                Some(crate::flights::TypeFares {
                    adult,
                    child: *fc,
                    infant: *fi,
                })
            }
            _ => Some(crate::flights::TypeFares::by_default(adult)),
        }
    }

    /// The inventory this offer needs.
    pub fn items(&self) -> Vec<InventoryItem> {
        match self {
            OfferClaims::Flight { s, c, a, ch, .. } => s
                .iter()
                .flatten()
                .map(|&flight_id| InventoryItem::Seats {
                    flight_id,
                    cabin: *c,
                    quantity: i32::from(*a) + i32::from(*ch),
                })
                .collect(),
            OfferClaims::Hotel { rt, ci, n, r, .. } => (0..*n)
                .map(|d| InventoryItem::Rooms {
                    room_type_id: *rt,
                    night: *ci + chrono::Duration::days(i64::from(d)),
                    quantity: i32::from(*r),
                })
                .collect(),
        }
    }

    /// `kid.payload.mac`, URL-safe.
    pub fn sign(&self, keys: &KeyRing) -> String {
        let payload = serde_json::to_vec(self).unwrap_or_default();
        let (kid, mac) = keys.mac(PURPOSE, &payload);
        format!("{kid}.{}.{}", B64.encode(&payload), B64.encode(mac))
    }

    pub fn verify(id: &str, keys: &KeyRing) -> Result<OfferClaims, OfferError> {
        if id.len() > 2_048 {
            return Err(OfferError::Invalid);
        }
        let mut parts = id.split('.');
        let (Some(kid), Some(payload), Some(mac), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(OfferError::Invalid);
        };
        let payload = B64.decode(payload).map_err(|_| OfferError::Invalid)?;
        let mac = B64.decode(mac).map_err(|_| OfferError::Invalid)?;
        if !keys.verify_mac(kid, PURPOSE, &payload, &mac) {
            return Err(OfferError::Invalid);
        }
        serde_json::from_slice(&payload).map_err(|_| OfferError::Invalid)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys() -> KeyRing {
        KeyRing::parse("offer-test-secret-offer-test-secret-offer-test").expect("ring")
    }

    fn claims() -> OfferClaims {
        OfferClaims::Flight {
            s: vec![vec![1, 2], vec![3]],
            c: Cabin::Economy,
            a: 2,
            ch: 1,
            inf: 1,
            f: 50_000,
            fc: 0,
            fi: 0,
            t: 123_400,
            cur: "USD".into(),
            x: 1_900_000_000,
        }
    }

    #[test]
    fn a_signed_offer_round_trips() {
        let id = claims().sign(&keys());
        assert!(id.len() < 300, "{}", id.len());
        assert_eq!(OfferClaims::verify(&id, &keys()), Ok(claims()));
        assert_eq!(claims().items().len(), 3);
    }

    #[test]
    fn children_take_seats_and_infants_sit_on_a_lap() {
        for item in claims().items() {
            assert!(
                matches!(item, InventoryItem::Seats { quantity: 3, .. }),
                "{item:?}"
            );
        }
    }

    #[test]
    fn offers_signed_before_passenger_types_still_read() {
        let before = serde_json::json!({"k": "f", "s": [[1]], "c": "economy", "a": 2, "t": 9_000, "cur": "USD", "x": 1});
        let claims: OfferClaims = serde_json::from_value(before).expect("old claims");
        assert_eq!(claims.passengers(), Some(Passengers::adults(2)));
        assert_eq!(claims.adult_fare(), Some(4_500));
    }

    #[test]
    fn a_cheaper_price_cannot_be_forged() {
        let id = claims().sign(&keys());
        let mut parts: Vec<String> = id.split('.').map(str::to_owned).collect();
        let mut cheap = claims();
        if let OfferClaims::Flight { t, .. } = &mut cheap {
            *t = 100;
        }
        parts[1] = B64.encode(serde_json::to_vec(&cheap).expect("json"));
        assert_eq!(
            OfferClaims::verify(&parts.join("."), &keys()),
            Err(OfferError::Invalid)
        );
        assert_eq!(
            OfferClaims::verify("garbage", &keys()),
            Err(OfferError::Invalid)
        );
        let other = KeyRing::parse("another-secret-another-secret-another-secret").expect("ring");
        assert_eq!(OfferClaims::verify(&id, &other), Err(OfferError::Invalid));
    }

    #[test]
    fn hotel_offers_need_every_night() {
        let h = OfferClaims::Hotel {
            rt: 7,
            rp: "FLEX".into(),
            ci: NaiveDate::from_ymd_opt(2026, 12, 30).expect("date"),
            n: 3,
            r: 2,
            g: 4,
            t: 1,
            cur: "USD".into(),
            x: 0,
        };
        let items = h.items();
        assert_eq!(items.len(), 3);
        assert_eq!(
            items[2],
            InventoryItem::Rooms {
                room_type_id: 7,
                night: NaiveDate::from_ymd_opt(2027, 1, 1).expect("date"),
                quantity: 2
            }
        );
    }
}
