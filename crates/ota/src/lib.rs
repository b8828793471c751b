//! The `ota` command: serve one service or all of them, migrate, operate.

pub mod ops;

use std::net::SocketAddr;

use anyhow::Context as _;
use clap::{Args, Parser, Subcommand, ValueEnum};
use ota_platform::management::BuildInfo;
use ota_platform::server::{Context, Served, Server, Settings};
use tokio::net::TcpListener;

#[derive(Parser, Debug)]
#[command(
    name = "ota",
    version,
    about = "OTA Travel: search flights and hotels, book them, manage bookings.",
    long_about = "OTA Travel: search flights and hotels, book them, manage bookings.\n\n\
        With no configuration, `ota serve` runs every service in one process on its \
        embedded default: SQLite files and a generated JWT secret under ./data, an \
        in-process cache. In production each Kubernetes deployment runs \
        `ota serve <service>` against PostgreSQL (DB_HOST… or DATABASE_URL) and Redis \
        (REDIS_URL). Every flag can also be set from the environment variable shown \
        beside it."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Serve one service, or all of them in one process (the embedded default).
    Serve(ServeArgs),
    /// Apply database migrations (also done at every start-up) and exit.
    Migrate(MigrateArgs),
    /// Seed the catalog (airports, flights, hotels, inventory) relative to today.
    Seed(SeedArgs),
    /// Load content: airline schedules (IATA SSIM) and fares (CSV).
    #[command(subcommand)]
    Catalog(CatalogCommand),
    /// Operator commands.
    #[command(subcommand)]
    Ops(ops::OpsCommand),
}

/// The services `ota serve` can run.
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Service {
    #[value(name = "auth-service")]
    Auth,
    #[value(name = "search-service")]
    Search,
    #[value(name = "cart-service")]
    Cart,
    #[value(name = "booking-service")]
    Booking,
    #[value(name = "payment-service")]
    Payment,
    #[value(name = "frontend")]
    Frontend,
}

impl Service {
    pub const ALL: &'static [Service] = &[
        Service::Auth,
        Service::Search,
        Service::Cart,
        Service::Booking,
        Service::Payment,
        Service::Frontend,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Service::Auth => ota_auth::SERVICE,
            Service::Search => ota_search::SERVICE,
            Service::Cart => ota_cart::SERVICE,
            Service::Booking => ota_booking::SERVICE,
            Service::Payment => ota_payment::SERVICE,
            Service::Frontend => ota_frontend::SERVICE,
        }
    }

    async fn build(self, ctx: &Context, args: &ServeArgs) -> anyhow::Result<Served> {
        match self {
            Service::Auth => ota_auth::build(ctx).await,
            Service::Search => ota_search::build(ctx, &args.search).await,
            Service::Cart => ota_cart::build(ctx).await,
            Service::Booking => ota_booking::build(ctx, &args.booking).await,
            Service::Payment => ota_payment::build(ctx).await,
            Service::Frontend => ota_frontend::build(ctx).await,
        }
    }

    /// The service's migrations; cart-service keeps nothing in a database.
    fn migrations(self) -> Option<&'static ota_platform::db::Migrations> {
        match self {
            Service::Auth => Some(&ota_auth::MIGRATIONS),
            Service::Search => Some(&ota_search::MIGRATIONS),
            Service::Cart => None,
            Service::Booking => Some(&ota_booking::MIGRATIONS),
            Service::Payment => Some(&ota_payment::MIGRATIONS),
            Service::Frontend => None,
        }
    }
}

#[derive(Args, Debug, Clone)]
pub struct ServeArgs {
    /// The service to run; without it, every service in one process, routed on one port
    /// exactly as the ingress routes them.
    #[arg(value_enum)]
    pub service: Option<Service>,
    /// Port of the public API.
    #[arg(long, env = "OTA_PORT", default_value_t = 8080)]
    pub port: u16,
    /// Port of the management server (health, metrics, info).
    #[arg(
        long = "management-port",
        env = "OTA_MANAGEMENT_PORT",
        default_value_t = 8081
    )]
    pub management_port: u16,
    /// Address to listen on.
    #[arg(long, env = "OTA_BIND", default_value = "0.0.0.0")]
    pub bind: std::net::IpAddr,
    /// Log format: json (one object per line) or text.
    #[arg(long = "log-format", env = "OTA_LOG_FORMAT", default_value = "json")]
    pub log_format: LogFormat,
    #[command(flatten)]
    pub settings: Settings,
    #[command(flatten)]
    pub search: ota_search::SearchSettings,
    #[command(flatten)]
    pub booking: ota_booking::BookingSettings,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogFormat {
    Json,
    Text,
}

#[derive(Args, Debug, Clone)]
pub struct MigrateArgs {
    /// Only this service's migrations; without it, every service's.
    #[arg(value_enum)]
    pub service: Option<Service>,
    #[command(flatten)]
    pub settings: Settings,
}

#[derive(Args, Debug, Clone)]
pub struct SeedArgs {
    /// small: fourteen big airports for 30 days (tests); demo: the ~160 busiest airports
    /// for 180 days; large: the 292 busiest and capital airports for 365 days; world:
    /// every shipped airport (over 7,000) for 365 days with over 50,000 hotels (benchmarks).
    #[arg(long, value_enum, default_value = "demo")]
    pub size: ota_search::seed::Size,
    /// Replace an existing catalog, dropping its inventory and holds.
    #[arg(long)]
    pub force: bool,
    /// Only write the size's content as files its senders would send (`schedule.ssim`,
    /// `fares.csv` and `hotels.json` in this directory, for `ota catalog import`); the
    /// database is not touched.
    #[arg(long, value_name = "DIR")]
    pub export: Option<std::path::PathBuf>,
    #[command(flatten)]
    pub settings: Settings,
}

#[derive(Subcommand, Debug)]
pub enum CatalogCommand {
    /// Import an airline schedule (IATA SSIM chapter 7, record types 1-5) and/or a fare
    /// file (CSV, see docs/content.md) in one transaction: each carrier's schedule is
    /// replaced over the file's period of validity (or, with --merge, only the flights
    /// the file has). A file that fails a check is refused whole, naming each line;
    /// dated legs with seats sold whose flight is cancelled, retimed or downsized are
    /// listed with their bookings. Running search pods pick the import up within
    /// OTA_INDEX_REFRESH.
    Import(CatalogImportArgs),
    /// The latest imports, newest first.
    Imports(CatalogImportsArgs),
}

#[derive(Args, Debug, Clone)]
pub struct CatalogImportArgs {
    /// The schedule: an SSIM chapter 7 file (200-byte records; padding and CRLF read).
    #[arg(long, value_name = "FILE")]
    pub ssim: Option<std::path::PathBuf>,
    /// The fares: CSV with header `carrier,origin,destination,cabin,fare,currency,refundable`
    /// (optional further columns in docs/content.md); replaces the fares of each market (carrier, route, cabin) it names.
    #[arg(long, value_name = "FILE")]
    pub fares: Option<std::path::PathBuf>,
    /// Hotel content: a JSON file of hotels with their room types and rate plans (see
    /// docs/content.md), created or updated by code; applied before the other files.
    #[arg(long, value_name = "FILE")]
    pub hotels: Option<std::path::PathBuf>,
    /// Hotel availability, restrictions or rates: an OpenTravel `OTA_HotelAvailNotifRQ`
    /// or `OTA_HotelRateAmountNotifRQ` (as channel managers send to /supplier/v1, see
    /// docs/content.md), for any hotel; repeat for several. Each file is applied whole or
    /// not at all, in the order given.
    #[arg(long, value_name = "FILE")]
    pub ari: Vec<std::path::PathBuf>,
    /// Replace only the flights the schedule has, keeping the carrier's others.
    #[arg(long)]
    pub merge: bool,
    /// Print the report as JSON.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub settings: Settings,
}

#[derive(Args, Debug, Clone)]
pub struct CatalogImportsArgs {
    /// How many.
    #[arg(long, default_value_t = 20)]
    pub limit: i64,
    #[command(flatten)]
    pub settings: Settings,
}

pub fn build_info() -> BuildInfo {
    BuildInfo {
        name: "ota",
        version: env!("CARGO_PKG_VERSION"),
        git_sha: env!("OTA_GIT_SHA"),
        build_time: build_time(),
    }
}

fn build_time() -> &'static str {
    static TIME: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    TIME.get_or_init(|| {
        env!("OTA_BUILD_EPOCH")
            .parse::<i64>()
            .ok()
            .and_then(|s| chrono::DateTime::from_timestamp(s, 0))
            .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
            .unwrap_or_default()
    })
}

/// A bound, ready-to-run OTA server (the whole system or one service).
pub struct Application {
    server: Server,
}

/// The management port's answers during start-up, until the real server takes over.
struct Starting {
    stop: tokio::sync::oneshot::Sender<()>,
    task: tokio::task::JoinHandle<()>,
}

impl Starting {
    async fn stop(self) {
        let _ = self.stop.send(());
        let _ = self.task.await;
    }
}

/// Serves "alive, not ready" on a second handle of the management listener while the
/// services start, so probes and operators get an answer instead of a hung connection;
/// connections arriving at the hand-over wait in the backlog for the real server.
fn answer_while_starting(
    listener: TcpListener,
    process: &'static str,
) -> anyhow::Result<(TcpListener, Starting)> {
    let std = listener.into_std()?;
    let second = std.try_clone()?;
    let (keep, early) = (TcpListener::from_std(std)?, TcpListener::from_std(second)?);
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let router = ota_platform::management::starting_router(process);
    let task = tokio::spawn(async move {
        let serving = axum::serve(early, router).with_graceful_shutdown(async move {
            let _ = stopped.await;
        });
        if let Err(e) = serving.await {
            tracing::warn!(error = %e, "the start-up management answers stopped");
        }
    });
    Ok((keep, Starting { stop, task }))
}

impl Application {
    /// Binds the ports (0 picks free ones), connects storage, builds the services.
    pub async fn build(mut args: ServeArgs) -> anyhow::Result<Self> {
        let api = TcpListener::bind(SocketAddr::new(args.bind, args.port))
            .await
            .with_context(|| format!("binding the API port {}", args.port))?;
        let management = TcpListener::bind(SocketAddr::new(args.bind, args.management_port))
            .await
            .with_context(|| format!("binding the management port {}", args.management_port))?;
        let process = args.service.map_or("ota", Service::name);
        let (management, starting) = answer_while_starting(management, process)?;
        let api_port = api.local_addr()?.port();
        let services: Vec<Service> = match args.service {
            Some(s) => vec![s],
            None => Service::ALL.to_vec(),
        };
        if args.service.is_none() {
            // All-in-one: peers are this very process.
            let own = format!("http://127.0.0.1:{api_port}");
            let peers = &mut args.settings.peers;
            for url in [
                &mut peers.auth,
                &mut peers.search,
                &mut peers.cart,
                &mut peers.booking,
                &mut peers.payment,
            ] {
                url.get_or_insert_with(|| own.clone());
            }
        }
        let embedded = args.settings.db.postgres_url().is_none();
        let args_for_services = args.clone();
        let ctx = Context::connect(args.settings).await?;
        tracing::info!(
            service = process,
            database = if embedded { "sqlite" } else { "postgres" },
            cache = ctx.cache.engine(),
            data_dir = %ctx.settings.data_dir.display(),
            "starting"
        );
        let mut served = Vec::new();
        for s in services {
            served.push(
                s.build(&ctx, &args_for_services)
                    .await
                    .with_context(|| format!("starting {}", s.name()))?,
            );
        }
        starting.stop().await;
        let server = Server::new(process, served, &ctx, api, management, build_info())?;
        Ok(Self { server })
    }

    pub fn api_addr(&self) -> SocketAddr {
        self.server.api_addr
    }

    pub fn management_addr(&self) -> SocketAddr {
        self.server.management_addr
    }

    pub async fn run_until_stopped(
        self,
        shutdown: impl std::future::Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        self.server.run_until_stopped(shutdown).await
    }
}

/// `ota migrate`: applies every selected service's migrations.
pub async fn migrate(args: MigrateArgs) -> anyhow::Result<()> {
    let services: Vec<Service> = match args.service {
        Some(s) => vec![s],
        None => Service::ALL.to_vec(),
    };
    for s in services {
        let Some(migrations) = s.migrations() else {
            continue;
        };
        let db = ota_platform::db::Db::open(
            &args.settings.db,
            &args.settings.data_dir,
            s.name(),
            migrations,
        )
        .await
        .with_context(|| format!("migrating {}", s.name()))?;
        tracing::info!(
            service = s.name(),
            engine = db.engine(),
            "migrations applied"
        );
        eprintln!("{}: migrations applied ({})", s.name(), db.engine());
        db.close().await;
    }
    Ok(())
}

/// `ota seed`: seeds the catalog, or replaces it with `--force`.
pub async fn seed(args: SeedArgs) -> anyhow::Result<()> {
    if let Some(dir) = &args.export {
        let (ssim, fares) = ota_search::seed_files(args.size)?;
        let hotels = ota_search::seed_hotel_file(args.size)?;
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        for (name, text) in [
            ("schedule.ssim", ssim),
            ("fares.csv", fares),
            ("hotels.json", hotels),
        ] {
            let path = dir.join(name);
            std::fs::write(&path, text).with_context(|| format!("writing {}", path.display()))?;
            eprintln!("wrote {}", path.display());
        }
        return Ok(());
    }
    let db = ota_platform::db::Db::open(
        &args.settings.db,
        &args.settings.data_dir,
        ota_search::SERVICE,
        &ota_search::MIGRATIONS,
    )
    .await
    .context("opening the search-service database")?;
    let store = ota_search::store::SearchStore::new(db.clone());
    if let Some(meta) = store.meta().await? {
        anyhow::ensure!(
            args.force,
            "a {} catalog from {} is already there; `ota seed --force` replaces it (its inventory and holds go with it)",
            meta.size,
            meta.first_day
        );
        store.clear().await?;
        eprintln!("existing catalog removed");
    }
    ota_search::seed(&store, args.size).await?;
    eprintln!("{} catalog seeded", args.size.as_str());
    db.close().await;
    Ok(())
}

async fn search_store(settings: &Settings) -> anyhow::Result<ota_search::store::SearchStore> {
    let db = service_db(settings, ota_search::SERVICE, &ota_search::MIGRATIONS).await?;
    Ok(ota_search::store::SearchStore::new(db))
}

/// A service's database for a command line tool, migrated as `ota serve` would.
async fn service_db(
    settings: &Settings,
    service: &str,
    migrations: &ota_platform::db::Migrations,
) -> anyhow::Result<ota_platform::db::Db> {
    ota_platform::db::Db::open(&settings.db, &settings.data_dir, service, migrations)
        .await
        .with_context(|| format!("opening the {service} database"))
}

/// `ota catalog …`.
pub async fn catalog(command: CatalogCommand) -> anyhow::Result<i32> {
    match command {
        CatalogCommand::Import(args) => catalog_import(args).await,
        CatalogCommand::Imports(args) => {
            let store = search_store(&args.settings).await?;
            for i in store.imports(args.limit).await? {
                println!(
                    "{:>5}  {}  {:7}  {:>8} legs  {:>7} fares  {}  ({})",
                    i.id,
                    i.created_at
                        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                    i.status,
                    i.legs,
                    i.fares,
                    i.carriers,
                    i.source
                );
            }
            store.db().close().await;
            Ok(0)
        }
    }
}

/// A content file as text; `None` (said on stderr, or as JSON with `--json`) when it is
/// not UTF-8: a refused file.
fn content_text(path: &std::path::Path, json: bool) -> anyhow::Result<Option<String>> {
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    match String::from_utf8(bytes) {
        Ok(text) => Ok(Some(text)),
        Err(_) => {
            refused(path, json, &["the file is not UTF-8 text".to_owned()]);
            Ok(None)
        }
    }
}

/// Says a file was refused whole: its problems on stderr, or as JSON on stdout.
fn refused(path: &std::path::Path, json: bool, problems: &[String]) {
    if json {
        println!(
            "{}",
            serde_json::json!({"file": path.display().to_string(), "imported": false, "errors": problems})
        );
    } else {
        eprintln!("{}: nothing was imported:", path.display());
        for p in problems {
            eprintln!("  {p}");
        }
    }
}

/// Imports a hotel file whole, or lists its problems by JSON path (exit status 2).
async fn hotels_import(args: &CatalogImportArgs, path: &std::path::Path) -> anyhow::Result<i32> {
    let Some(text) = content_text(path, args.json)? else {
        return Ok(2);
    };
    let store = search_store(&args.settings).await?;
    let airports: std::collections::HashSet<String> = store
        .airports()
        .await?
        .into_iter()
        .map(|a| a.iata)
        .collect();
    let hotels = match ota_search::hotel_content::parse(&text, &|code| airports.contains(code)) {
        Ok(h) => h,
        Err(errors) => {
            store.db().close().await;
            let problems: Vec<String> = errors.iter().map(ToString::to_string).collect();
            refused(path, args.json, &problems);
            return Ok(2);
        }
    };
    let result = store.import_hotels(&hotels, &|_, _| {}).await;
    store.db().close().await;
    match result {
        Ok(r) if args.json => {
            println!(
                "{}",
                serde_json::json!({"file": path.display().to_string(), "imported": true, "report": r})
            );
            Ok(0)
        }
        Ok(r) => {
            println!(
                "{}: {} hotels created, {} updated; {} room types and {} rate plans created",
                path.display(),
                r.hotels_created,
                r.hotels_updated,
                r.room_types_created,
                r.rate_plans_created
            );
            Ok(0)
        }
        Err(ota_platform::StoreError::NotFound) => {
            refused(
                path,
                args.json,
                &["no catalog yet: seed one (`ota seed`) or import airports first".to_owned()],
            );
            Ok(2)
        }
        Err(e) => Err(e.into()),
    }
}

/// Applies ARI message files in order, each whole or not at all; stops at the first
/// refused (exit status 2), naming its problems (the files before it stay applied).
async fn ari_import(args: &CatalogImportArgs) -> anyhow::Result<i32> {
    use ota_search::ari::{self, Refusal};
    let store = search_store(&args.settings).await?;
    let mut status = 0;
    for path in &args.ari {
        let Some(xml) = content_text(path, args.json)? else {
            status = 2;
            break;
        };
        let Some(kind) = ari::kind_of(&xml) else {
            refused(
                path,
                args.json,
                &["not an OTA_HotelAvailNotifRQ or OTA_HotelRateAmountNotifRQ".to_owned()],
            );
            status = 2;
            break;
        };
        match ari::apply(&store, None, &xml, kind, chrono::Utc::now()).await {
            Ok((message, applied)) if args.json => println!(
                "{}",
                serde_json::json!({"file": path.display().to_string(), "imported": true, "hotel": message.hotel_code, "instructions": applied})
            ),
            Ok((message, applied)) => println!(
                "{}: hotel {}: {applied} instructions applied",
                path.display(),
                message.hotel_code
            ),
            Err((_, Refusal::Unavailable(e))) => {
                store.db().close().await;
                return Err(anyhow::Error::new(e).context(format!("applying {}", path.display())));
            }
            Err((_, Refusal::Invalid(errors))) => {
                let problems: Vec<String> = errors
                    .iter()
                    .map(|e| {
                        if e.at.is_empty() {
                            e.message.clone()
                        } else {
                            format!("{}: {}", e.at, e.message)
                        }
                    })
                    .collect();
                refused(path, args.json, &problems);
                status = 2;
                break;
            }
            Err((_, Refusal::NotYours(e))) => {
                refused(path, args.json, &[e.message]);
                status = 2;
                break;
            }
        }
    }
    store.db().close().await;
    if status != 0 && !args.json {
        eprintln!(
            "stopped: that file and the ones after it changed nothing (the files before it were applied)"
        );
    }
    Ok(status)
}

async fn catalog_import(args: CatalogImportArgs) -> anyhow::Result<i32> {
    use std::io::IsTerminal as _;
    let read = |path: &Option<std::path::PathBuf>| -> anyhow::Result<Option<String>> {
        path.as_ref()
            .map(|p| std::fs::read_to_string(p).with_context(|| format!("reading {}", p.display())))
            .transpose()
    };
    let files = ota_search::import::Files {
        source: [&args.ssim, &args.fares]
            .into_iter()
            .flatten()
            .map(|p| p.display().to_string())
            .collect::<Vec<_>>()
            .join(" + "),
        ssim: read(&args.ssim)?,
        fares: read(&args.fares)?,
        merge: args.merge,
    };
    anyhow::ensure!(
        files.ssim.is_some()
            || files.fares.is_some()
            || !args.ari.is_empty()
            || args.hotels.is_some(),
        "give --hotels FILE, --ssim FILE, --fares FILE, --ari FILE or several"
    );
    if let Some(path) = &args.hotels {
        let status = hotels_import(&args, path).await?;
        if status != 0 {
            return Ok(status);
        }
    }
    if files.ssim.is_none() && files.fares.is_none() {
        return if args.ari.is_empty() {
            Ok(0)
        } else {
            ari_import(&args).await
        };
    }
    let store = search_store(&args.settings).await?;
    let bar = std::io::stderr().is_terminal().then(|| {
        let bar = indicatif::ProgressBar::new(0);
        bar.set_style(
            indicatif::ProgressStyle::with_template(
                "{msg:8} [{bar:40}] {percent:>3}% {pos}/{len}, {eta} left",
            )
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        bar
    });
    let mut on_read = |done: usize, total: usize| {
        if let Some(bar) = &bar {
            bar.set_message("reading");
            bar.set_length(total as u64);
            bar.set_position(done as u64);
        }
    };
    // Reading counts bytes; writing counts the schedule's records (a record a line).
    let records = files
        .ssim
        .as_deref()
        .map_or(0, |t| t.lines().filter(|l| l.starts_with('3')).count());
    let writing = std::sync::atomic::AtomicBool::new(false);
    let on_write = |n: u64| {
        if let Some(bar) = &bar {
            if !writing.swap(true, std::sync::atomic::Ordering::Relaxed) {
                bar.set_message("writing");
                bar.set_length(records as u64);
                bar.set_position(0);
            }
            bar.inc(n);
        }
    };
    let result = ota_search::import::import(&store, &files, &mut on_read, &on_write).await;
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    store.db().close().await;
    match result {
        Ok(report) => {
            if args.json {
                println!("{}", serde_json::to_string_pretty(&report)?);
            } else {
                println!(
                    "import {}: {} schedule records for {} (replacing {}), {}",
                    report.import_id,
                    report.legs,
                    if report.carriers.is_empty() {
                        "no carrier".to_owned()
                    } else {
                        report.carriers.join(", ")
                    },
                    report.replaced_legs,
                    match report.fares {
                        Some(n) => format!("{n} fares"),
                        None => "fares unchanged".to_owned(),
                    }
                );
                if report.affected.is_empty() {
                    println!("no sold or held seats are affected");
                }
                for a in &report.affected {
                    println!(
                        "affected: {} {} from {}: {:?}, {} sold, {} held, bookings {}",
                        a.flight,
                        a.flight_date,
                        a.origin,
                        a.change,
                        a.sold,
                        a.held,
                        a.bookings
                            .iter()
                            .map(ToString::to_string)
                            .collect::<Vec<_>>()
                            .join(" ")
                    );
                }
            }
            if args.ari.is_empty() {
                Ok(0)
            } else {
                ari_import(&args).await
            }
        }
        Err(ota_search::import::ImportError::Store(e)) => Err(e.into()),
        Err(e) => {
            if args.json {
                println!(
                    "{}",
                    serde_json::json!({ "imported": false, "errors": e.lines() })
                );
            }
            eprintln!("nothing was imported:");
            for line in e.lines() {
                eprintln!("  {line}");
            }
            Ok(1)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Cli;
    use clap::CommandFactory;

    #[test]
    fn the_command_line_is_well_formed() {
        Cli::command().debug_assert();
    }

    #[test]
    fn booking_recovery_timings_are_serve_settings() {
        use clap::Parser;
        use std::time::Duration;
        let serve = |extra: &[&str]| {
            let argv = ["ota", "serve"].iter().chain(extra).copied();
            Cli::try_parse_from(argv).map(|cli| match cli.command {
                super::Command::Serve(args) => args.booking.recovery,
                other => panic!("not serve: {other:?}"),
            })
        };
        let timing = serve(&["--booking-recovery", "1s", "--booking-stuck-after", "10s"])
            .expect("valid timings");
        assert_eq!(timing.period, Duration::from_secs(1));
        assert_eq!(timing.stuck_after, Duration::from_secs(10));
        assert!(serve(&["--booking-stuck-after", "0s"]).is_err());
        assert!(serve(&["--booking-recovery", "soon"]).is_err());
    }
}
