//! Params (`V1Param`, short form included), joins (`V1Join`), hooks (`V1Hook`), builds
//! (`V1Build`) and tuners (`V1Tuner`).

use std::collections::BTreeMap;
use std::fmt;

use serde::de::{Deserializer, Visitor};
use serde::{Deserialize, Serialize};

use super::env::Cache;
use super::inout::present;
use super::schedule::{PatchStrategy, Status};
use super::{Json, OrRef};
use crate::section;

section! {
    /// The full form of a param; see [`Param`].
    #[derive(Default)]
    pub struct ParamFields {
        #[serde(deserialize_with = "present")]
        value: Option<Json>,
        /// `ops.<name>`, `dag`, `runs.<uuid>`.
        r#ref: Option<String>,
        context_only: Option<bool>,
        connection: Option<String>,
        to_init: Option<bool>,
        to_env: Option<String>,
    }
}

/// A value for an input/output or the context: `{value: 0.1}`, `{ref: ops.a, value:
/// outputs.x}`, or the short form `0.1` (read as `{value: 0.1}`, as Polyaxon 2.13+ does).
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
#[serde(transparent)]
pub struct Param(pub ParamFields);

impl Param {
    /// A literal param.
    pub fn literal(value: Json) -> Self {
        Param(ParamFields {
            value: Some(value),
            ..ParamFields::default()
        })
    }
}

impl std::ops::Deref for Param {
    type Target = ParamFields;

    fn deref(&self) -> &ParamFields {
        &self.0
    }
}

impl std::ops::DerefMut for Param {
    fn deref_mut(&mut self) -> &mut ParamFields {
        &mut self.0
    }
}

impl<'de> Deserialize<'de> for Param {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ParamVisitor;

        impl<'de> Visitor<'de> for ParamVisitor {
            type Value = Param;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a param")
            }

            fn visit_newtype_struct<D: Deserializer<'de>>(self, deserializer: D) -> Result<Param, D::Error> {
                ParamFields::deserialize(deserializer).map(Param)
            }
        }

        deserializer.deserialize_newtype_struct(crate::de::PARAM, ParamVisitor)
    }
}

section! {
    /// Runs selected by a query, whose values feed params (`V1Join`).
    #[derive(Default)]
    pub struct Join {
        r#ref: Option<String>,
        query: String,
        sort: Option<String>,
        limit: Option<OrRef<u64>>,
        offset: Option<OrRef<u64>>,
        params: Option<BTreeMap<String, Param>>,
    }
}

section! {
    /// An operation started when the run reaches a status (`V1Hook`).
    #[derive(Default)]
    pub struct Hook {
        hub_ref: String,
        connection: Option<String>,
        /// One of `succeeded`, `failed`, `stopped`, `skipped`, `upstream_failed`, `done`.
        trigger: Option<Status>,
        conditions: Option<String>,
        #[serde(deserialize_with = "super::strings::deserialize")]
        presets: Option<Vec<String>>,
        queue: Option<String>,
        namespace: Option<String>,
        params: Option<BTreeMap<String, Param>>,
        disable_defaults: Option<OrRef<bool>>,
    }
}

section! {
    /// A container image built before the run (`V1Build`).
    #[derive(Default)]
    pub struct Build {
        hub_ref: String,
        connection: Option<String>,
        #[serde(deserialize_with = "super::strings::deserialize")]
        presets: Option<Vec<String>>,
        queue: Option<String>,
        namespace: Option<String>,
        cache: Option<Cache>,
        params: Option<BTreeMap<String, Param>>,
        run_patch: Option<Json>,
        patch_strategy: Option<PatchStrategy>,
    }
}

section! {
    /// The component that suggests the next runs of a search (`V1Tuner`).
    #[derive(Default)]
    pub struct Tuner {
        hub_ref: String,
        #[serde(deserialize_with = "super::strings::deserialize")]
        presets: Option<Vec<String>>,
        queue: Option<String>,
        namespace: Option<String>,
        params: Option<BTreeMap<String, Param>>,
    }
}
