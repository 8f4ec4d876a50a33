//! The serde access types of [`super::PathDe`]: list items, mapping entries and `kind`-tagged
//! unions, each handing out child deserializers with the child's path.

use serde::de::{self, DeserializeSeed, IntoDeserializer, Visitor};
use serde_json::{Map, Value as Json};

use super::{DeError, PathDe, Sink, json_kind};
use crate::error::code;
use crate::path::Path;

/// The items of a list.
pub(super) struct SeqDe<'s> {
    items: std::vec::IntoIter<Json>,
    index: usize,
    path: Path,
    sink: &'s Sink,
    k8s: u8,
}

impl<'s> SeqDe<'s> {
    pub(super) fn new(items: Vec<Json>, path: Path, sink: &'s Sink, k8s: u8) -> Self {
        Self {
            items: items.into_iter(),
            index: 0,
            path,
            sink,
            k8s,
        }
    }
}

impl<'de> de::SeqAccess<'de> for SeqDe<'_> {
    type Error = DeError;

    fn next_element_seed<T: DeserializeSeed<'de>>(&mut self, seed: T) -> Result<Option<T::Value>, DeError> {
        let (item, path) = loop {
            let Some(item) = self.items.next() else {
                return Ok(None);
            };
            let path = self.path.index(self.index);
            self.index += 1;
            if !self.sink.skips(&path) {
                break (item, path);
            }
        };
        seed.deserialize(PathDe::within(item, path.clone(), self.sink, self.k8s))
            .map(Some)
            .map_err(|error| error.at(&path))
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.items.len())
    }
}

/// The entries of a mapping; keys are plain strings.
pub(super) struct MapDe<'s> {
    /// (field name, key as written, value).
    entries: std::vec::IntoIter<(String, String, Json)>,
    current: Option<(String, Json)>,
    path: Path,
    sink: &'s Sink,
    k8s: u8,
}

impl<'s> MapDe<'s> {
    pub(super) fn new(entries: Vec<(String, String, Json)>, path: Path, sink: &'s Sink, k8s: u8) -> Self {
        Self {
            entries: entries.into_iter(),
            current: None,
            path,
            sink,
            k8s,
        }
    }
}

impl<'de> de::MapAccess<'de> for MapDe<'_> {
    type Error = DeError;

    fn next_key_seed<K: DeserializeSeed<'de>>(&mut self, seed: K) -> Result<Option<K::Value>, DeError> {
        let Some((name, written, value)) = self.entries.next() else {
            return Ok(None);
        };
        let path = self.path.key(written.clone());
        let deserializer: de::value::StringDeserializer<DeError> = name.into_deserializer();
        let key_value = seed.deserialize(deserializer).map_err(|error| error.at(&path))?;
        self.current = Some((written, value));
        Ok(Some(key_value))
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, DeError> {
        let (key, value) = self
            .current
            .take()
            .ok_or_else(|| DeError::new(code::INVALID_FIELD, "a mapping value without its key"))?;
        let path = self.path.key(key);
        seed.deserialize(PathDe::within(value, path.clone(), self.sink, self.k8s))
            .map_err(|error| error.at(&path))
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.entries.len())
    }
}

/// A union member: a bare string (`patchStrategy: replace`) or a mapping whose `kind` names
/// the variant and whose other entries are its content.
pub(super) struct EnumDe<'s> {
    variant: String,
    variant_path: Path,
    content: Option<Map<String, Json>>,
    path: Path,
    sink: &'s Sink,
}

impl<'s> EnumDe<'s> {
    pub(super) fn unit(variant: String, path: Path, sink: &'s Sink) -> Self {
        Self {
            variant,
            variant_path: path.clone(),
            content: None,
            path,
            sink,
        }
    }

    pub(super) fn tagged(
        variant: String,
        variant_path: Path,
        content: Map<String, Json>,
        path: Path,
        sink: &'s Sink,
    ) -> Self {
        Self {
            variant,
            variant_path,
            content: Some(content),
            path,
            sink,
        }
    }
}

impl<'de, 's> de::EnumAccess<'de> for EnumDe<'s> {
    type Error = DeError;
    type Variant = EnumDe<'s>;

    fn variant_seed<V: DeserializeSeed<'de>>(self, seed: V) -> Result<(V::Value, Self), DeError> {
        let name = PathDe::new(Json::String(self.variant.clone()), self.variant_path.clone(), self.sink);
        let value = seed.deserialize(name).map_err(|error| error.at(&self.variant_path))?;
        Ok((value, self))
    }
}

impl<'de> de::VariantAccess<'de> for EnumDe<'_> {
    type Error = DeError;

    fn unit_variant(self) -> Result<(), DeError> {
        Ok(())
    }

    fn newtype_variant_seed<T: DeserializeSeed<'de>>(self, seed: T) -> Result<T::Value, DeError> {
        match self.content {
            Some(content) => seed.deserialize(PathDe::new(Json::Object(content), self.path, self.sink)),
            None => {
                let message = format!(
                    "expected a mapping with `kind: {}`, found {}",
                    self.variant,
                    json_kind(&Json::String(self.variant.clone()))
                );
                Err(DeError::new(code::INVALID_FIELD, message).at(&self.path))
            }
        }
    }

    fn tuple_variant<V: Visitor<'de>>(self, _len: usize, _visitor: V) -> Result<V::Value, DeError> {
        Err(DeError::new(code::INVALID_FIELD, "unsupported tuple variant").at(&self.path))
    }

    fn struct_variant<V: Visitor<'de>>(self, fields: &'static [&'static str], visitor: V) -> Result<V::Value, DeError> {
        let content = self.content.unwrap_or_default();
        de::Deserializer::deserialize_struct(
            PathDe::new(Json::Object(content), self.path, self.sink),
            "",
            fields,
            visitor,
        )
    }
}
