//! `dsim` as a user runs it: every bundled scenario, exit codes, the trace, bad input.

mod common;

use std::path::{Path, PathBuf};

use common::{dsim, run, stderr};
use serde_json::Value;

fn run_json(args: &[&str]) -> (i32, Value) {
    let mut all = vec!["run"];
    all.extend_from_slice(args);
    all.push("--json");
    let out = dsim(&all);
    let code = out.status.code().expect("exited");
    let text = String::from_utf8(out.stdout.clone()).expect("utf-8");
    let v = serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {text} {}", stderr(&out)));
    (code, v)
}

fn scenarios() -> Vec<String> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios");
    let mut files: Vec<String> = std::fs::read_dir(&dir)
        .expect("scenarios/")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "ron"))
        .map(|p| format!("scenarios/{}", p.file_name().unwrap().to_string_lossy()))
        .collect();
    files.sort();
    assert!(files.len() >= 4, "bundled scenarios: {files:?}");
    files
}

/// Benchmark scenarios run 10 M events; a prefix of them shows determinism just as well.
fn run_args(file: &str) -> Vec<&str> {
    if file.contains("bench-") {
        vec![file, "--max-events", "500000"]
    } else {
        vec![file]
    }
}

#[test]
fn every_bundled_scenario_is_deterministic_and_opens_with_what_it_shows() {
    for file in scenarios() {
        let source =
            std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(&file)).unwrap();
        assert!(
            source.starts_with("//"),
            "{file} must open with a comment saying what it shows"
        );
        let args = run_args(&file);
        let (code_a, a) = run_json(&args);
        let (code_b, b) = run_json(&args);
        assert!(code_a == 0 || code_a == 1, "{file}: exit {code_a}");
        assert_eq!(code_a, code_b, "{file}");
        assert_eq!(a["fingerprint"], b["fingerprint"], "{file}");
        assert_eq!(a["events"], b["events"], "{file}");
        assert_eq!(a["messages"], b["messages"], "{file}");
        assert_eq!(a["violations"], b["violations"], "{file}");
        let fp = a["fingerprint"].as_str().unwrap();
        assert_eq!(fp.len(), 16, "{file}: fingerprint {fp}");
        assert!(fp.chars().all(|c| c.is_ascii_hexdigit()));
    }
}

/// The same scenario, seed and version give the same fingerprint on every machine. If an
/// intended change to the engine moves this value, update it and say so in the changelog:
/// fingerprints users recorded with the old version no longer match.
#[test]
fn the_quickstart_fingerprint_is_pinned() {
    let (_, v) = run_json(&["scenarios/quickstart.ron"]);
    assert_eq!(v["fingerprint"], "70f1f9f71561ddc8");
}

#[test]
fn two_seeds_give_two_runs() {
    for file in scenarios() {
        let mut a = run_args(&file);
        a.extend(["--seed", "1"]);
        let mut b = run_args(&file);
        b.extend(["--seed", "2"]);
        let (_, one) = run_json(&a);
        let (_, two) = run_json(&b);
        assert_eq!(
            (one["seed"].as_u64(), two["seed"].as_u64()),
            (Some(1), Some(2))
        );
        assert_ne!(one["fingerprint"], two["fingerprint"], "{file}");
    }
}

#[test]
fn the_json_summary_has_the_documented_keys() {
    let (code, v) = run_json(&["scenarios/quickstart.ron"]);
    assert_eq!(code, 0);
    for key in [
        "scenario",
        "seed",
        "fingerprint",
        "events",
        "virtual_time_ns",
        "messages",
        "violations",
        "metrics",
        "invariants",
        "faults",
        "stop_reason",
        "reproduce",
    ] {
        assert!(v.get(key).is_some(), "missing {key} in {v}");
    }
    for key in ["sent", "delivered", "dropped", "duplicated"] {
        assert!(v["messages"][key].is_u64(), "messages.{key}");
    }
    let m = &v["messages"];
    assert!(m["sent"].as_u64() >= m["delivered"].as_u64());
    assert_eq!(v["violations"], Value::Array(vec![]));
    assert_eq!(v["virtual_time_ns"], 10_000_000_000u64);
    let nemesis = v["faults"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["origin"] == "nemesis")
        .count();
    assert!(nemesis > 0, "the quickstart's nemesis injects clock jumps");
}

#[test]
fn a_violation_exits_1_names_the_invariant_and_replays_exactly() {
    let (code, v) = run_json(&["scenarios/pingpong-isolated.ron"]);
    assert_eq!(code, 1);
    let violation = &v["violations"][0];
    assert_eq!(violation["invariant"], "progress");
    assert_eq!(violation["node"], "n0");
    // Cut off at 2s with max_silence 1s: caught from 3s on, before the heal at 4.5s.
    let at = violation["time_ns"].as_u64().unwrap();
    assert!((3_000_000_000..4_500_000_000).contains(&at), "{at}");
    let reproduce = v["reproduce"].as_str().unwrap();
    assert_eq!(
        reproduce,
        "dsim run scenarios/pingpong-isolated.ron --seed 1"
    );
    // The reproduce command replays the same run.
    let args: Vec<&str> = reproduce.split(' ').skip(2).collect();
    let (code2, again) = run_json(&args);
    assert_eq!(code2, 1);
    assert_eq!(again["fingerprint"], v["fingerprint"]);
    assert_eq!(again["violations"], v["violations"]);
    // The text summary says the same.
    let out = dsim(&["run", "scenarios/pingpong-isolated.ron"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("progress: VIOLATED"), "{text}");
    assert!(
        text.contains("reproduce    dsim run scenarios/pingpong-isolated.ron --seed 1"),
        "{text}"
    );
}

#[test]
fn the_trace_streams_every_event_and_does_not_change_the_run() {
    let dir = tempdir("trace");
    let trace = dir.join("quickstart.jsonl");
    let trace_arg = trace.to_string_lossy().into_owned();
    let (_, plain) = run_json(&["scenarios/quickstart.ron"]);
    let (_, traced) = run_json(&["scenarios/quickstart.ron", "--trace", &trace_arg]);
    assert_eq!(plain["fingerprint"], traced["fingerprint"]);
    let text = std::fs::read_to_string(&trace).unwrap();
    let mut kinds = std::collections::BTreeMap::<String, u64>::new();
    for line in text.lines() {
        let e: Value = serde_json::from_str(line).unwrap_or_else(|err| panic!("{err}: {line}"));
        assert!(e["t_ns"].is_u64() && e["node"].is_string(), "{line}");
        *kinds
            .entry(e["kind"].as_str().unwrap().to_string())
            .or_default() += 1;
    }
    let m = &plain["messages"];
    assert_eq!(kinds["deliver"], m["delivered"].as_u64().unwrap());
    assert_eq!(kinds["drop"], m["dropped"].as_u64().unwrap());
    // A send with a duplicate is one `send` line; sends = delivered-or-in-flight + sent drops.
    assert!(kinds["send"] + kinds["drop"] >= m["sent"].as_u64().unwrap() - kinds["drop"]);
    assert_eq!(
        kinds["fault"],
        plain["faults"].as_array().unwrap().len() as u64
    );
    assert_eq!(kinds["start"], 5);
}

#[test]
fn check_validates_without_running() {
    let out = dsim(&[
        "check",
        "scenarios/quickstart.ron",
        "scenarios/pingpong-isolated.ron",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(String::from_utf8_lossy(&out.stdout).contains("scenarios/quickstart.ron: ok (5 nodes"));
}

/// A run always ends, with a stop reason that says why: virtual time frozen by zero
/// latency, and a workload that grows without bound (every message duplicated).
#[test]
fn runs_that_would_never_end_or_would_eat_memory_stop_with_a_reason() {
    let dir = tempdir("runaway");
    let frozen = dir.join("zero-latency.ron");
    std::fs::write(
        &frozen,
        "(name: \"z\", limits: (time: \"1s\"), network: (latency: Constant(\"0\")), \
         protocol: PingPong(nodes: 2))",
    )
    .unwrap();
    let (code, v) = run(&frozen.to_string_lossy(), &[]);
    assert_eq!(code, 0);
    assert_eq!(v["stop_reason"], "stalled");
    assert_eq!(v["virtual_time_ns"], 0);
    let growing = dir.join("duplicate-everything.ron");
    std::fs::write(
        &growing,
        "(name: \"d\", limits: (time: \"10s\", pending: 50000), network: (duplicate: 1.0), \
         protocol: PingPong(nodes: 4))",
    )
    .unwrap();
    let out = dsim(&["run", &growing.to_string_lossy()]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0));
    assert!(
        text.contains("stopped: more events pending than limits.pending allows"),
        "{text}"
    );
}

#[test]
fn a_file_that_is_not_utf8_is_refused_where_its_first_bad_byte_is() {
    let path = tempdir("not-utf8").join("latin1.ron");
    std::fs::write(&path, b"(name: \"caf\xe9\",\n limits: (time: \"1s\"))").unwrap();
    let out = dsim(&["check", &path.to_string_lossy()]);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(
        err.contains("latin1.ron:1:12: byte 0xe9 is not UTF-8"),
        "{err}"
    );
}

/// Each class of malformed scenario: exit 2, file:line:column and what was expected.
#[test]
fn bad_scenarios_exit_2_with_the_line_and_never_panic() {
    let good = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/quickstart.ron"),
    )
    .unwrap();
    let line_of = |needle: &str| good.lines().position(|l| l.contains(needle)).unwrap() + 1;
    let cases: Vec<(&str, String, usize, &str)> = vec![
        (
            "syntax",
            good.replacen("seed: 1,", "seed: 1,,", 1),
            line_of("seed: 1,"),
            "expected",
        ),
        (
            "unknown field",
            good.replacen("loss: 0.01", "los: 0.01", 1),
            line_of("loss: 0.01"),
            "did you mean `loss`",
        ),
        (
            "probability",
            good.replacen("loss: 0.01", "loss: 1.5", 1),
            line_of("loss: 0.01"),
            "outside [0, 1]",
        ),
        (
            "unknown node",
            good.replacen("Crash(\"n1\")", "Crash(\"db7\")", 1),
            line_of("Crash(\"n1\")"),
            "unknown node \"db7\"",
        ),
        (
            "negative duration",
            good.replacen("(at: \"2s\"", "(at: \"-2s\"", 1),
            line_of("(at: \"2s\""),
            "negative",
        ),
        (
            "unparsable duration",
            good.replacen("\"300ms\"", "\"300 parsecs\"", 1),
            line_of("\"300ms\""),
            "unknown unit",
        ),
        (
            "empty cluster",
            good.replacen("nodes: 5", "nodes: 0", 1),
            line_of("nodes: 5"),
            "at least 2 nodes",
        ),
        (
            "unknown fault",
            good.replacen("fault: Heal", "fault: Heel", 1),
            line_of("fault: Heal"),
            "did you mean `Heal`",
        ),
        (
            "zero rate",
            good.replacen("every: \"2s\"", "every: \"0s\"", 1),
            line_of("every: \"2s\""),
            "must be at least 1ms",
        ),
        (
            "a nemesis striking every nanosecond",
            good.replacen("every: \"2s\"", "every: \"1ns\"", 1),
            line_of("every: \"2s\""),
            "must be at least 1ms",
        ),
        (
            "ten million nodes",
            good.replacen("PingPong(nodes: 5,", "PingPong(nodes: 10000000,", 1),
            line_of("PingPong(nodes: 5,"),
            "nodes: 10000000 is more than dsim supports (1000000)",
        ),
        (
            "a billion tokens",
            good.replacen("tokens_per_node: 2", "tokens_per_node: 1000000000", 1),
            line_of("tokens_per_node: 2"),
            "nodes × tokens_per_node = 5000000000 is more than dsim supports (4000000)",
        ),
        (
            "missing field",
            good.replacen("limits: (time: \"10s\", events: 1000000),", "", 1),
            0,
            "missing field `limits`",
        ),
        (
            "empty partition",
            good.replacen(
                "Partition([[\"n0\", \"n1\", \"n2\"], [\"n3\", \"n4\"]])",
                "Partition([[], []])",
                1,
            ),
            line_of("fault: Partition"),
            "none of them empty",
        ),
        (
            "no partition groups",
            good.replacen(
                "Partition([[\"n0\", \"n1\", \"n2\"], [\"n3\", \"n4\"]])",
                "Partition([])",
                1,
            ),
            line_of("fault: Partition"),
            "one group of nodes or more",
        ),
        (
            "spaced duration",
            good.replacen("(at: \"3s\"", "(at: \" 3s\"", 1),
            line_of("(at: \"3s\""),
            "spaces around it",
        ),
        (
            "minus zero",
            good.replacen("offset: \"25ms\"", "offset: \"-0s\"", 1),
            line_of("offset: \"25ms\""),
            "minus zero",
        ),
        (
            "nemesis stops before it starts",
            good.replacen("start: \"1s\",", "start: \"1s\", stop: \"500ms\",", 1),
            0,
            "stops (500ms) before it starts (1.000s)",
        ),
        (
            "no events",
            good.replacen("events: 1000000", "events: 0", 1),
            line_of("events: 1000000"),
            "at least 1",
        ),
        // Cut off at its last line: the closing parenthesis is missing.
        (
            "truncated",
            good.trim_end().trim_end_matches(')').to_string(),
            0,
            "end",
        ),
    ];
    let dir = tempdir("bad");
    for (class, text, line, expect) in cases {
        let path = dir.join(format!("{}.ron", class.replace(' ', "-")));
        std::fs::write(&path, &text).unwrap();
        let path_arg = path.to_string_lossy().into_owned();
        for cmd in ["run", "check"] {
            let out = dsim(&[cmd, &path_arg]);
            let err = stderr(&out);
            assert_eq!(out.status.code(), Some(2), "{class} ({cmd}): {err}");
            assert!(!err.contains("panicked"), "{class}: {err}");
            assert!(
                err.contains(expect),
                "{class}: expected `{expect}` in {err}"
            );
            let prefix = format!("error: {path_arg}:");
            assert!(
                err.starts_with(&prefix),
                "{class}: no file:line:col in {err}"
            );
            if line > 0 {
                assert!(
                    err.starts_with(&format!("{prefix}{line}:")),
                    "{class}: not at line {line}: {err}"
                );
            }
        }
    }
}

#[test]
fn usage_errors_exit_2() {
    assert_eq!(dsim(&[]).status.code(), Some(2));
    assert_eq!(dsim(&["run"]).status.code(), Some(2));
    assert_eq!(
        dsim(&["run", "scenarios/quickstart.ron", "--seed", "x"])
            .status
            .code(),
        Some(2)
    );
    assert_eq!(dsim(&["run", "no/such/file.ron"]).status.code(), Some(2));
    assert_eq!(dsim(&["frobnicate"]).status.code(), Some(2));
    assert_eq!(dsim(&["--help"]).status.code(), Some(0));
}

/// The documentation's scenario examples are real scenarios.
#[test]
fn every_ron_example_in_the_docs_parses() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let dir = tempdir("doc-examples");
    let mut checked = 0;
    for doc in ["README.md", "docs/scenario-format.md"] {
        let text = std::fs::read_to_string(root.join(doc)).unwrap();
        for (i, block) in text.split("```ron\n").skip(1).enumerate() {
            let example = block.split("```").next().unwrap();
            let path = dir.join(format!("{}-{i}.ron", doc.replace('/', "-")));
            std::fs::write(&path, example).unwrap();
            let out = dsim(&["check", &path.to_string_lossy()]);
            assert_eq!(
                out.status.code(),
                Some(0),
                "{doc} example {i}: {}",
                stderr(&out)
            );
            checked += 1;
        }
    }
    assert!(checked >= 2);
}

fn tempdir(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(name);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A trace into a pipe (or `/dev/null`) goes straight through: the pipe stays a pipe. (It
/// was once renamed over, as files are, which as root replaced `/dev/null` with a file.)
#[cfg(unix)]
#[test]
fn a_trace_into_a_pipe_goes_straight_through() {
    use std::os::unix::fs::FileTypeExt;
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("trace-pipe");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let fifo = dir.join("trace");
    let made = std::process::Command::new("mkfifo").arg(&fifo).status();
    if !made.is_ok_and(|s| s.success()) {
        eprintln!("skipped: mkfifo is not available");
        return;
    }
    let reader = {
        let fifo = fifo.clone();
        std::thread::spawn(move || std::fs::read_to_string(&fifo).unwrap())
    };
    let out = dsim(&[
        "run",
        "scenarios/quickstart.ron",
        "--trace",
        &fifo.to_string_lossy(),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    // Before joining the reader: had the pipe been replaced, it would wait forever.
    assert!(std::fs::metadata(&fifo).unwrap().file_type().is_fifo());
    let text = reader.join().unwrap();
    assert!(
        text.lines().count() > 1000,
        "the trace came through the pipe"
    );
    let names: Vec<_> = std::fs::read_dir(&dir).unwrap().collect();
    assert_eq!(names.len(), 1, "no temporary file beside it");
}
