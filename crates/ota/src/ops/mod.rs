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
}

/// Runs an operator command; the answer is the process exit code.
pub async fn run(command: OpsCommand) -> anyhow::Result<i32> {
    match command {
        OpsCommand::Jwt(command) => jwt::run(command),
        OpsCommand::HealthCheck(args) => Ok(health_check::run(args).await),
    }
}
