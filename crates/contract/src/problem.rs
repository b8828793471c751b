//! The kinds of error answer (RFC 9457 problem types). Every problem's `type` is
//! [`ProblemType::uri`]; clients branch on the kind, never on the message or on which
//! members happen to be present.

/// Where every problem type's URI starts; the slug follows.
pub const BASE: &str = "https://ota-travel.example.com/problems/";

macro_rules! problem_types {
    ($($kind:ident = $slug:literal, $status:literal, $meaning:literal;)+) => {
        /// One kind of error answer: its slug, its usual HTTP status and what it means.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum ProblemType {
            $(#[doc = $meaning] $kind,)+
        }

        impl ProblemType {
            /// Every kind, in the order of the published table.
            pub const ALL: &'static [ProblemType] = &[$(ProblemType::$kind,)+];

            /// The last segment of the type URI, such as `sold-out`.
            pub fn slug(self) -> &'static str {
                match self { $(ProblemType::$kind => $slug,)+ }
            }

            /// The HTTP status this kind is answered with, unless an API says otherwise
            /// (a checkout still running is 409 `in-progress`; payment-service's internal
            /// API answers the same kind 503, where 409 already means a payment state).
            pub fn status(self) -> u16 {
                match self { $(ProblemType::$kind => $status,)+ }
            }

            /// What the kind means, for the published table.
            pub fn meaning(self) -> &'static str {
                match self { $(ProblemType::$kind => $meaning,)+ }
            }
        }
    };
}

problem_types! {
    BadParameter = "bad-parameter", 400, "A query or path parameter or a header is invalid; `errors` names it.";
    MalformedJson = "malformed-json", 400, "The body is not JSON.";
    BadBody = "bad-body", 400, "The body could not be read.";
    Unauthorized = "unauthorized", 401, "No token, a bad one or an expired one.";
    PaymentDeclined = "payment-declined", 402, "The card issuer refused the payment (`decline_code`); a checkout's `reference` and `status: FAILED`; nothing charged.";
    Forbidden = "forbidden", 403, "Authenticated, but not allowed.";
    NotFound = "not-found", 404, "Nothing of the caller's by that id or reference.";
    MethodNotAllowed = "method-not-allowed", 405, "The path exists but not with this method (`Allow` lists the ones it takes).";
    Conflict = "conflict", 409, "The resource is in another state (a booking that is not CONFIRMED, an account that exists, a payment already voided).";
    InProgress = "in-progress", 409, "A request with the same idempotency key is still running; retry shortly to see its outcome (payment-service's internal API: 503).";
    SoldOut = "sold-out", 409, "Not enough seats or rooms are left.";
    CartTaken = "cart-taken", 409, "Another checkout holds this cart: `reference` and `status` of its booking.";
    AlreadyInCart = "already-in-cart", 409, "The offer is in the cart already (`item_id`).";
    TooLate = "too-late", 409, "After the first departure or the hotel check-in: nothing cancelled or refunded.";
    CheckoutFailed = "checkout-failed", 409, "The booking failed for another reason; nothing charged.";
    OfferExpired = "offer-expired", 410, "The offer's price guarantee ended, its flight left, its check-in or free-cancellation deadline passed.";
    TooLarge = "too-large", 413, "The body is larger than allowed.";
    UnsupportedMediaType = "unsupported-media-type", 415, "The body is not application/json.";
    Validation = "validation", 422, "Fields are invalid; `errors` names each one.";
    IdempotencyMismatch = "idempotency-mismatch", 422, "The idempotency key was used before with a different request; use a new key for a new request.";
    RateLimited = "rate-limited", 429, "Too many attempts, or too many checkouts under way (`Retry-After`); or a limit that never resets, such as resends of one confirmation (no `Retry-After`).";
    Internal = "internal", 500, "A fault of ours, logged; never an answer to bad input.";
    Unavailable = "unavailable", 503, "A dependency (database, cache, a peer service) failed; `Retry-After`; a checkout's `reference` and `status`.";
    PaymentUnavailable = "payment-unavailable", 503, "payment-service failed and nothing was authorised: the booking (`reference`) is FAILED, nothing charged; check out again.";
    Timeout = "timeout", 503, "The request ran past its deadline; `Retry-After`; a checkout's `reference` and `status`.";
    Other = "error", 400, "Any other refusal without a kind of its own (answered with the refusal's own 4xx status).";
}

impl ProblemType {
    /// `https://ota-travel.example.com/problems/<slug>`.
    pub fn uri(self) -> String {
        format!("{BASE}{}", self.slug())
    }

    /// The kind a problem's `type` names; `None` for a type this contract does not know.
    pub fn from_uri(uri: &str) -> Option<ProblemType> {
        let slug = uri.strip_prefix(BASE)?;
        ProblemType::ALL.iter().copied().find(|k| k.slug() == slug)
    }

    /// The published table, as Markdown (docs/api.md and the OpenAPI document).
    pub fn table() -> String {
        let mut out = String::from("| slug | status | meaning |\n|---|---|---|\n");
        for k in ProblemType::ALL {
            out.push_str(&format!(
                "| `{}` | {} | {} |\n",
                k.slug(),
                k.status(),
                k.meaning()
            ));
        }
        out
    }
}

impl std::fmt::Display for ProblemType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.slug())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn every_kind_has_its_own_slug_and_its_uri_reads_back() {
        let slugs: HashSet<&str> = ProblemType::ALL.iter().map(|k| k.slug()).collect();
        assert_eq!(slugs.len(), ProblemType::ALL.len(), "a slug is shared");
        for k in ProblemType::ALL {
            assert_eq!(ProblemType::from_uri(&k.uri()), Some(*k));
            assert!((400..600).contains(&k.status()), "{k}");
        }
        assert_eq!(
            ProblemType::from_uri("https://example.com/problems/sold-out"),
            None
        );
        assert_eq!(ProblemType::from_uri(&format!("{BASE}no-such-kind")), None);
    }

    #[test]
    fn the_kinds_that_shared_a_generic_slug_have_their_own() {
        assert_eq!(ProblemType::InProgress.slug(), "in-progress");
        assert_eq!(
            ProblemType::IdempotencyMismatch.slug(),
            "idempotency-mismatch"
        );
        assert_eq!(ProblemType::RateLimited.slug(), "rate-limited");
        assert!(ProblemType::table().contains("| `cart-taken` | 409 |"));
    }
}

#[cfg(test)]
mod published {
    use super::ProblemType;

    #[test]
    fn docs_api_md_publishes_the_table_as_it_is() {
        let doc = include_str!("../../../docs/api.md");
        assert!(
            doc.contains(&ProblemType::table()),
            "docs/api.md's problem table differs from the contract's:\n{}",
            ProblemType::table()
        );
    }
}
