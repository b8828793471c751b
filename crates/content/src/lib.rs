//! The content formats the travel industry exchanges, read and checked before anything
//! is stored: airline schedules in IATA SSIM chapter 7 ([`ssim`]) and fares in CSV
//! ([`fares`]). Pure functions over text: no storage, no HTTP; errors name the line (and
//! column) of what is wrong.

pub mod fares;
pub mod ssim;

/// The cabin a seat or a fare is in, as the search API names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum CabinClass {
    Economy,
    PremiumEconomy,
    Business,
    First,
}

impl CabinClass {
    /// `economy`, `premium_economy`, `business` or `first`.
    pub fn as_str(self) -> &'static str {
        match self {
            CabinClass::Economy => "economy",
            CabinClass::PremiumEconomy => "premium_economy",
            CabinClass::Business => "business",
            CabinClass::First => "first",
        }
    }

    /// Reads [`CabinClass::as_str`] back.
    pub fn parse(name: &str) -> Option<Self> {
        [
            CabinClass::Economy,
            CabinClass::PremiumEconomy,
            CabinClass::Business,
            CabinClass::First,
        ]
        .into_iter()
        .find(|c| c.as_str() == name)
    }

    /// The cabin an aircraft configuration's class letter stands for (`F` first, `C`/`J`
    /// business, `W` premium economy, `Y` economy); `None` for any other letter.
    pub fn of_letter(letter: char) -> Option<Self> {
        match letter {
            'F' => Some(CabinClass::First),
            'C' | 'J' => Some(CabinClass::Business),
            'W' => Some(CabinClass::PremiumEconomy),
            'Y' => Some(CabinClass::Economy),
            _ => None,
        }
    }
}

pub mod pricing;
