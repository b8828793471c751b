//! Airport autocomplete: code, city or name prefix, accent- and case-insensitive, best
//! match first.

use crate::catalog::fold;
use crate::index::{AirportInfo, Index};

fn score(a: &AirportInfo, q: &str, upper: &str) -> u32 {
    if a.iata == upper {
        return 1_000;
    }
    if a.metro.as_deref() == Some(upper) {
        return 900;
    }
    if a.folded_city == q {
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

/// The best `limit` airports for what a traveller typed.
pub fn suggest<'a>(index: &'a Index, typed: &str, limit: usize) -> Vec<&'a AirportInfo> {
    let q = fold(typed.trim());
    if q.is_empty() {
        return Vec::new();
    }
    let upper = typed.trim().to_uppercase();
    let mut hits: Vec<(u32, &AirportInfo)> = index
        .airports
        .iter()
        .map(|a| (score(a, &q, &upper), a))
        .filter(|(s, _)| *s > 0)
        .collect();
    hits.sort_by(|(sa, a), (sb, b)| {
        sb.cmp(sa)
            .then(a.rank.cmp(&b.rank))
            .then(a.iata.cmp(&b.iata))
    });
    hits.into_iter().take(limit).map(|(_, a)| a).collect()
}
