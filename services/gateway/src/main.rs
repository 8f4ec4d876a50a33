//! `gateway`: the public listener of a distributed Myelin, forwarding over HTTP to service replicas.

use clap::Parser;
use myelin_common::settings::{CommonArgs, load_or_dump};
use myelin_gateway::{App, Deps, Settings};

/// Myelin's gateway: the only public listener.
#[derive(Debug, Parser)]
#[command(name = "gateway", version)]
struct Cli {
    #[command(flatten)]
    common: CommonArgs,
}

/// mimalloc: large answers (metric histories) are allocated and freed per request; the system
/// allocator serves them with fresh pages each time.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    myelin_common::install_crypto_provider();
    let cli = Cli::parse();
    let Some(settings) = load_or_dump::<Settings>("gateway", &cli.common)? else {
        return Ok(());
    };
    let _telemetry = myelin_common::telemetry::init("gateway", &settings.telemetry)?;
    let deps = Deps::connect(&settings).await?;
    let app = App::build(settings, deps).await?;
    app.run_until_stopped(myelin_common::shutdown::signal()).await
}
