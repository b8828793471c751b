//! The command line of `ota ops health-check`.

use std::time::Duration;

use clap::{Args, ValueEnum};

#[derive(Args, Debug, Clone)]
pub struct HealthCheckArgs {
    /// Management base URL to check: the all-in-one server's, or one per service
    /// (repeat the flag, or separate URLs with commas).
    #[arg(
        long = "url",
        value_name = "URL",
        env = "OTA_HEALTH_CHECK_URLS",
        value_delimiter = ',',
        default_value = "http://localhost:8081"
    )]
    pub urls: Vec<String>,
    /// Time between the two metrics scrapes: rates and p99 describe this window.
    #[arg(long, default_value = "5s", value_parser = ota_platform::config::positive_duration)]
    pub interval: Duration,
    /// `table` for people, `json` for scripts; both carry the same checks.
    #[arg(long, value_enum, default_value = "table")]
    pub format: OutputFormat,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum OutputFormat {
    Table,
    Json,
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        args: HealthCheckArgs,
    }

    #[test]
    fn urls_repeat_or_come_comma_separated_and_the_interval_is_a_duration() {
        let cli = Cli::try_parse_from([
            "x",
            "--url",
            "http://auth-service:8081",
            "--url",
            "http://search-service:8081,http://cart-service:8081",
            "--interval",
            "200ms",
            "--format",
            "json",
        ])
        .expect("parses");
        assert_eq!(cli.args.urls.len(), 3);
        assert_eq!(cli.args.interval, Duration::from_millis(200));
        assert_eq!(cli.args.format, OutputFormat::Json);
        assert!(Cli::try_parse_from(["x", "--interval", "soon"]).is_err());
    }
}
