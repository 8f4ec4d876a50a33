//! Entity ids. Polyaxon prints uuids as 32 lower-case hex digits without dashes
//! (`c49993accb5c46f481c7be3c0eac01f0`); these newtypes serialize that way and parse both forms.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use uuid::Uuid;

macro_rules! hex_uuid {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, utoipa::ToSchema)]
        #[schema(value_type = String, example = "c49993accb5c46f481c7be3c0eac01f0")]
        pub struct $name(pub Uuid);

        impl $name {
            /// A fresh random (v4) id.
            pub fn new() -> Self {
                Self(Uuid::new_v4())
            }
            /// The wrapped uuid.
            pub fn as_uuid(&self) -> Uuid {
                self.0
            }
        }

        impl Default for $name {
            fn default() -> Self {
                Self::new()
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Display::fmt(&self.0.simple(), f)
            }
        }

        impl FromStr for $name {
            type Err = uuid::Error;
            /// Accepts the 32-hex form and the dashed form.
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Uuid::parse_str(s).map(Self)
            }
        }

        impl From<Uuid> for $name {
            fn from(u: Uuid) -> Self {
                Self(u)
            }
        }

        impl From<$name> for Uuid {
            fn from(id: $name) -> Uuid {
                id.0
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.collect_str(self)
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = String::deserialize(d)?;
                s.parse().map_err(serde::de::Error::custom)
            }
        }
    };
}

hex_uuid!(
    /// The uuid of a run.
    RunUuid
);
hex_uuid!(
    /// The uuid of a project.
    ProjectUuid
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prints_simple_and_parses_both_forms() {
        let id: RunUuid = "c49993accb5c46f481c7be3c0eac01f0".parse().unwrap();
        assert_eq!(id.to_string(), "c49993accb5c46f481c7be3c0eac01f0");
        let dashed: RunUuid = "c49993ac-cb5c-46f4-81c7-be3c0eac01f0".parse().unwrap();
        assert_eq!(id, dashed);
        assert_eq!(
            serde_json::to_string(&id).unwrap(),
            "\"c49993accb5c46f481c7be3c0eac01f0\""
        );
        assert!("nope".parse::<RunUuid>().is_err());
    }
}
