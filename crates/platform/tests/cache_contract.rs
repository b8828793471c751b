//! The cache contract, on the in-process engine and on Redis.

use std::time::Duration;

use ota_platform::cache::ServiceCache;
use ota_platform::testkit;

fn prefix() -> String {
    format!("test-{}", uuid::Uuid::new_v4().simple())
}

#[tokio::test]
async fn values_are_stored_read_and_deleted() {
    for backend in testkit::caches().await {
        let engine = backend.engine();
        let cache = ServiceCache::new(&prefix(), "search-service", backend);
        assert_eq!(cache.get("k").await.expect(engine), None, "{engine}");
        cache
            .set("k", b"value", Duration::from_secs(30))
            .await
            .expect(engine);
        assert_eq!(
            cache.get("k").await.expect(engine).as_deref(),
            Some(&b"value"[..]),
            "{engine}"
        );
        cache.delete("k").await.expect(engine);
        assert_eq!(cache.get("k").await.expect(engine), None, "{engine}");
        cache.backend().ping().await.expect(engine);
    }
}

#[tokio::test]
async fn values_expire_after_their_ttl() {
    for backend in testkit::caches().await {
        let engine = backend.engine();
        let cache = ServiceCache::new(&prefix(), "cart-service", backend);
        cache
            .set("short", b"v", Duration::from_millis(150))
            .await
            .expect(engine);
        cache
            .set("long", b"v", Duration::from_secs(30))
            .await
            .expect(engine);
        tokio::time::sleep(Duration::from_millis(400)).await;
        assert_eq!(cache.get("short").await.expect(engine), None, "{engine}");
        assert!(cache.get("long").await.expect(engine).is_some(), "{engine}");
    }
}

#[tokio::test]
async fn counters_count_within_their_window_and_reset_after() {
    for backend in testkit::caches().await {
        let engine = backend.engine();
        let cache = ServiceCache::new(&prefix(), "auth-service", backend);
        assert_eq!(cache.counter("c").await.expect(engine), None, "{engine}");
        for expected in 1..=3 {
            let c = cache
                .incr("c", Duration::from_millis(400))
                .await
                .expect(engine);
            assert_eq!(c.value, expected, "{engine}");
            assert!(c.resets_in <= Duration::from_millis(400), "{engine}");
        }
        let seen = cache
            .counter("c")
            .await
            .expect(engine)
            .expect("open window");
        assert_eq!(seen.value, 3, "{engine}");
        tokio::time::sleep(Duration::from_millis(600)).await;
        assert_eq!(cache.counter("c").await.expect(engine), None, "{engine}");
        assert_eq!(
            cache
                .incr("c", Duration::from_secs(5))
                .await
                .expect(engine)
                .value,
            1,
            "{engine}"
        );
    }
}

#[tokio::test]
async fn concurrent_increments_are_all_counted() {
    for backend in testkit::caches().await {
        let engine = backend.engine();
        let cache = ServiceCache::new(&prefix(), "auth-service", backend);
        let tasks: Vec<_> = (0..50)
            .map(|_| {
                let cache = cache.clone();
                tokio::spawn(async move { cache.incr("n", Duration::from_secs(30)).await })
            })
            .collect();
        for t in tasks {
            t.await.expect("task").expect(engine);
        }
        assert_eq!(
            cache.counter("n").await.expect(engine).map(|c| c.value),
            Some(50),
            "{engine}"
        );
    }
}

#[tokio::test]
async fn services_do_not_see_each_others_keys() {
    for backend in testkit::caches().await {
        let engine = backend.engine();
        let p = prefix();
        let a = ServiceCache::new(&p, "auth-service", backend.clone());
        let b = ServiceCache::new(&p, "cart-service", backend);
        a.set("same", b"a", Duration::from_secs(30))
            .await
            .expect(engine);
        assert_eq!(b.get("same").await.expect(engine), None, "{engine}");
    }
}
