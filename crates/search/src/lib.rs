//! search-service: the catalog and its inventory, flight and hotel search answered from
//! an in-memory index, signed offers, and the inventory holds booking-service takes.

pub mod airports;
pub mod api;
pub mod ari;
pub mod catalog;
pub mod flights;
pub mod hotel_content;
pub mod hotels;
pub mod import;
pub mod index;
pub mod offers;
pub mod ranges;
pub mod schedule;
pub mod seed;
pub mod seed_files;
pub mod seed_hotels;
pub mod store;

use std::io::IsTerminal;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use chrono::Utc;
use ota_platform::db::Migrations;
use ota_platform::server::{Context, Served};

use crate::index::Index;
use crate::seed::{Blueprint, Size};
use crate::store::SearchStore;

pub const SERVICE: &str = "search-service";

pub static MIGRATIONS: Migrations = ota_platform::service_migrations!();

/// search-service settings.
#[derive(clap::Args, Clone, Debug)]
pub struct SearchSettings {
    /// Catalog seeded by the first start on an empty database (none: start only on a
    /// seeded catalog, see `ota seed`).
    #[arg(long = "auto-seed", env = "OTA_AUTO_SEED", default_value = "demo")]
    pub auto_seed: AutoSeed,
    /// How often the search index reads back inventory changes.
    #[arg(long = "index-refresh", env = "OTA_INDEX_REFRESH", default_value = "2s", value_parser = ota_platform::config::positive_duration)]
    pub index_refresh: Duration,
    /// How long whole search answers stay in the cache (0s: no answer cache, for
    /// measuring the search itself).
    #[arg(long = "answer-cache-ttl", env = "OTA_ANSWER_CACHE_TTL", default_value = "30s", value_parser = ota_platform::config::parse_duration)]
    pub answer_cache_ttl: Duration,
    /// How often expired inventory holds are released.
    #[arg(long = "hold-sweep", env = "OTA_HOLD_SWEEP", default_value = "5s", value_parser = ota_platform::config::positive_duration)]
    pub hold_sweep: Duration,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum AutoSeed {
    None,
    Small,
    Demo,
    Large,
    World,
}

impl AutoSeed {
    fn size(self) -> Option<Size> {
        match self {
            AutoSeed::None => None,
            AutoSeed::Small => Some(Size::Small),
            AutoSeed::Demo => Some(Size::Demo),
            AutoSeed::Large => Some(Size::Large),
            AutoSeed::World => Some(Size::World),
        }
    }
}

/// Seeds a catalog of `size` starting today, with progress on a terminal (and in the log
/// otherwise): airports, carriers and hotels written directly, flights written as an SSIM
/// schedule and a fare file and imported the way an airline's files are. Answers false
/// when a catalog was already there.
pub async fn seed(store: &SearchStore, size: Size) -> anyhow::Result<bool> {
    seed_blueprint(store, &Blueprint::new(size, Utc::now().date_naive())).await
}

/// [`seed`] from a blueprint (tests add routes to one).
pub async fn seed_blueprint(store: &SearchStore, bp: &Blueprint) -> anyhow::Result<bool> {
    let started = Instant::now();
    let size = bp.size;
    let schedule = bp.schedule(Utc::now().date_naive());
    let legs = schedule.legs().count() as u64;
    // Rows: airports, schedule records, hotels, and per room type its allotment and its
    // two plans' weeknight and weekend rates per month.
    let estimate = bp.airports.len() as u64
        + legs
        + bp.hotels.len() as u64
        + bp.room_types.len() as u64 * (1 + 4 * (u64::from(bp.days) / 30 + 1));
    tracing::info!(
        size = size.as_str(),
        airports = bp.airports.len(),
        routes = bp.routes.len(),
        schedule_records = legs,
        hotels = bp.hotels.len(),
        days = bp.days,
        estimated_rows = estimate,
        "seeding the catalog"
    );
    let bar = std::io::stderr().is_terminal().then(|| {
        let bar = indicatif::ProgressBar::new(estimate);
        bar.set_style(
            indicatif::ProgressStyle::with_template(
                "{spinner} seeding {msg:12} [{bar:40}] {percent:>3}% {pos}/{len} rows, {eta} left",
            )
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        bar
    });
    let done = std::sync::atomic::AtomicU64::new(0);
    let last_logged = std::sync::atomic::AtomicU64::new(0);
    let progress = |rows: u64, what: &str| {
        let total = done.fetch_add(rows, std::sync::atomic::Ordering::Relaxed) + rows;
        if let Some(bar) = &bar {
            bar.set_message(what.to_owned());
            bar.set_position(total.min(estimate));
        } else {
            let tenth = total * 10 / estimate.max(1);
            if last_logged.swap(tenth, std::sync::atomic::Ordering::Relaxed) < tenth {
                tracing::info!(
                    percent = (tenth * 10).min(100),
                    rows = total,
                    stage = what,
                    "seeding"
                );
            }
        }
    };
    if !store.write_catalog(bp, &progress).await? {
        if let Some(bar) = bar {
            bar.finish_and_clear();
        }
        return Ok(false);
    }
    seed_hotels(store, bp, &progress).await?;
    let (ssim, fares) = files_of(bp, &schedule)?;
    let files = import::Files {
        source: format!("seed {}", size.as_str()),
        ssim: Some(ssim),
        fares: Some(fares),
        merge: false,
    };
    let report = import::import(store, &files, &mut |_, _| {}, &|rows| {
        progress(rows, "flights")
    })
    .await
    .map_err(|e| {
        anyhow::anyhow!(
            "the seed schedule was refused (a bug): {}",
            e.lines().join("\n")
        )
    })?;
    store.mark_ready().await?;
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    tracing::info!(
        size = size.as_str(),
        rows = done.into_inner(),
        schedule_records = report.legs,
        fares = report.fares.unwrap_or(0),
        seconds = started.elapsed().as_secs_f64(),
        "catalog seeded"
    );
    Ok(true)
}

/// A blueprint's hotels the way suppliers bring them: its hotel file through the hotel
/// file reader and importer, its ARI messages through the ARI reader, their ranges
/// written at once (a new catalog's room types have none yet).
async fn seed_hotels(
    store: &SearchStore,
    bp: &Blueprint,
    progress: &(dyn Fn(u64, &str) + Send + Sync),
) -> anyhow::Result<()> {
    use ota_contract::domain::currency::Currency;
    let text = serde_json::to_string(&seed_hotels::hotel_file(bp))?;
    let codes: std::collections::HashSet<&str> =
        bp.airports.iter().map(|a| a.iata.as_str()).collect();
    let hotels = hotel_content::parse(&text, &|c| codes.contains(c)).map_err(|e| {
        anyhow::anyhow!(
            "the seed hotel file was refused (a bug): {}",
            e.iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("; ")
        )
    })?;
    store.import_hotels(&hotels, progress).await?;
    let hotel_codes = store.all_hotel_codes().await?;
    let currency = Currency::parse(seed::CURRENCY)?;
    let mut changes = Vec::new();
    for (avail, rates) in seed_hotels::ari_messages(bp) {
        for (xml, kind) in [
            (avail, ari::AriKind::Avail),
            (rates, ari::AriKind::RateAmount),
        ] {
            let refused = |e: Vec<ari::AriError>| {
                anyhow::anyhow!("a seed ARI message was refused (a bug): {e:?}")
            };
            let message = ari::parse(&xml, kind, bp.first_day, currency).map_err(refused)?;
            let hotel = hotel_codes
                .get(&message.hotel_code)
                .with_context(|| format!("seed hotel {} was not imported", message.hotel_code))?;
            changes.extend(ari::resolve(&message, hotel).map_err(refused)?);
        }
    }
    store.write_new_ranges(&changes, progress).await?;
    Ok(())
}

/// A seed size's hotel file (JSON), as `ota catalog import --hotels` reads it.
pub fn seed_hotel_file(size: Size) -> anyhow::Result<String> {
    let bp = Blueprint::new(size, Utc::now().date_naive());
    Ok(serde_json::to_string_pretty(&seed_hotels::hotel_file(&bp))?)
}

/// A seed size's flights as an airline sends them: SSIM text and fare CSV, from today.
pub fn seed_files(size: Size) -> anyhow::Result<(String, String)> {
    let today = Utc::now().date_naive();
    let bp = Blueprint::new(size, today);
    files_of(&bp, &bp.schedule(today))
}

fn files_of(
    bp: &Blueprint,
    schedule: &ota_content::ssim::Schedule,
) -> anyhow::Result<(String, String)> {
    let mut ssim = ota_content::ssim::Writer::new(Vec::new());
    ssim.schedule(schedule)?;
    let mut fares = Vec::new();
    ota_content::fares::write(&bp.fares(), &mut fares)?;
    Ok((
        String::from_utf8(ssim.finish()?)?,
        String::from_utf8(fares)?,
    ))
}

/// Makes sure a catalog is there, seeding one if allowed.
async fn ensure_catalog(store: &SearchStore, auto: AutoSeed) -> anyhow::Result<store::CatalogMeta> {
    if store.meta().await?.is_none() {
        let size = auto
            .size()
            .context("the catalog is empty and --auto-seed is none: run `ota seed` or `ota catalog import` first")?;
        seed(store, size).await?;
    }
    // Another replica may be seeding: wait for it (a catalog left half-seeded by a
    // process that died needs `ota seed --force`).
    let mut waited = 0;
    loop {
        let meta = store
            .meta()
            .await?
            .context("the catalog is still empty after seeding")?;
        if meta.state == "ready" {
            return Ok(meta);
        }
        if waited % 20 == 0 {
            tracing::info!(state = %meta.state, "waiting for the catalog being seeded by another process (a seed that died needs `ota seed --force`)");
        }
        waited += 1;
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// Opens the store, seeds an empty catalog, loads the index and starts the background
/// work (index refresh, hold sweeper).
pub async fn build(ctx: &Context, settings: &SearchSettings) -> anyhow::Result<Served> {
    let db = ctx.database(SERVICE, &MIGRATIONS).await?;
    let store = SearchStore::new(db.clone());
    let meta = ensure_catalog(&store, settings.auto_seed).await?;
    let started = Instant::now();
    // Changes committed while the index loads are read back by the first refresh.
    let loaded_from = Utc::now().timestamp_millis();
    let schedule_version = store.schedule_version().await?;
    let loaded = Index::load(&store, meta.first_day, i64::from(meta.days)).await?;
    tracing::info!(
        service = SERVICE,
        airports = loaded.airports.len(),
        schedule_records = loaded.legs.len(),
        hotels = loaded.hotels.len(),
        catalog = %meta.size,
        first_day = %meta.first_day,
        days = meta.days,
        seconds = started.elapsed().as_secs_f64(),
        "search index loaded"
    );
    let index = Arc::new(index::LiveIndex::new(loaded));
    tokio::spawn(refresh_index(
        index.clone(),
        store.clone(),
        settings.index_refresh,
        loaded_from,
        schedule_version,
    ));
    tokio::spawn(sweep_holds(store.clone(), settings.hold_sweep));
    let state = api::SearchState {
        index,
        store,
        cache: ctx.service_cache(SERVICE),
        keys: ctx.keys.clone(),
        answer_ttl: settings.answer_cache_ttl,
    };
    let (router, openapi) = api::router(state).split_for_parts();
    Ok(Served {
        name: SERVICE,
        router,
        db: Some(db),
        openapi,
    })
}

/// Reads back inventory rows changed since the last look (with an overlap, since other
/// replicas' clocks and commits trail a little) and applies them to the index, with the
/// catalog generation that retires answers cached before a capacity, price or stop-sell
/// change. When an import has moved the schedule version, loads the index again and
/// swaps it in whole (searches under way finish on the one they started with).
async fn refresh_index(
    index: Arc<index::LiveIndex>,
    store: SearchStore,
    every: Duration,
    mut since: i64,
    mut version: i64,
) {
    loop {
        tokio::time::sleep(every).await;
        if store.db().is_closed() {
            return;
        }
        let now = Utc::now().timestamp_millis();
        match store.schedule_version().await {
            Ok(v) if v != version => {
                let started = Instant::now();
                let meta = match store.meta().await {
                    Ok(Some(meta)) => meta,
                    Ok(None) => continue,
                    Err(e) => {
                        tracing::warn!(error = %e, "search index reload failed; will retry");
                        continue;
                    }
                };
                match Index::load(&store, meta.first_day, i64::from(meta.days)).await {
                    Ok(fresh) => {
                        tracing::info!(
                            schedule_version = v,
                            schedule_records = fresh.legs.len(),
                            seconds = started.elapsed().as_secs_f64(),
                            "schedules changed: search index reloaded"
                        );
                        metrics::counter!("search_index_reloads_total").increment(1);
                        index.replace(fresh);
                        version = v;
                        since = now;
                    }
                    Err(e) => tracing::warn!(error = %e, "search index reload failed; will retry"),
                }
                continue;
            }
            Ok(_) => {}
            Err(e) => {
                tracing::warn!(error = %e, "search index refresh failed; will retry");
                continue;
            }
        }
        match store.changed_since(since - 5_000).await {
            Ok(changes) => {
                index.get().apply(&changes);
                since = now;
            }
            Err(e) => tracing::warn!(error = %e, "search index refresh failed; will retry"),
        }
    }
}

/// Releases holds past their expiry. Any number of replicas may run it.
async fn sweep_holds(store: SearchStore, every: Duration) {
    loop {
        tokio::time::sleep(every).await;
        if store.db().is_closed() {
            return;
        }
        match store.sweep_expired().await {
            Ok(0) => {}
            Ok(n) => {
                metrics::counter!("inventory_holds_expired_total").increment(n as u64);
                tracing::info!(released = n, "expired inventory holds released");
            }
            Err(e) => tracing::warn!(error = %e, "hold sweep failed; will retry"),
        }
    }
}
