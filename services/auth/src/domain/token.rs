//! API tokens: `myl_` + 43 base64url characters (32 random bytes). Only the SHA-256 of a token is
//! stored ([`TokenHash`]); a presented token is hashed, looked up by hash, and the hashes are compared
//! in constant time. A token is usable until it expires or is revoked ([`state`]).

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// What every Myelin token starts with, so a leaked one is recognisable (secret scanners, logs).
pub const PREFIX: &str = "myl_";
/// Random bytes per token.
pub const RANDOM_BYTES: usize = 32;

/// The hex SHA-256 of a token: what the database holds.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TokenHash(pub String);

impl TokenHash {
    /// The hash of `token` (any text: a malformed token simply matches nothing).
    pub fn of(token: &str) -> Self {
        TokenHash(hex::encode(Sha256::digest(token.as_bytes())))
    }

    /// Constant-time equality.
    pub fn matches(&self, other: &TokenHash) -> bool {
        self.0.as_bytes().ct_eq(other.0.as_bytes()).into()
    }
}

/// A new random token and its hash. The token is shown once to its owner and never stored.
pub fn generate() -> (SecretString, TokenHash) {
    let bytes: [u8; RANDOM_BYTES] = rand::random();
    let token = format!("{PREFIX}{}", URL_SAFE_NO_PAD.encode(bytes));
    let hash = TokenHash::of(&token);
    (SecretString::from(token), hash)
}

/// Whether `token` has the shape of a Myelin token (cheap check before a database lookup).
pub fn is_well_formed(token: &SecretString) -> bool {
    let token = token.expose_secret();
    token.len() == PREFIX.len() + 43
        && token.starts_with(PREFIX)
        && token[PREFIX.len()..]
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// The token of an `Authorization` header: `Token <t>` (what the polyaxon CLI sends) or `Bearer <t>`,
/// the scheme case-insensitive.
pub fn from_authorization(header: &str) -> Option<SecretString> {
    let (scheme, token) = header.trim().split_once(' ')?;
    let token = token.trim();
    let known = scheme.eq_ignore_ascii_case("token") || scheme.eq_ignore_ascii_case("bearer");
    (known && !token.is_empty()).then(|| SecretString::from(token.to_owned()))
}

/// Whether a stored token can be used now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenState {
    Active,
    Expired,
    Revoked,
}

/// The state of a token with these dates at `now`.
pub fn state(now: DateTime<Utc>, expires_at: Option<DateTime<Utc>>, revoked_at: Option<DateTime<Utc>>) -> TokenState {
    if revoked_at.is_some_and(|at| at <= now) {
        TokenState::Revoked
    } else if expires_at.is_some_and(|at| at <= now) {
        TokenState::Expired
    } else {
        TokenState::Active
    }
}

#[cfg(test)]
mod tests {
    use chrono::Duration;

    use super::*;

    #[test]
    fn tokens_are_random_prefixed_and_hashed() {
        let (a, hash_a) = generate();
        let (b, _) = generate();
        assert_ne!(a.expose_secret(), b.expose_secret());
        assert!(a.expose_secret().starts_with("myl_"));
        assert!(is_well_formed(&a), "{}", a.expose_secret());
        assert_eq!(hash_a, TokenHash::of(a.expose_secret()));
        assert_eq!(hash_a.0.len(), 64);
        assert!(hash_a.matches(&TokenHash::of(a.expose_secret())));
        assert!(!hash_a.matches(&TokenHash::of(b.expose_secret())));
        // Tampering with one character changes the hash.
        let mut tampered = a.expose_secret().to_owned();
        let last = if tampered.ends_with('A') { "B" } else { "A" };
        tampered.replace_range(tampered.len() - 1.., last);
        assert!(!hash_a.matches(&TokenHash::of(&tampered)));
        assert!(!is_well_formed(&SecretString::from("myl_short")));
        assert!(!is_well_formed(&SecretString::from(format!(
            "xyz_{}",
            &a.expose_secret()[4..]
        ))));
    }

    #[test]
    fn authorization_headers() {
        let t = |h: &str| from_authorization(h).map(|s| s.expose_secret().to_owned());
        assert_eq!(t("Token abc").as_deref(), Some("abc"));
        assert_eq!(t("bearer  abc ").as_deref(), Some("abc"));
        assert_eq!(t("Basic abc"), None);
        assert_eq!(t("Token "), None);
        assert_eq!(t("abc"), None);
    }

    #[test]
    fn expiry_and_revocation() {
        let now = Utc::now();
        let hour = Duration::hours(1);
        assert_eq!(state(now, None, None), TokenState::Active);
        assert_eq!(state(now, Some(now + hour), None), TokenState::Active);
        assert_eq!(state(now, Some(now), None), TokenState::Expired);
        assert_eq!(state(now, Some(now + hour), Some(now - hour)), TokenState::Revoked);
    }
}
