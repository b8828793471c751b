//! `ota ops health-check`: the application side of the runbook's morning health check
//! ("Key Metrics to Monitor").
//!
//! For every management URL it reads `/actuator/health` and scrapes
//! `/actuator/prometheus` twice, `--interval` apart, so that request rate, error rate
//! and p99 describe the last few seconds rather than the whole life of the process; then
//! it judges every service behind the URL against the runbook's thresholds. It needs no
//! Prometheus server: the morning check must work when monitoring is what is broken.

mod args;
mod collect;
mod evaluate;
mod report;
#[cfg(test)]
mod tests;

pub use args::{HealthCheckArgs, OutputFormat};
pub use collect::health_check;
pub use report::{Check, Rates, Report, Status, Target};

/// Prints the report and answers the exit code.
pub async fn run(args: HealthCheckArgs) -> i32 {
    let report = health_check(&args.urls, args.interval).await;
    match args.format {
        OutputFormat::Table => print!("{}", report.table()),
        OutputFormat::Json => println!("{:#}", report.json()),
    }
    report.exit_code()
}
