//! The CLI's saved settings: `cli.toml` in `$MYELIN_CONFIG_DIR`, else `~/.myelin`, and how the
//! server address is chosen (`--host` → `$MYELIN_HOST` → `cli.toml` → `http://127.0.0.1:8000`) and
//! the API token (`--token` → `$MYELIN_TOKEN` → `cli.toml`).
//!
//! `cli.toml` may hold a token (written by `myelin login`), so it is written with mode 0600 and
//! every display of it goes through [`CliConfig::redacted`].

use std::fmt;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::Error;

/// Where the CLI talks to when nothing says otherwise.
pub const DEFAULT_HOST: &str = "http://127.0.0.1:8000";

/// The environment variable holding an API token.
pub const TOKEN_ENV: &str = "MYELIN_TOKEN";

/// What a saved token is shown as.
pub const REDACTED: &str = "<redacted>";

/// The contents of `cli.toml`. `Debug` redacts the token.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CliConfig {
    /// The server URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
    /// The API token `myelin login` saved (a secret).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
}

impl fmt::Debug for CliConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let shown = self.redacted();
        f.debug_struct("CliConfig")
            .field("host", &shown.host)
            .field("token", &shown.token)
            .finish()
    }
}

/// The directory holding `cli.toml`.
pub fn config_dir() -> Result<PathBuf, Error> {
    if let Some(dir) = std::env::var_os("MYELIN_CONFIG_DIR").filter(|d| !d.is_empty()) {
        return Ok(PathBuf::from(dir));
    }
    home_myelin()
}

/// `~/.myelin`.
pub fn home_myelin() -> Result<PathBuf, Error> {
    dirs::home_dir()
        .map(|home| home.join(".myelin"))
        .ok_or_else(|| Error::Config("cannot find the home directory; set MYELIN_CONFIG_DIR".into()))
}

/// The path of `cli.toml`.
pub fn config_path() -> Result<PathBuf, Error> {
    Ok(config_dir()?.join("cli.toml"))
}

impl CliConfig {
    /// Reads `cli.toml` (empty settings when it does not exist).
    pub fn load() -> Result<CliConfig, Error> {
        CliConfig::load_from(&config_path()?)
    }

    /// Reads the settings file at `path` (empty settings when it does not exist).
    pub fn load_from(path: &Path) -> Result<CliConfig, Error> {
        match std::fs::read_to_string(path) {
            Ok(text) => toml::from_str(&text).map_err(|e| Error::Config(format!("{}: {e}", path.display()))),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(CliConfig::default()),
            Err(e) => Err(Error::Config(format!("cannot read {}: {e}", path.display()))),
        }
    }

    /// Writes `cli.toml`, creating its directory.
    pub fn save(&self) -> Result<PathBuf, Error> {
        let path = config_path()?;
        self.save_to(&path)?;
        Ok(path)
    }

    /// Writes the settings to `path` with mode 0600 (it may hold a token): into a fresh private
    /// file beside it, then renamed over it, so no reader ever sees a partial or world-readable file.
    pub fn save_to(&self, path: &Path) -> Result<(), Error> {
        let failed =
            |what: &str, p: &Path, e: std::io::Error| Error::Config(format!("cannot {what} {}: {e}", p.display()));
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| failed("create", dir, e))?;
        }
        let text = toml::to_string_pretty(self).map_err(|e| Error::Config(e.to_string()))?;
        let temp = path.with_extension(format!("toml.{}.tmp", std::process::id()));
        let _ = std::fs::remove_file(&temp);
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let written = options.open(&temp).and_then(|mut file| {
            file.write_all(text.as_bytes())?;
            file.sync_all()
        });
        if let Err(e) = written.and_then(|()| std::fs::rename(&temp, path)) {
            let _ = std::fs::remove_file(&temp);
            return Err(failed("write", path, e));
        }
        Ok(())
    }

    /// A copy fit to show: the token, if any, replaced by [`REDACTED`].
    pub fn redacted(&self) -> CliConfig {
        CliConfig {
            host: self.host.clone(),
            token: self.token.as_ref().map(|_| REDACTED.to_owned()),
        }
    }

    /// Applies one `key=value` pair.
    pub fn set(&mut self, pair: &str) -> Result<(), Error> {
        let Some((key, value)) = pair.split_once('=') else {
            return Err(Error::Usage(format!(
                "`{pair}` is not key=value (e.g. host=http://127.0.0.1:8000)"
            )));
        };
        match key.trim() {
            "host" => {
                let value = value.trim();
                myelin_client::Client::new(value, None)?;
                self.host = Some(value.to_owned());
                Ok(())
            }
            "token" => Err(Error::Usage(
                "the token is saved by `myelin login` (or give it as MYELIN_TOKEN / --token)".into(),
            )),
            other => Err(Error::Usage(format!("unknown setting `{other}` (known: host)"))),
        }
    }
}

/// The server URL to use and where it came from, given `--host`/`$MYELIN_HOST` and the saved settings.
pub fn choose_host(flag_or_env: Option<&str>, saved: &CliConfig) -> (String, &'static str) {
    if let Some(host) = flag_or_env.filter(|h| !h.trim().is_empty()) {
        return (host.trim().to_owned(), "--host / MYELIN_HOST");
    }
    if let Some(host) = &saved.host {
        return (host.clone(), "cli.toml");
    }
    (DEFAULT_HOST.to_owned(), "default")
}

/// The token in `$MYELIN_TOKEN`, if set and not blank.
pub fn token_from_env() -> Option<String> {
    std::env::var(TOKEN_ENV).ok()
}

/// The API token to send and where it came from: `--token`, else `$MYELIN_TOKEN`, else the one
/// `myelin login` saved; blank values count as absent. `None`: send no token.
pub fn choose_token(flag: Option<&str>, env: Option<&str>, saved: &CliConfig) -> Option<(String, &'static str)> {
    let given = |value: Option<&str>| value.map(str::trim).filter(|t| !t.is_empty()).map(str::to_owned);
    given(flag)
        .map(|t| (t, "--token"))
        .or_else(|| given(env).map(|t| (t, TOKEN_ENV)))
        .or_else(|| given(saved.token.as_deref()).map(|t| (t, "cli.toml")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn saved(token: Option<&str>) -> CliConfig {
        CliConfig {
            host: Some("http://h:1".into()),
            token: token.map(str::to_owned),
        }
    }

    #[test]
    fn token_resolution_order() {
        let file = saved(Some("from-file"));
        let pick = choose_token;
        assert_eq!(pick(Some("f"), Some("e"), &file), Some(("f".into(), "--token")));
        assert_eq!(pick(None, Some("e"), &file), Some(("e".into(), TOKEN_ENV)));
        assert_eq!(
            pick(Some("  "), Some(""), &file),
            Some(("from-file".into(), "cli.toml"))
        );
        assert_eq!(pick(None, None, &file), Some(("from-file".into(), "cli.toml")));
        assert_eq!(pick(None, None, &saved(None)), None);
        assert_eq!(pick(None, Some(" e \n"), &saved(None)), Some(("e".into(), TOKEN_ENV)));
    }

    #[test]
    fn host_resolution_order() {
        assert_eq!(
            choose_host(Some("http://x:2"), &saved(None)),
            ("http://x:2".into(), "--host / MYELIN_HOST")
        );
        assert_eq!(choose_host(Some(" "), &saved(None)), ("http://h:1".into(), "cli.toml"));
        assert_eq!(
            choose_host(None, &CliConfig::default()),
            (DEFAULT_HOST.into(), "default")
        );
    }

    #[test]
    fn the_token_is_redacted_everywhere_it_is_shown() {
        let config = saved(Some("s3cret-token"));
        let shown = config.redacted();
        assert_eq!(shown.token.as_deref(), Some(REDACTED));
        assert_eq!(shown.host, config.host);
        assert!(!format!("{config:?}").contains("s3cret"));
        assert!(!serde_json::to_string(&shown).unwrap().contains("s3cret"));
        assert_eq!(CliConfig::default().redacted().token, None);
    }

    #[cfg(unix)]
    #[test]
    fn saved_file_is_private_and_round_trips() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("nested").join("cli.toml");
        // An existing world-readable file is replaced by a private one.
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, "host = \"http://old:1\"\n").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        let config = saved(Some("s3cret-token"));
        config.save_to(&path).unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        assert_eq!(CliConfig::load_from(&path).unwrap(), config);
        let leftovers: Vec<_> = std::fs::read_dir(path.parent().unwrap()).unwrap().collect();
        assert_eq!(leftovers.len(), 1, "temp file left behind");
        assert_eq!(
            CliConfig::load_from(&dir.path().join("missing.toml")).unwrap(),
            CliConfig::default()
        );
    }
}
