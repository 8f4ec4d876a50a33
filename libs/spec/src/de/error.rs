//! The error of the typed deserializer ([`super::PathDe`]): serde's error constructors
//! (`missing_field`, `invalid_type`, `unknown_variant`, ...) turned into the crate's codes and
//! into messages for people ("expected a list, found a string"), with the path of the node
//! attached as the error leaves it.

use std::fmt;

use serde::de::{Expected, Unexpected};

use crate::error::{Issue, code};
use crate::path::Path;
use crate::validate::fields::nearest;

/// A failure while reading a typed section; `path` is set by the innermost node it leaves.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct DeError {
    pub code: &'static str,
    pub path: Option<Path>,
    pub message: String,
    pub hint: Option<String>,
    /// For `missing_field`: the field, appended to the path of the mapping that lacks it.
    pub missing: Option<String>,
}

impl DeError {
    /// An error of `code` with `message`, located later.
    pub fn new(code: &'static str, message: impl Into<String>) -> Self {
        Self {
            code,
            path: None,
            message: message.into(),
            hint: None,
            missing: None,
        }
    }

    /// Sets the path when no inner node did.
    pub fn at(mut self, path: &Path) -> Self {
        if self.path.is_none() {
            self.path = Some(match self.missing.take() {
                Some(field) => path.key(field),
                None => path.clone(),
            });
        }
        self
    }

    /// The located issue (the root when nothing located it).
    pub fn into_issue(self) -> Issue {
        let path = self.path.unwrap_or_default();
        Issue::at(self.code, path, self.message).with_hint(self.hint)
    }
}

impl fmt::Display for DeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for DeError {}

/// What a value is, for messages.
fn found(unexpected: &Unexpected<'_>) -> String {
    match unexpected {
        Unexpected::Str(text) => format!("the string `{text}`"),
        Unexpected::Unsigned(number) => format!("the number `{number}`"),
        Unexpected::Signed(number) => format!("the number `{number}`"),
        Unexpected::Float(number) => format!("the number `{number}`"),
        Unexpected::Bool(flag) => format!("the boolean `{flag}`"),
        Unexpected::Unit => "null".to_owned(),
        Unexpected::Seq => "a list".to_owned(),
        Unexpected::Map => "a mapping".to_owned(),
        other => other.to_string(),
    }
}

/// What serde expected, in the words of a Polyaxonfile.
pub(crate) fn expected(text: &str) -> String {
    match text {
        "i8" | "i16" | "i32" | "i64" | "i128" | "isize" => "an integer".to_owned(),
        "u16" => "a whole number from 0 to 65535".to_owned(),
        "u8" | "u32" | "u64" | "u128" | "usize" => "a whole number, 0 or more".to_owned(),
        "f32" | "f64" => "a number".to_owned(),
        "a sequence" => "a list".to_owned(),
        "a map" => "a mapping".to_owned(),
        "unit" => "null".to_owned(),
        "a borrowed string" | "a string" => "a string".to_owned(),
        "Quantity" => "a quantity such as `500m` or `1Gi`".to_owned(),
        "IntOrString" => "an integer or a string".to_owned(),
        text if text.starts_with("struct ") => "a mapping".to_owned(),
        text => text.to_owned(),
    }
}

impl serde::de::Error for DeError {
    fn custom<T: fmt::Display>(message: T) -> Self {
        Self::new(code::INVALID_FIELD, message.to_string())
    }

    fn invalid_type(unexpected: Unexpected<'_>, exp: &dyn Expected) -> Self {
        let message = format!("expected {}, found {}", expected(&exp.to_string()), found(&unexpected));
        Self::new(code::INVALID_FIELD, message)
    }

    fn invalid_value(unexpected: Unexpected<'_>, exp: &dyn Expected) -> Self {
        let message = format!("expected {}, found {}", expected(&exp.to_string()), found(&unexpected));
        Self::new(code::INVALID_FIELD, message)
    }

    fn invalid_length(length: usize, exp: &dyn Expected) -> Self {
        let message = format!("expected {}, found {length} items", expected(&exp.to_string()));
        Self::new(code::INVALID_FIELD, message)
    }

    fn unknown_variant(variant: &str, accepted: &'static [&'static str]) -> Self {
        let mut error = Self::new(
            code::UNKNOWN_KIND,
            format!("unknown value `{variant}`: expected one of {}", accepted.join(", ")),
        );
        error.hint = nearest(variant, accepted.iter().copied()).map(|name| format!("did you mean `{name}`?"));
        error
    }

    fn unknown_field(field: &str, accepted: &'static [&'static str]) -> Self {
        let mut error = Self::new(code::UNKNOWN_FIELD, format!("unknown field `{field}`"));
        error.hint = nearest(field, accepted.iter().copied()).map(|name| format!("did you mean `{name}`?"));
        error
    }

    fn missing_field(field: &'static str) -> Self {
        let mut error = Self::new(code::MISSING_FIELD, format!("`{field}` is required"));
        error.missing = Some(field.to_owned());
        error
    }

    fn duplicate_field(field: &'static str) -> Self {
        Self::new(code::CONFLICTING_FIELDS, format!("`{field}` is given twice"))
    }
}

#[cfg(test)]
mod tests {
    use serde::de::Error as _;

    use super::*;

    #[test]
    fn messages_speak_polyaxonfile() {
        let error = DeError::invalid_type(Unexpected::Str("x"), &"a sequence");
        assert_eq!(error.message, "expected a list, found the string `x`");
        let error = DeError::unknown_variant("gird", &["grid", "random"]);
        assert_eq!(error.hint.as_deref(), Some("did you mean `grid`?"));
        let error = DeError::missing_field("cron").at(&Path::root().key("schedule"));
        assert_eq!(
            error.path.map(|path| path.to_string()).as_deref(),
            Some("schedule.cron")
        );
    }
}
