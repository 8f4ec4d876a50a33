//! First start of `myelin server`: the owner account and the local secrets.
//!
//! - `admin`, owner of org `default`, is created once with the password of `MYELIN_ADMIN_PASSWORD`,
//!   or a generated one that is printed once (and kept in `<data dir>/admin-password`, mode 0600,
//!   until the operator deletes it). Later starts leave the account alone.
//! - `<data dir>/run-token.key` (0600): the key run tokens are signed and checked with; kept so
//!   runs started before a restart keep working.

use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use anyhow::Context;
use rand::Rng;
use rand::distr::Alphanumeric;
use secrecy::SecretString;

/// The owner account `myelin server` creates.
pub const ADMIN: &str = "admin";
/// The org it owns.
pub const DEFAULT_ORG: &str = "default";

/// What the operator must be told, once.
pub enum AdminPassword {
    /// The account already existed, or its password came from the environment.
    Known,
    /// A generated password, saved in the named file.
    Generated(String, std::path::PathBuf),
}

/// Creates `admin` in org `default` unless the account exists.
pub async fn ensure_admin(auth: &myelin_auth::App, data_dir: &Path) -> anyhow::Result<AdminPassword> {
    if myelin_auth::store::users::by_username(auth.store(), ADMIN)
        .await
        .context("cannot read the users")?
        .is_some()
    {
        return Ok(AdminPassword::Known);
    }
    let (password, generated) = match std::env::var("MYELIN_ADMIN_PASSWORD") {
        Ok(password) if !password.is_empty() => (password, false),
        _ => (random(24), true),
    };
    auth.ensure_admin(
        ADMIN,
        "admin@myelin.local",
        &SecretString::from(password.clone()),
        DEFAULT_ORG,
    )
    .await
    .context("cannot create the admin account (MYELIN_ADMIN_PASSWORD must be at least 8 characters)")?;
    if !generated {
        return Ok(AdminPassword::Known);
    }
    let path = data_dir.join("admin-password");
    write_private(&path, &password)?;
    Ok(AdminPassword::Generated(password, path))
}

/// The run-token key under `data_dir`, created on first start.
pub fn run_token_secret(data_dir: &Path) -> anyhow::Result<SecretString> {
    let path = data_dir.join("run-token.key");
    match std::fs::read_to_string(&path) {
        Ok(key) if !key.trim().is_empty() => return Ok(SecretString::from(key.trim().to_owned())),
        Ok(_) => {}
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => {}
        Err(err) => return Err(err).with_context(|| format!("cannot read {}", path.display())),
    }
    let key = random(48);
    write_private(&path, &key)?;
    Ok(SecretString::from(key))
}

fn random(len: usize) -> String {
    rand::rng()
        .sample_iter(Alphanumeric)
        .take(len)
        .map(char::from)
        .collect()
}

/// Writes `text` to a new file only its owner can read.
fn write_private(path: &Path, text: &str) -> anyhow::Result<()> {
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("cannot write {}", path.display()))?;
    file.write_all(text.as_bytes())
        .and_then(|()| file.write_all(b"\n"))
        .with_context(|| format!("cannot write {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn the_run_token_key_is_private_and_kept() {
        let dir = tempfile::tempdir().unwrap();
        let first = run_token_secret(dir.path()).unwrap();
        let second = run_token_secret(dir.path()).unwrap();
        use secrecy::ExposeSecret;
        assert_eq!(first.expose_secret(), second.expose_secret());
        assert_eq!(first.expose_secret().len(), 48);
        let mode = std::fs::metadata(dir.path().join("run-token.key"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
}
