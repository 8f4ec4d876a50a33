//! Embeds the dashboard (`web/` at the workspace root) in the gateway binary: walks the folder and
//! writes `$OUT_DIR/ui_assets.rs`, a sorted array of `Asset { path, content_type, etag, bytes }` whose
//! bytes come from `include_bytes!`, so the gateway reads no file at run time. The ETag is a hash of
//! the bytes taken now (FNV-1a, 64 bits: a cache validator, not a security property).

use std::error::Error;
use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};

fn main() -> Result<(), Box<dyn Error>> {
    let manifest = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR")?);
    let web = manifest.join("../../web");
    let web = fs::canonicalize(&web).map_err(|e| format!("the dashboard folder {} is missing: {e}", web.display()))?;
    println!("cargo::rerun-if-changed=build.rs");
    println!("cargo::rerun-if-changed={}", web.display());

    let mut files = Vec::new();
    walk(&web, &web, &mut files)?;
    files.sort();
    if !files.iter().any(|(path, _)| path == "index.html") {
        return Err(format!("{} has no index.html", web.display()).into());
    }

    let mut out = String::from("[\n");
    for (path, full) in &files {
        let bytes = fs::read(full).map_err(|e| format!("cannot read {}: {e}", full.display()))?;
        writeln!(
            out,
            "    Asset {{ path: {path:?}, content_type: {:?}, etag: \"\\\"{:016x}\\\"\", bytes: include_bytes!({:?}) }},",
            content_type(path),
            fnv1a(&bytes),
            full.display().to_string(),
        )?;
    }
    out.push(']');
    let dest = PathBuf::from(std::env::var("OUT_DIR")?).join("ui_assets.rs");
    fs::write(&dest, out).map_err(|e| format!("cannot write {}: {e}", dest.display()))?;
    Ok(())
}

/// Collects `(path relative to root with '/' separators, full path)` of every file under `dir`,
/// skipping hidden entries (editor swap files, `.DS_Store`).
fn walk(root: &Path, dir: &Path, files: &mut Vec<(String, PathBuf)>) -> Result<(), Box<dyn Error>> {
    for entry in fs::read_dir(dir).map_err(|e| format!("cannot list {}: {e}", dir.display()))? {
        let entry = entry?;
        let name = entry.file_name();
        if name.to_string_lossy().starts_with('.') {
            continue;
        }
        let path = entry.path();
        if entry.file_type()?.is_dir() {
            walk(root, &path, files)?;
        } else {
            let relative = path.strip_prefix(root)?;
            let parts: Vec<String> = relative
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect();
            files.push((parts.join("/"), path));
        }
    }
    Ok(())
}

fn content_type(path: &str) -> &'static str {
    let name = path.rsplit('/').next().unwrap_or(path);
    let extension = name.rsplit_once('.').map(|(_, ext)| ext.to_ascii_lowercase());
    match extension.as_deref() {
        Some("html") => "text/html; charset=utf-8",
        Some("js" | "mjs") => "text/javascript; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        Some("json" | "map") => "application/json",
        Some("svg") => "image/svg+xml",
        Some("png") => "image/png",
        Some("ico") => "image/x-icon",
        Some("woff2") => "font/woff2",
        Some("md" | "txt") => "text/plain; charset=utf-8",
        None => "text/plain; charset=utf-8",
        Some(_) => "application/octet-stream",
    }
}

fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, &b| {
        (hash ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}
