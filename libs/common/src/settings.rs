//! Layered settings: the struct's `Default` → an optional TOML file (`--config FILE`) → environment
//! variables `MYELIN_<SERVICE>__<KEY>` (`__` separates nesting: `MYELIN_TRACKER__TELEMETRY__FORMAT=json`).
//!
//! Every service's `main` flattens [`CommonArgs`] into its clap parser and calls [`load_or_dump`].
//! Secrets are `secrecy::SecretString` fields marked `#[serde(serialize_with = "secret::serialize")]`:
//! they are written as `"[redacted]"` by [`dump`] (and by any other serialization), while [`load`] still
//! sees the real default. Lists (`Vec<String>`) marked `#[serde(deserialize_with = "serde_list::deserialize")]`
//! also accept a comma-separated string, so `MYELIN_GATEWAY__UPSTREAMS=http://a,http://b` works.

use std::path::{Path, PathBuf};

use figment::providers::{Env, Format, Serialized, Toml};
use figment::value::{Dict, Value};
use figment::{Figment, Metadata, Profile, Provider};
use serde::Serialize;
use serde::de::DeserializeOwned;

/// Why settings could not be loaded or rendered.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// `--config` named a file that does not exist.
    #[error("config file {} does not exist", .0.display())]
    FileNotFound(PathBuf),
    /// A value is missing, malformed or of the wrong type. `key` is the dotted path (`telemetry.format`).
    #[error("invalid setting `{key}`: {message}")]
    Invalid { key: String, message: String },
    /// The settings cannot be rendered as TOML (a type TOML cannot represent).
    #[error("cannot render the settings as TOML: {0}")]
    Dump(String),
}

/// The flags every service binary shares. Flatten it: `#[command(flatten)] common: CommonArgs`.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct CommonArgs {
    /// TOML file with settings; `MYELIN_<SERVICE>__<KEY>` environment variables override it.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Print the effective settings as TOML (secrets redacted) and exit.
    #[arg(long)]
    pub dump_config: bool,
}

/// The environment prefix of a service: `tracker` → `MYELIN_TRACKER__`.
pub fn env_prefix(service: &str) -> String {
    format!("MYELIN_{}__", service.to_uppercase().replace('-', "_"))
}

/// Loads `T` from its defaults, then `config_file` (which must exist when given), then the environment.
pub fn load<T: DeserializeOwned + Serialize + Default>(service: &str, config_file: Option<&Path>) -> Result<T, Error> {
    // Serialize the defaults now, with secrets exposed, so the real default values (not "[redacted]") are merged.
    let defaults = secret::exposed(|| Value::serialize(T::default()).map_err(|e| invalid(&e)))?;
    let mut figment = Figment::from(Serialized::defaults(defaults));
    if let Some(path) = config_file {
        if !path.is_file() {
            return Err(Error::FileNotFound(path.to_path_buf()));
        }
        figment = figment.merge(Toml::file_exact(path));
    }
    figment = figment.merge(EnvStrings::new(service));
    // Lossy: "8080" and "true" from the environment still fill numbers and booleans.
    figment.extract_lossy().map_err(|e| invalid(&e))
}

/// Renders settings as TOML (the format `--config` takes), with every secret written as `"[redacted]"`.
pub fn dump<T: Serialize>(settings: &T) -> Result<String, Error> {
    toml::to_string_pretty(settings).map_err(|e| Error::Dump(e.to_string()))
}

/// Loads the settings of `service` as `main` does. With `--dump-config`, prints them and returns `None`.
pub fn load_or_dump<T: DeserializeOwned + Serialize + Default>(
    service: &str,
    args: &CommonArgs,
) -> anyhow::Result<Option<T>> {
    let settings: T = load(service, args.config.as_deref())?;
    if args.dump_config {
        print!("{}", dump(&settings)?);
        return Ok(None);
    }
    Ok(Some(settings))
}

/// `MYELIN_<SERVICE>__*` variables, split on `__`, keys lower-cased. Unlike figment's `Env`, scalar values stay
/// strings (`PASSWORD=007` must not become the number 7); only `[a, b]` arrays and `{k = v}` tables are parsed.
struct EnvStrings {
    prefix: String,
    env: Env,
}

impl EnvStrings {
    fn new(service: &str) -> Self {
        let prefix = env_prefix(service);
        Self {
            env: Env::prefixed(&prefix).split("__"),
            prefix,
        }
    }
}

impl Provider for EnvStrings {
    fn metadata(&self) -> Metadata {
        let prefix = self.prefix.clone();
        Metadata::named(format!("`{prefix}*` environment variable(s)")).interpolater(
            move |_: &Profile, keys: &[&str]| {
                let keys: Vec<String> = keys.iter().map(|k| k.to_ascii_uppercase()).collect();
                format!("{prefix}{}", keys.join("__"))
            },
        )
    }

    fn data(&self) -> Result<figment::value::Map<Profile, Dict>, figment::Error> {
        let mut dict = Dict::new();
        for (key, raw) in self.env.iter() {
            let value = match raw.parse::<Value>() {
                Ok(parsed @ (Value::Array(..) | Value::Dict(..))) => parsed,
                _ => Value::from(raw),
            };
            let path: Vec<&str> = key.as_str().split('.').collect();
            insert(&mut dict, &path, value);
        }
        Ok(Profile::Default.collect(dict))
    }
}

/// Inserts `value` at the nested `path` of `dict`, creating (or replacing non-table values with) tables on the way.
fn insert(dict: &mut Dict, path: &[&str], value: Value) {
    match path {
        [] => {}
        [last] => {
            dict.insert((*last).to_owned(), value);
        }
        [first, rest @ ..] => {
            let entry = dict
                .entry((*first).to_owned())
                .or_insert_with(|| Value::from(Dict::new()));
            if !matches!(entry, Value::Dict(..)) {
                *entry = Value::from(Dict::new());
            }
            if let Value::Dict(_, nested) = entry {
                insert(nested, rest, value);
            }
        }
    }
}

/// Turns figment's error (which may hold several) into [`Error::Invalid`] naming the first bad key and its origin.
fn invalid(err: &figment::Error) -> Error {
    let key = if err.path.is_empty() {
        "(root)".to_owned()
    } else {
        err.path.join(".")
    };
    let mut message = err.kind.to_string();
    if let Some(md) = &err.metadata {
        match (&md.source, &err.profile) {
            (Some(source), _) => message.push_str(&format!(" (in {} {source})", md.name)),
            (None, Some(profile)) if !err.path.is_empty() => {
                message.push_str(&format!(" (from {})", md.interpolate(profile, &err.path)))
            }
            (None, _) => message.push_str(&format!(" (in {})", md.name)),
        }
    }
    let more = err.count().saturating_sub(1);
    if more > 0 {
        message.push_str(&format!(" (and {more} more error(s))"));
    }
    Error::Invalid { key, message }
}

/// `serialize_with` helpers for `secrecy::SecretString` fields.
///
/// Serialization writes `"[redacted]"`, except inside [`load`], which needs the real defaults.
/// Deserialization needs nothing: `SecretString` deserializes from a string.
pub mod secret {
    use std::cell::Cell;

    use secrecy::{ExposeSecret, SecretString};
    use serde::Serializer;

    /// What a secret looks like once serialized.
    pub const REDACTED: &str = "[redacted]";

    thread_local! {
        static EXPOSE: Cell<bool> = const { Cell::new(false) };
    }

    /// Runs `f` with secrets serialized in clear (restores the previous mode afterwards, even on panic).
    pub(crate) fn exposed<R>(f: impl FnOnce() -> R) -> R {
        struct Restore(bool);
        impl Drop for Restore {
            fn drop(&mut self) {
                EXPOSE.set(self.0);
            }
        }
        let _restore = Restore(EXPOSE.replace(true));
        f()
    }

    fn write<S: Serializer>(secret: &SecretString, serializer: S) -> Result<S::Ok, S::Error> {
        if EXPOSE.get() {
            serializer.serialize_str(secret.expose_secret())
        } else {
            serializer.serialize_str(REDACTED)
        }
    }

    /// `#[serde(serialize_with = "myelin_common::settings::secret::serialize")]` on a `SecretString`.
    pub fn serialize<S: Serializer>(secret: &SecretString, serializer: S) -> Result<S::Ok, S::Error> {
        write(secret, serializer)
    }

    /// The same for `Option<SecretString>` (`None` stays absent).
    pub mod option {
        use secrecy::SecretString;
        use serde::Serializer;

        /// `#[serde(serialize_with = "myelin_common::settings::secret::option::serialize")]`.
        pub fn serialize<S: Serializer>(secret: &Option<SecretString>, serializer: S) -> Result<S::Ok, S::Error> {
            match secret {
                Some(secret) => super::write(secret, serializer),
                None => serializer.serialize_none(),
            }
        }
    }
}

/// `deserialize_with` helper for `Vec<String>` fields: accepts a sequence or a comma-separated string
/// (items trimmed, empty items dropped, so `""` is the empty list).
pub mod serde_list {
    use std::fmt;

    use serde::Deserializer;
    use serde::de::{self, SeqAccess, Visitor};

    /// `#[serde(deserialize_with = "myelin_common::settings::serde_list::deserialize")]`.
    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<String>, D::Error> {
        deserializer.deserialize_any(ListVisitor)
    }

    struct ListVisitor;

    impl<'de> Visitor<'de> for ListVisitor {
        type Value = Vec<String>;

        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("a list of strings or a comma-separated string")
        }

        fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
            Ok(v.split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect())
        }

        fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
            Ok(vec![v.to_string()])
        }

        fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
            Ok(vec![v.to_string()])
        }

        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
            let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0));
            while let Some(item) = seq.next_element::<Item>()? {
                items.push(item.0);
            }
            Ok(items)
        }
    }

    /// One list item: a string, or a number/bool the environment parser produced from one.
    struct Item(String);

    impl<'de> de::Deserialize<'de> for Item {
        fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
            struct ItemVisitor;
            impl Visitor<'_> for ItemVisitor {
                type Value = Item;
                fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                    f.write_str("a string")
                }
                fn visit_str<E: de::Error>(self, v: &str) -> Result<Item, E> {
                    Ok(Item(v.to_owned()))
                }
                fn visit_i64<E: de::Error>(self, v: i64) -> Result<Item, E> {
                    Ok(Item(v.to_string()))
                }
                fn visit_u64<E: de::Error>(self, v: u64) -> Result<Item, E> {
                    Ok(Item(v.to_string()))
                }
                fn visit_f64<E: de::Error>(self, v: f64) -> Result<Item, E> {
                    Ok(Item(v.to_string()))
                }
                fn visit_bool<E: de::Error>(self, v: bool) -> Result<Item, E> {
                    Ok(Item(v.to_string()))
                }
            }
            deserializer.deserialize_any(ItemVisitor)
        }
    }
}

#[cfg(test)]
#[allow(clippy::result_large_err)] // figment::Jail closures return figment::Result
mod tests {
    use figment::Jail;
    use secrecy::{ExposeSecret, SecretString};
    use serde::{Deserialize, Serialize};

    use super::*;
    use crate::telemetry::{LogFormat, TelemetrySettings};

    #[derive(Debug, Serialize, Deserialize)]
    #[serde(default)]
    struct Demo {
        port: u16,
        name: String,
        #[serde(serialize_with = "secret::serialize")]
        password: SecretString,
        #[serde(serialize_with = "secret::option::serialize")]
        token: Option<SecretString>,
        #[serde(deserialize_with = "serde_list::deserialize")]
        upstreams: Vec<String>,
        telemetry: TelemetrySettings,
    }

    impl Default for Demo {
        fn default() -> Self {
            Self {
                port: 8101,
                name: "demo".into(),
                password: SecretString::from("guest"),
                token: None,
                upstreams: vec!["http://127.0.0.1:8101".into()],
                telemetry: TelemetrySettings::default(),
            }
        }
    }

    #[test]
    fn defaults_round_trip_including_secrets() {
        Jail::expect_with(|_| {
            let demo: Demo = load("demo-defaults", None).unwrap();
            assert_eq!(demo.port, 8101);
            assert_eq!(
                demo.password.expose_secret(),
                "guest",
                "the default secret must not come back redacted"
            );
            assert!(demo.token.is_none());
            assert_eq!(demo.upstreams, vec!["http://127.0.0.1:8101"]);
            assert_eq!(demo.telemetry.format, LogFormat::Pretty);
            Ok(())
        });
    }

    #[test]
    fn file_then_env_override_with_strings_lists_and_nesting() {
        Jail::expect_with(|jail| {
            jail.create_file(
                "demo.toml",
                "port = 7000\nname = \"from-file\"\nupstreams = [\"http://f:1\", \"http://f:2\"]\n\
                 [telemetry]\nlevel = \"debug\"\n",
            )?;
            jail.set_env("MYELIN_DEMO_ENV__PORT", "9000");
            jail.set_env("MYELIN_DEMO_ENV__PASSWORD", "007");
            jail.set_env("MYELIN_DEMO_ENV__TOKEN", "s3cret");
            jail.set_env("MYELIN_DEMO_ENV__TELEMETRY__FORMAT", "json");
            jail.set_env("MYELIN_OTHER__PORT", "1");
            let demo: Demo = load("demo-env", Some(Path::new("demo.toml"))).unwrap();
            assert_eq!(
                demo.port, 9000,
                "env overrides the file; numbers parse from env strings"
            );
            assert_eq!(demo.name, "from-file");
            assert_eq!(
                demo.password.expose_secret(),
                "007",
                "numeric-looking strings stay strings"
            );
            assert_eq!(
                demo.token.as_ref().map(|t| t.expose_secret().to_owned()).as_deref(),
                Some("s3cret")
            );
            assert_eq!(demo.upstreams, vec!["http://f:1", "http://f:2"]);
            assert_eq!(demo.telemetry.format, LogFormat::Json);
            assert_eq!(demo.telemetry.level, "debug");

            jail.set_env("MYELIN_DEMO_ENV__UPSTREAMS", "http://a:1, http://b:2,");
            let demo: Demo = load("demo-env", None).unwrap();
            assert_eq!(demo.upstreams, vec!["http://a:1", "http://b:2"]);
            jail.set_env("MYELIN_DEMO_ENV__UPSTREAMS", "[\"http://c:3\"]");
            let demo: Demo = load("demo-env", None).unwrap();
            assert_eq!(demo.upstreams, vec!["http://c:3"]);
            Ok(())
        });
    }

    #[test]
    fn errors_name_the_file_or_the_key() {
        Jail::expect_with(|jail| {
            let err = load::<Demo>("demo-err", Some(Path::new("missing.toml"))).unwrap_err();
            assert!(matches!(err, Error::FileNotFound(_)), "{err}");

            jail.set_env("MYELIN_DEMO_ERR__TELEMETRY__FORMAT", "xml");
            let err = load::<Demo>("demo-err", None).unwrap_err();
            let Error::Invalid { key, message } = &err else {
                panic!("unexpected {err}")
            };
            assert_eq!(key, "telemetry.format");
            assert!(message.contains("MYELIN_DEMO_ERR__TELEMETRY__FORMAT"), "{message}");
            assert!(message.contains("xml"), "{message}");

            jail.clear_env();
            jail.create_file("bad.toml", "port = \"many\"\n")?;
            let err = load::<Demo>("demo-err", Some(Path::new("bad.toml"))).unwrap_err();
            assert!(err.to_string().contains("`port`"), "{err}");
            assert!(err.to_string().contains("bad.toml"), "{err}");
            Ok(())
        });
    }

    #[test]
    fn dump_redacts_secrets_and_reloads() {
        Jail::expect_with(|jail| {
            jail.set_env("MYELIN_DEMO_DUMP__TOKEN", "t0ken");
            let demo: Demo = load("demo-dump", None).unwrap();
            let text = dump(&demo).unwrap();
            assert!(text.contains("password = \"[redacted]\""), "{text}");
            assert!(text.contains("token = \"[redacted]\""), "{text}");
            assert!(!text.contains("guest") && !text.contains("t0ken"), "{text}");
            assert!(text.contains("[telemetry]"), "{text}");
            // The dump is a valid --config file.
            jail.clear_env();
            jail.create_file("dumped.toml", &text)?;
            let again: Demo = load("demo-dump", Some(Path::new("dumped.toml"))).unwrap();
            assert_eq!(again.port, demo.port);
            assert_eq!(again.upstreams, demo.upstreams);
            Ok(())
        });
    }

    #[test]
    fn serde_list_accepts_sequences_and_strings() {
        #[derive(Deserialize)]
        struct L {
            #[serde(deserialize_with = "serde_list::deserialize")]
            v: Vec<String>,
        }
        let l: L = serde_json::from_str(r#"{"v": ["a", 1]}"#).unwrap();
        assert_eq!(l.v, vec!["a", "1"]);
        let l: L = serde_json::from_str(r#"{"v": " a ,b"}"#).unwrap();
        assert_eq!(l.v, vec!["a", "b"]);
        let l: L = serde_json::from_str(r#"{"v": ""}"#).unwrap();
        assert!(l.v.is_empty());
        assert!(serde_json::from_str::<L>(r#"{"v": {"x": 1}}"#).is_err());
    }
}
