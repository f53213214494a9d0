//! Files appear whole or not at all: each is written beside its final name under a
//! temporary one, synced, and renamed over the final name, which on one file system is
//! atomic. A run killed half-way leaves the old file (or none), never half of a new one.

use std::io::Write;
use std::path::{Path, PathBuf};

/// The temporary name `path` is written under: hidden, beside it, marked with this process,
/// and ending in the same extension (chart backends choose their format by it).
pub fn temporary_name(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let stem = path
        .file_stem()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or(name);
    let ext = path
        .extension()
        .map(|e| format!(".{}", e.to_string_lossy()))
        .unwrap_or_default();
    path.with_file_name(format!(".{stem}.dsim-tmp-{}{ext}", std::process::id()))
}

/// Writes `bytes` to `path` whole or not at all.
pub fn write_whole(path: &Path, bytes: &[u8]) -> Result<(), String> {
    let tmp = temporary_name(path);
    let result =
        std::fs::File::create(&tmp).and_then(|mut f| f.write_all(bytes).and_then(|_| f.sync_all()));
    finish(result.map_err(|e| e.to_string()), &tmp, path)
}

/// Renames the finished temporary file `tmp` over `path`, or removes it if `result` failed.
pub fn finish(result: Result<(), String>, tmp: &Path, path: &Path) -> Result<(), String> {
    let result = result.and_then(|_| std::fs::rename(tmp, path).map_err(|e| e.to_string()));
    if result.is_err() {
        let _ = std::fs::remove_file(tmp);
    }
    result.map_err(|e| format!("cannot write {}: {e}", path.display()))
}

/// Fails now if a file cannot be created at `path` (a missing or read-only folder), so a
/// long computation does not end in "cannot write". Creates the folder if it is missing.
pub fn check_writable(path: &Path) -> Result<(), String> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)
            .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    }
    let tmp = temporary_name(path);
    let created = std::fs::File::create(&tmp);
    let _ = std::fs::remove_file(&tmp);
    created
        .map(|_| ())
        .map_err(|e| format!("cannot write {}: {e}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_is_replaced_whole_and_no_temporary_is_left() {
        let dir = std::env::temp_dir().join(format!("dsim-files-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("out.json");
        write_whole(&path, b"old").unwrap();
        write_whole(&path, b"new").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"new");
        let names: Vec<String> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names, ["out.json"]);
        assert_eq!(
            temporary_name(&path).extension().unwrap(),
            "json",
            "the extension is kept"
        );
        // A folder that cannot be written: an error, and the old file untouched.
        let missing = dir.join("no/such/folder/out.json");
        assert!(write_whole(&missing, b"x").is_err());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
