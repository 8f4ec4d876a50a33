//! `myelin login`, `myelin logout` and `myelin whoami`.
//!
//! `login` trades a user name and password for a login token (`POST /api/v1/auth/token`), checks it
//! with `whoami`, and saves it in `cli.toml` (mode 0600), with the host when one was given.

use myelin_client::Client;
use secrecy::{ExposeSecret, SecretString};

use crate::args::Conn;
use crate::args::auth::LoginArgs;
use crate::config::{CliConfig, TOKEN_ENV, choose_host, choose_token, token_from_env};
use crate::error::Error;
use crate::{output, prompt};

/// The environment variable `login` reads the password from (when not `--password-stdin`).
pub const PASSWORD_ENV: &str = "MYELIN_PASSWORD";

/// `myelin login [-u USER] [--password-stdin]`.
pub async fn login(conn: &Conn, args: LoginArgs) -> Result<(), Error> {
    let saved = CliConfig::load()?;
    let (host, _) = choose_host(conn.host.as_deref(), &saved);
    let username = match args.username.filter(|u| !u.trim().is_empty()) {
        Some(username) => username,
        None if args.password_stdin => {
            return Err(Error::Usage("--password-stdin needs the user name as -u USER".into()));
        }
        None => prompt::ask("Username: ", "a user name (pass -u USER)")?,
    };
    let password = password(args.password_stdin)?;
    if password.expose_secret().is_empty() {
        return Err(Error::Usage("the password is empty".into()));
    }
    let token = Client::new(&host, None)?
        .login(&username, password.expose_secret())
        .await?
        .token;
    let me = Client::new(&host, Some(token.clone()))?.whoami().await?;

    let mut config = CliConfig::load()?;
    config.token = Some(token);
    // A host given by --host / $MYELIN_HOST is saved with the token it goes with.
    if conn.host.as_deref().is_some_and(|h| !h.trim().is_empty()) {
        config.host = Some(host.clone());
    }
    let path = config.save()?;
    let org = me.organization.as_deref().unwrap_or("no organization");
    output::line(&format!(
        "Logged in to {host} as `{}` ({org}). The token is saved in {}.",
        me.username,
        path.display()
    ))?;
    if token_from_env().is_some_and(|t| !t.trim().is_empty()) {
        eprintln!("note: ${TOKEN_ENV} is set and is used instead of the saved token");
    }
    Ok(())
}

/// The password: stdin's first line, else `$MYELIN_PASSWORD`, else asked without echo.
fn password(from_stdin: bool) -> Result<SecretString, Error> {
    if from_stdin {
        return prompt::read_secret(&mut std::io::stdin().lock());
    }
    if let Some(password) = std::env::var_os(PASSWORD_ENV).filter(|p| !p.is_empty()) {
        let password = password
            .into_string()
            .map_err(|_| Error::Usage(format!("${PASSWORD_ENV} is not valid UTF-8")))?;
        return Ok(SecretString::from(password));
    }
    prompt::ask_hidden("Password: ", "the password (use --password-stdin or MYELIN_PASSWORD)")
}

/// `myelin logout`: removes the saved token from `cli.toml`.
pub fn logout() -> Result<(), Error> {
    let mut config = CliConfig::load()?;
    if config.token.take().is_none() {
        return output::line("Not logged in: no token is saved.");
    }
    let path = config.save()?;
    output::line(&format!(
        "Logged out: the token was removed from {}. It stays valid on the server until it expires \
         (list and revoke tokens with `myelin token ls|revoke`).",
        path.display()
    ))
}

/// `myelin whoami`.
pub async fn whoami(conn: &Conn, json: bool) -> Result<(), Error> {
    let saved = CliConfig::load()?;
    let (host, _) = choose_host(conn.host.as_deref(), &saved);
    let env = token_from_env();
    // Without a token the server answers 401, which says how to log in.
    let (token, source) = choose_token(conn.token.as_deref(), env.as_deref(), &saved).unzip();
    let me = Client::new(&host, token)?.whoami().await?;
    if json {
        return output::json(&me);
    }
    let table = output::details(vec![
        ("user", me.username),
        ("email", output::opt(me.email.as_deref())),
        ("kind", me.kind),
        ("organization", output::opt(me.organization.as_deref())),
        ("server", host),
        ("token from", source.unwrap_or_default().to_owned()),
    ]);
    output::line(&table.to_string())
}
