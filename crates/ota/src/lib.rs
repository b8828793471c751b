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
    /// Operator commands.
    #[command(subcommand)]
    Ops(ops::OpsCommand),
}

/// The services `ota serve` can run.
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Service {
    #[value(name = "auth-service")]
    Auth,
}

impl Service {
    pub const ALL: &'static [Service] = &[Service::Auth];

    pub fn name(self) -> &'static str {
        match self {
            Service::Auth => ota_auth::SERVICE,
        }
    }

    async fn build(self, ctx: &Context) -> anyhow::Result<Served> {
        match self {
            Service::Auth => ota_auth::build(ctx).await,
        }
    }

    fn migrations(self) -> &'static ota_platform::db::Migrations {
        match self {
            Service::Auth => &ota_auth::MIGRATIONS,
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

impl Application {
    /// Binds the ports (0 picks free ones), connects storage, builds the services.
    pub async fn build(mut args: ServeArgs) -> anyhow::Result<Self> {
        let api = TcpListener::bind(SocketAddr::new(args.bind, args.port))
            .await
            .with_context(|| format!("binding the API port {}", args.port))?;
        let management = TcpListener::bind(SocketAddr::new(args.bind, args.management_port))
            .await
            .with_context(|| format!("binding the management port {}", args.management_port))?;
        let api_port = api.local_addr()?.port();
        let services: Vec<Service> = match args.service {
            Some(s) => vec![s],
            None => Service::ALL.to_vec(),
        };
        let process = args.service.map_or("ota", Service::name);
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
                s.build(&ctx)
                    .await
                    .with_context(|| format!("starting {}", s.name()))?,
            );
        }
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
        let db = ota_platform::db::Db::open(
            &args.settings.db,
            &args.settings.data_dir,
            s.name(),
            s.migrations(),
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

#[cfg(test)]
mod tests {
    use super::Cli;
    use clap::CommandFactory;

    #[test]
    fn the_command_line_is_well_formed() {
        Cli::command().debug_assert();
    }
}
