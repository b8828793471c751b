//! The internal API's idempotency keys, as `ota_platform::idempotency` claims them,
//! answered the internal API's way: a running key is 503 (its callers retry 5xx, and 409
//! already means a payment in the wrong state).

use std::future::Future;
use std::time::Duration;

use axum::http::StatusCode;
use axum::response::Response;
use ota_contract::ProblemType;
use ota_contract::money::Money;
use ota_platform::idempotency::{Claim, IdempotencyKey, RequestHash};
use ota_platform::{FieldError, Problem};
use serde::Serialize;
use uuid::Uuid;

use super::{PaymentState, answer};
use crate::domain::positive_amount;

/// How long a running request holds its idempotency key before a retry may take it
/// over (a request is abandoned after OTA_REQUEST_TIMEOUT, 15 s by default).
pub const KEY_LEASE: Duration = Duration::from_secs(30);
/// Polls (100 ms apart) for a running request with the same key to finish.
const IN_PROGRESS_POLLS: usize = 30;
/// The internal API's keys are the whole service's: booking-service makes them unique.
const SCOPE: &str = "";

/// `idempotency_key` of a request body, named when refused.
pub(super) fn parse_key(raw: &str) -> Result<IdempotencyKey, FieldError> {
    IdempotencyKey::parse(raw).map_err(|e| FieldError {
        field: "idempotency_key".to_owned(),
        message: e.to_string(),
    })
}

/// The key and amount of a request that moves money, then `others` found in its other
/// fields: each field at fault is named.
pub(super) fn key_and_amount(
    raw_key: &str,
    amount: &Money,
    others: Vec<FieldError>,
) -> Result<IdempotencyKey, Problem> {
    let mut errors = Vec::new();
    let key = parse_key(raw_key).map_err(|e| errors.push(e)).ok();
    errors.extend(positive_amount(amount, "amount").err().unwrap_or_default());
    errors.extend(others);
    match key {
        Some(key) if errors.is_empty() => Ok(key),
        _ => Err(Problem::invalid(errors)),
    }
}

/// Runs `work` once per idempotency key. The key is stored with the SHA-256 of the
/// canonical request (operation, payment and body as we parsed them): the same request
/// again answers the first answer with its status code, a different request with the
/// same key 422, and the same request while the first still runs 503 (after a short
/// wait). Transient failures (5xx) free the key so a retry runs the request again; every
/// state change is idempotent by itself as well, so even a takeover after a crash cannot
/// move money twice.
pub(super) async fn idempotent<R, W>(
    state: &PaymentState,
    key: &IdempotencyKey,
    operation: &str,
    payment: Option<Uuid>,
    request: &R,
    work: W,
) -> Result<Response, Problem>
where
    R: Serialize,
    W: Future<Output = Result<(StatusCode, serde_json::Value), Problem>>,
{
    let hash = RequestHash::of(b"", &(operation, payment, request)).map_err(|e| {
        tracing::error!(error = %e, "a request could not be serialised for hashing");
        Problem::internal()
    })?;
    let mut claim = state.keys.claim(SCOPE, key, &hash, KEY_LEASE).await?;
    // A retry that overtook its own first attempt (a client timeout): wait a little for
    // the first to finish and answer its result, rather than refuse.
    for _ in 0..IN_PROGRESS_POLLS {
        if !matches!(claim, Claim::InProgress { .. }) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        claim = state.keys.claim(SCOPE, key, &hash, KEY_LEASE).await?;
    }
    match claim {
        Claim::Replay { status, body } => {
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::OK);
            Ok(answer(status, &body))
        }
        Claim::Mismatch => Err(Problem::idempotency_mismatch("idempotency_key")),
        Claim::InProgress { .. } => {
            let mut p = Problem::new(
                StatusCode::SERVICE_UNAVAILABLE,
                ProblemType::InProgress.slug(),
                "A request with this idempotency key is still running; retry shortly.",
            );
            p.retry_after = Some(1);
            Err(p)
        }
        Claim::New => {
            let (status, body) = match work.await {
                Ok(done) => done,
                Err(p) if p.status >= 500 => {
                    if let Err(e) = state.keys.release(SCOPE, key).await {
                        tracing::error!(error = %e, "an idempotency key could not be released");
                    }
                    return Err(p);
                }
                Err(p) => (
                    p.status_code(),
                    serde_json::to_value(&p).unwrap_or_default(),
                ),
            };
            // The work is done: if its answer cannot be recorded, still give it. A retry
            // within the lease sees 503; after it, the work runs again and finds its
            // effect already there.
            if let Err(e) = state
                .keys
                .complete(SCOPE, key, status.as_u16(), &body)
                .await
            {
                tracing::error!(error = %e, "the answer to an idempotent request could not be recorded");
            }
            Ok(answer(status, &body))
        }
    }
}
