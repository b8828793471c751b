//! The card each checkout form pays with, stored once per form.

use ota_platform::client::PeerError;

/// Cards stored for a checkout form, by the form's idempotency key: every send of one
/// form pays with the same stored card, so its request is the same and booking-service
/// answers it as one checkout. Sends that arrive together wait for the first to store
/// the card. Kept for the life of a form (30 minutes), in this process.
#[derive(Default)]
pub struct FormCards {
    cards: tokio::sync::Mutex<std::collections::HashMap<String, FormCard>>,
}

struct FormCard {
    since: std::time::Instant,
    id: std::sync::Arc<tokio::sync::OnceCell<String>>,
}

const FORM_CARD_TTL: std::time::Duration = std::time::Duration::from_secs(30 * 60);
const FORM_CARDS_MAX: usize = 10_000;

impl FormCards {
    /// The card stored for this form, storing it with `store` on the form's first send.
    pub async fn card_for<F, Fut>(&self, form: &str, store: F) -> Result<String, PeerError>
    where
        F: FnOnce() -> Fut,
        Fut: std::future::Future<Output = Result<String, PeerError>>,
    {
        let cell = {
            let mut cards = self.cards.lock().await;
            if cards.len() >= FORM_CARDS_MAX {
                cards.retain(|_, c| c.since.elapsed() < FORM_CARD_TTL);
                if cards.len() >= FORM_CARDS_MAX {
                    cards.clear();
                }
            }
            cards
                .entry(form.to_owned())
                .or_insert_with(|| FormCard {
                    since: std::time::Instant::now(),
                    id: std::sync::Arc::default(),
                })
                .id
                .clone()
        };
        cell.get_or_try_init(store).await.cloned()
    }
}
