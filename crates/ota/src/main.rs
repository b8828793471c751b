use clap::Parser;
use ota::{Cli, Command, LogFormat};

/// mimalloc: the search path allocates many small, short-lived strings and vectors per
/// request; glibc's allocator spent about a fifth of a busy search pod's time on them
/// (see docs/benchmarks.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let json = match &cli.command {
        Command::Serve(args) => args.log_format == LogFormat::Json,
        _ => false,
    };
    ota_platform::telemetry::init_logging(json);
    let result = match cli.command {
        Command::Serve(args) => serve(args).await.map(|()| 0),
        Command::Migrate(args) => ota::migrate(args).await.map(|()| 0),
        Command::Seed(args) => ota::seed(args).await.map(|()| 0),
        Command::Catalog(command) => ota::catalog(command).await,
        Command::Ops(command) => ota::ops::run(command).await,
    };
    match result {
        Ok(code) => std::process::ExitCode::from(code as u8),
        Err(e) => {
            tracing::error!(error = %format!("{e:#}"), "ota failed");
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn serve(args: ota::ServeArgs) -> anyhow::Result<()> {
    ota_platform::telemetry::prometheus();
    let app = ota::Application::build(args).await?;
    app.run_until_stopped(ota_platform::server::shutdown_signal())
        .await
}
