//! Run tokens: what a run's own code uses to call the API (`MYELIN_TOKEN`, `POLYAXON_AUTH_TOKEN`).
//!
//! The executor mints one per run when it starts it; the gateway checks it without asking anyone:
//! `myr_<payload>.<mac>`, the payload being the base64url JSON [`RunClaims`] (run, owner, project,
//! expiry) and the mac its HMAC-SHA256 (RFC 2104) under the key both share
//! (`run_token_secret`). A run token only ever acts on its own project's runs (see the gateway's
//! access rules); it cannot be revoked, so it expires (the run's timeout, else 7 days).

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// Every run token starts with this.
pub const PREFIX: &str = "myr_";

/// What a run token says.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunClaims {
    /// The run (32 hex digits).
    pub run: String,
    pub owner: String,
    pub project: String,
    /// Expiry, seconds since the epoch.
    pub exp: i64,
}

/// Why a run token was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RunTokenError {
    #[error("the run token is malformed")]
    Malformed,
    #[error("the run token's signature is wrong")]
    BadSignature,
    #[error("the run token expired")]
    Expired,
}

/// The shared key that signs and checks run tokens.
#[derive(Clone)]
pub struct RunTokenKey {
    key: Vec<u8>,
}

impl std::fmt::Debug for RunTokenKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RunTokenKey(**redacted**)")
    }
}

impl RunTokenKey {
    /// The key from the configured secret.
    pub fn new(secret: &SecretString) -> Self {
        Self {
            key: secret.expose_secret().as_bytes().to_vec(),
        }
    }

    /// A token for `claims`.
    pub fn sign(&self, claims: &RunClaims) -> String {
        let json = serde_json::to_vec(claims).unwrap_or_default();
        let payload = URL_SAFE_NO_PAD.encode(json);
        let mac = URL_SAFE_NO_PAD.encode(hmac_sha256(&self.key, payload.as_bytes()));
        format!("{PREFIX}{payload}.{mac}")
    }

    /// The claims of `token` if it is ours, intact and not expired at `now`.
    pub fn verify(&self, token: &str, now: DateTime<Utc>) -> Result<RunClaims, RunTokenError> {
        let body = token.strip_prefix(PREFIX).ok_or(RunTokenError::Malformed)?;
        let (payload, mac) = body.split_once('.').ok_or(RunTokenError::Malformed)?;
        let mac = URL_SAFE_NO_PAD.decode(mac).map_err(|_| RunTokenError::Malformed)?;
        let expected = hmac_sha256(&self.key, payload.as_bytes());
        if !bool::from(expected.as_slice().ct_eq(&mac)) {
            return Err(RunTokenError::BadSignature);
        }
        let json = URL_SAFE_NO_PAD.decode(payload).map_err(|_| RunTokenError::Malformed)?;
        let claims: RunClaims = serde_json::from_slice(&json).map_err(|_| RunTokenError::Malformed)?;
        if claims.exp <= now.timestamp() {
            return Err(RunTokenError::Expired);
        }
        Ok(claims)
    }
}

/// Whether `token` looks like a run token (rather than an auth-service token).
pub fn is_run_token(token: &str) -> bool {
    token.starts_with(PREFIX)
}

/// HMAC-SHA256 (RFC 2104; block size 64).
fn hmac_sha256(key: &[u8], message: &[u8]) -> [u8; 32] {
    const BLOCK: usize = 64;
    let mut block = [0u8; BLOCK];
    if key.len() > BLOCK {
        block[..32].copy_from_slice(&Sha256::digest(key));
    } else {
        block[..key.len()].copy_from_slice(key);
    }
    let pad = |byte: u8| block.map(|k| k ^ byte);
    let inner = Sha256::new().chain_update(pad(0x36)).chain_update(message).finalize();
    Sha256::new()
        .chain_update(pad(0x5c))
        .chain_update(inner)
        .finalize()
        .into()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(bytes: &[u8]) -> String {
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }

    #[test]
    fn hmac_matches_rfc_4231() {
        // Test cases 1, 2 and 6 (a key longer than the block).
        assert_eq!(
            hex(&hmac_sha256(&[0x0b; 20], b"Hi There")),
            "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"
        );
        assert_eq!(
            hex(&hmac_sha256(b"Jefe", b"what do ya want for nothing?")),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
        assert_eq!(
            hex(&hmac_sha256(
                &[0xaa; 131],
                b"Test Using Larger Than Block-Size Key - Hash Key First"
            )),
            "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"
        );
    }

    fn claims(exp: i64) -> RunClaims {
        RunClaims {
            run: "0123456789abcdef0123456789abcdef".into(),
            owner: "acme".into(),
            project: "demo".into(),
            exp,
        }
    }

    #[test]
    fn signs_verifies_and_refuses_tampering_and_expiry() {
        let key = RunTokenKey::new(&SecretString::from("s3cret"));
        let now = Utc::now();
        let token = key.sign(&claims(now.timestamp() + 60));
        assert!(is_run_token(&token));
        assert_eq!(key.verify(&token, now).unwrap(), claims(now.timestamp() + 60));

        let other = RunTokenKey::new(&SecretString::from("other"));
        assert_eq!(other.verify(&token, now), Err(RunTokenError::BadSignature));

        // Another project in the payload, same mac.
        let (_, mac) = token.split_once('.').unwrap();
        let mut forged = claims(now.timestamp() + 60);
        forged.project = "secret".into();
        let forged_payload = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&forged).unwrap());
        let forged = format!("{PREFIX}{forged_payload}.{mac}");
        assert_eq!(key.verify(&forged, now), Err(RunTokenError::BadSignature));

        let expired = key.sign(&claims(now.timestamp() - 1));
        assert_eq!(key.verify(&expired, now), Err(RunTokenError::Expired));
        for garbage in ["", "myr_", "myr_abc", "myr_a.b", "myl_abc.def", "myr_!!.??"] {
            assert!(key.verify(garbage, now).is_err(), "{garbage}");
        }
    }
}
