//! The route table: which service owns which public path prefix.
//!
//! Adding a service (auth, logs, scheduler) is one [`Service`] variant and one [`ROUTES`] entry.
//! The gateway's own routes (`/healthz`, `/api/v1/installation`, ...) are matched by axum before
//! this table is consulted, so they never reach an upstream.

use std::fmt;

/// A service the gateway forwards to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Service {
    /// Projects, runs, statuses (`services/tracker`).
    Tracker,
    /// Run logs (history and live tail) and run artifacts (`services/logs`).
    Logs,
}

impl Service {
    /// Every service, in a stable order (used by readiness and the OpenAPI merge).
    pub const ALL: &'static [Service] = &[Service::Tracker, Service::Logs];

    /// The service name, as in binaries, compose services and error messages.
    pub fn name(self) -> &'static str {
        match self {
            Service::Tracker => "tracker",
            Service::Logs => "logs",
        }
    }
}

impl fmt::Display for Service {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Where the `{owner}` segment sits in the paths under a prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OwnerAt {
    /// `/api/v1/{owner}/...` and `/api/v1/orgs/{owner}/...`.
    Api,
    /// `/streams/v1/{namespace}/{owner}/...`.
    Streams,
}

/// One entry of the table: paths starting with `prefix` (and matching `pattern`, when set) go to
/// `service`.
#[derive(Debug, Clone, Copy)]
pub struct Route {
    pub prefix: &'static str,
    /// Segment by segment, `*` being any one segment; the path may go on past it.
    pub pattern: Option<&'static str>,
    pub service: Service,
    pub owner_at: OwnerAt,
}

/// The table, most specific prefix first. Unknown `/api/v1/...` paths go to the tracker, whose 404
/// is authoritative.
pub const ROUTES: &[Route] = &[
    Route {
        prefix: "/api/v1/",
        pattern: None,
        service: Service::Tracker,
        owner_at: OwnerAt::Api,
    },
    // Metric and event reads, one run (`runs/{uuid}/events/{kind}`) or several (`runs/multi/events/{kind}`).
    Route {
        prefix: "/streams/v1/",
        pattern: Some("/streams/v1/*/*/*/runs/*/events"),
        service: Service::Tracker,
        owner_at: OwnerAt::Streams,
    },
    Route {
        prefix: "/streams/v1/",
        pattern: Some("/streams/v1/*/*/*/runs/*/logs"),
        service: Service::Logs,
        owner_at: OwnerAt::Streams,
    },
    // Run artifacts: one file (`.../artifact`), a directory, its tree and uploads (`.../artifacts[/...]`).
    Route {
        prefix: "/streams/v1/",
        pattern: Some("/streams/v1/*/*/*/runs/*/artifact"),
        service: Service::Logs,
        owner_at: OwnerAt::Streams,
    },
    Route {
        prefix: "/streams/v1/",
        pattern: Some("/streams/v1/*/*/*/runs/*/artifacts"),
        service: Service::Logs,
        owner_at: OwnerAt::Streams,
    },
    Route {
        prefix: "/streams/v1/",
        pattern: None,
        service: Service::Tracker,
        owner_at: OwnerAt::Streams,
    },
];

/// First segments under `/api/v1/` that are not an owner.
const NOT_OWNERS: &[&str] = &[
    "users",
    "auth",
    "installation",
    "compatibility",
    "log_handler",
    "sso",
    "openapi.json",
];

/// The route owning `path`, if any.
pub fn resolve(path: &str) -> Option<&'static Route> {
    ROUTES.iter().find(|route| {
        path.starts_with(route.prefix) && route.pattern.is_none_or(|pattern| matches_segments(pattern, path))
    })
}

/// Whether `path` starts with the segments of `pattern` (`*` matches any non-empty segment).
fn matches_segments(pattern: &str, path: &str) -> bool {
    let mut segments = path.split('/');
    pattern.split('/').all(|want| {
        segments
            .next()
            .is_some_and(|got| got == want || (want == "*" && !got.is_empty()))
    })
}

impl Route {
    /// The `{owner}` segment of `path` (which starts with this route's prefix), when it has one.
    pub fn owner<'p>(&self, path: &'p str) -> Option<&'p str> {
        let rest = path.strip_prefix(self.prefix)?;
        let mut segments = rest.split('/');
        let owner = match self.owner_at {
            OwnerAt::Api => match segments.next()? {
                "orgs" => segments.next()?,
                first if NOT_OWNERS.contains(&first) => return None,
                first => {
                    // `/api/v1/{owner}` alone is not an owner-scoped path.
                    segments.next()?;
                    first
                }
            },
            OwnerAt::Streams => {
                segments.next()?;
                segments.next()?
            }
        };
        (!owner.is_empty()).then_some(owner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn owner(path: &str) -> Option<&str> {
        resolve(path).and_then(|route| route.owner(path))
    }

    #[test]
    fn resolves_prefixes_and_owners() {
        assert_eq!(
            resolve("/api/v1/default/demo/runs").map(|r| r.service),
            Some(Service::Tracker)
        );
        assert_eq!(
            resolve("/streams/v1/polyaxon/default/demo/runs/x/logs").map(|r| r.service),
            Some(Service::Logs)
        );
        assert_eq!(
            resolve("/streams/v1/polyaxon/default/demo/runs/x/logs/tail").map(|r| r.service),
            Some(Service::Logs)
        );
        assert_eq!(
            resolve("/streams/v1/polyaxon/default/demo/runs/x/events/metric").map(|r| r.service),
            Some(Service::Tracker)
        );
        assert_eq!(
            resolve("/streams/v1/polyaxon/default/demo/runs/x/logsx").map(|r| r.service),
            Some(Service::Tracker)
        );
        assert_eq!(
            resolve("/streams/v1/polyaxon/default/demo/runs/multi/events/metric").map(|r| r.service),
            Some(Service::Tracker)
        );
        assert_eq!(
            resolve("/streams/v1/polyaxon/default/demo/runs/multi/events/metric")
                .and_then(|r| r.owner("/streams/v1/polyaxon/default/demo/runs/multi/events/metric")),
            Some("default")
        );
        assert!(resolve("/internal/openapi.json").is_none());
        assert!(resolve("/api/v2/x").is_none());

        assert_eq!(owner("/api/v1/default/projects/list"), Some("default"));
        assert_eq!(owner("/api/v1/acme/demo/runs/abc/statuses"), Some("acme"));
        assert_eq!(owner("/api/v1/orgs/acme/agents/state"), Some("acme"));
        assert_eq!(owner("/streams/v1/polyaxon/acme/demo/runs/u/logs"), Some("acme"));
        assert_eq!(owner("/api/v1/users"), None);
        assert_eq!(owner("/api/v1/acme"), None);
        assert_eq!(owner("/api/v1//x"), None);
        assert_eq!(owner("/streams/v1/polyaxon"), None);
    }

    #[test]
    fn artifact_paths_go_to_logs_and_events_stay_with_the_tracker() {
        let run = "/streams/v1/polyaxon/acme/demo/runs/0123456789abcdef0123456789abcdef";
        for tail in [
            "artifact",
            "artifact?path=outputs/model.bin",
            "artifacts",
            "artifacts/tree",
            "artifacts/upload",
        ] {
            let path = format!("{run}/{tail}");
            let path = path.split('?').next().unwrap();
            assert_eq!(resolve(path).map(|r| r.service), Some(Service::Logs), "{path}");
            assert_eq!(resolve(path).and_then(|r| r.owner(path)), Some("acme"), "{path}");
        }
        for path in [
            format!("{run}/artifactsx"),
            format!("{run}/artifact_lineage"),
            format!("{run}/events/metric"),
            "/streams/v1/polyaxon/acme/demo/runs/multi/events/metric".to_owned(),
            "/streams/v1/polyaxon/acme/demo/runs/artifacts".to_owned(),
        ] {
            assert_eq!(resolve(&path).map(|r| r.service), Some(Service::Tracker), "{path}");
        }
    }
}
