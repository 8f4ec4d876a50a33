//! [`Vhost`]: a private RabbitMQ virtual host for one test, so the fixed queue names of the services
//! (`myelin.tracker.status-reports`, `myelin.runs.default`, ...) never meet another test's messages.
//! Created with `rabbitmqctl` (the broker runs on this machine), deleted with its guard.

use std::process::Command;

use anyhow::{Context, bail};

/// A virtual host that exists until the guard drops.
pub struct Vhost {
    name: String,
}

impl Vhost {
    /// Creates `myelin-e2e-<suffix>` and grants `guest` everything on it.
    pub fn create() -> anyhow::Result<Self> {
        let name = format!("myelin-e2e-{}", crate::unique_suffix());
        rabbitmqctl(&["add_vhost", &name])?;
        let vhost = Self { name };
        rabbitmqctl(&["set_permissions", "-p", &vhost.name, "guest", ".*", ".*", ".*"])?;
        Ok(vhost)
    }

    /// The vhost's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// [`crate::amqp_url`] with this vhost instead of the default one.
    pub fn amqp_url(&self) -> String {
        let base = crate::amqp_url();
        let root = base.rsplit_once('/').map_or(base.as_str(), |(root, _)| root);
        format!("{root}/{}", self.name)
    }
}

impl Drop for Vhost {
    fn drop(&mut self) {
        if let Err(err) = rabbitmqctl(&["delete_vhost", &self.name]) {
            eprintln!("could not delete the vhost {}: {err:#}", self.name);
        }
    }
}

fn rabbitmqctl(args: &[&str]) -> anyhow::Result<()> {
    let out = Command::new("rabbitmqctl")
        .args(args)
        .output()
        .context("cannot run rabbitmqctl (RabbitMQ must run on this machine for the e2e tests)")?;
    if !out.status.success() {
        bail!(
            "rabbitmqctl {}: {}\n{}",
            args.join(" "),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(())
}
