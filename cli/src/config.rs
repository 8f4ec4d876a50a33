//! The CLI's saved settings: `cli.toml` in `$MYELIN_CONFIG_DIR`, else `~/.myelin`, and how the
//! server address is chosen (`--host` → `$MYELIN_HOST` → `cli.toml` → `http://127.0.0.1:8000`).

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::error::Error;

/// Where the CLI talks to when nothing says otherwise.
pub const DEFAULT_HOST: &str = "http://127.0.0.1:8000";

/// The contents of `cli.toml`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CliConfig {
    /// The server URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
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
        let path = config_path()?;
        match std::fs::read_to_string(&path) {
            Ok(text) => toml::from_str(&text).map_err(|e| Error::Config(format!("{}: {e}", path.display()))),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(CliConfig::default()),
            Err(e) => Err(Error::Config(format!("cannot read {}: {e}", path.display()))),
        }
    }

    /// Writes `cli.toml`, creating its directory.
    pub fn save(&self) -> Result<PathBuf, Error> {
        let path = config_path()?;
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|e| Error::Config(format!("cannot create {}: {e}", dir.display())))?;
        }
        let text = toml::to_string_pretty(self).map_err(|e| Error::Config(e.to_string()))?;
        std::fs::write(&path, text).map_err(|e| Error::Config(format!("cannot write {}: {e}", path.display())))?;
        Ok(path)
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
            other => Err(Error::Usage(format!("unknown setting `{other}` (known: host)"))),
        }
    }
}

/// The server URL to use and where it came from.
pub fn resolve_host(flag_or_env: Option<&str>) -> Result<(String, &'static str), Error> {
    if let Some(host) = flag_or_env.filter(|h| !h.trim().is_empty()) {
        return Ok((host.trim().to_owned(), "--host / MYELIN_HOST"));
    }
    if let Some(host) = CliConfig::load()?.host {
        return Ok((host, "cli.toml"));
    }
    Ok((DEFAULT_HOST.to_owned(), "default"))
}
