//! The cache contract, on the in-process engine and on Redis.

use std::time::Duration;

use ota_platform::cache::ServiceCache;
use ota_testkit as testkit;

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

#[tokio::test]
async fn reads_can_renew_the_ttl() {
    for backend in testkit::caches().await {
        let engine = backend.engine();
        let cache = ServiceCache::new(&prefix(), "cart-service", backend);
        cache
            .set("cart", b"v", Duration::from_millis(300))
            .await
            .expect(engine);
        for _ in 0..3 {
            tokio::time::sleep(Duration::from_millis(150)).await;
            let seen = cache
                .get_renewing("cart", Duration::from_millis(300))
                .await
                .expect(engine);
            assert_eq!(
                seen.as_deref(),
                Some(&b"v"[..]),
                "{engine}: renewed reads keep it alive"
            );
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
        assert_eq!(
            cache
                .get_renewing("cart", Duration::from_millis(300))
                .await
                .expect(engine),
            None,
            "{engine}"
        );
    }
}

#[tokio::test]
async fn compare_and_set_writes_only_over_the_expected_value() {
    for backend in testkit::caches().await {
        let engine = backend.engine();
        let cache = ServiceCache::new(&prefix(), "cart-service", backend);
        let ttl = Duration::from_secs(30);
        assert!(
            cache
                .compare_and_set("k", None, b"one", ttl)
                .await
                .expect(engine),
            "{engine}"
        );
        assert!(
            !cache
                .compare_and_set("k", None, b"two", ttl)
                .await
                .expect(engine),
            "{engine}: not absent any more"
        );
        assert!(
            !cache
                .compare_and_set("k", Some(b"zero"), b"two", ttl)
                .await
                .expect(engine),
            "{engine}"
        );
        assert!(
            cache
                .compare_and_set("k", Some(b"one"), b"two", ttl)
                .await
                .expect(engine),
            "{engine}"
        );
        assert_eq!(
            cache.get("k").await.expect(engine).as_deref(),
            Some(&b"two"[..]),
            "{engine}"
        );
    }
}

#[tokio::test]
async fn concurrent_read_modify_writes_lose_nothing_with_compare_and_set() {
    for backend in testkit::caches().await {
        let engine = backend.engine();
        let cache = ServiceCache::new(&prefix(), "cart-service", backend);
        let tasks: Vec<_> = (0..20u8)
            .map(|i| {
                let cache = cache.clone();
                tokio::spawn(async move {
                    loop {
                        let current = cache.get("list").await.expect("get");
                        let mut next = current.clone().unwrap_or_default();
                        next.push(i);
                        if cache
                            .compare_and_set(
                                "list",
                                current.as_deref(),
                                &next,
                                Duration::from_secs(30),
                            )
                            .await
                            .expect("cas")
                        {
                            return;
                        }
                    }
                })
            })
            .collect();
        for t in tasks {
            t.await.expect("task");
        }
        let mut all = cache.get("list").await.expect(engine).expect("written");
        all.sort_unstable();
        assert_eq!(all, (0..20u8).collect::<Vec<_>>(), "{engine}");
    }
}
