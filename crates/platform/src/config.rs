//! Settings shared by every service, read from flags or the environment (one source of
//! truth through clap, so `ota --help` documents every variable).

use std::path::PathBuf;
use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};

/// Where the services keep their data.
#[derive(clap::Args, Clone, Debug)]
pub struct DbSettings {
    /// Full PostgreSQL URL (postgres://user:pass@host:5432/otatravel). Takes precedence
    /// over the DB_* variables. Without any database setting, each service keeps an
    /// SQLite file under the data directory.
    #[arg(long = "database-url", env = "DATABASE_URL", hide_env_values = true)]
    pub database_url: Option<SecretString>,
    /// PostgreSQL host (as the runbook sets it on every deployment).
    #[arg(long = "db-host", env = "DB_HOST")]
    pub db_host: Option<String>,
    /// PostgreSQL port.
    #[arg(long = "db-port", env = "DB_PORT", default_value_t = 5432)]
    pub db_port: u16,
    /// PostgreSQL database name.
    #[arg(long = "db-name", env = "DB_NAME", default_value = "otatravel")]
    pub db_name: String,
    /// PostgreSQL user.
    #[arg(long = "db-user", env = "DB_USER", default_value = "ota")]
    pub db_user: String,
    /// PostgreSQL password.
    #[arg(long = "db-password", env = "DB_PASSWORD", hide_env_values = true)]
    pub db_password: Option<SecretString>,
    /// TLS towards PostgreSQL: disable, prefer, require, verify-ca or verify-full.
    #[arg(long = "db-sslmode", env = "DB_SSLMODE", default_value = "prefer")]
    pub db_sslmode: String,
    /// Most connections one service keeps open to the database.
    #[arg(long = "db-pool-max", env = "DB_POOL_MAX", default_value_t = 10)]
    pub pool_max: u32,
    /// How long a request waits for a free connection before it answers 503.
    #[arg(long = "db-acquire-timeout", env = "DB_ACQUIRE_TIMEOUT", default_value = "3s", value_parser = parse_duration)]
    pub acquire_timeout: Duration,
    /// Longest a single SQL statement may run (PostgreSQL statement_timeout).
    #[arg(long = "db-statement-timeout", env = "DB_STATEMENT_TIMEOUT", default_value = "5s", value_parser = parse_duration)]
    pub statement_timeout: Duration,
    /// How long start-up keeps retrying an unreachable database before giving up.
    #[arg(long = "db-startup-timeout", env = "DB_STARTUP_TIMEOUT", default_value = "30s", value_parser = parse_duration)]
    pub startup_timeout: Duration,
}

impl DbSettings {
    /// The PostgreSQL URL to use, if a database is configured at all.
    pub fn postgres_url(&self) -> Option<SecretString> {
        if let Some(url) = &self.database_url {
            return Some(url.clone());
        }
        let host = self.db_host.as_ref()?;
        let password = self
            .db_password
            .as_ref()
            .map(|p| format!(":{}", encode_userinfo(p.expose_secret())))
            .unwrap_or_default();
        Some(SecretString::from(format!(
            "postgres://{}{}@{}:{}/{}?sslmode={}",
            encode_userinfo(&self.db_user),
            password,
            host,
            self.db_port,
            self.db_name,
            self.db_sslmode
        )))
    }
}

fn encode_userinfo(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// The cache: Redis in production, in-process otherwise.
#[derive(clap::Args, Clone, Debug)]
pub struct CacheSettings {
    /// Redis URL (redis://host:6379 or rediss:// for TLS). Without it, an in-process
    /// cache stands in (fine for one process, not shared between replicas).
    #[arg(long = "redis-url", env = "REDIS_URL", hide_env_values = true)]
    pub redis_url: Option<SecretString>,
    /// Longest a cache call may take before it counts as failed.
    #[arg(long = "redis-timeout", env = "REDIS_TIMEOUT", default_value = "500ms", value_parser = parse_duration)]
    pub redis_timeout: Duration,
    /// Prefix of every cache key, so environments can share one Redis safely.
    #[arg(long = "cache-prefix", env = "OTA_CACHE_PREFIX", default_value = "ota")]
    pub cache_prefix: String,
}

/// Token signing keys.
#[derive(clap::Args, Clone, Debug)]
pub struct JwtSettings {
    /// JWT signing secret: the raw secret, or the JSON of the secrets manager entry
    /// `{"secret": "...", "previous": "..." | ["...", ...]}`. Tokens are signed with
    /// `secret`; tokens signed with a `previous` secret stay valid until they expire.
    #[arg(long = "jwt-secret", env = "JWT_SECRET", hide_env_values = true)]
    pub jwt_secret: Option<SecretString>,
    /// A file holding the JWT secret in either form (the mounted `jwt-secrets` secret).
    #[arg(long = "jwt-secret-file", env = "JWT_SECRET_FILE")]
    pub jwt_secret_file: Option<PathBuf>,
}

/// Parses `250ms`, `5s`, `2m`, `1h` or a bare number of seconds (whole numbers; at most
/// about 500 million years, more is refused rather than wrapped).
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    let (number, unit) = match s.find(|c: char| !c.is_ascii_digit()) {
        Some(i) => s.split_at(i),
        None => (s, "s"),
    };
    let n: u64 = number.parse().map_err(|_| {
        if number.is_empty() || unit.starts_with('.') {
            format!("`{s}` is not a duration such as 500ms, 5s, 2m or 1h (whole numbers)")
        } else {
            format!("`{s}` is too long")
        }
    })?;
    let too_long = || format!("`{s}` is too long");
    match unit {
        "ms" => Ok(Duration::from_millis(n)),
        "s" => Ok(Duration::from_secs(n)),
        "m" => n
            .checked_mul(60)
            .map(Duration::from_secs)
            .ok_or_else(too_long),
        "h" => n
            .checked_mul(3600)
            .map(Duration::from_secs)
            .ok_or_else(too_long),
        _ if unit.starts_with('.') => Err(format!(
            "`{s}` is not a duration such as 500ms, 5s, 2m or 1h (whole numbers)"
        )),
        _ => Err(format!("`{s}` has an unknown unit (use ms, s, m or h)")),
    }
}

/// [`parse_duration`] for settings that must not be zero (a period, a timeout, a key's
/// lifetime).
pub fn positive_duration(s: &str) -> Result<Duration, String> {
    let d = parse_duration(s)?;
    if d.is_zero() {
        return Err("must be positive".to_owned());
    }
    Ok(d)
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[test]
    fn durations_refuse_fractions_overflow_and_zero_where_it_must_be_positive() {
        assert_eq!(parse_duration("90s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(parse_duration("15"), Ok(Duration::from_secs(15)));
        assert!(parse_duration("99999999999999999h").is_err_and(|e| e.contains("too long")));
        assert!(parse_duration("99999999999999999999999").is_err_and(|e| e.contains("too long")));
        assert!(parse_duration("1.5s").is_err_and(|e| e.contains("whole numbers")));
        assert!(parse_duration("5d").is_err_and(|e| e.contains("unknown unit")));
        assert_eq!(parse_duration("0s"), Ok(Duration::ZERO));
        assert_eq!(positive_duration("0s"), Err("must be positive".to_owned()));
        assert_eq!(positive_duration("1ms"), Ok(Duration::from_millis(1)));
    }

    #[derive(Parser, Debug)]
    struct Cli {
        #[command(flatten)]
        db: DbSettings,
        #[command(flatten)]
        jwt: JwtSettings,
    }

    #[test]
    fn durations_parse_with_units() {
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(parse_duration("5s"), Ok(Duration::from_secs(5)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(parse_duration("7"), Ok(Duration::from_secs(7)));
        assert!(parse_duration("5 parsecs").is_err());
        assert!(parse_duration("").is_err());
    }

    #[test]
    fn db_host_settings_build_an_escaped_url() {
        let cli = Cli::parse_from([
            "ota",
            "--db-host",
            "db.internal",
            "--db-user",
            "ota",
            "--db-password",
            "p@ss:w/rd",
        ]);
        let url = cli.db.postgres_url().map(|u| u.expose_secret().to_owned());
        assert_eq!(
            url.as_deref(),
            Some("postgres://ota:p%40ss%3Aw%2Frd@db.internal:5432/otatravel?sslmode=prefer")
        );
    }

    #[test]
    fn no_database_settings_mean_the_embedded_default() {
        let cli = Cli::parse_from(["ota"]);
        assert!(cli.db.postgres_url().is_none());
    }

    #[test]
    fn debug_output_never_shows_secrets() {
        let cli = Cli::parse_from([
            "ota",
            "--database-url",
            "postgres://u:hunter2hunter2@h/d",
            "--jwt-secret",
            "topsecretvalue-topsecretvalue-topsecret",
        ]);
        let shown = format!("{cli:?}");
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(!shown.contains("topsecretvalue"), "{shown}");
    }
}
