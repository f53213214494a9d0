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

/// Whether `path` is something other than a file or a folder: a device (`/dev/null`,
/// `/dev/stdout`), a pipe or a socket. Such a path is written to directly: renaming a file
/// over it would replace the device with a file (as root, `--trace /dev/null` once did
/// exactly that), and "whole or not at all" means nothing for a stream.
pub fn is_stream(path: &Path) -> bool {
    std::fs::metadata(path).is_ok_and(|m| !m.is_file() && !m.is_dir())
}

/// Opens a stream (see [`is_stream`]) for writing.
pub fn open_stream(path: &Path) -> Result<std::fs::File, String> {
    std::fs::OpenOptions::new()
        .write(true)
        .open(path)
        .map_err(|e| format!("cannot write {}: {e}", path.display()))
}

/// Writes `bytes` to `path` whole or not at all (a stream, straight through).
pub fn write_whole(path: &Path, bytes: &[u8]) -> Result<(), String> {
    if is_stream(path) {
        return open_stream(path)?
            .write_all(bytes)
            .map_err(|e| format!("cannot write {}: {e}", path.display()));
    }
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
    if is_stream(path) {
        return open_stream(path).map(|_| ());
    }
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

    #[cfg(unix)]
    #[test]
    fn a_pipe_is_written_through_and_stays_a_pipe() {
        use std::os::unix::fs::FileTypeExt;
        let dir = std::env::temp_dir().join(format!("dsim-fifo-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let fifo = dir.join("pipe");
        let made = std::process::Command::new("mkfifo").arg(&fifo).status();
        if !made.is_ok_and(|s| s.success()) {
            eprintln!("skipped: mkfifo is not available");
            return;
        }
        let reader = {
            let fifo = fifo.clone();
            std::thread::spawn(move || std::fs::read(&fifo).unwrap())
        };
        assert!(is_stream(&fifo));
        write_whole(&fifo, b"through").unwrap();
        // Before joining the reader: had the pipe been replaced, it would wait forever.
        assert!(std::fs::metadata(&fifo).unwrap().file_type().is_fifo());
        assert_eq!(reader.join().unwrap(), b"through");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
