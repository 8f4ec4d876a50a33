//! The `logs` binary: settings → telemetry → RabbitMQ + Redis + blob store → `App` → serve until a signal.

use std::sync::Arc;

use anyhow::Context;
use clap::Parser;
use myelin_common::bus::amqp::AmqpBus;
use myelin_common::coord::redis::RedisCoord;
use myelin_common::settings::{CommonArgs, load_or_dump};
use myelin_logs::config::SERVICE;
use myelin_logs::{App, Deps, Settings};
use secrecy::ExposeSecret;

/// Myelin logs: persists run logs in chunks and serves them, history and live.
#[derive(Debug, Parser)]
#[command(name = "logs", version)]
struct Cli {
    #[command(flatten)]
    common: CommonArgs,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    myelin_common::install_crypto_provider();
    let cli = Cli::parse();
    let Some(settings) = load_or_dump::<Settings>(SERVICE, &cli.common)? else {
        return Ok(());
    };
    let _telemetry = myelin_common::telemetry::init(SERVICE, &settings.telemetry)?;
    let bus = AmqpBus::connect(settings.amqp_url.expose_secret(), settings.amqp.clone())
        .await
        .context("cannot connect to RabbitMQ")?;
    let coord = RedisCoord::connect(settings.redis_url.expose_secret(), &settings.redis)
        .await
        .context("cannot connect to Redis")?;
    let blob = settings.blob.connect().await.context("cannot open the blob store")?;
    let deps = Deps {
        bus: Arc::new(bus),
        coord: Arc::new(coord),
        blob,
    };
    let app = App::build(settings, deps)
        .await
        .context("cannot start the logs service")?;
    app.run_until_stopped(myelin_common::shutdown::signal()).await
}
