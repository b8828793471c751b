//! A payment's life after its authorisation, written once: what capture, void and refund
//! do from each state, and why they are refused. The handlers carry out what these
//! functions decide (ask the provider, record the change) and answer the outcome.
//!
//! ```text
//! authorized ──capture──▶ captured ──refund──▶ partially_refunded ──refund──▶ refunded
//!      └──────void──────▶ voided                     (refunds never exceed what was captured)
//! declined: nothing moves
//! ```

use ota_contract::money::Money;
use ota_contract::payment::PaymentStatus;

/// A change asked of an authorised payment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transition {
    /// Take the whole authorised amount.
    Capture,
    /// Release the authorisation: nothing is ever taken.
    Void,
}

/// What a transition does to a payment in a given state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// The payment is where the transition starts: ask the provider, then record it.
    Move,
    /// Already where the transition leads (a retry, a concurrent call): answer it as is.
    Done,
    /// Impossible from here; nothing changes.
    Refused(Refusal),
}

/// Why a payment cannot make a change: answered 409 with the payment's `status`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// Voided: nothing can be captured any more.
    Voided,
    /// Declined by the issuer: there is nothing to capture or void.
    Declined,
    /// Captured: it can only be refunded.
    Captured,
    /// Not captured: there is nothing to refund.
    NotCaptured,
    /// More than captured minus refunded; `refundable` is what is left, minor units.
    ExceedsRefundable { refundable: Money },
}

impl Refusal {
    /// What the caller is told (the problem's `detail`).
    pub fn detail(&self, transition: &str) -> String {
        match self {
            Refusal::Voided => "The payment was voided; it cannot be captured.".to_owned(),
            Refusal::Declined => {
                format!("The payment was declined; there is nothing to {transition}.")
            }
            Refusal::Captured => {
                "The payment was captured; refund it instead of voiding it.".to_owned()
            }
            Refusal::NotCaptured => {
                "The payment has not been captured; there is nothing to refund.".to_owned()
            }
            Refusal::ExceedsRefundable { refundable } => {
                format!("The refund exceeds what is left to refund ({refundable}).")
            }
        }
    }
}

impl Transition {
    /// The verb in messages and metrics: `capture`, `void`.
    pub fn as_str(self) -> &'static str {
        match self {
            Transition::Capture => "capture",
            Transition::Void => "void",
        }
    }

    /// The state a successful transition leaves the payment in.
    pub fn target(self) -> PaymentStatus {
        match self {
            Transition::Capture => PaymentStatus::Captured,
            Transition::Void => PaymentStatus::Voided,
        }
    }

    /// What this transition does to a payment in `status`.
    pub fn step(self, status: PaymentStatus) -> Step {
        use PaymentStatus as S;
        match (self, status) {
            (_, S::Authorized) => Step::Move,
            (_, S::Declined) => Step::Refused(Refusal::Declined),
            (Transition::Capture, s) if s.is_captured() => Step::Done,
            (Transition::Capture, _) => Step::Refused(Refusal::Voided),
            (Transition::Void, S::Voided) => Step::Done,
            (Transition::Void, _) => Step::Refused(Refusal::Captured),
        }
    }

    /// The outcome once the provider and the store had their say: the payment as it is
    /// now is either where the transition leads, or refused. A payment still authorised
    /// after its transition was recorded is a fault of ours.
    pub fn outcome(self, status: PaymentStatus) -> Result<(), Option<Refusal>> {
        match self.step(status) {
            Step::Done => Ok(()),
            Step::Refused(r) => Err(Some(r)),
            Step::Move => Err(None),
        }
    }
}

/// Why a refund of `amount` was refused by a payment that captured `captured` and gave
/// back `refunded` so far (minor units of `currency`), or None when it fits.
pub fn refund_refusal(
    status: PaymentStatus,
    captured: i64,
    refunded: i64,
    currency: &str,
    amount: i64,
) -> Option<Refusal> {
    if !status.is_captured() {
        return Some(Refusal::NotCaptured);
    }
    let left = captured - refunded;
    (amount > left).then(|| Refusal::ExceedsRefundable {
        refundable: Money::new(left, currency),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use PaymentStatus as S;

    #[test]
    fn capture_moves_only_an_authorised_payment_and_repeats_as_a_no_op() {
        let t = Transition::Capture;
        assert_eq!(t.step(S::Authorized), Step::Move);
        for s in [S::Captured, S::PartiallyRefunded, S::Refunded] {
            assert_eq!(t.step(s), Step::Done, "{s}");
            assert_eq!(t.outcome(s), Ok(()));
        }
        assert_eq!(t.step(S::Voided), Step::Refused(Refusal::Voided));
        assert_eq!(t.step(S::Declined), Step::Refused(Refusal::Declined));
        assert_eq!(t.outcome(S::Authorized), Err(None));
        assert_eq!(t.target(), S::Captured);
    }

    #[test]
    fn void_moves_only_an_authorised_payment_and_never_a_captured_one() {
        let t = Transition::Void;
        assert_eq!(t.step(S::Authorized), Step::Move);
        assert_eq!(t.step(S::Voided), Step::Done);
        for s in [S::Captured, S::PartiallyRefunded, S::Refunded] {
            assert_eq!(t.step(s), Step::Refused(Refusal::Captured), "{s}");
        }
        assert_eq!(t.step(S::Declined), Step::Refused(Refusal::Declined));
        assert_eq!(t.target(), S::Voided);
    }

    #[test]
    fn every_state_has_an_answer_for_every_transition() {
        for t in [Transition::Capture, Transition::Void] {
            for s in PaymentStatus::ALL {
                let step = t.step(s);
                assert_eq!(step == Step::Move, s == S::Authorized, "{t:?} from {s}");
                if let Step::Refused(r) = step {
                    assert!(!r.detail(t.as_str()).is_empty());
                }
            }
        }
    }

    #[test]
    fn refunds_need_a_capture_and_never_exceed_what_is_left() {
        assert_eq!(
            refund_refusal(S::Authorized, 0, 0, "USD", 1),
            Some(Refusal::NotCaptured)
        );
        assert_eq!(
            refund_refusal(S::Voided, 0, 0, "USD", 1),
            Some(Refusal::NotCaptured)
        );
        assert_eq!(refund_refusal(S::Captured, 1000, 0, "USD", 1000), None);
        assert_eq!(
            refund_refusal(S::PartiallyRefunded, 1000, 400, "USD", 600),
            None
        );
        let r = refund_refusal(S::PartiallyRefunded, 1000, 400, "USD", 601);
        assert_eq!(
            r,
            Some(Refusal::ExceedsRefundable {
                refundable: Money::new(600, "USD")
            })
        );
        assert!(
            r.map(|r| r.detail("refund"))
                .is_some_and(|d| d.contains("6.00 USD"))
        );
        assert_eq!(
            refund_refusal(S::Refunded, 1000, 1000, "USD", 1),
            Some(Refusal::ExceedsRefundable {
                refundable: Money::new(0, "USD")
            })
        );
    }
}
