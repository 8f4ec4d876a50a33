//! Passwords: argon2id hashes in PHC form (`$argon2id$v=19$m=...,t=...,p=...$salt$hash`) with a
//! random salt each, and the rules a new password must follow.
//!
//! The cost comes from [`Argon2Settings`]; its default is OWASP's recommended argon2id
//! configuration (19 MiB, 2 iterations, 1 lane). Verification reads the cost from the stored hash,
//! so raising the settings never locks anyone out. Hashing is slow on purpose: callers run it on a
//! blocking thread.

use argon2::password_hash::{PasswordHasher as _, PasswordVerifier as _};
use argon2::{Algorithm, Argon2, Params, Version};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};

/// Shortest accepted password, in characters.
pub const MIN_LENGTH: usize = 8;
/// Longest accepted password, in characters (bounds the hashing work per request).
pub const MAX_LENGTH: usize = 256;

/// The argon2id cost (`MYELIN_AUTH__ARGON2__*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Argon2Settings {
    /// Memory per hash, in KiB (OWASP: 19456).
    pub memory_kib: u32,
    /// Passes over the memory (OWASP: 2).
    pub iterations: u32,
    /// Lanes (OWASP: 1).
    pub parallelism: u32,
}

impl Default for Argon2Settings {
    fn default() -> Self {
        Self {
            memory_kib: 19 * 1024,
            iterations: 2,
            parallelism: 1,
        }
    }
}

/// Why a password cannot be set or hashed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// The password breaks a rule; the message says which.
    #[error("invalid password: {0}")]
    Weak(&'static str),
    /// The argon2 settings are out of range, or hashing failed.
    #[error("cannot hash the password: {0}")]
    Hashing(String),
}

/// Checks the rules a new password must follow.
pub fn validate(password: &SecretString) -> Result<(), Error> {
    let length = password.expose_secret().chars().count();
    if length < MIN_LENGTH {
        return Err(Error::Weak("it must be at least 8 characters long"));
    }
    if length > MAX_LENGTH {
        return Err(Error::Weak("it must be at most 256 characters long"));
    }
    Ok(())
}

/// Hashes and verifies passwords with one argon2id configuration.
#[derive(Debug, Clone)]
pub struct Hasher {
    params: Params,
    /// A hash of a random password, verified when the user does not exist, so that a login for an
    /// unknown user takes as long as one with a wrong password.
    decoy: String,
}

impl Hasher {
    /// A hasher with `settings`; fails when they are out of argon2's range.
    pub fn new(settings: &Argon2Settings) -> Result<Self, Error> {
        let params = Params::new(settings.memory_kib, settings.iterations, settings.parallelism, None)
            .map_err(|e| Error::Hashing(e.to_string()))?;
        let mut hasher = Self {
            params,
            decoy: String::new(),
        };
        let decoy = SecretString::from(uuid::Uuid::new_v4().to_string());
        hasher.decoy = hasher.hash(&decoy)?;
        Ok(hasher)
    }

    fn argon2(&self) -> Argon2<'static> {
        Argon2::new(Algorithm::Argon2id, Version::V0x13, self.params.clone())
    }

    /// The PHC string of `password` with a fresh random salt.
    pub fn hash(&self, password: &SecretString) -> Result<String, Error> {
        self.argon2()
            .hash_password(password.expose_secret().as_bytes())
            .map(|hash| hash.to_string())
            .map_err(|e| Error::Hashing(e.to_string()))
    }

    /// Whether `password` matches the PHC string `stored` (false for a malformed `stored`).
    pub fn verify(&self, password: &SecretString, stored: &str) -> bool {
        self.argon2()
            .verify_password(password.expose_secret().as_bytes(), stored)
            .is_ok()
    }

    /// Spends the time of one verification and answers false (the user does not exist).
    pub fn verify_decoy(&self, password: &SecretString) -> bool {
        let _ = self.verify(password, &self.decoy);
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn light() -> Hasher {
        Hasher::new(&Argon2Settings {
            memory_kib: 64,
            iterations: 1,
            parallelism: 1,
        })
        .unwrap()
    }

    #[test]
    fn the_default_cost_is_owasps() {
        let d = Argon2Settings::default();
        assert_eq!((d.memory_kib, d.iterations, d.parallelism), (19_456, 2, 1));
    }

    #[test]
    fn hashes_are_salted_argon2id_and_verify() {
        let hasher = light();
        let password = SecretString::from("correct horse");
        let a = hasher.hash(&password).unwrap();
        let b = hasher.hash(&password).unwrap();
        assert!(a.starts_with("$argon2id$v=19$m=64,t=1,p=1$"), "{a}");
        assert_ne!(a, b, "each hash has its own salt");
        assert!(hasher.verify(&password, &a));
        assert!(!hasher.verify(&SecretString::from("correct horsE"), &a));
        assert!(!hasher.verify(&password, "not a hash"));
        assert!(!hasher.verify_decoy(&password));
        // The cost is read from the stored hash: a hasher with other settings still verifies it.
        let other = Hasher::new(&Argon2Settings {
            memory_kib: 128,
            iterations: 1,
            parallelism: 1,
        })
        .unwrap();
        assert!(other.verify(&password, &a));
    }

    #[test]
    fn password_rules() {
        assert!(validate(&SecretString::from("12345678")).is_ok());
        assert_eq!(
            validate(&SecretString::from("1234567")),
            Err(Error::Weak("it must be at least 8 characters long"))
        );
        assert!(validate(&SecretString::from("x".repeat(257))).is_err());
        assert!(
            Hasher::new(&Argon2Settings {
                memory_kib: 1,
                iterations: 1,
                parallelism: 1
            })
            .is_err()
        );
    }
}
