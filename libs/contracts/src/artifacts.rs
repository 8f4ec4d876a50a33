//! Run artifacts served by the logs service on the blob store, under Polyaxon's streams paths
//! (`/streams/v1/{ns}/{owner}/{project}/runs/{uuid}/artifact`, `.../artifacts`, `.../artifacts/tree`,
//! `.../artifacts/upload`): the tree answer (Polyaxon's `V1ArtifactTree`), the options of an upload
//! and what an upload stored.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// The multipart field carrying the uploaded file (the polyaxon client's name).
pub const UPLOAD_FILE_FIELD: &str = "upload_file";

/// The optional multipart field carrying [`UploadOptions`] as JSON (the polyaxon client sends it
/// after the file).
pub const UPLOAD_JSON_FIELD: &str = "json";

/// One level of a run's artifacts directory (`GET .../artifacts/tree?path=DIR`):
/// `{"files": {"name": size}, "dirs": ["name"]}`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ArtifactTree {
    /// Files directly in the directory: name → size in bytes.
    pub files: BTreeMap<String, u64>,
    /// Sub-directories (names), sorted.
    pub dirs: Vec<String>,
}

/// Where and how an upload lands: the query of `POST .../artifact|artifacts[/upload]`, or the
/// `json` multipart field the polyaxon client sends (`{"path": ..., "untar": ..., "overwrite": ...}`).
/// Unset fields take the route's defaults.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct UploadOptions {
    /// Destination directory relative to the run (default: the run's root).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// Unpack the uploaded `.tar.gz` into `path` (default: false for `.../artifact`, true for
    /// `.../artifacts` and `.../artifacts/upload`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub untar: Option<bool>,
    /// Replace existing files (default true); when false an existing file is left as it is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub overwrite: Option<bool>,
}

/// The answer to an upload: what was stored.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ArtifactUploaded {
    /// The stored file (or, for an unpacked archive, the directory), relative to the run.
    pub path: String,
    /// Files written (0 when `overwrite` was false and the file existed).
    pub files: u64,
    /// Bytes written.
    pub bytes: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tree_and_options_keep_polyaxon_shapes() {
        let tree = ArtifactTree {
            files: BTreeMap::from([("loss.plx".to_owned(), 42)]),
            dirs: vec!["events".to_owned()],
        };
        let json = serde_json::to_value(&tree).unwrap();
        assert_eq!(json, serde_json::json!({"files": {"loss.plx": 42}, "dirs": ["events"]}));
        let options: UploadOptions =
            serde_json::from_str(r#"{"untar":false,"path":"events/metric","overwrite":true}"#).unwrap();
        assert_eq!(options.path.as_deref(), Some("events/metric"));
        assert_eq!((options.untar, options.overwrite), (Some(false), Some(true)));
    }
}
