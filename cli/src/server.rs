//! `myelin server`: every service in one process, zero config. SQLite under the data directory,
//! the in-process bus and coordination store, the blob store in `<data dir>/artifacts`, the tracker,
//! the logs and the auth service mounted into the gateway as in-process upstreams.
//!
//! Access control is on: the first start creates the owner `admin` of org `default`
//! ([`crate::bootstrap`]); `--no-auth` turns it off, and says so on every start.
//!
//! Prints one line on stdout, `Myelin is ready at http://ADDR:PORT`, once listening (preceded, on
//! the first start without `MYELIN_ADMIN_PASSWORD`, by the generated admin password); logs go to
//! stderr. SIGINT/SIGTERM stop it gracefully (in-flight requests finish, then the outbox
//! relay publishes what they committed).

use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use myelin_common::blob::BlobSettings;
use myelin_common::bus::SharedBus;
use myelin_common::bus::memory::MemoryBus;
use myelin_common::coord::SharedCoord;
use myelin_common::coord::memory::MemoryCoord;
use myelin_common::db::DbSettings;
use myelin_common::telemetry::TelemetrySettings;
use secrecy::SecretString;
use tokio_util::sync::CancellationToken;

use crate::args::ServerArgs;
use crate::bootstrap::{self, AdminPassword};

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
    let sqlite = |name: &str| format!("sqlite://{}?mode=rwc", data_dir.join(name).display());
    let artifacts = data_dir.join("artifacts");

    // The in-process adapters every service shares.
    let bus: SharedBus = Arc::new(MemoryBus::new());
    let coord: SharedCoord = Arc::new(MemoryCoord::new());
    let blob_settings = BlobSettings::Local {
        root: data_dir.join("blobs"),
    };
    let blob = blob_settings.connect().await.context("cannot open the blob store")?;

    let tracker_url = sqlite("tracker.db");
    let tracker = myelin_tracker::App::build(
        myelin_tracker::Settings {
            database_url: SecretString::from(tracker_url.clone()),
            ..Default::default()
        },
        myelin_tracker::Deps {
            db: myelin_common::db::connect(&tracker_url, &DbSettings::default()).await?,
            bus: bus.clone(),
        },
    )
    .await
    .context("cannot start the tracker")?;

    let scheduler_url = sqlite("scheduler.db");
    let scheduler = myelin_scheduler::App::build(
        myelin_scheduler::Settings {
            database_url: SecretString::from(scheduler_url.clone()),
            artifacts_root: artifacts.display().to_string(),
            ..Default::default()
        },
        myelin_scheduler::Deps {
            db: myelin_common::db::connect(&scheduler_url, &DbSettings::default()).await?,
            bus: bus.clone(),
        },
    )
    .await
    .context("cannot start the scheduler")?;

    let logs = myelin_logs::App::build(
        myelin_logs::Settings {
            blob: blob_settings,
            ..Default::default()
        },
        myelin_logs::Deps {
            bus: bus.clone(),
            coord: coord.clone(),
            blob,
        },
    )
    .await
    .context("cannot start the logs service")?;

    let run_token_secret = bootstrap::run_token_secret(&data_dir)?;
    let (auth, admin) = if args.no_auth {
        (None, AdminPassword::Known)
    } else {
        let auth_url = sqlite("auth.db");
        let auth = myelin_auth::App::build(
            myelin_auth::Settings {
                database_url: SecretString::from(auth_url.clone()),
                allow_signup: true,
                ..Default::default()
            },
            myelin_auth::Deps {
                db: myelin_common::db::connect(&auth_url, &DbSettings::default()).await?,
                coord: coord.clone(),
            },
        )
        .await
        .context("cannot start the auth service")?;
        let admin = bootstrap::ensure_admin(&auth, &data_dir).await?;
        (Some(auth), admin)
    };

    let gateway = myelin_gateway::App::build(
        myelin_gateway::Settings {
            listen: SocketAddr::new(args.host, args.port),
            access: myelin_gateway::config::AccessSettings {
                enabled: !args.no_auth,
                run_token_secret: Some(run_token_secret.clone()),
                ..Default::default()
            },
            ..Default::default()
        },
        myelin_gateway::Deps {
            tracker: myelin_gateway::Upstream::InProcess(tracker.router()),
            logs: myelin_gateway::Upstream::InProcess(logs.router()),
            auth: auth.as_ref().map(|auth| myelin_gateway::AuthDeps {
                upstream: myelin_gateway::Upstream::InProcess(auth.router()),
                coord: coord.clone(),
            }),
        },
    )
    .await?;
    let url = format!("http://{}", gateway.local_addr());

    let executor = myelin_executor::App::build(
        myelin_executor::Settings {
            artifacts_root: artifacts,
            public_host: url.clone(),
            run_token_secret: (!args.no_auth).then_some(run_token_secret),
            ..Default::default()
        },
        myelin_executor::Deps {
            bus: bus.clone(),
            coord: coord.clone(),
        },
    )
    .await
    .context("cannot start the executor")?;

    // Background work stops after the gateway has drained its requests.
    let background_stop = CancellationToken::new();
    let background = [
        ("tracker", tracker.spawn_background(background_stop.clone())),
        ("scheduler", scheduler.spawn_background(background_stop.clone())),
        // Live log tails end when the logs service stops, so it stops with the signal; otherwise
        // an open tail would hold the gateway's drain forever.
        ("logs", logs.spawn_background(shutdown.clone())),
        ("executor", executor.spawn_background(background_stop.clone())),
    ];

    let mut stdout = std::io::stdout().lock();
    if let AdminPassword::Generated(password, path) = &admin {
        writeln!(
            stdout,
            "Created the owner account `admin` (org `default`) with password: {password}\n\
             (shown once; also in {} until you delete it; `myelin login -u admin`)",
            path.display()
        )?;
    }
    if args.no_auth {
        tracing::warn!("ACCESS CONTROL IS OFF (--no-auth): anyone who reaches {url} may do anything");
        writeln!(
            stdout,
            "WARNING: access control is off (--no-auth): anyone who reaches this server may do anything"
        )?;
    }
    writeln!(stdout, "Myelin is ready at {url}")?;
    stdout.flush()?;
    drop(stdout);
    tracing::info!(data_dir = %data_dir.display(), "embedded server started");

    let served = gateway.run_until_stopped(shutdown).await;
    background_stop.cancel();
    for (name, handle) in background {
        handle
            .await
            .with_context(|| format!("the {name} background tasks failed"))?;
    }
    served
}
