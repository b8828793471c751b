//! The payment provider behind a trait, and the sandbox provider payment-service runs
//! with: it recognises the usual test card numbers and behaves as a real acquirer would
//! for them, without moving any money.

use async_trait::async_trait;
use chrono::Utc;
use ota_platform::db::Db;
use ota_platform::money::Money;
use ota_platform::{StoreError, on_pool};

use crate::domain::{Card, DeclineCode};

/// What the provider answered an authorisation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Authorisation {
    /// The funds are reserved; `reference` names the authorisation at the provider.
    Approved { reference: String },
    /// The issuer refused: a final answer, retrying will not change it.
    Declined(DeclineCode),
}

#[derive(Debug, thiserror::Error)]
pub enum ProviderError {
    /// The provider could not process the request this time: worth a retry later.
    #[error("the payment provider could not process the request")]
    Processing,
    /// The provider does not know this token or authorisation.
    #[error("the payment provider does not know this token")]
    UnknownToken,
    #[error("the sandbox provider's records are unavailable")]
    Store(#[from] StoreError),
}

/// A card acquirer. Card numbers and CVCs go in through `tokenise` and never come back:
/// every later call names the card by the provider's token.
///
/// `idempotency_key` arguments are passed through so a real provider deduplicates our
/// retries of the same operation.
#[async_trait]
pub trait PaymentProvider: Send + Sync + 'static {
    /// Vaults the card and answers the provider's token for it.
    async fn tokenise(&self, card: &Card) -> Result<String, ProviderError>;
    async fn authorise(
        &self,
        token: &str,
        amount: &Money,
        idempotency_key: &str,
    ) -> Result<Authorisation, ProviderError>;
    /// Takes the authorised funds.
    async fn capture(&self, reference: &str, amount: &Money) -> Result<(), ProviderError>;
    /// Releases an authorisation that will never be captured.
    async fn void(&self, reference: &str) -> Result<(), ProviderError>;
    /// Gives captured money back.
    async fn refund(
        &self,
        reference: &str,
        amount: &Money,
        idempotency_key: &str,
    ) -> Result<(), ProviderError>;
}

/// How the sandbox treats a card: decided by its number when it is tokenised.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Behaviour {
    Succeed,
    Decline(DeclineCode),
    /// The provider fails (a timeout, an outage): the caller may retry.
    ProcessingError,
}

impl Behaviour {
    /// The sandbox test numbers of docs/checkout.md; any other valid number succeeds.
    pub fn of_number(digits: &str) -> Self {
        match digits {
            "4000000000000002" => Behaviour::Decline(DeclineCode::CardDeclined),
            "4000000000009995" => Behaviour::Decline(DeclineCode::InsufficientFunds),
            "4000000000000069" => Behaviour::Decline(DeclineCode::ExpiredCard),
            "4000000000000127" => Behaviour::Decline(DeclineCode::IncorrectCvc),
            "4000000000000119" => Behaviour::ProcessingError,
            _ => Behaviour::Succeed,
        }
    }

    fn as_str(self) -> &'static str {
        match self {
            Behaviour::Succeed => "succeed",
            Behaviour::Decline(code) => code.as_str(),
            Behaviour::ProcessingError => "processing_error",
        }
    }

    fn parse(s: &str) -> Option<Self> {
        match s {
            "succeed" => Some(Behaviour::Succeed),
            "processing_error" => Some(Behaviour::ProcessingError),
            other => DeclineCode::parse(other).map(Behaviour::Decline),
        }
    }
}

/// The sandbox acquirer. It records, per token, only the behaviour the card number
/// selected (in its own `sandbox_tokens` table, so tokens outlive a restart and are
/// shared by every replica); the number itself is dropped once classified.
pub struct SandboxProvider {
    db: Db,
}

impl SandboxProvider {
    pub fn new(db: Db) -> Self {
        Self { db }
    }

    async fn behaviour(&self, token: &str) -> Result<Behaviour, ProviderError> {
        let found: Option<(String,)> = on_pool!(&self.db, pool => {
            sqlx::query_as("SELECT behaviour FROM sandbox_tokens WHERE token = $1")
                .bind(token)
                .fetch_optional(pool)
                .await
                .map_err(StoreError::from)?
        });
        found
            .and_then(|(b,)| Behaviour::parse(&b))
            .ok_or(ProviderError::UnknownToken)
    }
}

fn random_id(prefix: &str) -> String {
    let bytes: [u8; 16] = rand::random();
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    format!("{prefix}_{hex}")
}

#[async_trait]
impl PaymentProvider for SandboxProvider {
    #[tracing::instrument(skip_all)]
    async fn tokenise(&self, card: &Card) -> Result<String, ProviderError> {
        let behaviour = Behaviour::of_number(card.number.expose());
        let token = random_id("sbx_tok");
        on_pool!(&self.db, pool => {
            sqlx::query("INSERT INTO sandbox_tokens (token, behaviour, created_at) VALUES ($1, $2, $3)")
                .bind(&token)
                .bind(behaviour.as_str())
                .bind(Utc::now())
                .execute(pool)
                .await
                .map_err(StoreError::from)?;
        });
        Ok(token)
    }

    #[tracing::instrument(skip_all)]
    async fn authorise(
        &self,
        token: &str,
        _amount: &Money,
        _idempotency_key: &str,
    ) -> Result<Authorisation, ProviderError> {
        match self.behaviour(token).await? {
            Behaviour::Succeed => Ok(Authorisation::Approved {
                reference: random_id("sbx_auth"),
            }),
            Behaviour::Decline(code) => Ok(Authorisation::Declined(code)),
            Behaviour::ProcessingError => Err(ProviderError::Processing),
        }
    }

    async fn capture(&self, _reference: &str, _amount: &Money) -> Result<(), ProviderError> {
        Ok(())
    }

    async fn void(&self, _reference: &str) -> Result<(), ProviderError> {
        Ok(())
    }

    async fn refund(
        &self,
        _reference: &str,
        _amount: &Money,
        _idempotency_key: &str,
    ) -> Result<(), ProviderError> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sandbox_numbers_select_their_behaviour() {
        assert_eq!(Behaviour::of_number("4242424242424242"), Behaviour::Succeed);
        assert_eq!(Behaviour::of_number("5555555555554444"), Behaviour::Succeed);
        assert_eq!(Behaviour::of_number("378282246310005"), Behaviour::Succeed);
        assert_eq!(
            Behaviour::of_number("4000000000000002"),
            Behaviour::Decline(DeclineCode::CardDeclined)
        );
        assert_eq!(
            Behaviour::of_number("4000000000009995"),
            Behaviour::Decline(DeclineCode::InsufficientFunds)
        );
        assert_eq!(
            Behaviour::of_number("4000000000000069"),
            Behaviour::Decline(DeclineCode::ExpiredCard)
        );
        assert_eq!(
            Behaviour::of_number("4000000000000127"),
            Behaviour::Decline(DeclineCode::IncorrectCvc)
        );
        assert_eq!(
            Behaviour::of_number("4000000000000119"),
            Behaviour::ProcessingError
        );
        for b in [
            Behaviour::Succeed,
            Behaviour::ProcessingError,
            Behaviour::Decline(DeclineCode::IncorrectCvc),
        ] {
            assert_eq!(Behaviour::parse(b.as_str()), Some(b));
        }
    }
}
