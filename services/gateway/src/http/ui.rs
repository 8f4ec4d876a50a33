//! The dashboard (`web/`, embedded at build time by `build.rs`): `/` redirects (307) to `/ui`;
//! `/ui` and every `/ui/...` page path answer `index.html` (the app routes in the browser); the files
//! are under `/ui/assets/<path in web/>` with their content type, `Cache-Control: no-cache` and an
//! ETag computed at build time (`If-None-Match` → 304). Nothing here reads a file at run time, and
//! these routes need no token: the app asks for one when the API answers 401.

use axum::Router;
use axum::extract::Path;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use http::header::{CACHE_CONTROL, CONTENT_SECURITY_POLICY, CONTENT_TYPE, ETAG, IF_NONE_MATCH, X_CONTENT_TYPE_OPTIONS};
use http::{HeaderMap, HeaderValue, StatusCode};

/// One embedded file of `web/`.
#[derive(Debug)]
pub struct Asset {
    /// Path relative to `web/`, `/`-separated (`vendor/uPlot.esm.js`).
    pub path: &'static str,
    pub content_type: &'static str,
    /// A quoted strong validator (`"0123456789abcdef"`), a hash of `bytes`.
    pub etag: &'static str,
    pub bytes: &'static [u8],
}

/// Every file of `web/`, sorted by path.
pub static ASSETS: &[Asset] = &include!(concat!(env!("OUT_DIR"), "/ui_assets.rs"));

/// The page every `/ui` path answers.
pub const INDEX: &str = "index.html";

/// What the app's page may load: its own files and API, images and frames it builds from fetched
/// blobs (artifact previews), inline styles (chart layout). No inline script, no plugin.
const PAGE_POLICY: &str = "default-src 'self'; img-src 'self' blob: data:; media-src 'self' blob:; \
    style-src 'self' 'unsafe-inline'; frame-src 'self' blob: about:; object-src 'none'; base-uri 'none'; \
    frame-ancestors 'none'";

/// The embedded file at `path` (relative to `web/`).
pub fn asset(path: &str) -> Option<&'static Asset> {
    ASSETS
        .binary_search_by(|a| a.path.cmp(path))
        .ok()
        .and_then(|i| ASSETS.get(i))
}

/// The dashboard's routes, stateless so they merge into any router.
pub fn router<S: Clone + Send + Sync + 'static>() -> Router<S> {
    Router::new()
        .route("/", get(|| async { Redirect::temporary("/ui") }))
        .route("/ui", get(page))
        .route("/ui/", get(page))
        .route("/ui/assets/{*path}", get(file))
        .route("/ui/{*rest}", get(page))
}

async fn page(headers: HeaderMap) -> Response {
    match asset(INDEX) {
        Some(index) => {
            let mut response = serve(index, &headers);
            response
                .headers_mut()
                .insert(CONTENT_SECURITY_POLICY, HeaderValue::from_static(PAGE_POLICY));
            response
        }
        None => (StatusCode::NOT_FOUND, "the dashboard was built without index.html").into_response(),
    }
}

async fn file(Path(path): Path<String>, headers: HeaderMap) -> Response {
    match asset(&path) {
        Some(found) => serve(found, &headers),
        None => (StatusCode::NOT_FOUND, format!("no dashboard file `{path}`")).into_response(),
    }
}

fn serve(asset: &'static Asset, request: &HeaderMap) -> Response {
    let fresh = request
        .get(IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|tags| tags.split(',').any(|t| t.trim() == asset.etag || t.trim() == "*"));
    let headers = [
        (ETAG, HeaderValue::from_static(asset.etag)),
        (CACHE_CONTROL, HeaderValue::from_static("no-cache")),
        (X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff")),
    ];
    if fresh {
        return (StatusCode::NOT_MODIFIED, headers).into_response();
    }
    let content_type = [(CONTENT_TYPE, HeaderValue::from_static(asset.content_type))];
    (StatusCode::OK, headers, content_type, asset.bytes).into_response()
}

#[cfg(test)]
mod tests {
    use axum::body::Body;
    use http::Request;
    use http::header::LOCATION;
    use http_body_util::BodyExt;
    use tower::ServiceExt;

    use super::*;

    async fn get(uri: &str, if_none_match: Option<&str>) -> (StatusCode, HeaderMap, Vec<u8>) {
        let mut request = Request::get(uri);
        if let Some(tag) = if_none_match {
            request = request.header(IF_NONE_MATCH, tag);
        }
        let response = router::<()>()
            .oneshot(request.body(Body::empty()).unwrap())
            .await
            .unwrap();
        let (parts, body) = response.into_parts();
        let bytes = body.collect().await.unwrap().to_bytes().to_vec();
        (parts.status, parts.headers, bytes)
    }

    fn web(path: &str) -> Vec<u8> {
        std::fs::read(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("../../web")
                .join(path),
        )
        .unwrap()
    }

    #[tokio::test]
    async fn root_redirects_to_the_dashboard() {
        let (status, headers, _) = get("/", None).await;
        assert_eq!(status, StatusCode::TEMPORARY_REDIRECT);
        assert_eq!(headers[LOCATION], "/ui");
    }

    #[tokio::test]
    async fn every_page_path_answers_the_app_shell() {
        let index = web("index.html");
        for uri in [
            "/ui",
            "/ui/",
            "/ui/default",
            "/ui/default/demo/runs?query=status:running",
            "/ui/default/demo/runs/0123456789abcdef0123456789abcdef",
            "/ui/default/demo/compare?uuids=a,b",
        ] {
            let (status, headers, body) = get(uri, None).await;
            assert_eq!(status, StatusCode::OK, "{uri}");
            assert_eq!(headers[CONTENT_TYPE], "text/html; charset=utf-8", "{uri}");
            assert_eq!(headers[CACHE_CONTROL], "no-cache");
            assert!(
                headers[CONTENT_SECURITY_POLICY]
                    .to_str()
                    .unwrap()
                    .contains("object-src 'none'")
            );
            assert_eq!(body, index, "{uri}");
        }
    }

    #[tokio::test]
    async fn assets_are_the_embedded_files_with_type_and_etag() {
        for (path, content_type) in [
            ("app.js", "text/javascript; charset=utf-8"),
            ("style.css", "text/css; charset=utf-8"),
            ("vendor/uPlot.esm.js", "text/javascript; charset=utf-8"),
            ("vendor/uPlot.min.css", "text/css; charset=utf-8"),
            ("vendor/LICENSE", "text/plain; charset=utf-8"),
        ] {
            let (status, headers, body) = get(&format!("/ui/assets/{path}"), None).await;
            assert_eq!(status, StatusCode::OK, "{path}");
            assert_eq!(headers[CONTENT_TYPE], content_type, "{path}");
            assert_eq!(headers[X_CONTENT_TYPE_OPTIONS], "nosniff");
            assert_eq!(body, web(path), "{path}");
            let etag = headers[ETAG].to_str().unwrap();
            assert_eq!(etag.len(), 18, "{etag}");
            assert!(etag.starts_with('"') && etag.ends_with('"'), "{etag}");
        }
    }

    #[tokio::test]
    async fn a_matching_etag_is_not_modified_and_a_stale_one_is_served() {
        let (_, headers, _) = get("/ui/assets/app.js", None).await;
        let etag = headers[ETAG].to_str().unwrap().to_owned();
        let (status, headers, body) = get("/ui/assets/app.js", Some(&format!("\"stale\", {etag}"))).await;
        assert_eq!(status, StatusCode::NOT_MODIFIED);
        assert_eq!(headers[ETAG], etag.as_str());
        assert!(body.is_empty());
        let (status, _, body) = get("/ui/assets/app.js", Some("\"stale\"")).await;
        assert_eq!(status, StatusCode::OK);
        assert!(!body.is_empty());
        let (status, _, _) = get("/ui/default/demo/runs", Some(asset(INDEX).unwrap().etag)).await;
        assert_eq!(status, StatusCode::NOT_MODIFIED);
    }

    #[tokio::test]
    async fn unknown_assets_are_404_and_the_table_is_sorted_and_distinct() {
        for uri in ["/ui/assets/missing.js", "/ui/assets/../Cargo.toml", "/ui/assets/vendor"] {
            let (status, _, _) = get(uri, None).await;
            assert_eq!(status, StatusCode::NOT_FOUND, "{uri}");
        }
        assert!(ASSETS.windows(2).all(|w| w[0].path < w[1].path));
        assert!(
            ASSETS
                .iter()
                .all(|a| !a.path.starts_with('.') && !a.path.contains("/."))
        );
        let distinct: std::collections::HashSet<_> = ASSETS.iter().map(|a| (a.etag, a.bytes)).collect();
        let etags: std::collections::HashSet<_> = ASSETS.iter().map(|a| a.etag).collect();
        assert_eq!(distinct.len(), etags.len(), "equal ETags for different bytes");
    }
}
