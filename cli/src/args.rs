//! The command line, as clap derive types. Polyaxon's habits are kept: `-p PROJECT` (or
//! `owner/project`) and `-uid UUID` select what a command acts on (`-uid` is rewritten to `--uid`
//! before parsing, see [`normalize`]).

pub mod auth;

use std::ffi::OsString;
use std::net::IpAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::target::ProjectRef;
use auth::{
    AuditArgs, LoginArgs, MemberCommand, OrgArg, OrgCommand, Out, ProjectMemberCommand, SaCommand, TeamCommand,
    TokenCommand,
};

/// Myelin: an ML platform compatible with Polyaxon.
#[derive(Debug, Parser)]
#[command(name = "myelin", version, about, propagate_version = true)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the whole platform in this process (SQLite, in-process bus); prints the URL when ready.
    Server(ServerArgs),
    /// Create, list, show and delete projects.
    Project {
        #[command(flatten)]
        conn: Conn,
        #[command(subcommand)]
        command: ProjectCommand,
    },
    /// List and inspect runs (operations), and stop or delete them.
    Ops {
        #[command(flatten)]
        conn: Conn,
        #[command(flatten)]
        target: RunTarget,
        #[command(subcommand)]
        command: OpsCommand,
    },
    /// Validate and compile Polyaxonfiles locally; every error with its line and field path.
    Check(CheckArgs),
    /// Submit a Polyaxonfile as a new run.
    Run {
        #[command(flatten)]
        conn: Conn,
        #[command(flatten)]
        args: RunArgs,
    },
    /// Log in with a user name and password; saves the API token in `cli.toml` (mode 0600).
    Login {
        #[command(flatten)]
        conn: Conn,
        #[command(flatten)]
        args: LoginArgs,
    },
    /// Forget the token saved by `myelin login` (it stays valid on the server until it expires).
    Logout,
    /// Show who the token in use belongs to: user, kind and organization.
    Whoami {
        #[command(flatten)]
        conn: Conn,
        #[arg(long)]
        json: bool,
    },
    /// Create, list, show and delete organizations.
    Org {
        #[command(flatten)]
        conn: Conn,
        #[command(flatten)]
        out: Out,
        #[command(subcommand)]
        command: OrgCommand,
    },
    /// List, add and remove an organization's members, and change their roles.
    Member {
        #[command(flatten)]
        conn: Conn,
        #[command(flatten)]
        org: OrgArg,
        #[command(flatten)]
        out: Out,
        #[command(subcommand)]
        command: MemberCommand,
    },
    /// Teams, their members and the projects granted to them.
    Team {
        #[command(flatten)]
        conn: Conn,
        #[command(flatten)]
        org: OrgArg,
        #[command(flatten)]
        out: Out,
        #[command(subcommand)]
        command: TeamCommand,
    },
    /// Your personal API tokens.
    Token {
        #[command(flatten)]
        conn: Conn,
        #[command(flatten)]
        out: Out,
        #[command(subcommand)]
        command: TokenCommand,
    },
    /// Service accounts and their tokens.
    Sa {
        #[command(flatten)]
        conn: Conn,
        #[command(flatten)]
        org: OrgArg,
        #[command(flatten)]
        out: Out,
        #[command(subcommand)]
        command: SaCommand,
    },
    /// Read the organization's audit log (owners and managers), newest first.
    Audit {
        #[command(flatten)]
        conn: Conn,
        #[command(flatten)]
        org: OrgArg,
        #[command(flatten)]
        out: Out,
        #[command(flatten)]
        args: AuditArgs,
    },
    /// Show or change the CLI's saved settings (`cli.toml`).
    Config {
        #[command(subcommand)]
        command: ConfigCommand,
    },
    /// Print a shell completion script (`myelin completion bash > /etc/bash_completion.d/myelin`).
    Completion {
        /// The shell to write the script for.
        shell: clap_complete::Shell,
    },
}

/// `myelin server` flags.
#[derive(Debug, Args)]
pub struct ServerArgs {
    /// Where the data lives (default `$MYELIN_DATA_DIR`, else `~/.myelin`).
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// The port to listen on; 0 picks a free one.
    #[arg(long, default_value_t = 8000)]
    pub port: u16,
    /// The address to listen on.
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1")]
    pub host: IpAddr,
    /// Turn access control OFF: no login, every request may do everything (a single-user laptop
    /// only; never on a shared machine).
    #[arg(long)]
    pub no_auth: bool,
}

/// `myelin check` flags.
#[derive(Debug, Args)]
pub struct CheckArgs {
    /// Polyaxonfiles; later files override earlier ones (`-f base.yaml -f override.yaml`).
    #[arg(short = 'f', long = "file", value_name = "FILE", required = true)]
    pub files: Vec<PathBuf>,
    /// A param value (`-P lr=0.1`).
    #[arg(short = 'P', long = "param", value_name = "NAME=VALUE")]
    pub params: Vec<String>,
    /// A hyperparameter of the matrix (`-HP lr='linspace:0.01:0.1:5'`).
    #[arg(long = "hp", value_name = "NAME=SPACE")]
    pub hparams: Vec<String>,
    /// Also report likely mistakes (unused inputs, unknown template names, ...).
    #[arg(long)]
    pub lint: bool,
    /// Print the report as JSON.
    #[arg(long)]
    pub json: bool,
}

/// `myelin run` flags.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// The Polyaxonfile (YAML or JSON).
    #[arg(short = 'f', long = "file", value_name = "FILE")]
    pub file: PathBuf,
    /// The project: `name` or `owner/name` (owner defaults to `default`).
    #[arg(short = 'p', long = "project", value_name = "PROJECT")]
    pub project: ProjectRef,
    /// A param value (`-P lr=0.1`); checked against the file's inputs before anything is sent.
    #[arg(short = 'P', long = "param", value_name = "NAME=VALUE")]
    pub params: Vec<String>,
    /// Overrides the file's name.
    #[arg(long)]
    pub name: Option<String>,
    /// Overrides the file's description.
    #[arg(long)]
    pub description: Option<String>,
    /// Comma-separated tags (override the file's).
    #[arg(long, value_delimiter = ',')]
    pub tags: Vec<String>,
    /// Print the created run as JSON.
    #[arg(long)]
    pub json: bool,
    /// Watch the run's status until it is done; the exit code says whether it succeeded.
    #[arg(short = 'w', long)]
    pub watch: bool,
    /// Follow the run's log until it is done.
    #[arg(short = 'l', long)]
    pub log: bool,
}

/// Which server the client commands talk to.
#[derive(Debug, Args)]
pub struct Conn {
    /// The server URL (else `$MYELIN_HOST`, else `myelin config set host=...`, else http://127.0.0.1:8000).
    #[arg(long, global = true, value_name = "URL", env = "MYELIN_HOST")]
    pub host: Option<String>,
    /// The API token (else `$MYELIN_TOKEN`, else the one `myelin login` saved). Prefer the
    /// environment variable: a flag is visible to other users in the process list.
    #[arg(long, global = true, value_name = "TOKEN")]
    pub token: Option<String>,
}

/// The project (and run) a command acts on.
#[derive(Debug, Args)]
pub struct RunTarget {
    /// The project: `name` or `owner/name` (owner defaults to `default`).
    #[arg(short = 'p', long = "project", global = true, value_name = "PROJECT")]
    pub project: Option<ProjectRef>,
    /// The run's uuid (`-uid` works too).
    #[arg(long = "uid", global = true, value_name = "UUID")]
    pub uid: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum ProjectCommand {
    /// Create a project.
    Create {
        /// `name` or `owner/name`.
        #[arg(long)]
        name: ProjectRef,
        #[arg(long)]
        description: Option<String>,
        /// Comma-separated tags.
        #[arg(long, value_delimiter = ',')]
        tags: Vec<String>,
        /// Make the project public.
        #[arg(long)]
        public: bool,
        /// Print the created project as JSON.
        #[arg(long)]
        json: bool,
    },
    /// List the projects of an owner.
    Ls {
        /// Whose projects (default `default`).
        #[arg(long, default_value = "default")]
        owner: String,
        #[command(flatten)]
        page: Page,
        #[arg(long)]
        json: bool,
    },
    /// Show a project.
    Get {
        #[arg(short = 'p', long = "project", value_name = "PROJECT")]
        project: ProjectRef,
        #[arg(long)]
        json: bool,
    },
    /// Delete a project and its runs.
    Delete {
        #[arg(short = 'p', long = "project", value_name = "PROJECT")]
        project: ProjectRef,
        /// Do not ask for confirmation.
        #[arg(short = 'y', long)]
        yes: bool,
    },
    /// The users granted a project directly, with their project role.
    Member {
        #[command(subcommand)]
        command: ProjectMemberCommand,
    },
}

/// Paging and filtering of list commands.
#[derive(Debug, Args)]
pub struct Page {
    /// A Polyaxon query (`metrics.loss:<0.2, status:succeeded`).
    #[arg(short = 'q', long, allow_hyphen_values = true)]
    pub query: Option<String>,
    /// Sort fields, `-` for descending (`-metrics.loss,created_at`).
    #[arg(short = 's', long, allow_hyphen_values = true)]
    pub sort: Option<String>,
    #[arg(short = 'l', long)]
    pub limit: Option<u64>,
    #[arg(long)]
    pub offset: Option<u64>,
}

#[derive(Debug, Subcommand)]
pub enum OpsCommand {
    /// List the runs of a project.
    Ls {
        #[command(flatten)]
        page: Page,
        /// Columns to show: run fields (`name,status,duration`), `inputs.<name>` (or `params.`),
        /// `outputs.<name>`, `metrics.<name>` (last value).
        #[arg(long, value_delimiter = ',', value_name = "COLUMNS")]
        columns: Vec<String>,
        #[arg(long)]
        json: bool,
    },
    /// Show a run's metrics: last, min, max, mean and count per name.
    Metrics {
        /// The run (else `-uid`).
        uuid: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// List a run's artifacts; with `-d DIR`, download them (or the `--path` below) into DIR.
    Artifacts {
        /// The run (else `-uid`).
        uuid: Option<String>,
        /// Download into this directory.
        #[arg(short = 'd', long = "dir", value_name = "DIR")]
        dir: Option<std::path::PathBuf>,
        /// Only this file or folder of the run's artifacts.
        #[arg(long, default_value = "")]
        path: String,
    },
    /// Compare runs side by side: status, duration, inputs, outputs and metrics.
    Compare {
        /// Two or more runs.
        #[arg(required = true, num_args = 2..)]
        uuids: Vec<String>,
        /// Show only the rows that differ.
        #[arg(long)]
        diff: bool,
        #[arg(long)]
        json: bool,
    },
    /// Show a run.
    Get {
        #[arg(long)]
        json: bool,
    },
    /// Show a run's status and its conditions.
    Statuses {
        #[arg(long)]
        json: bool,
    },
    /// Stop a run.
    Stop {
        /// Do not ask for confirmation.
        #[arg(short = 'y', long)]
        yes: bool,
    },
    /// Print a run's log; with `-f`, follow it until the run is done.
    Logs {
        /// Follow new lines until the run is done.
        #[arg(short = 'f', long)]
        follow: bool,
    },
    /// Restart a run (a new run from the same spec); `-w` watches it, `-l` follows its log.
    Restart {
        #[arg(short = 'w', long)]
        watch: bool,
        #[arg(short = 'l', long)]
        log: bool,
    },
    /// Delete a run.
    Delete {
        /// Do not ask for confirmation.
        #[arg(short = 'y', long)]
        yes: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Save settings: `myelin config set host=http://myelin.example:8000`.
    Set {
        /// `key=value` pairs (keys: `host`).
        #[arg(required = true, value_name = "KEY=VALUE")]
        pairs: Vec<String>,
    },
    /// Show the saved settings and the server the CLI would use.
    Show {
        #[arg(long)]
        json: bool,
    },
}

/// Rewrites Polyaxon's `-uid X` / `-uid=X` into `--uid X` / `--uid=X` (clap short options are one
/// character). Arguments after `--` are left alone.
pub fn normalize(args: impl IntoIterator<Item = OsString>) -> Vec<OsString> {
    let mut after_separator = false;
    args.into_iter()
        .map(|arg| {
            if after_separator {
                return arg;
            }
            match arg.to_str() {
                Some("--") => {
                    after_separator = true;
                    arg
                }
                Some("-uid") => OsString::from("--uid"),
                Some("-HP") => OsString::from("--hp"),
                Some(text) if text.starts_with("-uid=") => OsString::from(format!("-{text}")),
                _ => arg,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    fn parse(line: &str) -> Cli {
        let args = normalize(line.split_whitespace().map(OsString::from));
        Cli::try_parse_from(args).unwrap()
    }

    #[test]
    fn definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn polyaxon_style_selectors() {
        let cli = parse("myelin ops get -p acme/demo -uid abc --json");
        let Command::Ops {
            target,
            command: OpsCommand::Get { json },
            ..
        } = cli.command
        else {
            panic!()
        };
        assert!(json);
        assert_eq!(target.uid.as_deref(), Some("abc"));
        assert_eq!(target.project.unwrap().to_string(), "acme/demo");

        let cli = parse("myelin ops -p demo -uid=xyz stop -y");
        let Command::Ops {
            target,
            command: OpsCommand::Stop { yes },
            ..
        } = cli.command
        else {
            panic!()
        };
        assert!(yes);
        assert_eq!(target.uid.as_deref(), Some("xyz"));
        assert_eq!(target.project.unwrap().to_string(), "default/demo");
    }

    #[test]
    fn separator_stops_the_rewrite() {
        let args = normalize(["myelin", "--", "-uid"].map(OsString::from));
        assert_eq!(args[2], "-uid");
    }
}
