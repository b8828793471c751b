//! `/internal/v1/ledger/balances`: the double-entry ledger, per account and in total.

use std::collections::BTreeMap;

use axum::extract::State;
use ota_contract::money::Money;
use ota_contract::payment::{AccountBalanceView, LedgerBalances};
use ota_platform::Problem;
use ota_platform::tokens::ServiceCaller;

use super::PaymentState;

/// The ledger's balances, per account and in total (operators and reconciliation).
/// Amounts are minor units; every currency's total is zero while the ledger balances.
#[utoipa::path(get, path = "/internal/v1/ledger/balances", tag = "internal",
    responses(
        (status = 200, body = LedgerBalances, description = "Every ledger account's balance and each currency's total, in minor units; every total is 0 while the ledger balances"),
        (status = 401, body = Problem, description = "No service token, a bad one or an expired one (problem `unauthorized`)"),
        (status = 403, body = Problem, description = "A traveller's token: internal APIs take service tokens only (problem `forbidden`)")),
    security(("service_token" = [])))]
pub(super) async fn ledger_balances(
    State(state): State<PaymentState>,
    _caller: ServiceCaller,
) -> Result<axum::Json<LedgerBalances>, Problem> {
    let balances = state.store.balances().await?;
    let mut totals: BTreeMap<String, i64> = BTreeMap::new();
    for b in &balances {
        *totals.entry(b.currency.clone()).or_default() += b.balance;
    }
    if totals.values().any(|t| *t != 0) {
        tracing::error!(?totals, "the ledger does not balance");
    }
    Ok(axum::Json(LedgerBalances {
        accounts: balances
            .into_iter()
            .map(|b| AccountBalanceView {
                balance: Money::new(b.balance, &b.currency),
                account: b.account,
            })
            .collect(),
        totals: totals
            .into_iter()
            .map(|(currency, amount)| Money::new(amount, &currency))
            .collect(),
    }))
}
