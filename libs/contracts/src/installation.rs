//! What the gateway answers to the calls the official CLI makes when it starts:
//! `GET /api/v1/installation` (`v1Installation`) and
//! `GET /api/v1/compatibility/{uuid}/{version}/{service}` (`v1Compatibility` of `v1Version`s).

use serde::{Deserialize, Serialize};

/// The installation record (`v1Installation`). Polyaxon answers `{key, version, dist, mode}`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Installation {
    pub key: String,
    pub version: String,
    pub dist: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hmac: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub orgs: Option<bool>,
    #[serde(default, rename = "singleUrl", skip_serializing_if = "Option::is_none")]
    pub single_url: Option<bool>,
    #[serde(default, rename = "defaultStreamsUrl", skip_serializing_if = "Option::is_none")]
    pub default_streams_url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth: Option<Vec<String>>,
}

/// A supported version range (`v1Version`).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Version {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latest: Option<String>,
}

/// Version ranges per component (`v1Compatibility`).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Compatibility {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cli: Option<Version>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platform: Option<Version>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent: Option<Version>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ui: Option<Version>,
}
