//! The auth store contract, on SQLite and (with OTA_TEST_DATABASE_URL) PostgreSQL.

use chrono::{Duration, Utc};
use ota_auth::domain::Email;
use ota_auth::store::{AuthStore, NewUser, RefreshRecord, Rotation, SqlAuthStore};
use ota_platform::StoreError;
use ota_testkit as testkit;
use uuid::Uuid;

async fn stores() -> Vec<(&'static str, SqlAuthStore)> {
    testkit::databases(ota_auth::SERVICE, &ota_auth::MIGRATIONS)
        .await
        .into_iter()
        .map(|db| (db.engine(), SqlAuthStore::new(db)))
        .collect()
}

fn new_user(email: &str) -> NewUser {
    NewUser {
        id: Uuid::now_v7(),
        email: Email::parse(email).expect("an e-mail address"),
        name: "Ada".to_owned(),
        password_hash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".to_owned(),
    }
}

fn token(user_id: Uuid, family_id: Uuid, n: u8, expires_in: Duration) -> RefreshRecord {
    let now = Utc::now();
    RefreshRecord {
        token_hash: vec![n; 32],
        family_id,
        user_id,
        issued_at: now,
        expires_at: now + expires_in,
    }
}

#[tokio::test]
async fn users_are_created_once_per_email_whatever_its_case() {
    for (engine, store) in stores().await {
        let created = store
            .create_user(&new_user("Ada@Example.com"))
            .await
            .expect(engine);
        assert_eq!(created.email.as_str(), "Ada@Example.com", "{engine}");
        let again = store.create_user(&new_user("ada@example.COM")).await;
        assert!(
            matches!(again, Err(StoreError::Conflict(_))),
            "{engine}: {again:?}"
        );
        let creds = store
            .credentials(&Email::parse("ada@example.com").expect("an e-mail address"))
            .await
            .expect(engine)
            .expect("found");
        assert_eq!(creds.id, created.id, "{engine}");
        assert_eq!(
            store.user(created.id).await.expect(engine),
            Some(created),
            "{engine}"
        );
        assert_eq!(
            store.user(Uuid::now_v7()).await.expect(engine),
            None,
            "{engine}"
        );
    }
}

#[tokio::test]
async fn a_refresh_token_rotates_once_and_reuse_revokes_its_family() {
    for (engine, store) in stores().await {
        let user = store
            .create_user(&new_user("grace@example.com"))
            .await
            .expect(engine);
        let family = Uuid::now_v7();
        let first = token(user.id, family, 1, Duration::days(30));
        store.insert_refresh(&first).await.expect(engine);

        let second = token(Uuid::nil(), Uuid::nil(), 2, Duration::days(30));
        let r = store
            .rotate_refresh(&first.token_hash, &second)
            .await
            .expect(engine);
        assert_eq!(r, Rotation::Rotated { user_id: user.id }, "{engine}");

        // The spent token again: reuse, the family (with the successor) is revoked.
        let third = token(Uuid::nil(), Uuid::nil(), 3, Duration::days(30));
        let r = store
            .rotate_refresh(&first.token_hash, &third)
            .await
            .expect(engine);
        assert_eq!(r, Rotation::Reused { family_id: family }, "{engine}");
        // Its successor was never spent but is revoked with the family.
        let fourth = token(Uuid::nil(), Uuid::nil(), 4, Duration::days(30));
        let r = store
            .rotate_refresh(&second.token_hash, &fourth)
            .await
            .expect(engine);
        assert_eq!(r, Rotation::Invalid, "{engine}");

        assert_eq!(
            store
                .rotate_refresh(
                    &[9; 32],
                    &token(Uuid::nil(), Uuid::nil(), 5, Duration::days(1))
                )
                .await
                .expect(engine),
            Rotation::Invalid,
            "{engine}"
        );
    }
}

#[tokio::test]
async fn expired_and_logged_out_tokens_do_not_rotate() {
    for (engine, store) in stores().await {
        let user = store
            .create_user(&new_user("edsger@example.com"))
            .await
            .expect(engine);
        let expired = token(user.id, Uuid::now_v7(), 1, Duration::seconds(-5));
        store.insert_refresh(&expired).await.expect(engine);
        let next = token(Uuid::nil(), Uuid::nil(), 2, Duration::days(1));
        assert_eq!(
            store
                .rotate_refresh(&expired.token_hash, &next)
                .await
                .expect(engine),
            Rotation::Invalid,
            "{engine}"
        );

        let live = token(user.id, Uuid::now_v7(), 3, Duration::days(1));
        store.insert_refresh(&live).await.expect(engine);
        store
            .revoke_family_of(&live.token_hash, Utc::now())
            .await
            .expect(engine);
        let next = token(Uuid::nil(), Uuid::nil(), 4, Duration::days(1));
        assert_eq!(
            store
                .rotate_refresh(&live.token_hash, &next)
                .await
                .expect(engine),
            Rotation::Invalid,
            "{engine}"
        );
        // Logging out an unknown token is not an error.
        store
            .revoke_family_of(&[7; 32], Utc::now())
            .await
            .expect(engine);
    }
}

#[tokio::test]
async fn concurrent_refreshes_with_one_token_rotate_it_at_most_once() {
    for (engine, store) in stores().await {
        let store = std::sync::Arc::new(store);
        let user = store
            .create_user(&new_user("barbara@example.com"))
            .await
            .expect(engine);
        let first = token(user.id, Uuid::now_v7(), 1, Duration::days(1));
        store.insert_refresh(&first).await.expect(engine);
        let tasks: Vec<_> = (0..8u8)
            .map(|i| {
                let store = store.clone();
                let presented = first.token_hash.clone();
                tokio::spawn(async move {
                    let next = token(Uuid::nil(), Uuid::nil(), 10 + i, Duration::days(1));
                    store.rotate_refresh(&presented, &next).await
                })
            })
            .collect();
        let mut rotated = 0;
        for t in tasks {
            match t.await.expect("task") {
                Ok(Rotation::Rotated { .. }) => rotated += 1,
                Ok(_) => {}
                // SQLite may report a busy database under write contention: that is a
                // refusal, never a second rotation.
                Err(e) => assert!(e.is_retryable(), "{engine}: {e:?}"),
            }
        }
        assert_eq!(rotated, 1, "{engine}");
    }
}
