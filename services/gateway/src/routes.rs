//! The route table: every public (method, path) the gateway serves, who answers it, and what the
//! caller must be allowed to do. Deny by default: a request matching no entry is answered 404
//! `gateway.route_not_found` and never reaches a service, so a service route missing here cannot
//! be reached at all (and `tests/route_table.rs` fails when a documented route has no entry).
//!
//! Patterns are matched segment by segment: a literal matches itself, `{name}` any one non-empty
//! segment (`{owner}` and `{project}` are captured for the decision). When several entries
//! match, the one with the most literal segments wins (`/api/v1/orgs/{owner}` over
//! `/api/v1/{owner}/{project}`), as in axum.

use std::fmt;

use myelin_contracts::auth::Action;

/// A service the gateway forwards to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Service {
    /// Projects, runs, statuses, tracking data (`services/tracker`).
    Tracker,
    /// Run logs (history and live tail) and run artifacts (`services/logs`).
    Logs,
    /// Users, tokens, orgs, teams, roles (`services/auth`).
    Auth,
}

impl Service {
    /// Every service, in a stable order (used by readiness and the OpenAPI merge).
    pub const ALL: &'static [Service] = &[Service::Tracker, Service::Logs, Service::Auth];

    /// The service name, as in binaries, compose services and error messages.
    pub fn name(self) -> &'static str {
        match self {
            Service::Tracker => "tracker",
            Service::Logs => "logs",
            Service::Auth => "auth",
        }
    }
}

impl fmt::Display for Service {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Who answers a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// The gateway itself (health, installation, OpenAPI, the dashboard): never forwarded.
    Gateway,
    Service(Service),
}

/// What a caller needs for a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rule {
    /// Nothing: no token is read.
    Public,
    /// The auth service checks the token itself (its own API: login, tokens, orgs, teams...).
    AuthService,
    /// `Action` on the org of `{owner}` (no `{project}` in the path) or on `{project}` of it.
    Require(Action),
}

/// One entry of the table.
#[derive(Debug, Clone, Copy)]
pub struct Route {
    /// `|`-separated methods (`GET`, `PATCH|PUT`).
    pub methods: &'static str,
    pub pattern: &'static str,
    pub target: Target,
    pub rule: Rule,
}

const fn route(methods: &'static str, pattern: &'static str, target: Target, rule: Rule) -> Route {
    Route {
        methods,
        pattern,
        target,
        rule,
    }
}

const GATEWAY: Target = Target::Gateway;
const TRACKER: Target = Target::Service(Service::Tracker);
const LOGS: Target = Target::Service(Service::Logs);
const AUTH: Target = Target::Service(Service::Auth);
const fn need(action: Action) -> Rule {
    Rule::Require(action)
}
const SELF: Rule = Rule::AuthService;
const PUBLIC: Rule = Rule::Public;

/// Shorthands for the long prefixes.
macro_rules! run {
    ($tail:literal) => {
        concat!("/api/v1/{owner}/{project}/runs/{uuid}", $tail)
    };
}
macro_rules! stream {
    ($tail:literal) => {
        concat!("/streams/v1/{namespace}/{owner}/{project}/runs/", $tail)
    };
}
macro_rules! org {
    ($tail:literal) => {
        concat!("/api/v1/orgs/{owner}", $tail)
    };
}

/// The table. See `docs/rbac.md` for what each action allows whom.
pub const ROUTES: &[Route] = &[
    // The gateway's own routes.
    route("GET", "/healthz", GATEWAY, PUBLIC),
    route("GET", "/readyz", GATEWAY, PUBLIC),
    route("GET", "/api/v1/installation", GATEWAY, PUBLIC),
    route(
        "GET",
        "/api/v1/compatibility/{uuid}/{version}/{service}",
        GATEWAY,
        PUBLIC,
    ),
    route("GET", "/api/v1/log_handler", GATEWAY, PUBLIC),
    route("GET", "/api/v1/openapi.json", GATEWAY, PUBLIC),
    // Projects.
    route(
        "POST",
        "/api/v1/{owner}/projects/create",
        TRACKER,
        need(Action::ProjectCreate),
    ),
    route(
        "GET",
        "/api/v1/{owner}/projects/list",
        TRACKER,
        need(Action::ProjectList),
    ),
    route("GET", "/api/v1/{owner}/{project}", TRACKER, need(Action::ProjectView)),
    route(
        "PATCH|PUT",
        "/api/v1/{owner}/{project}",
        TRACKER,
        need(Action::ProjectUpdate),
    ),
    route(
        "DELETE",
        "/api/v1/{owner}/{project}",
        TRACKER,
        need(Action::ProjectDelete),
    ),
    // Runs.
    route("GET", "/api/v1/{owner}/{project}/runs", TRACKER, need(Action::RunView)),
    route(
        "POST",
        "/api/v1/{owner}/{project}/runs",
        TRACKER,
        need(Action::RunCreate),
    ),
    route("GET", run!(""), TRACKER, need(Action::RunView)),
    route("PATCH|PUT", run!(""), TRACKER, need(Action::RunUpdate)),
    route("DELETE", run!(""), TRACKER, need(Action::RunDelete)),
    route("GET", run!("/statuses"), TRACKER, need(Action::RunView)),
    route("POST", run!("/statuses"), TRACKER, need(Action::RunUpdate)),
    route("POST", run!("/stop"), TRACKER, need(Action::RunStop)),
    route("POST", run!("/skip"), TRACKER, need(Action::RunStop)),
    route("POST", run!("/approve"), TRACKER, need(Action::RunCreate)),
    route("POST", run!("/archive"), TRACKER, need(Action::RunDelete)),
    route("POST", run!("/restore"), TRACKER, need(Action::RunDelete)),
    route("POST", run!("/restart"), TRACKER, need(Action::RunRestart)),
    route("POST", run!("/copy"), TRACKER, need(Action::RunRestart)),
    route("POST", run!("/resume"), TRACKER, need(Action::RunRestart)),
    // Saved views of a project (Polyaxon's project searches): members save, viewers read.
    route(
        "GET",
        "/api/v1/{owner}/{project}/searches",
        TRACKER,
        need(Action::ProjectView),
    ),
    route(
        "POST",
        "/api/v1/{owner}/{project}/searches",
        TRACKER,
        need(Action::RunCreate),
    ),
    route(
        "GET",
        "/api/v1/{owner}/{project}/searches/{uuid}",
        TRACKER,
        need(Action::ProjectView),
    ),
    route(
        "PATCH|PUT|DELETE",
        "/api/v1/{owner}/{project}/searches/{uuid}",
        TRACKER,
        need(Action::RunCreate),
    ),
    // Tracking data and lineage.
    route("POST", run!("/events"), TRACKER, need(Action::RunUpdate)),
    route("GET", run!("/metrics/summary"), TRACKER, need(Action::RunView)),
    route("GET", stream!("{uuid}/events/{kind}"), TRACKER, need(Action::RunView)),
    route("GET", stream!("multi/events/{kind}"), TRACKER, need(Action::RunView)),
    route("GET", stream!("changes"), TRACKER, need(Action::RunView)),
    route("GET", run!("/lineage/artifacts"), TRACKER, need(Action::RunView)),
    route("POST", run!("/lineage/artifacts"), TRACKER, need(Action::RunUpdate)),
    route("GET", run!("/lineage/artifacts/names"), TRACKER, need(Action::RunView)),
    route(
        "DELETE",
        run!("/lineage/artifacts/{name}"),
        TRACKER,
        need(Action::RunUpdate),
    ),
    route("GET", run!("/lineage/upstream"), TRACKER, need(Action::RunView)),
    route("GET", run!("/lineage/downstream"), TRACKER, need(Action::RunView)),
    route("GET", run!("/lineage/clones"), TRACKER, need(Action::RunView)),
    // Logs and artifacts.
    route("GET", stream!("{uuid}/logs"), LOGS, need(Action::RunView)),
    route("GET", stream!("{uuid}/logs/tail"), LOGS, need(Action::RunView)),
    route("GET", stream!("{uuid}/artifact"), LOGS, need(Action::RunView)),
    route("POST", stream!("{uuid}/artifact"), LOGS, need(Action::RunUpdate)),
    route("DELETE", stream!("{uuid}/artifact"), LOGS, need(Action::RunUpdate)),
    route("GET", stream!("{uuid}/artifacts"), LOGS, need(Action::RunView)),
    route("POST", stream!("{uuid}/artifacts"), LOGS, need(Action::RunUpdate)),
    route("DELETE", stream!("{uuid}/artifacts"), LOGS, need(Action::RunUpdate)),
    route("GET", stream!("{uuid}/artifacts/tree"), LOGS, need(Action::RunView)),
    route(
        "POST",
        stream!("{uuid}/artifacts/upload"),
        LOGS,
        need(Action::RunUpdate),
    ),
    // The auth service's own API: it authenticates and checks the matrix itself.
    route("POST", "/api/v1/auth/signup", AUTH, SELF),
    route("POST", "/api/v1/auth/token", AUTH, SELF),
    route("GET", "/api/v1/users", AUTH, SELF),
    route("GET|POST", "/api/v1/users/tokens", AUTH, SELF),
    route("DELETE", "/api/v1/users/tokens/{uuid}", AUTH, SELF),
    route("POST", "/api/v1/orgs/create", AUTH, SELF),
    route("GET", "/api/v1/orgs/list", AUTH, SELF),
    route("GET|DELETE", org!(""), AUTH, SELF),
    route("GET|POST", org!("/members"), AUTH, SELF),
    route("PATCH|PUT|DELETE", org!("/members/{user}"), AUTH, SELF),
    route("GET|POST", org!("/teams"), AUTH, SELF),
    route("GET|PATCH|PUT|DELETE", org!("/teams/{team}"), AUTH, SELF),
    route("GET|POST", org!("/teams/{team}/members"), AUTH, SELF),
    route("DELETE", org!("/teams/{team}/members/{user}"), AUTH, SELF),
    route("GET|POST", org!("/teams/{team}/projects"), AUTH, SELF),
    route("DELETE", org!("/teams/{team}/projects/{project}"), AUTH, SELF),
    route("GET|POST", org!("/projects/{project}/members"), AUTH, SELF),
    route("DELETE", org!("/projects/{project}/members/{user}"), AUTH, SELF),
    route("GET|POST", org!("/sa"), AUTH, SELF),
    route("DELETE", org!("/sa/{name}"), AUTH, SELF),
    route("GET|POST", org!("/sa/{name}/tokens"), AUTH, SELF),
    route("DELETE", org!("/sa/{name}/tokens/{uuid}"), AUTH, SELF),
    route("GET", org!("/audit"), AUTH, SELF),
];

/// A request matched to its route, with the captured `{owner}`, `{project}` and `{uuid}`.
#[derive(Debug, Clone, Copy)]
pub struct Resolved<'p> {
    pub route: &'static Route,
    pub owner: Option<&'p str>,
    pub project: Option<&'p str>,
    pub uuid: Option<&'p str>,
}

impl Resolved<'_> {
    /// The service the request goes to (`None`: the gateway answers it).
    pub fn service(&self) -> Option<Service> {
        match self.route.target {
            Target::Gateway => None,
            Target::Service(service) => Some(service),
        }
    }
}

/// The route of `method` on `path`, if the table has one.
pub fn resolve<'p>(method: &str, path: &'p str) -> Option<Resolved<'p>> {
    let mut best: Option<(usize, Resolved<'p>)> = None;
    for route in ROUTES {
        if !route.methods.split('|').any(|m| m == method) {
            continue;
        }
        let Some((literals, [owner, project, uuid])) = match_pattern(route.pattern, path) else {
            continue;
        };
        if best.as_ref().is_none_or(|(n, _)| literals > *n) {
            best = Some((
                literals,
                Resolved {
                    route,
                    owner,
                    project,
                    uuid,
                },
            ));
        }
    }
    best.map(|(_, resolved)| resolved)
}

/// Whether any route serves `path` under some method (to answer 405 rather than 404).
pub fn path_known(path: &str) -> bool {
    ROUTES.iter().any(|route| match_pattern(route.pattern, path).is_some())
}

/// Matches `path` against `pattern`: the number of literal segments, and `{owner}`, `{project}`
/// and `{uuid}`.
fn match_pattern<'p>(pattern: &str, path: &'p str) -> Option<(usize, [Option<&'p str>; 3])> {
    let mut got = path.split('/');
    let (mut literals, mut owner, mut project, mut uuid) = (0, None, None, None);
    for want in pattern.split('/') {
        let segment = got.next()?;
        match want.strip_prefix('{').and_then(|w| w.strip_suffix('}')) {
            Some(name) => {
                if segment.is_empty() {
                    return None;
                }
                match name {
                    "owner" => owner = Some(segment),
                    "project" => project = Some(segment),
                    "uuid" => uuid = Some(segment),
                    _ => {}
                }
            }
            None if want == segment => literals += 1,
            None => return None,
        }
    }
    // A trailing slash is the same path; anything more is not.
    match (got.next(), got.next()) {
        (None, _) | (Some(""), None) => Some((literals, [owner, project, uuid])),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target(method: &str, path: &str) -> Option<Target> {
        resolve(method, path).map(|r| r.route.target)
    }

    #[test]
    fn resolves_services_owners_and_projects() {
        let run = "/streams/v1/polyaxon/acme/demo/runs/0123456789abcdef0123456789abcdef";
        assert_eq!(target("GET", "/api/v1/default/demo/runs"), Some(TRACKER));
        assert_eq!(target("GET", &format!("{run}/logs")), Some(LOGS));
        assert_eq!(target("GET", &format!("{run}/logs/tail")), Some(LOGS));
        assert_eq!(target("GET", &format!("{run}/events/metric")), Some(TRACKER));
        assert_eq!(
            target("GET", "/streams/v1/p/acme/demo/runs/multi/events/metric"),
            Some(TRACKER)
        );
        for tail in ["artifact", "artifacts", "artifacts/tree"] {
            assert_eq!(target("GET", &format!("{run}/{tail}")), Some(LOGS), "{tail}");
        }
        assert_eq!(target("POST", &format!("{run}/artifacts/upload")), Some(LOGS));
        assert_eq!(target("GET", &format!("{run}/logsx")), None);
        assert_eq!(target("GET", &format!("{run}/artifacts/upload")), None);
        assert_eq!(target("GET", "/internal/openapi.json"), None);
        assert_eq!(target("POST", "/internal/v1/authorize"), None);
        assert_eq!(target("GET", "/api/v2/x"), None);
        assert_eq!(target("GET", "/api/v1/acme"), None);
        assert_eq!(target("GET", "/api/v1//x"), None);

        let resolved = resolve("POST", "/api/v1/acme/demo/runs/abc/stop").unwrap();
        assert_eq!((resolved.owner, resolved.project), (Some("acme"), Some("demo")));
        assert_eq!(
            (resolved.uuid, resolved.route.rule),
            (Some("abc"), Rule::Require(Action::RunStop))
        );
        let resolved = resolve("GET", "/streams/v1/polyaxon/acme/demo/runs/u/logs").unwrap();
        assert_eq!((resolved.owner, resolved.project), (Some("acme"), Some("demo")));
        let resolved = resolve("GET", "/api/v1/acme/projects/list").unwrap();
        assert_eq!((resolved.owner, resolved.project), (Some("acme"), None));
        assert_eq!(resolved.route.rule, Rule::Require(Action::ProjectList));
        let resolved = resolve("PUT", "/api/v1/acme/demo/").unwrap();
        assert_eq!(resolved.route.rule, Rule::Require(Action::ProjectUpdate));
    }

    #[test]
    fn literal_segments_win_over_parameters() {
        assert_eq!(target("GET", "/api/v1/orgs/acme"), Some(AUTH));
        assert_eq!(target("GET", "/api/v1/users/tokens"), Some(AUTH));
        assert_eq!(target("GET", "/api/v1/acme/projects/list"), Some(TRACKER));
        assert_eq!(target("GET", "/api/v1/installation"), Some(GATEWAY));
        assert_eq!(target("GET", "/api/v1/acme/demo"), Some(TRACKER));
        assert_eq!(
            resolve("GET", "/api/v1/a/b/runs/u/lineage/artifacts/names")
                .unwrap()
                .route
                .rule,
            Rule::Require(Action::RunView)
        );
        assert_eq!(
            resolve("DELETE", "/api/v1/a/b/runs/u/lineage/artifacts/model")
                .unwrap()
                .route
                .rule,
            Rule::Require(Action::RunUpdate)
        );
    }

    #[test]
    fn methods_are_part_of_the_route() {
        assert_eq!(
            resolve("DELETE", "/api/v1/acme/demo").unwrap().route.rule,
            Rule::Require(Action::ProjectDelete)
        );
        assert!(resolve("POST", "/api/v1/acme/demo").is_none());
        assert!(path_known("/api/v1/acme/demo"));
        assert!(!path_known("/api/v1/acme/demo/nothing"));
    }

    #[test]
    fn every_forwarded_route_names_a_rule_that_fits_its_path() {
        for route in ROUTES {
            if let Rule::Require(_) = route.rule {
                assert!(route.pattern.contains("{owner}"), "{} has no owner", route.pattern);
            }
            assert!(
                route
                    .methods
                    .split('|')
                    .all(|m| ["GET", "POST", "PUT", "PATCH", "DELETE"].contains(&m)),
                "{}",
                route.methods
            );
        }
    }
}
