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
