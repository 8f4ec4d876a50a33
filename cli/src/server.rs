//! `myelin server`: every service in one process, zero config. SQLite under the data directory,
//! the in-process bus, the tracker mounted into the gateway as an in-process upstream.
//!
//! Prints exactly one line on stdout, `Myelin is ready at http://ADDR:PORT`, once listening; logs
//! go to stderr. SIGINT/SIGTERM stop it gracefully (in-flight requests finish, then the outbox
//! relay publishes what they committed).

use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use myelin_common::bus::SharedBus;
use myelin_common::bus::memory::MemoryBus;
use myelin_common::db::DbSettings;
use myelin_common::telemetry::TelemetrySettings;
use secrecy::SecretString;
use tokio_util::sync::CancellationToken;

use crate::args::ServerArgs;

/// The data directory: `--data-dir`, else `$MYELIN_DATA_DIR`, else `~/.myelin`.
pub fn data_dir(flag: Option<PathBuf>) -> anyhow::Result<PathBuf> {
    if let Some(dir) = flag {
        return Ok(dir);
    }
    if let Some(dir) = std::env::var_os("MYELIN_DATA_DIR").filter(|d| !d.is_empty()) {
        return Ok(PathBuf::from(dir));
    }
    crate::config::home_myelin().map_err(|e| anyhow::anyhow!("{e}"))
}

/// Runs the embedded server until SIGINT/SIGTERM.
pub async fn run(args: ServerArgs) -> anyhow::Result<()> {
    let _telemetry = myelin_common::telemetry::init("myelin", &TelemetrySettings::default())?;
    let shutdown = myelin_common::shutdown::signal();
    let data_dir = data_dir(args.data_dir)?;
    std::fs::create_dir_all(&data_dir).with_context(|| format!("cannot create {}", data_dir.display()))?;
    let database_url = format!("sqlite://{}?mode=rwc", data_dir.join("tracker.db").display());

    let db = myelin_common::db::connect(&database_url, &DbSettings::default()).await?;
    let bus: SharedBus = Arc::new(MemoryBus::new());
    let tracker_settings = myelin_tracker::Settings {
        database_url: SecretString::from(database_url),
        ..myelin_tracker::Settings::default()
    };
    let tracker = myelin_tracker::App::build(tracker_settings, myelin_tracker::Deps { db, bus })
        .await
        .context("cannot start the tracker")?;
    let relay_stop = CancellationToken::new();
    let relay = tracker.spawn_background(relay_stop.clone());

    let gateway_settings = myelin_gateway::Settings {
        listen: SocketAddr::new(args.host, args.port),
        ..myelin_gateway::Settings::default()
    };
    let deps = myelin_gateway::Deps {
        tracker: myelin_gateway::Upstream::InProcess(tracker.router()),
    };
    let gateway = myelin_gateway::App::build(gateway_settings, deps).await?;

    let mut stdout = std::io::stdout().lock();
    writeln!(stdout, "Myelin is ready at http://{}", gateway.local_addr())?;
    stdout.flush()?;
    drop(stdout);
    tracing::info!(data_dir = %data_dir.display(), "embedded server started");

    let served = gateway.run_until_stopped(shutdown).await;
    relay_stop.cancel();
    relay.await.context("the outbox relay failed")?;
    served
}
