//! The typed Polyaxonfile v1.1 model, read with `crate::de` and written back as camelCase.
//!
//! Map of the model:
//! - [`component`]: [`Component`], [`Operation`] and the document as a [`Spec`];
//! - [`inout`]: inputs/outputs ([`Io`]) and their [`Validation`];
//! - [`params`]: [`Param`], joins, hooks, builds, tuners;
//! - [`run`]: the runtimes ([`Run`]: job, service, dag, kubeflow jobs, dask, ray, helpers);
//! - [`env`]: environment, init, termination, cache, plugins, template, mount;
//! - [`matrix`] and [`hp`]: searches and their hyperparameters;
//! - [`schedule`]: schedules, early stopping, events and the status enums.
//!
//! Kubernetes sections (container, volumes, affinity, tolerations, resources, env) are
//! k8s-openapi's types. Every optional field is skipped when absent, so the serialized form
//! holds only what the file said. Unions tagged by `kind` are declared with [`tagged!`].

pub mod component;
pub mod env;
pub mod hp;
pub mod inout;
pub mod matrix;
pub mod params;
pub mod run;
pub mod schedule;

use std::fmt;
use std::marker::PhantomData;

use serde::de::{self, DeserializeSeed, Deserializer, Visitor};
use serde::{Deserialize, Serialize};

pub use component::{Component, Operation, Spec};
pub use env::{Cache, Environment, Init, Mount, Plugins, Template, Termination};
pub use hp::{HpKind, HpParam};
pub use inout::{Io, Validation};
pub use matrix::Matrix;
pub use params::{Build, Hook, Join, Param, Tuner};
pub use run::Run;
pub use schedule::{EarlyStopping, EventTrigger, PatchStrategy, Schedule, Status, TriggerPolicy};

/// Any JSON value (Polyaxon's `Any`).
pub type Json = serde_json::Value;

/// A field that holds either its value or a `{{ }}` template resolved at compilation
/// (Polyaxon's `RefField`, `IntOrRef`, `BoolOrRef`, ...).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum OrRef<T> {
    /// A template such as `"{{ replicas }}"`.
    Ref(String),
    /// The value itself.
    Value(T),
}

impl<T> OrRef<T> {
    /// The value, when it is not a template.
    pub fn value(&self) -> Option<&T> {
        match self {
            OrRef::Ref(_) => None,
            OrRef::Value(value) => Some(value),
        }
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for OrRef<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct OrRefVisitor<T>(PhantomData<T>);

        impl<'de, T: Deserialize<'de>> Visitor<'de> for OrRefVisitor<T> {
            type Value = OrRef<T>;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a value or a `{{ }}` template")
            }

            fn visit_str<E: de::Error>(self, text: &str) -> Result<OrRef<T>, E> {
                Ok(OrRef::Ref(text.to_owned()))
            }

            fn visit_string<E: de::Error>(self, text: String) -> Result<OrRef<T>, E> {
                Ok(OrRef::Ref(text))
            }

            fn visit_newtype_struct<D: Deserializer<'de>>(self, deserializer: D) -> Result<OrRef<T>, D::Error> {
                T::deserialize(deserializer).map(OrRef::Value)
            }
        }

        deserializer.deserialize_newtype_struct(crate::de::OR_REF, OrRefVisitor(PhantomData))
    }
}

/// Reads the `kind` of a tagged union as one of `KINDS`.
#[doc(hidden)]
pub struct KindSeed(pub &'static [&'static str]);

impl<'de> DeserializeSeed<'de> for KindSeed {
    type Value = &'static str;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<&'static str, D::Error> {
        deserializer.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for KindSeed {
    type Value = &'static str;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "one of {}", self.0.join(", "))
    }

    fn visit_str<E: de::Error>(self, kind: &str) -> Result<&'static str, E> {
        self.0
            .iter()
            .copied()
            .find(|known| *known == kind)
            .ok_or_else(|| E::unknown_variant(kind, self.0))
    }
}

/// Declares a union tagged by `kind`: `Serialize` writes `kind` then the variant's fields,
/// `Deserialize` reads through `deserialize_enum` (see `crate::de`).
#[macro_export]
#[doc(hidden)]
macro_rules! tagged {
    ($(#[$meta:meta])* pub enum $name:ident { $($(#[$vmeta:meta])* $tag:literal => $variant:ident($inner:ty)),* $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, serde::Serialize)]
        #[serde(tag = "kind")]
        pub enum $name {
            $($(#[$vmeta])* #[serde(rename = $tag)] $variant($inner)),*
        }

        impl $name {
            /// Every accepted `kind`.
            pub const KINDS: &'static [&'static str] = &[$($tag),*];

            /// The `kind` of this value.
            pub fn kind(&self) -> &'static str {
                match self {
                    $(Self::$variant(_) => $tag),*
                }
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                struct UnionVisitor;

                impl<'de> serde::de::Visitor<'de> for UnionVisitor {
                    type Value = $name;

                    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                        write!(f, "a mapping with a `kind` ({})", $name::KINDS.join(", "))
                    }

                    fn visit_enum<A: serde::de::EnumAccess<'de>>(self, data: A) -> Result<$name, A::Error> {
                        use serde::de::VariantAccess as _;
                        let (tag, variant) = data.variant_seed($crate::model::KindSeed($name::KINDS))?;
                        match tag {
                            $($tag => variant.newtype_variant().map($name::$variant),)*
                            other => Err(serde::de::Error::unknown_variant(other, $name::KINDS)),
                        }
                    }
                }

                deserializer.deserialize_enum(stringify!($name), $name::KINDS, UnionVisitor)
            }
        }
    };
}

/// Declares a section: camelCase keys, every `Option` field defaulted and skipped when absent,
/// other fields required.
#[macro_export]
#[doc(hidden)]
macro_rules! section {
    ($(#[$meta:meta])* pub struct $name:ident { $($body:tt)* }) => {
        $crate::section!(@munch [$(#[$meta])*] $name [] $($body)*);
    };
    (@munch [$($meta:tt)*] $name:ident [$($done:tt)*] $(#[$fmeta:meta])* $field:ident : Option<$inner:ty>, $($rest:tt)*) => {
        $crate::section!(@munch [$($meta)*] $name [$($done)*
            $(#[$fmeta])* #[serde(default, skip_serializing_if = "Option::is_none")] pub $field: Option<$inner>,
        ] $($rest)*);
    };
    (@munch [$($meta:tt)*] $name:ident [$($done:tt)*] $(#[$fmeta:meta])* $field:ident : $ty:ty, $($rest:tt)*) => {
        $crate::section!(@munch [$($meta)*] $name [$($done)* $(#[$fmeta])* pub $field: $ty,] $($rest)*);
    };
    (@munch [$($meta:tt)*] $name:ident [$($done:tt)*]) => {
        $($meta)*
        #[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
        #[serde(rename_all = "camelCase")]
        pub struct $name { $($done)* }
    };
}

/// Reads a Kubernetes section (see `crate::de::K8S`).
pub(crate) fn k8s<'de, D: Deserializer<'de>, T: Deserialize<'de>>(deserializer: D) -> Result<Option<T>, D::Error> {
    struct K8sVisitor<T>(PhantomData<T>);

    impl<'de, T: Deserialize<'de>> Visitor<'de> for K8sVisitor<T> {
        type Value = Option<T>;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a Kubernetes object")
        }

        fn visit_newtype_struct<D: Deserializer<'de>>(self, deserializer: D) -> Result<Option<T>, D::Error> {
            Option::<T>::deserialize(deserializer)
        }
    }

    deserializer.deserialize_newtype_struct(crate::de::K8S, K8sVisitor(PhantomData))
}

/// Reads a spec version written as a number or a string (`version: '1.1'`).
pub(crate) fn version<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<f64>, D::Error> {
    match Option::<Json>::deserialize(deserializer)? {
        None => Ok(None),
        Some(Json::Number(number)) => Ok(number.as_f64()),
        Some(Json::String(text)) => text
            .trim()
            .parse::<f64>()
            .map(Some)
            .map_err(|_| de::Error::custom(format!("expected a version such as 1.1, found `{text}`"))),
        Some(_) => Err(de::Error::custom("expected a version such as 1.1")),
    }
}

/// A list of strings that may be written as one comma-separated string (`tags: "a, b"`).
pub mod strings {
    use std::fmt;

    use serde::Deserializer;
    use serde::de::{self, SeqAccess, Visitor};

    /// A list of strings, or one comma-separated string.
    struct Strings;

    impl<'de> Visitor<'de> for Strings {
        type Value = Option<Vec<String>>;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a list of strings")
        }

        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }

        fn visit_str<E: de::Error>(self, text: &str) -> Result<Self::Value, E> {
            Ok(Some(
                text.split(',')
                    .map(str::trim)
                    .filter(|item| !item.is_empty())
                    .map(str::to_owned)
                    .collect(),
            ))
        }

        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
            let mut items = Vec::new();
            while let Some(item) = seq.next_element::<String>()? {
                items.push(item);
            }
            Ok(Some(items))
        }
    }

    /// Reads a list of strings or a comma-separated string.
    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<Vec<String>>, D::Error> {
        deserializer.deserialize_any(Strings)
    }

    /// Reads a list of strings, a comma-separated string, or a `{{ }}` template that renders
    /// the list (kept as the template, as Polyaxon's `RefField` keeps it).
    pub fn or_ref<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<super::OrRef<Vec<String>>>, D::Error> {
        struct StringsOrRef;

        impl<'de> Visitor<'de> for StringsOrRef {
            type Value = Option<super::OrRef<Vec<String>>>;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a list of strings or a `{{ }}` template")
            }

            fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
                Ok(None)
            }

            fn visit_str<E: de::Error>(self, text: &str) -> Result<Self::Value, E> {
                if crate::de::is_template(text) {
                    return Ok(Some(super::OrRef::Ref(text.to_owned())));
                }
                Strings.visit_str(text).map(|items| items.map(super::OrRef::Value))
            }

            fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
                Strings.visit_seq(seq).map(|items| items.map(super::OrRef::Value))
            }
        }

        deserializer.deserialize_any(StringsOrRef)
    }
}
