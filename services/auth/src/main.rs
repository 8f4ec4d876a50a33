//! The `auth` binary: settings → telemetry → database + Redis → `App` → serve until a signal.

use std::sync::Arc;

use anyhow::Context;
use clap::Parser;
use myelin_auth::config::SERVICE;
use myelin_auth::{App, Deps, Settings};
use myelin_common::coord::redis::RedisCoord;
use myelin_common::settings::{CommonArgs, load_or_dump};
use secrecy::ExposeSecret;

/// Myelin auth: users, organizations, teams, roles, tokens; answers authorization questions.
#[derive(Debug, Parser)]
#[command(name = "auth", version)]
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
    let db = myelin_common::db::connect(settings.database_url.expose_secret(), &settings.db).await?;
    let coord = RedisCoord::connect(settings.redis_url.expose_secret(), &settings.redis)
        .await
        .context("cannot connect to Redis")?;
    let deps = Deps {
        db,
        coord: Arc::new(coord),
    };
    let app = App::build(settings, deps)
        .await
        .context("cannot start the auth service")?;
    app.run_until_stopped(myelin_common::shutdown::signal()).await
}
