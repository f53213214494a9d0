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
