//! Inputs and outputs of a component (Polyaxon's `V1IO`) and their validation rules
//! (`V1Validation`). The rules are checked in `crate::values`.

use super::{Json, OrRef};
use crate::section;

section! {
    /// One input or output.
    #[derive(Default)]
    pub struct Io {
        /// A slug without dots, not `globals`, `params` or `connections`.
        name: String,
        description: Option<String>,
        /// A Polyaxon type (`int`, `s3`, `artifacts`, ...) or a type hint (`List[float]`).
        r#type: Option<String>,
        /// The default value; giving one (even `null`) makes the input optional.
        #[serde(deserialize_with = "present")]
        value: Option<Json>,
        is_optional: Option<bool>,
        /// Deprecated: use `type: List[...]`.
        is_list: Option<bool>,
        /// A `bool` passed as `--name` when true (`{{ params.name.as_arg }}`).
        is_flag: Option<bool>,
        /// How `{{ params.name.as_arg }}` renders, e.g. `lr={{ lr }}`.
        arg_format: Option<String>,
        connection: Option<String>,
        to_init: Option<bool>,
        to_env: Option<String>,
        validation: Option<Validation>,
        /// Deprecated: use `validation.delay`.
        delay_validation: Option<bool>,
        /// Deprecated: use `validation.options`.
        options: Option<Json>,
    }
}

section! {
    /// Predicates a value must satisfy (item-wise for lists and dict values).
    #[derive(Default)]
    pub struct Validation {
        /// Validate only at resolution time (default for outputs).
        delay: Option<OrRef<bool>>,
        gt: Option<OrRef<f64>>,
        ge: Option<OrRef<f64>>,
        lt: Option<OrRef<f64>>,
        le: Option<OrRef<f64>>,
        multiple_of: Option<OrRef<f64>>,
        min_digits: Option<OrRef<u64>>,
        max_digits: Option<OrRef<u64>>,
        decimal_places: Option<OrRef<u64>>,
        regex: Option<String>,
        min_length: Option<OrRef<u64>>,
        max_length: Option<OrRef<u64>>,
        contains: Option<Json>,
        excludes: Option<Json>,
        options: Option<Json>,
        min_items: Option<OrRef<u64>>,
        max_items: Option<OrRef<u64>>,
        keys: Option<Vec<String>>,
        contains_keys: Option<Vec<String>>,
        excludes_keys: Option<Vec<String>>,
    }
}

impl Io {
    /// Whether the input may be left without a param: `isOptional`, or a `value` given (as in
    /// Polyaxon 2).
    pub fn optional(&self) -> bool {
        self.is_optional.unwrap_or(self.value.is_some())
    }

    /// The type name, `any` when absent.
    pub fn type_name(&self) -> &str {
        self.r#type.as_deref().map(str::trim).unwrap_or("any")
    }

    /// Whether the value must be a list (`isList` or a `List[...]` hint).
    pub fn is_list_type(&self) -> bool {
        self.is_list == Some(true) || self.type_name().starts_with("List[") || self.type_name().starts_with("list[")
    }
}

/// Reads a field that is present, `null` included (`value: null` makes an input optional).
pub(crate) fn present<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Option<Json>, D::Error> {
    <Json as serde::Deserialize>::deserialize(deserializer).map(Some)
}
