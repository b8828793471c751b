//! The payment store on either engine: the SQL is standard enough to be written once.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use ota_platform::db::Db;
use ota_platform::{StoreError, in_write_tx, on_pool};
use uuid::Uuid;

use super::{
    AccountBalance, CUSTOMER_CARD, LedgerEntry, MERCHANT_REVENUE, METHOD_COLUMNS, MethodRow,
    NewPayment, NewRefund, PAYMENT_COLUMNS, Payment, PaymentMethod, PaymentRow, PaymentStore,
    REFUND_COLUMNS, RefundOutcome, RefundRow, Transition,
};
use crate::domain::DeclineCode;

/// The store on either engine: the SQL is standard enough to be written once.
pub struct SqlPaymentStore {
    db: Db,
}

impl SqlPaymentStore {
    pub fn new(db: Db) -> Self {
        Self { db }
    }
}

/// Two entries of equal amount: `debit` is debited, `credit` credited.
macro_rules! post_movement {
    ($tx:expr, $payment:expr, $debit:expr, $credit:expr, $amount:expr, $currency:expr, $now:expr) => {{
        for (account, direction) in [($debit, "debit"), ($credit, "credit")] {
            sqlx::query(
                "INSERT INTO ledger_entries (id, payment_id, account, direction, amount, currency, created_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7)",
            )
            .bind(Uuid::now_v7())
            .bind($payment)
            .bind(account)
            .bind(direction)
            .bind($amount)
            .bind($currency)
            .bind($now)
            .execute(&mut *$tx)
            .await?;
        }
    }};
}

fn select_payment(condition: &str) -> String {
    format!("SELECT {PAYMENT_COLUMNS} FROM payments WHERE {condition}")
}

#[async_trait]
impl PaymentStore for SqlPaymentStore {
    #[tracing::instrument(skip_all)]
    async fn create_method(&self, m: &PaymentMethod) -> Result<PaymentMethod, StoreError> {
        let sql = format!(
            "INSERT INTO payment_methods ({METHOD_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING {METHOD_COLUMNS}"
        );
        let row = on_pool!(&self.db, pool => {
            sqlx::query_as::<_, MethodRow>(sqlx::AssertSqlSafe(sql))
                .bind(m.id)
                .bind(m.user_id)
                .bind(&m.provider_token)
                .bind(m.brand.as_str())
                .bind(&m.last4)
                .bind(m.exp_month)
                .bind(m.exp_year)
                .bind(&m.holder_name)
                .bind(m.created_at)
                .fetch_one(pool)
                .await?
        });
        row.try_into()
    }

    #[tracing::instrument(skip(self))]
    async fn methods_of(&self, user_id: Uuid) -> Result<Vec<PaymentMethod>, StoreError> {
        let sql = format!(
            "SELECT {METHOD_COLUMNS} FROM payment_methods WHERE user_id = $1 ORDER BY created_at DESC, id DESC"
        );
        let rows = on_pool!(&self.db, pool => {
            sqlx::query_as::<_, MethodRow>(sqlx::AssertSqlSafe(sql))
                .bind(user_id)
                .fetch_all(pool)
                .await?
        });
        rows.into_iter().map(TryInto::try_into).collect()
    }

    #[tracing::instrument(skip(self))]
    async fn method(&self, id: Uuid) -> Result<Option<PaymentMethod>, StoreError> {
        let sql = format!("SELECT {METHOD_COLUMNS} FROM payment_methods WHERE id = $1");
        let row = on_pool!(&self.db, pool => {
            sqlx::query_as::<_, MethodRow>(sqlx::AssertSqlSafe(sql))
                .bind(id)
                .fetch_optional(pool)
                .await?
        });
        row.map(TryInto::try_into).transpose()
    }

    #[tracing::instrument(skip_all)]
    async fn insert_payment(&self, p: &NewPayment) -> Result<Payment, StoreError> {
        let sql = format!(
            "INSERT INTO payments ({PAYMENT_COLUMNS})
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 0, 0, $9, $10, $11, $11)
             RETURNING {PAYMENT_COLUMNS}"
        );
        let row = on_pool!(&self.db, pool => {
            sqlx::query_as::<_, PaymentRow>(sqlx::AssertSqlSafe(sql))
                .bind(p.id)
                .bind(&p.idempotency_key)
                .bind(p.user_id)
                .bind(p.payment_method_id)
                .bind(&p.booking_reference)
                .bind(p.status.as_str())
                .bind(&p.currency)
                .bind(p.amount)
                .bind(p.decline_code.map(DeclineCode::as_str))
                .bind(&p.provider_reference)
                .bind(p.created_at)
                .fetch_one(pool)
                .await?
        });
        row.try_into()
    }

    #[tracing::instrument(skip(self))]
    async fn payment(&self, id: Uuid) -> Result<Option<Payment>, StoreError> {
        let sql = select_payment("id = $1");
        let row = on_pool!(&self.db, pool => {
            sqlx::query_as::<_, PaymentRow>(sqlx::AssertSqlSafe(sql))
                .bind(id)
                .fetch_optional(pool)
                .await?
        });
        row.map(TryInto::try_into).transpose()
    }

    #[tracing::instrument(skip(self))]
    async fn payment_by_key(&self, key: &str) -> Result<Option<Payment>, StoreError> {
        let sql = select_payment("idempotency_key = $1");
        let row = on_pool!(&self.db, pool => {
            sqlx::query_as::<_, PaymentRow>(sqlx::AssertSqlSafe(sql))
                .bind(key)
                .fetch_optional(pool)
                .await?
        });
        row.map(TryInto::try_into).transpose()
    }

    #[tracing::instrument(skip(self))]
    async fn payments_for_booking(&self, reference: &str) -> Result<Vec<Payment>, StoreError> {
        let sql = select_payment("booking_reference = $1 ORDER BY created_at, id");
        let rows = on_pool!(&self.db, pool => {
            sqlx::query_as::<_, PaymentRow>(sqlx::AssertSqlSafe(sql))
                .bind(reference)
                .fetch_all(pool)
                .await?
        });
        rows.into_iter().map(TryInto::try_into).collect()
    }

    #[tracing::instrument(skip(self))]
    async fn capture(&self, id: Uuid, now: DateTime<Utc>) -> Result<Transition, StoreError> {
        let update = format!(
            "UPDATE payments SET status = 'captured', captured = amount, updated_at = $2
             WHERE id = $1 AND status = 'authorized' RETURNING {PAYMENT_COLUMNS}"
        );
        let select = select_payment("id = $1");
        let (row, changed) = in_write_tx!(&self.db, tx => {
            let moved = sqlx::query_as::<_, PaymentRow>(sqlx::AssertSqlSafe(update))
                .bind(id)
                .bind(now)
                .fetch_optional(&mut *tx)
                .await?;
            let result = match moved {
                Some(row) => {
                    post_movement!(tx, row.id, CUSTOMER_CARD, MERCHANT_REVENUE, row.amount, &row.currency, now);
                    (row, true)
                }
                None => {
                    let row = sqlx::query_as::<_, PaymentRow>(sqlx::AssertSqlSafe(select))
                        .bind(id)
                        .fetch_optional(&mut *tx)
                        .await?
                        .ok_or(StoreError::NotFound)?;
                    (row, false)
                }
            };
            tx.commit().await?;
            result
        });
        let payment = row.try_into()?;
        Ok(if changed {
            Transition::Changed(payment)
        } else {
            Transition::Unchanged(payment)
        })
    }

    #[tracing::instrument(skip(self))]
    async fn void(&self, id: Uuid, now: DateTime<Utc>) -> Result<Transition, StoreError> {
        let update = format!(
            "UPDATE payments SET status = 'voided', updated_at = $2
             WHERE id = $1 AND status = 'authorized' RETURNING {PAYMENT_COLUMNS}"
        );
        let select = select_payment("id = $1");
        let (row, changed) = on_pool!(&self.db, pool => {
            match sqlx::query_as::<_, PaymentRow>(sqlx::AssertSqlSafe(update))
                .bind(id)
                .bind(now)
                .fetch_optional(pool)
                .await?
            {
                Some(row) => (row, true),
                None => {
                    let row = sqlx::query_as::<_, PaymentRow>(sqlx::AssertSqlSafe(select))
                        .bind(id)
                        .fetch_optional(pool)
                        .await?
                        .ok_or(StoreError::NotFound)?;
                    (row, false)
                }
            }
        });
        let payment = row.try_into()?;
        Ok(if changed {
            Transition::Changed(payment)
        } else {
            Transition::Unchanged(payment)
        })
    }

    #[tracing::instrument(skip_all)]
    async fn refund(&self, r: &NewRefund) -> Result<RefundOutcome, StoreError> {
        let existing = format!(
            "SELECT {REFUND_COLUMNS} FROM refunds WHERE idempotency_key = $1 AND status <> 'failed'"
        );
        // SET expressions read the row as it was before the update, on both engines.
        let update = format!(
            "UPDATE payments SET refunded = refunded + $2,
                 status = CASE WHEN refunded + $2 = captured THEN 'refunded' ELSE 'partially_refunded' END,
                 updated_at = $4
             WHERE id = $1 AND status IN ('captured', 'partially_refunded')
               AND currency = $3 AND refunded + $2 <= captured
             RETURNING {PAYMENT_COLUMNS}"
        );
        let select = select_payment("id = $1");
        let (payment, refund, recorded) = in_write_tx!(&self.db, tx => {
            let before = sqlx::query_as::<_, RefundRow>(sqlx::AssertSqlSafe(existing))
                .bind(&r.idempotency_key)
                .fetch_optional(&mut *tx)
                .await?;
            let moved = match before {
                Some(_) => None,
                None => sqlx::query_as::<_, PaymentRow>(sqlx::AssertSqlSafe(update))
                    .bind(r.payment_id)
                    .bind(r.amount)
                    .bind(&r.currency)
                    .bind(r.created_at)
                    .fetch_optional(&mut *tx)
                    .await?,
            };
            let result = match (before, moved) {
                (_, Some(row)) => {
                    let refund = sqlx::query_as::<_, RefundRow>(sqlx::AssertSqlSafe(format!(
                        "INSERT INTO refunds ({REFUND_COLUMNS}, created_at, updated_at)
                         VALUES ($1, $2, $3, $4, $5, 'pending', $6, $6) RETURNING {REFUND_COLUMNS}"
                    )))
                    .bind(r.id)
                    .bind(r.payment_id)
                    .bind(&r.idempotency_key)
                    .bind(r.amount)
                    .bind(&r.currency)
                    .bind(r.created_at)
                    .fetch_one(&mut *tx)
                    .await?;
                    post_movement!(tx, r.payment_id, MERCHANT_REVENUE, CUSTOMER_CARD, r.amount, &r.currency, r.created_at);
                    (row, Some(refund), true)
                }
                (before, None) => {
                    let row = sqlx::query_as::<_, PaymentRow>(sqlx::AssertSqlSafe(select))
                        .bind(r.payment_id)
                        .fetch_optional(&mut *tx)
                        .await?
                        .ok_or(StoreError::NotFound)?;
                    (row, before, false)
                }
            };
            tx.commit().await?;
            result
        });
        let payment: Payment = payment.try_into()?;
        Ok(match (refund, recorded) {
            (Some(refund), true) => RefundOutcome::Recorded {
                payment,
                refund: refund.try_into()?,
            },
            (Some(refund), false) => RefundOutcome::Existing {
                payment,
                refund: refund.try_into()?,
            },
            (None, _) => RefundOutcome::Refused(payment),
        })
    }

    #[tracing::instrument(skip(self))]
    async fn confirm_refund(&self, refund_id: Uuid, now: DateTime<Utc>) -> Result<(), StoreError> {
        on_pool!(&self.db, pool => {
            sqlx::query("UPDATE refunds SET status = 'succeeded', updated_at = $2 WHERE id = $1 AND status = 'pending'")
                .bind(refund_id)
                .bind(now)
                .execute(pool)
                .await?;
        });
        Ok(())
    }

    #[tracing::instrument(skip(self))]
    async fn fail_refund(
        &self,
        refund_id: Uuid,
        now: DateTime<Utc>,
    ) -> Result<Payment, StoreError> {
        let give_back = format!(
            "UPDATE payments SET refunded = refunded - $2,
                 status = CASE WHEN refunded - $2 = 0 THEN 'captured' ELSE 'partially_refunded' END,
                 updated_at = $3
             WHERE id = $1 RETURNING {PAYMENT_COLUMNS}"
        );
        let select = select_payment("id = (SELECT payment_id FROM refunds WHERE id = $1)");
        let row = in_write_tx!(&self.db, tx => {
            let failed = sqlx::query_as::<_, (Uuid, i64, String)>(
                "UPDATE refunds SET status = 'failed', updated_at = $2
                 WHERE id = $1 AND status = 'pending' RETURNING payment_id, amount, currency",
            )
            .bind(refund_id)
            .bind(now)
            .fetch_optional(&mut *tx)
            .await?;
            let row = match failed {
                Some((payment_id, amount, currency)) => {
                    let row = sqlx::query_as::<_, PaymentRow>(sqlx::AssertSqlSafe(give_back))
                        .bind(payment_id)
                        .bind(amount)
                        .bind(now)
                        .fetch_one(&mut *tx)
                        .await?;
                    // The ledger is append-only: the refund's entries are reversed.
                    post_movement!(tx, payment_id, CUSTOMER_CARD, MERCHANT_REVENUE, amount, &currency, now);
                    row
                }
                None => sqlx::query_as::<_, PaymentRow>(sqlx::AssertSqlSafe(select))
                    .bind(refund_id)
                    .fetch_optional(&mut *tx)
                    .await?
                    .ok_or(StoreError::NotFound)?,
            };
            tx.commit().await?;
            row
        });
        row.try_into()
    }

    #[tracing::instrument(skip(self))]
    async fn ledger(&self, payment_id: Uuid) -> Result<Vec<LedgerEntry>, StoreError> {
        on_pool!(&self.db, pool => {
            sqlx::query_as::<_, LedgerEntry>(
                "SELECT id, payment_id, account, direction, amount, currency, created_at
                 FROM ledger_entries WHERE payment_id = $1 ORDER BY id",
            )
            .bind(payment_id)
            .fetch_all(pool)
            .await
            .map_err(StoreError::from)
        })
    }

    #[tracing::instrument(skip(self))]
    async fn balances(&self) -> Result<Vec<AccountBalance>, StoreError> {
        // CAST keeps the sum a 64-bit integer on PostgreSQL (SUM of bigint is numeric).
        on_pool!(&self.db, pool => {
            sqlx::query_as::<_, AccountBalance>(
                "SELECT account, currency,
                        CAST(SUM(CASE WHEN direction = 'debit' THEN amount ELSE -amount END) AS BIGINT) AS balance
                 FROM ledger_entries GROUP BY account, currency ORDER BY account, currency",
            )
            .fetch_all(pool)
            .await
            .map_err(StoreError::from)
        })
    }
}
