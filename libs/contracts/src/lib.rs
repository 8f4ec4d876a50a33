//! Every type that crosses a Myelin process boundary (REST DTOs, bus messages, exchange and
//! routing-key names, header names). Nothing else in the workspace may define a wire type.
//!
//! The REST types copy the JSON shapes of Polyaxon's API v1 (swagger `v1*` definitions), so the
//! official `polyaxon` CLI and SDK can talk to Myelin:
//!
//! - [`auth`]: actions, roles, the auth API's shapes, the decision request and cache invalidations.
//! - [`headers`]: request-context header names the gateway forwards to services.
//! - [`ids`]: [`RunUuid`] and [`ProjectUuid`], 32-hex uuids as Polyaxon prints them.
//! - [`status`]: [`Statuses`], status conditions, `V1Status` and the status POST body.
//! - [`project`]: `V1Project`, create and patch bodies.
//! - [`run`]: `V1Run`, create and patch bodies, run kinds, cloning, pipelines.
//! - [`logs`]: `V1Log`/`V1Logs` and the live tail's events.
//! - [`list`]: `{count, results, previous, next}` pages and their query.
//! - [`events`]: bus envelope, exchange name, routing keys and typed payloads.
//! - [`execution`]: dispatched runs, status reports, run queues and log stream keys.
//! - [`tracking`]: metric/event ingestion and reads, collected series, summaries, lineage.
//! - [`view`]: saved run views (`V1Search`).
//! - [`installation`]: `V1Installation`, `V1Compatibility`, `V1Version`.

pub mod artifacts;
pub mod auth;
pub mod events;
pub mod execution;
pub mod headers;
pub mod ids;
pub mod installation;
pub mod list;
pub mod logs;
pub mod project;
pub mod run;
pub mod status;
pub mod tracking;
pub mod view;

pub use events::Envelope;
pub use ids::{ProjectUuid, RunUuid};
pub use list::{ListQuery, ListResponse};
pub use project::{CreateProject, PatchProject, Project};
pub use run::{CloningKind, CreateRun, ManagedBy, PatchRun, Run, RunKind, RunOriginal};
pub use status::{RunStatus, StatusBody, StatusCondition, Statuses};
