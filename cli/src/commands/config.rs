//! `myelin config set key=value ...` and `myelin config show` (the saved token is never shown).

use serde_json::json;

use crate::args::ConfigCommand;
use crate::config::{CliConfig, REDACTED, choose_host, choose_token, config_path, token_from_env};
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
            let (host, source) = choose_host(env.as_deref(), &saved);
            let env_token = token_from_env();
            let token_source = choose_token(None, env_token.as_deref(), &saved).map(|(_, source)| source);
            let shown = saved.redacted();
            if json {
                return output::json(&json!({
                    "path": path.display().to_string(),
                    "saved": shown,
                    "host": host,
                    "host_source": source,
                    "token_source": token_source,
                }));
            }
            output::line(&format!("config file: {}", path.display()))?;
            output::line(&format!("host = {}", shown.host.as_deref().unwrap_or("(not set)")))?;
            output::line(&format!("token = {}", shown.token.as_deref().unwrap_or("(not set)")))?;
            output::line(&format!("server in use: {host} (from {source})"))?;
            match token_source {
                Some(source) => output::line(&format!("token in use: {REDACTED} (from {source})")),
                None => output::line("token in use: none (run `myelin login`)"),
            }
        }
    }
}
