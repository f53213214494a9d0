//! What every command-line test needs: run `dsim` from the project root.

use std::process::{Command, Output};

use serde_json::Value;

pub fn dsim(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_dsim"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("dsim runs")
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// `dsim run FILE --json EXTRA...`: the exit code and the parsed summary.
#[allow(dead_code)] // not every test file runs scenarios
pub fn run(file: &str, extra: &[&str]) -> (i32, Value) {
    let mut args = vec!["run", file, "--json"];
    args.extend_from_slice(extra);
    let out = dsim(&args);
    let v = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{file}: {e} {}", stderr(&out)));
    (out.status.code().expect("exited"), v)
}

/// For each (name, from, to, expected): `file` with its first `from` replaced by `to` must
/// be refused by `dsim check` with exit 2, a position, and `expected` in the message.
#[allow(dead_code)] // not every test file checks bad input
pub fn refuses_variants(file: &str, cases: &[(&str, &str, &str, &str)]) {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let good = std::fs::read_to_string(root.join(file)).unwrap();
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("refused")
        .join(file.replace('/', "-"));
    std::fs::create_dir_all(&dir).unwrap();
    for &(name, from, to, expect) in cases {
        assert!(good.contains(from), "{name}: `{from}` is not in {file}");
        let path = dir.join(format!("{name}.ron"));
        std::fs::write(&path, good.replacen(from, to, 1)).unwrap();
        let out = dsim(&["check", &path.to_string_lossy()]);
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{name}: {err}");
        assert!(err.contains(expect), "{name}: expected `{expect}` in {err}");
        assert!(err.contains(".ron:"), "{name}: no position in {err}");
    }
}

/// A count from the environment variable `name` (how many seeds or cases a test sweeps),
/// or `default`: the long sweeps are opt-in.
#[allow(dead_code)] // not every test file sweeps
pub fn count_from_env(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(default)
}
