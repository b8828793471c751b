//! Reading a search's query string: named parameters, their checks and the cursor of
//! the next page. Every refusal is a 400 problem naming the parameter.

use std::collections::HashMap;

use axum::extract::Query;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use chrono::{NaiveDate, NaiveTime};
use ota_platform::Problem;

use super::{DEFAULT_LIMIT, MAX_LIMIT};

pub(super) type Params = Query<HashMap<String, String>>;

pub(super) fn bad(field: &str, message: impl Into<String>) -> Problem {
    Problem::bad_parameter(field, message)
}

pub(super) fn param<'a>(p: &'a HashMap<String, String>, name: &str) -> Option<&'a str> {
    p.get(name).map(|s| s.trim()).filter(|s| !s.is_empty())
}

pub(super) fn required<'a>(p: &'a HashMap<String, String>, name: &str) -> Result<&'a str, Problem> {
    param(p, name).ok_or_else(|| bad(name, "is required"))
}

pub(super) fn number<T: std::str::FromStr + PartialOrd + std::fmt::Display + Copy>(
    p: &HashMap<String, String>,
    name: &str,
    default: T,
    min: T,
    max: T,
) -> Result<T, Problem> {
    match param(p, name) {
        None => Ok(default),
        Some(s) => {
            let v: T = s
                .parse()
                .map_err(|_| bad(name, format!("must be a whole number from {min} to {max}")))?;
            if v < min || v > max {
                return Err(bad(name, format!("must be from {min} to {max}")));
            }
            Ok(v)
        }
    }
}

pub(super) fn date(p: &HashMap<String, String>, name: &str) -> Result<Option<NaiveDate>, Problem> {
    param(p, name)
        .map(|s| {
            NaiveDate::parse_from_str(s, "%Y-%m-%d")
                .map_err(|_| bad(name, "must be a date as YYYY-MM-DD"))
        })
        .transpose()
}

pub(super) fn time_of_day(
    p: &HashMap<String, String>,
    name: &str,
) -> Result<Option<NaiveTime>, Problem> {
    param(p, name)
        .map(|s| {
            NaiveTime::parse_from_str(s, "%H:%M").map_err(|_| bad(name, "must be a time as HH:MM"))
        })
        .transpose()
}

/// Pagination: a cursor is the next offset bound to the query it came from.
fn fingerprint(key: &str) -> u64 {
    key.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

pub(super) fn cursor_for(key: &str, offset: usize) -> String {
    B64.encode(format!("{offset}:{:x}", fingerprint(key)))
}

pub(super) fn offset_from(p: &HashMap<String, String>, key: &str) -> Result<usize, Problem> {
    let Some(c) = param(p, "cursor") else {
        return Ok(0);
    };
    let invalid = || bad("cursor", "is not a cursor of this search");
    let text = B64
        .decode(c)
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
        .ok_or_else(invalid)?;
    let (offset, fp) = text.split_once(':').ok_or_else(invalid)?;
    if fp != format!("{:x}", fingerprint(key)) {
        return Err(invalid());
    }
    offset
        .parse::<usize>()
        .ok()
        .filter(|o| *o <= 10_000)
        .ok_or_else(invalid)
}

/// One page of a search: where it starts, how long it is, and its cache key.
pub(super) struct Page {
    key: String,
    offset: usize,
    limit: usize,
    pub(super) cache_key: String,
}

impl Page {
    /// The cache key carries the catalog generation, so a capacity, price or stop-sell
    /// change retires every answer cached before it (cursors stay valid across it).
    pub(super) fn parse(
        p: &HashMap<String, String>,
        key: &str,
        generation: i64,
    ) -> Result<Page, Problem> {
        let limit = number(p, "limit", DEFAULT_LIMIT, 1, MAX_LIMIT)?;
        let offset = offset_from(p, key)?;
        Ok(Page {
            key: key.to_owned(),
            offset,
            limit,
            cache_key: format!("{key}:{offset}:{limit}:g{generation}"),
        })
    }

    /// This page of `all`.
    pub(super) fn of<'a, R>(&self, all: &'a [R]) -> Vec<&'a R> {
        all.iter().skip(self.offset).take(self.limit).collect()
    }

    /// Renders this page of `all` and the cursor of the next one, if any.
    pub(super) fn cut<R, T>(
        &self,
        all: &[R],
        render: impl Fn(&R) -> Option<T>,
    ) -> (Vec<T>, Option<String>) {
        let items = self.of(all).into_iter().filter_map(render).collect();
        let end = self.offset + self.limit;
        (items, (end < all.len()).then(|| cursor_for(&self.key, end)))
    }
}
