//! Carts in the cache: one JSON document per traveller under `cart:<user_id>`, with a
//! sliding TTL. Changes are compare-and-set on the whole document, retried, so two
//! concurrent changes to one cart never lose either.

use std::time::Duration;

use ota_platform::cache::{CacheError, ServiceCache};
use uuid::Uuid;

use crate::cart::{Cart, CartError};

/// A cart left alone this long is dropped; every read or change starts it again.
pub const CART_TTL: Duration = Duration::from_secs(30 * 60);
/// Compare-and-set attempts before a change gives up. Only requests on the same cart
/// compete, so even a burst of adds settles in a few rounds.
pub const MAX_ATTEMPTS: u32 = 25;

#[derive(Debug, thiserror::Error)]
pub enum UpdateError {
    #[error(transparent)]
    Refused(#[from] CartError),
    #[error(transparent)]
    Cache(#[from] CacheError),
    /// Other requests kept changing the cart under this one.
    #[error("the cart kept changing under this request")]
    Contended,
}

#[derive(Clone)]
pub struct CartStore {
    cache: ServiceCache,
}

fn key(user_id: Uuid) -> String {
    format!("cart:{user_id}")
}

impl CartStore {
    pub fn new(cache: ServiceCache) -> Self {
        Self { cache }
    }

    /// The stored bytes (the compare-and-set witness) and the cart they hold. A
    /// document we cannot read (written by an incompatible version) counts as an empty
    /// cart: carts are ephemeral by design, and the next change overwrites it.
    async fn load(&self, user_id: Uuid) -> Result<(Option<Vec<u8>>, Cart), CacheError> {
        let raw = self.cache.get_renewing(&key(user_id), CART_TTL).await?;
        let cart = match raw.as_deref().map(serde_json::from_slice::<Cart>) {
            None => Cart::default(),
            Some(Ok(cart)) => cart,
            Some(Err(e)) => {
                tracing::warn!(%user_id, error = %e, "unreadable cart in the cache; treating it as empty");
                Cart::default()
            }
        };
        Ok((raw, cart))
    }

    /// The traveller's cart (empty when there is none), renewing its TTL.
    pub async fn read(&self, user_id: Uuid) -> Result<Cart, CacheError> {
        Ok(self.load(user_id).await?.1)
    }

    /// Applies `change` to the current cart and writes the result only if nobody wrote
    /// in between; otherwise reads again and retries. A refused change writes nothing.
    pub async fn update<T>(
        &self,
        user_id: Uuid,
        mut change: impl FnMut(&mut Cart) -> Result<T, CartError>,
    ) -> Result<(T, Cart), UpdateError> {
        let key = key(user_id);
        for attempt in 0..MAX_ATTEMPTS {
            if attempt > 0 {
                // Jittered so the losers of one round do not collide again in the next.
                let ms = rand::random_range(1..=(2 * u64::from(attempt)).min(20));
                tokio::time::sleep(Duration::from_millis(ms)).await;
            }
            let (witness, mut cart) = self.load(user_id).await?;
            let outcome = change(&mut cart)?;
            // Every written cart has an identity, so every reader names it alike.
            cart.cart_id.get_or_insert_with(Uuid::now_v7);
            let bytes = serde_json::to_vec(&cart).map_err(|e| {
                CacheError::Unavailable(format!("a cart could not be serialised: {e}"))
            })?;
            if self
                .cache
                .compare_and_set(&key, witness.as_deref(), &bytes, CART_TTL)
                .await?
            {
                return Ok((outcome, cart));
            }
            metrics::counter!("cart_write_conflicts_total").increment(1);
        }
        tracing::warn!(%user_id, attempts = MAX_ATTEMPTS, "cart update gave up under contention");
        Err(UpdateError::Contended)
    }

    /// The cart as a checkout takes it: a cart with items always has an id (one written
    /// before carts had ids is given one by compare-and-set, so concurrent checkouts
    /// agree on it).
    pub async fn for_checkout(&self, user_id: Uuid) -> Result<Cart, UpdateError> {
        let cart = self.read(user_id).await?;
        if cart.cart_id.is_some() || cart.items.is_empty() {
            return Ok(cart);
        }
        Ok(self.update(user_id, |_| Ok(())).await?.1)
    }

    /// A booking of cart `cart_id` was confirmed: its items leave the cart and what was
    /// added meanwhile stays, under a new id. A cart that is already another one (cleared,
    /// rebuilt) is left alone.
    pub async fn check_out(
        &self,
        user_id: Uuid,
        cart_id: Uuid,
        offer_ids: &[String],
    ) -> Result<(), UpdateError> {
        let (_, cart) = self
            .update(user_id, |cart| {
                if cart.cart_id == Some(cart_id) {
                    cart.check_out(offer_ids);
                }
                Ok(())
            })
            .await?;
        if cart.items.is_empty() {
            self.clear(user_id).await?;
        }
        Ok(())
    }

    /// Drops the whole cart. No compare-and-set: emptying wins over any concurrent
    /// change, and an add racing it simply lands in the new, empty cart.
    pub async fn clear(&self, user_id: Uuid) -> Result<(), CacheError> {
        self.cache.delete(&key(user_id)).await
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use chrono::Utc;
    use ota_platform::money::Money;
    use ota_testkit as testkit;

    use super::*;
    use crate::cart::{CartItem, OfferKind, ValidOffer};

    fn item(id: &str) -> CartItem {
        CartItem::new(ValidOffer {
            offer_id: id.to_owned(),
            kind: OfferKind::Flight,
            total: Money::new(10_000, "USD"),
            expires_at: Utc::now() + chrono::Duration::minutes(20),
            summary: "JFK → LAX, 2026-12-09, nonstop, 1 adult".to_owned(),
            passengers: Some(ota_platform::passengers::Passengers::adults(1)),
        })
    }

    async fn stores() -> Vec<(&'static str, CartStore)> {
        let prefix = format!("test-{}", Uuid::new_v4().simple());
        testkit::caches()
            .await
            .into_iter()
            .map(|backend| {
                let engine = backend.engine();
                (
                    engine,
                    CartStore::new(ServiceCache::new(&prefix, crate::SERVICE, backend)),
                )
            })
            .collect()
    }

    #[tokio::test]
    async fn concurrent_adds_to_one_cart_all_land() {
        for (engine, store) in stores().await {
            let user = Uuid::now_v7();
            let store = Arc::new(store);
            let adds: Vec<_> = (0..8)
                .map(|i| {
                    let store = store.clone();
                    tokio::spawn(async move {
                        store
                            .update(user, |cart| {
                                cart.add(item(&format!("offer-{i}"))).map(|_| ())
                            })
                            .await
                    })
                })
                .collect();
            for add in adds {
                add.await
                    .expect("task")
                    .unwrap_or_else(|e| panic!("{engine}: {e}"));
            }
            let cart = store.read(user).await.expect("read");
            assert_eq!(cart.items.len(), 8, "{engine}: an add was lost");
        }
    }

    #[tokio::test]
    async fn refused_changes_write_nothing_and_carts_are_per_user() {
        for (engine, store) in stores().await {
            let (alice, bob) = (Uuid::now_v7(), Uuid::now_v7());
            let (added, _) = store
                .update(alice, |cart| cart.add(item("one")).map(|i| i.item_id))
                .await
                .expect("added");
            let refused = store.update(alice, |cart| cart.add(item("one")).map(|_| ()));
            assert!(
                matches!(
                    refused.await,
                    Err(UpdateError::Refused(CartError::AlreadyInCart { .. }))
                ),
                "{engine}"
            );
            assert!(store.read(bob).await.expect("read").items.is_empty());
            let bob_removes = store.update(bob, |cart| cart.remove(added).map(|_| ()));
            assert!(
                matches!(
                    bob_removes.await,
                    Err(UpdateError::Refused(CartError::NotInCart))
                ),
                "{engine}"
            );
            assert_eq!(store.read(alice).await.expect("read").items.len(), 1);
            store.clear(alice).await.expect("cleared");
            assert!(store.read(alice).await.expect("read").items.is_empty());
        }
    }

    #[tokio::test]
    async fn an_unreadable_document_counts_as_an_empty_cart_and_is_replaced() {
        for (engine, store) in stores().await {
            let user = Uuid::now_v7();
            store
                .cache
                .set(&key(user), b"{not json", CART_TTL)
                .await
                .expect("set");
            assert!(store.read(user).await.expect("read").items.is_empty());
            store
                .update(user, |cart| cart.add(item("a")).map(|_| ()))
                .await
                .unwrap_or_else(|e| panic!("{engine}: {e}"));
            assert_eq!(store.read(user).await.expect("read").items.len(), 1);
        }
    }
}
