//! Hyperparameters of a matrix (`V1HpChoice`, `V1HpRange`, `V1HpLinSpace`, ...): a union tagged
//! by `kind`, each with a `value` in every form Polyaxon accepts: `"start:stop:step"`,
//! `[start, stop, step]` or `{start: .., stop: .., step: ..}` (lists for `choice`, pairs for
//! `pchoice`), or a `{{ }}` template. The constraints are checked in `crate::rules::matrix`.

use std::fmt;

use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Serialize};

use super::{Json, OrRef};
use crate::tagged;

/// The `value` of a hyperparameter.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HpValue<T> {
    /// The values, the range or the distribution.
    pub value: OrRef<T>,
}

tagged! {
    /// One hyperparameter of a search.
    pub enum HpParam {
        "choice" => Choice(HpValue<Vec<Json>>),
        "pchoice" => PChoice(HpValue<Vec<(Json, f64)>>),
        "range" => Range(HpValue<Args<RangeNames>>),
        "daterange" => DateRange(HpValue<Args<RangeNames>>),
        "datetimerange" => DateTimeRange(HpValue<Args<RangeNames>>),
        "linspace" => LinSpace(HpValue<Args<SpaceNames>>),
        "logspace" => LogSpace(HpValue<Args<LogSpaceNames>>),
        "geomspace" => GeomSpace(HpValue<Args<SpaceNames>>),
        "uniform" => Uniform(HpValue<Args<DistNames>>),
        "quniform" => QUniform(HpValue<Args<QDistNames>>),
        "loguniform" => LogUniform(HpValue<Args<DistNames>>),
        "qloguniform" => QLogUniform(HpValue<Args<QDistNames>>),
        "normal" => Normal(HpValue<Args<NormalNames>>),
        "qnormal" => QNormal(HpValue<Args<QNormalNames>>),
        "lognormal" => LogNormal(HpValue<Args<NormalNames>>),
        "qlognormal" => QLogNormal(HpValue<Args<QNormalNames>>),
    }
}

/// The kinds of hyperparameters.
pub type HpKind = &'static str;

/// The argument names of a range-like value: all names, and how many are required.
pub trait ArgNames {
    /// Every argument, in positional order.
    const NAMES: &'static [&'static str];
    /// The first `REQUIRED` names are required.
    const REQUIRED: usize;
}

macro_rules! arg_names {
    ($($name:ident = [$($arg:literal),*], $required:literal;)*) => {
        $(
            /// Argument names of one value form.
            #[derive(Debug, Clone, Copy, PartialEq, Eq)]
            pub struct $name;
            impl ArgNames for $name {
                const NAMES: &'static [&'static str] = &[$($arg),*];
                const REQUIRED: usize = $required;
            }
        )*
    };
}

arg_names! {
    RangeNames = ["start", "stop", "step"], 3;
    SpaceNames = ["start", "stop", "num"], 3;
    LogSpaceNames = ["start", "stop", "num", "base"], 3;
    DistNames = ["low", "high", "size"], 2;
    QDistNames = ["low", "high", "q", "size"], 3;
    NormalNames = ["loc", "scale", "size"], 2;
    QNormalNames = ["loc", "scale", "q", "size"], 3;
}

/// Positional arguments of a range or a distribution, in `N::NAMES` order (absent optional
/// ones are `None`). Numbers keep their JSON form (`1` stays an integer); dates are strings.
#[derive(Debug, Clone, PartialEq)]
pub struct Args<N> {
    /// The arguments, `N::NAMES.len()` of them.
    pub values: Vec<Option<Json>>,
    names: std::marker::PhantomData<N>,
}

impl<N: ArgNames> Args<N> {
    /// The arguments from positional values.
    pub fn new(values: Vec<Option<Json>>) -> Self {
        Self {
            values,
            names: std::marker::PhantomData,
        }
    }

    /// The argument called `name`, when given.
    pub fn get(&self, name: &str) -> Option<&Json> {
        let index = N::NAMES.iter().position(|known| *known == name)?;
        self.values.get(index).and_then(Option::as_ref)
    }

    /// The argument called `name` as a number.
    pub fn number(&self, name: &str) -> Option<f64> {
        self.get(name).and_then(Json::as_f64)
    }
}

impl<N: ArgNames> Serialize for Args<N> {
    /// Always the mapping form, which every kind accepts.
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let given = self.values.iter().filter(|value| value.is_some()).count();
        let mut map = serializer.serialize_map(Some(given))?;
        for (name, value) in N::NAMES.iter().zip(&self.values) {
            if let Some(value) = value {
                map.serialize_entry(name, value)?;
            }
        }
        map.end()
    }
}

/// A part of `"a:b:c"`: a number when it reads as one, else the text (dates).
fn scalar(part: &str) -> Json {
    let part = part.trim();
    match serde_json::from_str::<Json>(part) {
        Ok(number @ Json::Number(_)) => number,
        _ => Json::String(part.to_owned()),
    }
}

impl<'de, N: ArgNames> Deserialize<'de> for Args<N> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ArgsVisitor<N>(std::marker::PhantomData<N>);

        impl<N: ArgNames> ArgsVisitor<N> {
            fn finish<E: de::Error>(values: Vec<Option<Json>>) -> Result<Args<N>, E> {
                let given = values.iter().take(N::REQUIRED).filter(|value| value.is_some()).count();
                if values.len() > N::NAMES.len() || given < N::REQUIRED {
                    return Err(E::custom(format!(
                        "expected {} values ({}), found {}",
                        if N::REQUIRED == N::NAMES.len() {
                            N::REQUIRED.to_string()
                        } else {
                            format!("{} to {}", N::REQUIRED, N::NAMES.len())
                        },
                        N::NAMES.join(", "),
                        values.iter().filter(|value| value.is_some()).count()
                    )));
                }
                let mut values = values;
                values.resize(N::NAMES.len(), None);
                Ok(Args::new(values))
            }
        }

        impl<'de, N: ArgNames> Visitor<'de> for ArgsVisitor<N> {
            type Value = Args<N>;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                let names = N::NAMES.join(":");
                write!(f, "`{names}`, a list or a mapping of {}", N::NAMES.join(", "))
            }

            fn visit_str<E: de::Error>(self, text: &str) -> Result<Args<N>, E> {
                if !text.contains(':') {
                    return Err(E::custom(format!(
                        "expected `{}` (values separated by `:`), found `{text}`",
                        N::NAMES.join(":")
                    )));
                }
                Self::finish(text.split(':').map(|part| Some(scalar(part))).collect())
            }

            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Args<N>, A::Error> {
                let mut values = Vec::new();
                while let Some(value) = seq.next_element::<Json>()? {
                    values.push(Some(value));
                }
                Self::finish(values)
            }

            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Args<N>, A::Error> {
                let mut values = vec![None; N::NAMES.len()];
                while let Some(key) = map.next_key::<String>()? {
                    let Some(index) = N::NAMES.iter().position(|name| *name == key) else {
                        return Err(de::Error::unknown_field(&key, N::NAMES));
                    };
                    values[index] = Some(map.next_value::<Json>()?);
                }
                if let Some(missing) = N::NAMES
                    .iter()
                    .take(N::REQUIRED)
                    .zip(&values)
                    .find(|(_, value)| value.is_none())
                {
                    return Err(de::Error::custom(format!("`{}` is required", missing.0)));
                }
                Self::finish(values)
            }
        }

        deserializer.deserialize_any(ArgsVisitor(std::marker::PhantomData))
    }
}

impl HpParam {
    /// Whether the values form a finite set (grid search accepts only these).
    pub fn is_discrete(&self) -> bool {
        matches!(
            self,
            HpParam::Choice(_)
                | HpParam::PChoice(_)
                | HpParam::Range(_)
                | HpParam::DateRange(_)
                | HpParam::DateTimeRange(_)
                | HpParam::LinSpace(_)
                | HpParam::LogSpace(_)
                | HpParam::GeomSpace(_)
        )
    }

    /// Whether values are drawn with weights other than uniform (bayes rejects these).
    pub fn is_non_uniform_distribution(&self) -> bool {
        matches!(
            self,
            HpParam::PChoice(_)
                | HpParam::Normal(_)
                | HpParam::QNormal(_)
                | HpParam::LogNormal(_)
                | HpParam::QLogNormal(_)
                | HpParam::LogUniform(_)
                | HpParam::QLogUniform(_)
        )
    }
}
