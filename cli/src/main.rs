//! `myelin`: the embedded server (`myelin server`) and the client commands (`project`, `ops`, `run`,
//! `login`, `whoami`, `org`, `member`, `team`, `token`, `sa`, `audit`, `config`, `completion`). Errors print `error: <message> (<code>)`; exit code 2 for usage
//! errors, 1 for the others.

mod args;
mod bootstrap;
mod commands;
mod config;
mod error;
mod output;
mod prompt;
mod server;
mod target;

use std::process::ExitCode;

use clap::{CommandFactory, Parser};

use crate::args::{Cli, Command};
use crate::error::Error;

/// mimalloc: a 20k-point history answer is a megabyte allocated and freed per request, which the
/// system allocator serves with fresh pages (page faults, zeroing) each time.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    myelin_common::install_crypto_provider();
    let cli = match Cli::try_parse_from(args::normalize(std::env::args_os())) {
        Ok(cli) => cli,
        Err(error) => {
            // Help and version go to stdout with 0; usage errors to stderr with 2.
            let _ = error.print();
            return ExitCode::from(u8::try_from(error.exit_code()).unwrap_or(2));
        }
    };
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(error) => return fail(&Error::Io(error)),
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => fail(&error),
    }
}

async fn run(cli: Cli) -> Result<(), Error> {
    match cli.command {
        Command::Server(args) => server::run(args).await.map_err(Error::Server),
        Command::Project { conn, command } => commands::project::run(&conn, command).await,
        Command::Ops { conn, target, command } => commands::ops::run(&conn, &target, command).await,
        Command::Check(args) => commands::check::run(args),
        Command::Run { conn, args } => commands::run::run(&conn, args).await,
        Command::Login { conn, args } => commands::auth::login(&conn, args).await,
        Command::Logout => commands::auth::logout(),
        Command::Whoami { conn, json } => commands::auth::whoami(&conn, json).await,
        Command::Org { conn, out, command } => commands::org::run(&conn, out.json, command).await,
        Command::Member {
            conn,
            org,
            out,
            command,
        } => commands::org::members(&conn, &org.org, out.json, command).await,
        Command::Team {
            conn,
            org,
            out,
            command,
        } => commands::team::run(&conn, &org.org, out.json, command).await,
        Command::Token { conn, out, command } => commands::token::run(&conn, out.json, command).await,
        Command::Sa {
            conn,
            org,
            out,
            command,
        } => commands::sa::run(&conn, &org.org, out.json, command).await,
        Command::Audit { conn, org, out, args } => commands::audit::run(&conn, &org.org, out.json, args).await,
        Command::Config { command } => commands::config::run(command),
        Command::Completion { shell } => {
            clap_complete::generate(shell, &mut Cli::command(), "myelin", &mut std::io::stdout());
            Ok(())
        }
    }
}

fn fail(error: &Error) -> ExitCode {
    eprintln!("error: {error} ({})", error.code());
    ExitCode::from(u8::try_from(error.exit_code()).unwrap_or(1))
}
