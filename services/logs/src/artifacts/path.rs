//! Artifact paths (pure): validation of the paths clients send, the blob keys they map to
//! (`<run uuid>/<path>`), upload file names, and the content type / disposition of a download.

use myelin_contracts::RunUuid;

use super::error::Error;

/// Longest path accepted (the blob key `<32 hex>/<path>` stays within S3's 1024 bytes).
pub const MAX_PATH_LEN: usize = myelin_common::blob::MAX_KEY_LEN - 33;

/// A checked path relative to a run's artifacts; empty for the run's root.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ArtifactPath(String);

impl ArtifactPath {
    /// The run's root directory.
    pub fn root() -> Self {
        ArtifactPath(String::new())
    }

    /// A file path: relative, `/`-separated, no empty, `.` or `..` segment, no backslash, no control
    /// character (NUL included), at most [`MAX_PATH_LEN`] bytes.
    pub fn file(text: &str) -> Result<Self, Error> {
        if text.is_empty() {
            return Err(Error::invalid_path(text, "a file path cannot be empty"));
        }
        check(text).map_err(|reason| Error::invalid_path(text, reason))?;
        Ok(ArtifactPath(text.to_owned()))
    }

    /// A directory path: as [`ArtifactPath::file`], but empty (or absent) is the root and one
    /// trailing `/` is accepted.
    pub fn dir(text: Option<&str>) -> Result<Self, Error> {
        let text = text.unwrap_or_default();
        if text.is_empty() {
            return Ok(Self::root());
        }
        let body = text.strip_suffix('/').unwrap_or(text);
        let body_ok = if body.is_empty() {
            Err("must be relative (no leading `/`)")
        } else {
            check(body)
        };
        body_ok.map_err(|reason| Error::invalid_path(text, reason))?;
        Ok(ArtifactPath(body.to_owned()))
    }

    /// The path as given (`""` for the root).
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// True for the run's root.
    pub fn is_root(&self) -> bool {
        self.0.is_empty()
    }

    /// The last segment (`""` for the root).
    pub fn name(&self) -> &str {
        self.0.rsplit('/').next().unwrap_or_default()
    }

    /// `relative` (checked like a file path) under this directory.
    pub fn join(&self, relative: &str) -> Result<Self, Error> {
        let relative = ArtifactPath::file(relative)?;
        if self.is_root() {
            return Ok(relative);
        }
        let joined = format!("{}/{}", self.0, relative.0);
        check(&joined).map_err(|reason| Error::invalid_path(&joined, reason))?;
        Ok(ArtifactPath(joined))
    }

    /// The blob key of this path as a file: `<run>/<path>`.
    pub fn key(&self, run: &RunUuid) -> String {
        format!("{run}/{}", self.0)
    }

    /// The blob prefix of this path as a directory: `<run>/<path>/` (`<run>/` for the root).
    pub fn prefix(&self, run: &RunUuid) -> String {
        if self.is_root() {
            format!("{run}/")
        } else {
            format!("{run}/{}/", self.0)
        }
    }
}

/// Why `text` is not a valid relative path, if it is not.
fn check(text: &str) -> Result<(), &'static str> {
    let reason = if text.len() > MAX_PATH_LEN {
        Some("longer than 991 bytes")
    } else if text.starts_with('/') {
        Some("must be relative (no leading `/`)")
    } else if text.contains('\\') {
        Some("cannot contain `\\`")
    } else if text.contains('\0') {
        Some("cannot contain NUL")
    } else if text.chars().any(char::is_control) {
        Some("cannot contain control characters")
    } else {
        text.split('/').find_map(|segment| match segment {
            "" => Some("cannot contain an empty segment"),
            "." | ".." => Some("cannot contain `.` or `..` segments"),
            _ => None,
        })
    };
    reason.map_or(Ok(()), Err)
}

/// The base name of an uploaded file's name (clients send full paths, `/` or `\` separated).
pub fn upload_file_name(name: Option<&str>) -> Result<String, Error> {
    let name = name.unwrap_or_default();
    let base = name.rsplit(['/', '\\']).next().unwrap_or_default();
    match base {
        "" => Err(Error::invalid_path(name, "the upload has no file name")),
        "." | ".." => Err(Error::invalid_path(name, "cannot contain `.` or `..` segments")),
        _ => {
            check(base).map_err(|reason| Error::invalid_path(name, reason))?;
            Ok(base.to_owned())
        }
    }
}

/// A tar entry path as a relative path: a leading `./` is dropped; absolute paths and `..` are refused.
pub fn entry_path(raw: &str) -> Result<String, Error> {
    let mut path = raw;
    while let Some(rest) = path.strip_prefix("./") {
        path = rest;
    }
    let path = path.strip_suffix('/').unwrap_or(path);
    let checked = if path.is_empty() {
        Err("an archive entry needs a name")
    } else {
        check(path)
    };
    checked.map_err(|reason| Error::invalid_path(raw, reason))?;
    Ok(path.to_owned())
}

/// The content type of a file, from its extension.
pub fn content_type(name: &str) -> &'static str {
    let extension = name.rsplit_once('.').map(|(_, ext)| ext.to_ascii_lowercase());
    match extension.as_deref().unwrap_or_default() {
        "txt" | "log" | "plx" | "py" | "md" | "yaml" | "yml" | "toml" | "ini" | "cfg" | "sh" | "rs" => {
            "text/plain; charset=utf-8"
        }
        "csv" => "text/csv; charset=utf-8",
        "tsv" => "text/tab-separated-values; charset=utf-8",
        "html" | "htm" => "text/html; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "js" => "text/javascript; charset=utf-8",
        "json" => "application/json",
        "jsonl" | "ndjson" => "application/x-ndjson",
        "xml" => "application/xml",
        "pdf" => "application/pdf",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "gif" => "image/gif",
        "svg" => "image/svg+xml",
        "webp" => "image/webp",
        "bmp" => "image/bmp",
        "tif" | "tiff" => "image/tiff",
        "mp4" => "video/mp4",
        "webm" => "video/webm",
        "mov" => "video/quicktime",
        "avi" => "video/x-msvideo",
        "wav" => "audio/wav",
        "mp3" => "audio/mpeg",
        "ogg" => "audio/ogg",
        "flac" => "audio/flac",
        "gz" | "tgz" => "application/gzip",
        "tar" => "application/x-tar",
        "zip" => "application/zip",
        "parquet" => "application/vnd.apache.parquet",
        _ => "application/octet-stream",
    }
}

/// A `content-disposition` value naming `name` (`attachment`, or `inline` for `stream=true`), with an
/// ASCII fallback and the exact name in RFC 5987 encoding.
pub fn content_disposition(name: &str, inline: bool) -> String {
    let kind = if inline { "inline" } else { "attachment" };
    let ascii: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_graphic() && c != '"' && c != '\\' || c == ' ' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let mut encoded = String::with_capacity(name.len());
    for byte in name.bytes() {
        if byte.is_ascii_alphanumeric() || b"!#$&+-.^_`|~".contains(&byte) {
            encoded.push(char::from(byte));
        } else {
            encoded.push_str(&format!("%{byte:02X}"));
        }
    }
    format!("{kind}; filename=\"{ascii}\"; filename*=UTF-8''{encoded}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_checked() {
        for good in ["a", "a/b.txt", "events/metric/loss.plx", "a..b/.hidden", "ü/ß x"] {
            assert_eq!(ArtifactPath::file(good).unwrap().as_str(), good);
        }
        for bad in [
            "", "/a", "a/", "a//b", "../a", "a/../b", "a/./b", ".", "a\\b", "a\0b", "a\nb",
        ] {
            assert!(
                matches!(ArtifactPath::file(bad), Err(Error::InvalidPath { .. })),
                "{bad:?}"
            );
        }
        assert!(ArtifactPath::file(&"x".repeat(MAX_PATH_LEN + 1)).is_err());
        assert!(ArtifactPath::dir(None).unwrap().is_root());
        assert!(ArtifactPath::dir(Some("")).unwrap().is_root());
        assert_eq!(ArtifactPath::dir(Some("a/b/")).unwrap().as_str(), "a/b");
        for bad in ["/", "//", "/a", "a//", "..", "a/../", "a\\b/"] {
            assert!(ArtifactPath::dir(Some(bad)).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn keys_and_joins() {
        let run = RunUuid::new();
        let dir = ArtifactPath::dir(Some("outputs")).unwrap();
        assert_eq!(dir.prefix(&run), format!("{run}/outputs/"));
        assert_eq!(ArtifactPath::root().prefix(&run), format!("{run}/"));
        let file = dir.join("model.bin").unwrap();
        assert_eq!(file.key(&run), format!("{run}/outputs/model.bin"));
        assert_eq!(file.name(), "model.bin");
        assert_eq!(ArtifactPath::root().join("x").unwrap().as_str(), "x");
        assert!(dir.join("../x").is_err());
    }

    #[test]
    fn upload_names_and_entries() {
        assert_eq!(
            upload_file_name(Some("/home/u/run/events/metric/loss.plx")).unwrap(),
            "loss.plx"
        );
        assert_eq!(upload_file_name(Some("C:\\data\\x.csv")).unwrap(), "x.csv");
        assert_eq!(upload_file_name(Some("plain")).unwrap(), "plain");
        for bad in [None, Some(""), Some("dir/"), Some("a/.."), Some("bad\0name")] {
            assert!(upload_file_name(bad).is_err(), "{bad:?}");
        }
        assert_eq!(entry_path("./a/b").unwrap(), "a/b");
        assert_eq!(entry_path("dir/").unwrap(), "dir");
        for bad in ["/etc/passwd", "../x", "a/../../x", "", "./"] {
            assert!(entry_path(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn content_headers() {
        assert_eq!(content_type("loss.PLX"), "text/plain; charset=utf-8");
        assert_eq!(content_type("a.png"), "image/png");
        assert_eq!(content_type("model"), "application/octet-stream");
        assert_eq!(
            content_disposition("résumé \"1\".txt", false),
            "attachment; filename=\"r_sum_ _1_.txt\"; filename*=UTF-8''r%C3%A9sum%C3%A9%20%221%22.txt"
        );
        assert!(content_disposition("a.txt", true).starts_with("inline; "));
    }
}
