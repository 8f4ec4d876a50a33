//! [`ROUTES`] against the document (both ways) and against the router (every entry reaches a
//! handler; every other method on a listed path is a 405).

use std::collections::{BTreeSet, HashSet};
use std::sync::Arc;

use axum::body::Body;
use http::{Method, Request, StatusCode};
use http_body_util::BodyExt;
use myelin_common::coord::memory::MemoryCoord;
use myelin_common::db::{self, DbSettings};
use serde_json::Value;
use tower::ServiceExt;

use super::*;
use crate::{App, Deps, Settings};

const METHODS: [&str; 5] = ["GET", "POST", "PUT", "PATCH", "DELETE"];

/// The `(METHOD, path)` pairs of the document.
fn documented() -> BTreeSet<(String, String)> {
    let doc = serde_json::to_value(ApiDoc::openapi()).unwrap();
    let mut pairs = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in METHODS {
            if item.get(method.to_lowercase()).is_some() {
                pairs.insert((method.to_owned(), path.clone()));
            }
        }
    }
    pairs
}

#[test]
fn the_document_holds_exactly_the_routes() {
    let listed: BTreeSet<(String, String)> = ROUTES.iter().map(|(m, p)| ((*m).to_owned(), (*p).to_owned())).collect();
    assert_eq!(listed.len(), ROUTES.len(), "ROUTES has duplicates");
    let documented = documented();
    let undocumented: Vec<_> = listed.difference(&documented).collect();
    let unlisted: Vec<_> = documented.difference(&listed).collect();
    assert!(undocumented.is_empty(), "routes missing from ApiDoc: {undocumented:?}");
    assert!(unlisted.is_empty(), "documented but not in ROUTES: {unlisted:?}");
}

#[test]
fn operations_have_unique_ids_and_known_tags_and_schemes() {
    let doc = serde_json::to_value(ApiDoc::openapi()).unwrap();
    let tags = [
        "auth",
        "orgs",
        "teams",
        "service_accounts",
        "audit",
        "internal",
        "health",
    ];
    let schemes = doc["components"]["securitySchemes"].as_object().unwrap();
    let mut ids = HashSet::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            let id = op["operationId"].as_str().unwrap();
            assert!(ids.insert(id.to_owned()), "operationId `{id}` twice ({method} {path})");
            let tag = op["tags"][0].as_str().unwrap();
            assert!(tags.contains(&tag), "{method} {path}: unknown tag `{tag}`");
            for requirement in op["security"].as_array().into_iter().flatten() {
                for name in requirement.as_object().unwrap().keys() {
                    assert!(schemes.contains_key(name), "{method} {path}: no scheme `{name}`");
                }
            }
        }
    }
    assert!(doc["components"]["schemas"]["Action"]["enum"].as_array().unwrap().len() > 30);
    assert_eq!(
        doc["components"]["schemas"]["Signup"]["properties"]["password"]["format"],
        "password"
    );
}

/// `path` with each `{param}` replaced by the parameter's name.
fn concrete(path: &str) -> String {
    path.replace(['{', '}'], "")
}

/// Status and body of `method path` sent without a token or body.
async fn send(router: &axum::Router, method: &str, path: &str) -> (StatusCode, Value) {
    let request = Request::builder()
        .method(Method::from_bytes(method.as_bytes()).unwrap())
        .uri(concrete(path))
        .body(Body::empty())
        .unwrap();
    let response = router.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    (status, serde_json::from_slice(&bytes).unwrap_or(Value::Null))
}

#[tokio::test]
async fn every_route_reaches_a_handler_and_no_other_method_does() {
    let db = db::connect("sqlite::memory:", &DbSettings::default()).await.unwrap();
    let coord = Arc::new(MemoryCoord::with_prefix(format!("openapi-{}:", uuid::Uuid::now_v7())));
    let app = App::build(Settings::default(), Deps { db, coord }).await.unwrap();
    let router = app.router();
    for (method, path) in ROUTES {
        let (status, body) = send(&router, method, path).await;
        // A handler answers with a body: an `auth.*` error (401 without a token, 400 without a
        // body) or a document. Axum's own 404 (no route) and 405 (no such method) are empty.
        let handled = status.is_success() || body["code"].as_str().is_some_and(|c| c.starts_with("auth."));
        assert!(handled, "{method} {path} → {status} {body}: not routed");
    }
    let paths: BTreeSet<&str> = ROUTES.iter().map(|(_, p)| *p).collect();
    for path in paths {
        for method in METHODS {
            if !ROUTES.contains(&(method, path)) {
                let (status, _) = send(&router, method, path).await;
                assert_eq!(
                    status,
                    StatusCode::METHOD_NOT_ALLOWED,
                    "{method} {path} is routed but not in ROUTES"
                );
            }
        }
    }
}
