//! The `tracker` binary: settings → telemetry → PostgreSQL + RabbitMQ → `App` → serve until a signal.

use std::sync::Arc;

use anyhow::Context;
use clap::Parser;
use myelin_common::bus::amqp::AmqpBus;
use myelin_common::settings::{CommonArgs, load_or_dump};
use myelin_tracker::config::SERVICE;
use myelin_tracker::{App, Deps, Settings};
use secrecy::ExposeSecret;

/// Myelin tracker: projects, runs and their statuses.
#[derive(Debug, Parser)]
#[command(name = "tracker", version)]
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
    let Some(settings) = load_or_dump::<Settings>(SERVICE, &cli.common)? else {
        return Ok(());
    };
    let _telemetry = myelin_common::telemetry::init(SERVICE, &settings.telemetry)?;
    let db = myelin_common::db::connect(settings.database_url.expose_secret(), &settings.db).await?;
    let bus = AmqpBus::connect(settings.amqp_url.expose_secret(), settings.amqp.clone())
        .await
        .context("cannot connect to RabbitMQ")?;
    let app = App::build(settings, Deps { db, bus: Arc::new(bus) })
        .await
        .context("cannot start the tracker")?;
    app.run_until_stopped(myelin_common::shutdown::signal()).await
}
