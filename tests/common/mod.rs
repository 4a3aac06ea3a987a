//! Access to the Daraja fixtures kept in `tests/fixtures`.

#![allow(dead_code, unreachable_pub)]

use std::path::{Path, PathBuf};

/// `tests/fixtures`, where the repository keeps its copy of the Daraja
/// fixtures (this package is `tests/`).
pub fn fixtures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures")
}

/// Every `.json` callback body of one fixture kind, as `(file name, bytes)`,
/// sorted by name; `responses/` folders are left out.
pub fn fixtures(kind: &str) -> Vec<(String, Vec<u8>)> {
    json_files(&fixtures_dir().join(kind))
}

/// Every file under `tests/fixtures/bad`.
pub fn bad_bodies() -> Vec<(String, Vec<u8>)> {
    json_files(&fixtures_dir().join("bad"))
}

/// The response bodies we send for one fixture kind.
pub fn responses(kind: &str) -> Vec<(String, Vec<u8>)> {
    json_files(&fixtures_dir().join(kind).join("responses"))
}

fn json_files(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let entries = std::fs::read_dir(dir).unwrap_or_else(|error| panic!("reading {}: {error}", dir.display()));
    let mut files: Vec<_> = entries
        .map(|entry| entry.expect("directory entry").path())
        .filter(|path| path.is_file() && path.extension().is_some_and(|ext| ext == "json"))
        .map(|path| {
            let name = path.file_name().expect("file name").to_string_lossy().into_owned();
            let bytes = std::fs::read(&path).unwrap_or_else(|error| panic!("reading {}: {error}", path.display()));
            (name, bytes)
        })
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no fixtures in {}", dir.display());
    files
}

/// The exact body Daraja is answered with after a successful callback of
/// the kind in fixture folder `folder`.
pub fn acknowledgement(folder: &str) -> &'static str {
    match folder {
        "stk" | "c2b_confirmation" => r#"{"ResultCode":0,"ResultDesc":"Success"}"#,
        "c2b_validation" => r#"{"ResultCode":"0","ResultDesc":"Accepted"}"#,
        _ => r#"{"ResultCode":0,"ResultDesc":"Accepted"}"#,
    }
}
