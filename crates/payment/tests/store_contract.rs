//! The payment store contract, on SQLite and (with OTA_TEST_DATABASE_URL) PostgreSQL.

use std::sync::Arc;

use chrono::Utc;
use ota_payment::domain::{Brand, DeclineCode, PaymentStatus};
use ota_payment::store::{
    CUSTOMER_CARD, MERCHANT_REVENUE, NewPayment, NewRefund, Payment, PaymentMethod, PaymentStore,
    RefundOutcome, RefundStatus, SqlPaymentStore, Transition,
};
use ota_platform::StoreError;
use ota_platform::idempotency::{
    Claim, IdempotencyKey, IdempotencySettings, IdempotencyStore, RequestHash,
};
use ota_testkit as testkit;
use serde_json::json;
use uuid::Uuid;

async fn stores() -> Vec<(&'static str, Arc<SqlPaymentStore>)> {
    testkit::databases(ota_payment::SERVICE, &ota_payment::MIGRATIONS)
        .await
        .into_iter()
        .map(|db| (db.engine(), Arc::new(SqlPaymentStore::new(db))))
        .collect()
}

async fn method(store: &SqlPaymentStore, user_id: Uuid) -> PaymentMethod {
    store
        .create_method(&PaymentMethod {
            id: Uuid::now_v7(),
            user_id,
            provider_token: format!("sbx_tok_{}", Uuid::new_v4().simple()),
            brand: Brand::Visa,
            last4: "4242".to_owned(),
            exp_month: 12,
            exp_year: 2031,
            holder_name: "Ada Lovelace".to_owned(),
            created_at: Utc::now(),
        })
        .await
        .expect("method")
}

fn new_payment(m: &PaymentMethod, amount: i64, reference: &str) -> NewPayment {
    NewPayment {
        id: Uuid::now_v7(),
        idempotency_key: format!("{}:authorize", Uuid::now_v7()),
        user_id: m.user_id,
        payment_method_id: m.id,
        booking_reference: reference.to_owned(),
        currency: "USD".to_owned(),
        amount,
        status: PaymentStatus::Authorized,
        decline_code: None,
        provider_reference: Some("sbx_auth_1".to_owned()),
        created_at: Utc::now(),
    }
}

async fn authorised(store: &SqlPaymentStore, amount: i64) -> Payment {
    let m = method(store, Uuid::now_v7()).await;
    store
        .insert_payment(&new_payment(&m, amount, "ABC234"))
        .await
        .expect("payment")
}

async fn captured(store: &SqlPaymentStore, amount: i64) -> Payment {
    let p = authorised(store, amount).await;
    match store.capture(p.id, Utc::now()).await.expect("capture") {
        Transition::Changed(p) => p,
        other => panic!("not captured: {other:?}"),
    }
}

fn refund_of(p: &Payment, amount: i64, key: &str) -> NewRefund {
    NewRefund {
        id: Uuid::now_v7(),
        payment_id: p.id,
        idempotency_key: key.to_owned(),
        amount,
        currency: p.currency.clone(),
        created_at: Utc::now(),
    }
}

/// Every payment's entries sum to zero and so does every currency over all accounts.
async fn assert_ledger_balances(engine: &str, store: &SqlPaymentStore, payments: &[Uuid]) {
    for id in payments {
        let entries = store.ledger(*id).await.expect(engine);
        assert_eq!(entries.len() % 2, 0, "{engine}: entries come in pairs");
        let sum: i64 = entries.iter().map(|e| e.signed()).sum();
        assert_eq!(sum, 0, "{engine}: payment {id} balances");
    }
    let balances = store.balances().await.expect(engine);
    let total: i64 = balances.iter().map(|b| b.balance).sum();
    assert_eq!(total, 0, "{engine}: {balances:?}");
}

#[tokio::test]
async fn payment_methods_belong_to_their_user() {
    for (engine, store) in stores().await {
        let ada = Uuid::now_v7();
        let first = method(&store, ada).await;
        let second = method(&store, ada).await;
        method(&store, Uuid::now_v7()).await;
        let mine = store.methods_of(ada).await.expect(engine);
        assert_eq!(
            mine.iter().map(|m| m.id).collect::<Vec<_>>(),
            [second.id, first.id],
            "{engine}: newest first, only Ada's"
        );
        assert_eq!(
            store.method(first.id).await.expect(engine),
            Some(first.clone())
        );
        assert_eq!(store.method(Uuid::now_v7()).await.expect(engine), None);
        // A provider token is stored once.
        let mut copy = first.clone();
        copy.id = Uuid::now_v7();
        let again = store.create_method(&copy).await;
        assert!(
            matches!(again, Err(StoreError::Conflict(_))),
            "{engine}: {again:?}"
        );
    }
}

#[tokio::test]
async fn the_internal_apis_idempotency_keys_live_in_the_payment_database() {
    // The key contract itself is ota_platform's suite; this checks the table it runs on.
    for (engine, db) in testkit::databases(ota_payment::SERVICE, &ota_payment::MIGRATIONS)
        .await
        .into_iter()
        .map(|db| (db.engine(), db))
    {
        let keys = IdempotencyStore::new(db, &IdempotencySettings::default());
        let key = IdempotencyKey::parse("b1:authorize").expect("key");
        let hash = RequestHash::from_bytes(&[1; 32]);
        let lease = std::time::Duration::from_secs(30);
        assert_eq!(
            keys.claim("", &key, &hash, lease).await.expect(engine),
            Claim::New
        );
        let answer = json!({"id": "p1", "status": "authorized"});
        keys.complete("", &key, 201, &answer).await.expect(engine);
        assert_eq!(
            keys.claim("", &key, &hash, lease).await.expect(engine),
            Claim::Replay {
                status: 201,
                body: answer
            },
            "{engine}"
        );
    }
}

#[tokio::test]
async fn a_payment_is_recorded_once_per_idempotency_key() {
    for (engine, store) in stores().await {
        let m = method(&store, Uuid::now_v7()).await;
        let first = new_payment(&m, 12_345, "REF234");
        let p = store.insert_payment(&first).await.expect(engine);
        assert_eq!(
            (p.status, p.amount, p.captured, p.refunded),
            (PaymentStatus::Authorized, 12_345, 0, 0)
        );
        let mut again = new_payment(&m, 12_345, "REF234");
        again.idempotency_key = first.idempotency_key.clone();
        let dup = store.insert_payment(&again).await;
        assert!(
            matches!(dup, Err(StoreError::Conflict(_))),
            "{engine}: {dup:?}"
        );
        assert_eq!(
            store
                .payment_by_key(&first.idempotency_key)
                .await
                .expect(engine),
            Some(p.clone())
        );

        let mut declined = new_payment(&m, 500, "REF234");
        declined.status = PaymentStatus::Declined;
        declined.decline_code = Some(DeclineCode::InsufficientFunds);
        declined.provider_reference = None;
        let d = store.insert_payment(&declined).await.expect(engine);
        assert_eq!(d.decline_code, Some(DeclineCode::InsufficientFunds));
        let listed = store.payments_for_booking("REF234").await.expect(engine);
        assert_eq!(
            listed.iter().map(|p| p.id).collect::<Vec<_>>(),
            [p.id, d.id],
            "{engine}"
        );
        assert!(
            store
                .payments_for_booking("NOPE22")
                .await
                .expect(engine)
                .is_empty()
        );
        // A declined payment can be neither captured nor voided.
        assert!(matches!(
            store.capture(d.id, Utc::now()).await.expect(engine),
            Transition::Unchanged(Payment {
                status: PaymentStatus::Declined,
                ..
            })
        ));
        assert!(matches!(
            store.void(d.id, Utc::now()).await.expect(engine),
            Transition::Unchanged(Payment {
                status: PaymentStatus::Declined,
                ..
            })
        ));
        assert!(matches!(
            store.capture(Uuid::now_v7(), Utc::now()).await,
            Err(StoreError::NotFound)
        ));
    }
}

#[tokio::test]
async fn concurrent_captures_capture_once() {
    for (engine, store) in stores().await {
        let p = authorised(&store, 20_000).await;
        let tasks: Vec<_> = (0..8)
            .map(|_| {
                let store = store.clone();
                tokio::spawn(async move { store.capture(p.id, Utc::now()).await })
            })
            .collect();
        let mut changed = 0;
        for t in tasks {
            match t.await.expect("task") {
                Ok(Transition::Changed(_)) => changed += 1,
                Ok(Transition::Unchanged(after)) => {
                    assert_eq!(after.status, PaymentStatus::Captured, "{engine}");
                }
                Err(e) => assert!(e.is_retryable(), "{engine}: {e:?}"),
            }
        }
        assert_eq!(changed, 1, "{engine}");
        let after = store.payment(p.id).await.expect(engine).expect("found");
        assert_eq!(
            (after.status, after.captured),
            (PaymentStatus::Captured, 20_000)
        );
        let entries = store.ledger(p.id).await.expect(engine);
        assert_eq!(entries.len(), 2, "{engine}: one movement only");
        let debit = entries
            .iter()
            .find(|e| e.direction == "debit")
            .expect("debit");
        assert_eq!(
            (debit.account.as_str(), debit.amount),
            (CUSTOMER_CARD, 20_000)
        );
        let credit = entries
            .iter()
            .find(|e| e.direction == "credit")
            .expect("credit");
        assert_eq!(credit.account, MERCHANT_REVENUE);

        // Voiding a captured payment changes nothing.
        assert!(matches!(
            store.void(p.id, Utc::now()).await.expect(engine),
            Transition::Unchanged(Payment {
                status: PaymentStatus::Captured,
                ..
            })
        ));
    }
}

#[tokio::test]
async fn capture_and_void_race_and_exactly_one_wins() {
    for (engine, store) in stores().await {
        for _ in 0..5 {
            let p = authorised(&store, 1_000).await;
            let (a, b) = (store.clone(), store.clone());
            let capture = tokio::spawn(async move { a.capture(p.id, Utc::now()).await });
            let void = tokio::spawn(async move { b.void(p.id, Utc::now()).await });
            let c = capture.await.expect("task");
            let v = void.await.expect("task");
            let after = store.payment(p.id).await.expect(engine).expect("found");
            let wins = [&c, &v]
                .iter()
                .filter(|r| matches!(r, Ok(Transition::Changed(_))))
                .count();
            assert!(wins <= 1, "{engine}: {c:?} {v:?}");
            match after.status {
                PaymentStatus::Captured => {
                    assert_eq!(store.ledger(p.id).await.expect(engine).len(), 2)
                }
                PaymentStatus::Voided => {
                    assert!(store.ledger(p.id).await.expect(engine).is_empty())
                }
                // Both refused as busy (SQLite under contention): nothing happened.
                PaymentStatus::Authorized => assert_eq!(wins, 0, "{engine}"),
                other => panic!("{engine}: {other:?}"),
            }
        }
    }
}

#[tokio::test]
async fn refunds_never_exceed_what_was_captured() {
    for (engine, store) in stores().await {
        // Not captured: nothing to refund.
        let open = authorised(&store, 10_000).await;
        let r = store
            .refund(&refund_of(&open, 100, "open:refund"))
            .await
            .expect(engine);
        assert!(
            matches!(&r, RefundOutcome::Refused(p) if p.status == PaymentStatus::Authorized),
            "{engine}: {r:?}"
        );

        let p = captured(&store, 10_000).await;
        let RefundOutcome::Recorded { payment, refund } = store
            .refund(&refund_of(&p, 4_000, "r1"))
            .await
            .expect(engine)
        else {
            panic!("{engine}: first refund")
        };
        assert_eq!(
            (payment.status, payment.refunded, refund.status),
            (
                PaymentStatus::PartiallyRefunded,
                4_000,
                RefundStatus::Pending
            )
        );
        store
            .confirm_refund(refund.id, Utc::now())
            .await
            .expect(engine);
        // The same key again finds the refund, and moves nothing.
        let again = store
            .refund(&refund_of(&p, 4_000, "r1"))
            .await
            .expect(engine);
        assert!(
            matches!(&again, RefundOutcome::Existing { refund: r, payment } if r.id == refund.id && r.status == RefundStatus::Succeeded && payment.refunded == 4_000),
            "{engine}: {again:?}"
        );
        // More than what is left.
        let too_much = store
            .refund(&refund_of(&p, 6_001, "r2"))
            .await
            .expect(engine);
        assert!(
            matches!(&too_much, RefundOutcome::Refused(p) if p.refunded == 4_000),
            "{engine}: {too_much:?}"
        );
        // Another currency.
        let mut euros = refund_of(&p, 100, "r3");
        euros.currency = "EUR".to_owned();
        assert!(matches!(
            store.refund(&euros).await.expect(engine),
            RefundOutcome::Refused(_)
        ));
        let RefundOutcome::Recorded { payment, .. } = store
            .refund(&refund_of(&p, 6_000, "r4"))
            .await
            .expect(engine)
        else {
            panic!("{engine}: the rest")
        };
        assert_eq!(
            (payment.status, payment.refunded),
            (PaymentStatus::Refunded, 10_000)
        );
        assert!(matches!(
            store.refund(&refund_of(&p, 1, "r5")).await.expect(engine),
            RefundOutcome::Refused(_)
        ));
        assert!(matches!(
            store
                .refund(&refund_of(&authorised(&store, 1).await, 1, "x"))
                .await,
            Ok(RefundOutcome::Refused(_))
        ));
        let missing = NewRefund {
            payment_id: Uuid::now_v7(),
            ..refund_of(&p, 1, "r6")
        };
        assert!(matches!(
            store.refund(&missing).await,
            Err(StoreError::NotFound)
        ));
        assert_ledger_balances(engine, &store, &[p.id, open.id]).await;
    }
}

#[tokio::test]
async fn concurrent_refunds_stay_within_the_captured_amount() {
    for (engine, store) in stores().await {
        let p = captured(&store, 10_000).await;
        let tasks: Vec<_> = (0..8)
            .map(|i| {
                let store = store.clone();
                let refund = refund_of(&p, 3_000, &format!("{}:refund:{i}", p.id));
                tokio::spawn(async move { store.refund(&refund).await })
            })
            .collect();
        let mut recorded = 0;
        for t in tasks {
            match t.await.expect("task") {
                Ok(RefundOutcome::Recorded { .. }) => recorded += 1,
                Ok(RefundOutcome::Refused(_)) => {}
                Ok(other) => panic!("{engine}: {other:?}"),
                Err(e) => assert!(e.is_retryable(), "{engine}: {e:?}"),
            }
        }
        let after = store.payment(p.id).await.expect(engine).expect("found");
        assert!(
            recorded <= 3,
            "{engine}: {recorded} refunds of 3000 in 10000"
        );
        assert_eq!(after.refunded, 3_000 * recorded, "{engine}");
        assert_eq!(
            after.status,
            if recorded == 0 {
                PaymentStatus::Captured
            } else {
                PaymentStatus::PartiallyRefunded
            }
        );
        assert_ledger_balances(engine, &store, &[p.id]).await;
    }
}

#[tokio::test]
async fn a_failed_refund_gives_its_amount_back_and_frees_its_key() {
    for (engine, store) in stores().await {
        let p = captured(&store, 5_000).await;
        let RefundOutcome::Recorded { refund, .. } = store
            .refund(&refund_of(&p, 5_000, "fail-me"))
            .await
            .expect(engine)
        else {
            panic!("{engine}: recorded")
        };
        let after = store
            .fail_refund(refund.id, Utc::now())
            .await
            .expect(engine);
        assert_eq!(
            (after.status, after.refunded),
            (PaymentStatus::Captured, 0),
            "{engine}"
        );
        // Failing twice changes nothing more.
        let again = store
            .fail_refund(refund.id, Utc::now())
            .await
            .expect(engine);
        assert_eq!(again.refunded, 0);
        // The ledger shows the refund and its reversal; the card is still charged.
        let entries = store.ledger(p.id).await.expect(engine);
        assert_eq!(entries.len(), 6, "{engine}");
        let card: i64 = entries
            .iter()
            .filter(|e| e.account == CUSTOMER_CARD)
            .map(|e| e.signed())
            .sum();
        assert_eq!(card, 5_000, "{engine}");
        // The key may be used again.
        assert!(matches!(
            store
                .refund(&refund_of(&p, 5_000, "fail-me"))
                .await
                .expect(engine),
            RefundOutcome::Recorded { .. }
        ));
        assert_ledger_balances(engine, &store, &[p.id]).await;
    }
}

#[tokio::test]
async fn after_many_operations_the_ledger_balances() {
    for (engine, store) in stores().await {
        let mut ids = Vec::new();
        let mut charged = 0;
        for i in 0..12i64 {
            let amount = 1_000 + i * 137;
            let p = authorised(&store, amount).await;
            ids.push(p.id);
            match i % 4 {
                0 => {
                    store.void(p.id, Utc::now()).await.expect(engine);
                }
                1 => {
                    store.capture(p.id, Utc::now()).await.expect(engine);
                    charged += amount;
                }
                2 => {
                    store.capture(p.id, Utc::now()).await.expect(engine);
                    for (n, part) in [amount / 3, amount / 3].into_iter().enumerate() {
                        let refund = refund_of(&p, part, &format!("{}:{n}", p.id));
                        store.refund(&refund).await.expect(engine);
                        charged -= part;
                    }
                    charged += amount;
                }
                _ => {
                    store.capture(p.id, Utc::now()).await.expect(engine);
                    let refund = refund_of(&p, amount, &format!("{}:all", p.id));
                    store.refund(&refund).await.expect(engine);
                }
            }
        }
        assert_ledger_balances(engine, &store, &ids).await;
        let balances = store.balances().await.expect(engine);
        let of = |account: &str| {
            balances
                .iter()
                .find(|b| b.account == account && b.currency == "USD")
                .map_or(0, |b| b.balance)
        };
        assert_eq!(of(CUSTOMER_CARD), charged, "{engine}: {balances:?}");
        assert_eq!(of(MERCHANT_REVENUE), -charged, "{engine}: {balances:?}");
    }
}
