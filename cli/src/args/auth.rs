//! The auth commands' flags: `login`, `whoami`, `org`, `member`, `team`, `token`, `sa`, `audit` and
//! `project member`.

use clap::{Args, Subcommand};
use myelin_contracts::auth::{OrgRole, TeamRole};

use crate::target::ProjectRef;

/// `myelin login` flags.
#[derive(Debug, Args)]
pub struct LoginArgs {
    /// The user name (or email); asked on the terminal when absent.
    #[arg(short = 'u', long = "username", value_name = "USER")]
    pub username: Option<String>,
    /// Read the password from stdin (one line). Without it: `$MYELIN_PASSWORD`, else a prompt on the
    /// terminal that does not echo.
    #[arg(long)]
    pub password_stdin: bool,
}

/// `--json`, for every subcommand of a group.
#[derive(Debug, Args)]
pub struct Out {
    /// Print the answer as JSON.
    #[arg(long, global = true)]
    pub json: bool,
}

/// The organization a command acts in.
#[derive(Debug, Args)]
pub struct OrgArg {
    /// The organization.
    #[arg(long, global = true, value_name = "ORG", default_value = "default")]
    pub org: String,
}

#[derive(Debug, Subcommand)]
pub enum OrgCommand {
    /// Create an organization; you become its owner.
    Create { name: String },
    /// List your organizations and your role in each.
    Ls,
    /// Show an organization.
    Show {
        #[arg(default_value = "default")]
        name: String,
    },
    /// Delete an organization and everything it holds (owners only).
    Rm {
        name: String,
        /// Do not ask for confirmation.
        #[arg(short = 'y', long)]
        yes: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum MemberCommand {
    /// List the members of the organization and their roles.
    Ls,
    /// Add an existing user to the organization.
    Add {
        user: String,
        /// viewer, member, admin, manager or owner.
        #[arg(long, value_name = "ROLE")]
        role: OrgRole,
    },
    /// Change a member's role (viewer, member, admin, manager or owner).
    Role { user: String, role: OrgRole },
    /// Remove a member from the organization.
    Rm { user: String },
}

#[derive(Debug, Subcommand)]
pub enum TeamCommand {
    /// List the organization's teams.
    Ls,
    /// Create a team.
    Create { name: String },
    /// Show a team, its members and its projects.
    Show { name: String },
    /// Rename a team.
    Rename { name: String, new_name: String },
    /// Delete a team (its members and grants go with it).
    Rm { name: String },
    /// A team's members: `team member ls|add|rm TEAM ...`.
    Member {
        #[command(subcommand)]
        command: TeamMemberCommand,
    },
    /// The projects granted to a team: `team project ls|grant|revoke TEAM ...`.
    Project {
        #[command(subcommand)]
        command: TeamProjectCommand,
    },
}

#[derive(Debug, Subcommand)]
pub enum TeamMemberCommand {
    /// List a team's members.
    Ls { team: String },
    /// Add an org member to a team.
    Add {
        team: String,
        user: String,
        /// member or admin (of the team and the projects granted to it).
        #[arg(long, value_name = "ROLE", default_value = "member")]
        role: TeamRole,
    },
    /// Remove a user from a team.
    Rm { team: String, user: String },
}

#[derive(Debug, Subcommand)]
pub enum TeamProjectCommand {
    /// List the projects granted to a team.
    Ls { team: String },
    /// Grant a project to a team: its members get their team role on it.
    Grant { team: String, project: String },
    /// Withdraw a project's grant from a team.
    Revoke { team: String, project: String },
}

/// Token lifetime and name, for personal and service-account tokens.
#[derive(Debug, Args)]
pub struct NewToken {
    /// A name to recognize the token by.
    #[arg(long)]
    pub name: Option<String>,
    /// Lifetime in days (default: no expiry).
    #[arg(long, value_name = "DAYS", value_parser = clap::value_parser!(u32).range(1..))]
    pub days: Option<u32>,
}

#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Create a personal API token; it is printed once.
    Create(NewToken),
    /// List your tokens.
    Ls,
    /// Revoke one of your tokens.
    Revoke { uuid: uuid::Uuid },
}

#[derive(Debug, Subcommand)]
pub enum SaCommand {
    /// List the organization's service accounts.
    Ls,
    /// Create a service account acting with an org role.
    Create {
        name: String,
        /// viewer, member, admin, manager or owner.
        #[arg(long, value_name = "ROLE")]
        role: OrgRole,
        #[arg(long)]
        description: Option<String>,
    },
    /// Delete a service account; its tokens stop working.
    Rm { name: String },
    /// A service account's tokens: `sa token ls|create|revoke SA ...`.
    Token {
        #[command(subcommand)]
        command: SaTokenCommand,
    },
}

#[derive(Debug, Subcommand)]
pub enum SaTokenCommand {
    /// List a service account's tokens.
    Ls { sa: String },
    /// Create a token for a service account; it is printed once.
    Create {
        sa: String,
        #[command(flatten)]
        token: NewToken,
    },
    /// Revoke a service account's token.
    Revoke { sa: String, uuid: uuid::Uuid },
}

/// `myelin audit` flags.
#[derive(Debug, Args)]
pub struct AuditArgs {
    /// How many entries (newest first; the server allows at most 1000).
    #[arg(short = 'l', long, default_value_t = 50)]
    pub limit: u64,
    #[arg(long)]
    pub offset: Option<u64>,
}

#[derive(Debug, Subcommand)]
pub enum ProjectMemberCommand {
    /// List the users granted the project directly.
    Ls {
        #[arg(short = 'p', long = "project", value_name = "PROJECT")]
        project: ProjectRef,
        #[arg(long)]
        json: bool,
    },
    /// Give a user a role on the project.
    Add {
        #[arg(short = 'p', long = "project", value_name = "PROJECT")]
        project: ProjectRef,
        user: String,
        /// member or admin.
        #[arg(long, value_name = "ROLE", default_value = "member")]
        role: TeamRole,
    },
    /// Take a user's role on the project away.
    Rm {
        #[arg(short = 'p', long = "project", value_name = "PROJECT")]
        project: ProjectRef,
        user: String,
    },
}

#[cfg(test)]
mod tests {
    use std::ffi::OsString;

    use clap::Parser;

    use super::*;
    use crate::args::{Cli, Command, normalize};

    fn parse(line: &str) -> Cli {
        Cli::try_parse_from(normalize(line.split_whitespace().map(OsString::from))).unwrap()
    }

    #[test]
    fn auth_commands_take_org_token_and_json_anywhere() {
        let cli = parse("myelin member --org acme add ann --role manager --json --token t0k");
        let Command::Member {
            conn,
            org,
            out,
            command: MemberCommand::Add { user, role },
        } = cli.command
        else {
            panic!()
        };
        assert_eq!((org.org.as_str(), user.as_str()), ("acme", "ann"));
        assert_eq!(role, OrgRole::Manager);
        assert!(out.json);
        assert_eq!(conn.token.as_deref(), Some("t0k"));

        let cli = parse("myelin team project grant core demo");
        let Command::Team {
            org,
            command:
                TeamCommand::Project {
                    command: TeamProjectCommand::Grant { team, project },
                },
            ..
        } = cli.command
        else {
            panic!()
        };
        assert_eq!(
            (org.org.as_str(), team.as_str(), project.as_str()),
            ("default", "core", "demo")
        );

        let cli = parse("myelin token create --name ci --days 7");
        let Command::Token {
            command: TokenCommand::Create(new),
            ..
        } = cli.command
        else {
            panic!()
        };
        assert_eq!((new.name.as_deref(), new.days), (Some("ci"), Some(7)));

        let bad = [
            "myelin member add ann --role boss",
            "myelin token create --days 0",
            "myelin token revoke nope",
        ];
        for line in bad {
            let args = normalize(line.split_whitespace().map(OsString::from));
            assert!(Cli::try_parse_from(args).is_err(), "{line}");
        }
    }
}
