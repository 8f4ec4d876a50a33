#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! Deny by default, checked: every route a service documents has an entry in the gateway's route
//! table, naming that service, and every forwarded entry names a route some service documents.
//! A new service route without a permission fails here (and, at runtime, is never forwarded).

use std::collections::BTreeSet;

use myelin_gateway::http::openapi::{GatewayDoc, sample_path};
use myelin_gateway::routes::{ROUTES, Service, Target, resolve};
use utoipa::OpenApi;
use utoipa::openapi::OpenApi as Document;

/// `(METHOD, path)` of every operation in `doc`, without each service's own internal and health
/// routes (never public).
fn operations(doc: &Document) -> BTreeSet<(String, String)> {
    let mut out = BTreeSet::new();
    for (path, item) in &doc.paths.paths {
        if path.starts_with("/internal/") || path == "/healthz" || path == "/readyz" {
            continue;
        }
        for (method, operation) in [
            ("GET", &item.get),
            ("POST", &item.post),
            ("PUT", &item.put),
            ("PATCH", &item.patch),
            ("DELETE", &item.delete),
            ("HEAD", &item.head),
            ("OPTIONS", &item.options),
            ("TRACE", &item.trace),
        ] {
            if operation.is_some() {
                out.insert((method.to_owned(), path.clone()));
            }
        }
    }
    out
}

fn documents() -> Vec<(Target, Document)> {
    let mut logs = myelin_logs::http::ApiDoc::openapi();
    logs.merge(myelin_logs::artifacts::ApiDoc::openapi());
    vec![
        (
            Target::Service(Service::Tracker),
            myelin_tracker::http::ApiDoc::openapi(),
        ),
        (Target::Service(Service::Logs), logs),
        (Target::Service(Service::Auth), myelin_auth::http::ApiDoc::openapi()),
        (Target::Gateway, GatewayDoc::openapi()),
    ]
}

#[test]
fn every_documented_route_has_a_permission_for_its_service() {
    let mut missing = Vec::new();
    for (target, doc) in documents() {
        for (method, path) in operations(&doc) {
            match resolve(&method, &sample_path(&path)) {
                Some(resolved) if resolved.route.target == target && resolved.route.pattern == path => {}
                Some(resolved) => missing.push(format!(
                    "{method} {path} ({target:?}) resolves to {} {:?}",
                    resolved.route.pattern, resolved.route.target
                )),
                None => missing.push(format!("{method} {path} ({target:?}) has no entry")),
            }
        }
    }
    assert!(
        missing.is_empty(),
        "routes without a matching permission:\n{}",
        missing.join("\n")
    );
}

#[test]
fn every_table_entry_is_a_documented_route() {
    let documented: BTreeSet<(String, String)> = documents().iter().flat_map(|(_, doc)| operations(doc)).collect();
    let mut stale = Vec::new();
    for route in ROUTES {
        // The gateway's own health routes (the services' are filtered out of `documented`).
        if route.target == Target::Gateway && matches!(route.pattern, "/healthz" | "/readyz") {
            continue;
        }
        for method in route.methods.split('|') {
            // PUT is served as an alias of PATCH where a service routes both and documents PATCH.
            let alias = method == "PUT" && documented.contains(&("PATCH".to_owned(), route.pattern.to_owned()));
            if !alias && !documented.contains(&(method.to_owned(), route.pattern.to_owned())) {
                stale.push(format!("{method} {}", route.pattern));
            }
        }
    }
    assert!(
        stale.is_empty(),
        "table entries no service documents:\n{}",
        stale.join("\n")
    );
}
