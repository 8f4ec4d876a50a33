//! `myelin config set key=value ...` and `myelin config show`.

use serde_json::json;

use crate::args::ConfigCommand;
use crate::config::{CliConfig, config_path, resolve_host};
use crate::error::Error;
use crate::output;

/// Runs a `config` subcommand.
pub fn run(command: ConfigCommand) -> Result<(), Error> {
    match command {
        ConfigCommand::Set { pairs } => {
            let mut config = CliConfig::load()?;
            for pair in &pairs {
                config.set(pair)?;
            }
            let path = config.save()?;
            output::line(&format!("Saved {}", path.display()))
        }
        ConfigCommand::Show { json } => {
            let path = config_path()?;
            let saved = CliConfig::load()?;
            let env = std::env::var("MYELIN_HOST").ok();
            let (host, source) = resolve_host(env.as_deref())?;
            if json {
                return output::json(&json!({
                    "path": path.display().to_string(),
                    "saved": saved,
                    "host": host,
                    "host_source": source,
                }));
            }
            output::line(&format!("config file: {}", path.display()))?;
            output::line(&format!("host = {}", saved.host.as_deref().unwrap_or("(not set)")))?;
            output::line(&format!("server in use: {host} (from {source})"))
        }
    }
}
