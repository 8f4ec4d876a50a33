//! Header names of the request context the gateway forwards to every service.
//!
//! Services read them into their `RequestContext`; when authentication lands, only the gateway
//! changes how `SUBJECT` and `ORG` are filled.

/// Correlates one request across the gateway, services and logs.
pub const REQUEST_ID: &str = "x-request-id";
/// The authenticated user name (`anonymous` until auth exists).
pub const SUBJECT: &str = "x-myelin-subject";
/// The organization the request acts in.
pub const ORG: &str = "x-myelin-org";
/// The subject used when a request carries no [`SUBJECT`] header.
pub const ANONYMOUS: &str = "anonymous";
/// A client's key for one events batch (`POST .../runs/{uuid}/events`), sent again unchanged with
/// every retry of that batch: the tracker stores a batch once per key and run.
pub const IDEMPOTENCY_KEY: &str = "idempotency-key";
