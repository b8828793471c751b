//! `ota ops …`: operator commands.

mod health_check;
mod jwt;
mod prometheus;

use clap::Subcommand;

pub use health_check::{
    Check, HealthCheckArgs, OutputFormat, Rates, Report, Status, Target, health_check,
};
pub use jwt::{JwtCommand, rotate};

#[derive(Subcommand, Debug)]
pub enum OpsCommand {
    /// JWT key ring operations.
    #[command(subcommand)]
    Jwt(JwtCommand),
    /// The application side of the morning health check: health of every component,
    /// request rate, error rate, p99 latency and database pool use of every service
    /// behind the given management URLs, judged against the runbook's thresholds.
    /// Exit status: 0 all OK, 1 worst is a warning, 2 worst is critical.
    HealthCheck(HealthCheckArgs),
    /// Suppliers: channel managers and hotels that push availability, restrictions and
    /// rates (OpenTravel ARI) to /supplier/v1 for their own hotels.
    #[command(subcommand)]
    Supplier(SupplierCommand),
    /// Notifications that gave up after their retry window (docs/notifications.md).
    #[command(subcommand)]
    Notifications(NotificationsCommand),
}

#[derive(Subcommand, Debug)]
pub enum NotificationsCommand {
    /// List dead deliveries, newest first: event id, type, booking reference, channel,
    /// attempts and the last error.
    Dead(Box<NotificationsArgs>),
    /// Deliver dead notifications again, with a fresh retry window: one event
    /// (`--event evt_…`) or all of them (`--all`). Fix the cause first (the last error of
    /// `ota ops notifications dead`).
    Requeue(Box<RequeueArgs>),
}

#[derive(clap::Args, Debug)]
pub struct NotificationsArgs {
    #[command(flatten)]
    pub settings: crate::Settings,
}

#[derive(clap::Args, Debug)]
pub struct RequeueArgs {
    /// The event to deliver again (`evt_` and 32 hex digits).
    #[arg(long, conflicts_with = "all", required_unless_present = "all")]
    pub event: Option<String>,
    /// Every dead delivery.
    #[arg(long)]
    pub all: bool,
    #[command(flatten)]
    pub settings: crate::Settings,
}

async fn booking_store(
    settings: &crate::Settings,
) -> anyhow::Result<ota_booking::store::SqlBookingStore> {
    // On the embedded default, an operator command reads the server's file: one that is
    // not there means the wrong --data-dir, never an empty database to report on.
    let file = settings.data_dir.join(format!(
        "{}.db",
        ota_platform::db::schema_name(ota_booking::SERVICE)
    ));
    if settings.db.postgres_url().is_none() && !file.exists() {
        anyhow::bail!(
            "no booking-service database at {} (the server's --data-dir / OTA_DATA_DIR, or DATABASE_URL, is needed)",
            file.display()
        );
    }
    let db = crate::service_db(settings, ota_booking::SERVICE, &ota_booking::MIGRATIONS).await?;
    Ok(ota_booking::store::SqlBookingStore::new(db))
}

#[derive(Subcommand, Debug)]
pub enum SupplierCommand {
    /// Create a supplier for some hotels and print its HTTP Basic credential as
    /// NAME:SECRET on a line of its own (the secret is shown once; only its SHA-256 is
    /// kept).
    Create(Box<SupplierCreateArgs>),
}

#[derive(clap::Args, Debug)]
pub struct SupplierCreateArgs {
    /// The supplier's name: its HTTP Basic user name (letters, digits, '-', '_', '.').
    #[arg(long)]
    pub name: String,
    /// The hotels it may change, by code (HotelCode), comma-separated.
    #[arg(
        long,
        value_delimiter = ',',
        required = true,
        value_name = "CODE[,CODE...]"
    )]
    pub hotels: Vec<String>,
    #[command(flatten)]
    pub settings: crate::Settings,
}

/// Runs an operator command; the answer is the process exit code.
pub async fn run(command: OpsCommand) -> anyhow::Result<i32> {
    match command {
        OpsCommand::Notifications(NotificationsCommand::Dead(args)) => {
            let store = booking_store(&args.settings).await?;
            let dead = store.dead_deliveries(1000).await;
            store.db().close().await;
            let dead = dead?;
            for d in &dead {
                println!(
                    "{}\t{}\t{}\t{}\t{} attempts\t{}",
                    ota_booking::outbox::public_id(d.event_id),
                    d.kind,
                    d.reference,
                    d.channel,
                    d.attempts,
                    d.last_error.as_deref().unwrap_or("-")
                );
            }
            eprintln!("{} dead deliveries", dead.len());
            Ok(0)
        }
        OpsCommand::Notifications(NotificationsCommand::Requeue(args)) => {
            let event = match args.event.as_deref() {
                None => None,
                Some(id) => match ota_booking::outbox::parse_public_id(id) {
                    Some(u) => Some(u),
                    None => {
                        eprintln!(
                            "error: --event: {id:?} is not an event id (evt_ and 32 hex digits)"
                        );
                        return Ok(2);
                    }
                },
            };
            let store = booking_store(&args.settings).await?;
            let n = store
                .requeue_dead(event, ota_booking::store::now_ms())
                .await;
            store.db().close().await;
            let n = n?;
            eprintln!(
                "{n} dead deliveries are due again; booking-service delivers them within OTA_OUTBOX_POLL"
            );
            Ok(if n == 0 && event.is_some() { 1 } else { 0 })
        }
        OpsCommand::Jwt(command) => jwt::run(command),
        OpsCommand::HealthCheck(args) => Ok(health_check::run(args).await),
        OpsCommand::Supplier(SupplierCommand::Create(args)) => {
            let store = crate::search_store(&args.settings).await?;
            let created = store.create_supplier(&args.name, &args.hotels).await;
            store.db().close().await;
            match created {
                Ok((secret, hotels)) => {
                    eprintln!(
                        "supplier {} created for {}; keep the credential below, it is not shown again",
                        args.name.trim(),
                        hotels.join(", ")
                    );
                    println!("{}:{secret}", args.name.trim());
                    Ok(0)
                }
                Err(e @ ota_search::store::SupplierError::Store(_)) => Err(e.into()),
                Err(e) => {
                    eprintln!("error: {e}");
                    Ok(2)
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser as _;

    #[tokio::test]
    async fn a_notifications_command_on_a_data_dir_without_the_server_s_database_fails() {
        let dir = ota_testkit::temp_dir().join("nothing-here");
        let cli = crate::Cli::try_parse_from([
            "ota",
            "ops",
            "notifications",
            "dead",
            "--data-dir",
            dir.to_str().expect("a path"),
        ])
        .expect("parsed");
        let crate::Command::Ops(command) = cli.command else {
            panic!("an ops command")
        };
        let error = super::run(command).await.expect_err("refused");
        assert!(
            error.to_string().contains("no booking-service database"),
            "{error}"
        );
        assert!(!dir.join("booking.db").exists(), "nothing created");
    }
}
