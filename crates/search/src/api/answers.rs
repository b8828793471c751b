//! Writing answers: JSON bytes, served from the answer cache while they stay true.

use std::time::Duration;

use axum::http::header;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use ota_platform::Problem;
use serde::Serialize;

use super::SearchState;
use super::params::Page;

pub(super) fn json_bytes(bytes: Vec<u8>) -> Response {
    ([(header::CONTENT_TYPE, "application/json")], bytes).into_response()
}

/// An answer and the moment the clock alone makes it untrue (a flight leaves, a
/// refund window or free cancellation ends, check-in passes), if any.
pub(super) type Computed = (Vec<u8>, Option<DateTime<Utc>>);

/// Serves a whole answer from the cache, or computes and caches it, never past the
/// moment it stops being true. A cache outage degrades to computing every answer,
/// never to an error.
async fn cached<F>(state: &SearchState, key: &str, compute: F) -> Result<Response, Problem>
where
    F: FnOnce() -> Result<Computed, Problem>,
{
    if state.answer_ttl.is_zero() {
        return Ok(json_bytes(compute()?.0));
    }
    match state.cache.get(key).await {
        Ok(Some(bytes)) => return Ok(json_bytes(bytes)),
        Ok(None) => {}
        Err(e) => tracing::warn!(error = %e, "search cache unavailable; answering without it"),
    }
    let (bytes, changes_at) = compute()?;
    if let Some(ttl) = cache_ttl(state.answer_ttl, changes_at, Utc::now())
        && let Err(e) = state.cache.set(key, &bytes, ttl).await
    {
        tracing::warn!(error = %e, "search cache unavailable; answer not cached");
    }
    Ok(json_bytes(bytes))
}

/// One page of a search, answered from the cache while it stays true: `search` lists every
/// result at `now`, `offer` signs and renders one, `changes_at` says when the page stops
/// being true by the clock alone, and `answer` wraps the page's offers and next cursor.
pub(super) async fn search_page<R, O, A: Serialize>(
    state: &SearchState,
    page: &Page,
    search: impl FnOnce(DateTime<Utc>) -> Vec<R>,
    offer: impl Fn(&R, DateTime<Utc>) -> Option<O>,
    changes_at: impl FnOnce(&[&R], DateTime<Utc>) -> Option<DateTime<Utc>>,
    answer: impl FnOnce(Vec<O>, Option<String>) -> A,
) -> Result<Response, Problem> {
    cached(state, &page.cache_key, || {
        let now = Utc::now();
        let all = search(now);
        let (offers, next_cursor) = page.cut(&all, |r| offer(r, now));
        let changes_at = changes_at(&page.of(&all), now);
        Ok((to_json(&answer(offers, next_cursor))?, changes_at))
    })
    .await
}

/// How long an answer may stay cached: the answer TTL, cut short by the moment the
/// clock alone makes it untrue; not at all when that is less than a second away.
fn cache_ttl(
    max: Duration,
    changes_at: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> Option<Duration> {
    match changes_at {
        None => Some(max),
        Some(at) => (at - now)
            .to_std()
            .ok()
            .map(|left| left.min(max))
            .filter(|ttl| ttl.as_secs() >= 1),
    }
}

pub(super) fn to_json<T: Serialize>(value: &T) -> Result<Vec<u8>, Problem> {
    serde_json::to_vec(value).map_err(|e| {
        tracing::error!(error = %e, "serialising an answer failed");
        Problem::internal()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_answer_is_never_cached_past_the_moment_it_stops_being_true() {
        let now = Utc::now();
        let ttl = Duration::from_secs(30);
        assert_eq!(cache_ttl(ttl, None, now), Some(ttl));
        let leaves = now + chrono::Duration::seconds(10);
        assert_eq!(
            cache_ttl(ttl, Some(leaves), now),
            Some(Duration::from_secs(10))
        );
        let later = now + chrono::Duration::minutes(5);
        assert_eq!(cache_ttl(ttl, Some(later), now), Some(ttl));
        let imminent = now + chrono::Duration::milliseconds(500);
        assert_eq!(cache_ttl(ttl, Some(imminent), now), None);
        assert_eq!(
            cache_ttl(ttl, Some(now - chrono::Duration::seconds(1)), now),
            None
        );
    }
}
