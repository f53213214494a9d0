//! `dsim shrink`: a failing seed's schedule, made explicit and minimal, still fails the
//! same way; the result is a plain scenario that replays exactly and is 1-minimal.

mod common;

use std::path::{Path, PathBuf};

use common::{dsim, run, stderr};
use scenario::shrink;
use serde_json::Value;

fn out_dir(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("shrink")
        .join(name);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// `dsim shrink FILE --seed SEED -o OUT --json`: the report, and the written file.
fn shrink_json(file: &str, seed: u64, out: &Path) -> (Value, String) {
    let out_arg = out.to_string_lossy().into_owned();
    let seed = seed.to_string();
    let o = dsim(&["shrink", file, "--seed", &seed, "-o", &out_arg, "--json"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let report: Value = serde_json::from_slice(&o.stdout).unwrap();
    (report, std::fs::read_to_string(out).unwrap())
}

/// Every remaining episode is needed: without any one of them the failure goes away.
fn assert_one_minimal(text: &str, invariant: &str) {
    let loaded = protocols::builtin().parse("min.ron", text).unwrap();
    let faults = &loaded.scenario.faults;
    let episodes = shrink::episodes(faults);
    for skip in 0..episodes.len() {
        let kept: Vec<Vec<usize>> = episodes
            .iter()
            .enumerate()
            .filter(|&(i, _)| i != skip)
            .map(|(_, e)| e.clone())
            .collect();
        let mut fewer = loaded.clone();
        fewer.scenario.faults = shrink::select(faults, &kept);
        let outcome = fewer.run(fewer.scenario.seed, None);
        assert!(
            outcome.violation.as_ref().map(|v| v.invariant.as_str()) != Some(invariant),
            "episode {skip} of {text} is not needed"
        );
    }
}

#[test]
fn a_lease_lock_bug_under_the_nemesis_shrinks_to_one_pause() {
    let dir = out_dir("lease");
    let min = dir.join("min.ron");
    let (report, text) = shrink_json("scenarios/lock-lease-nemesis.ron", 58, &min);
    assert_eq!(report["invariant"], "mutual_exclusion");
    let (before, after) = (&report["before"], &report["after"]);
    assert!(before["faults"].as_u64().unwrap() >= 10, "{report}");
    assert_eq!(after["faults"], 1, "{report}");
    assert!(text.contains("fault: Pause(node: \"c0\""), "{text}");
    assert!(
        after["events"].as_u64() < before["events"].as_u64(),
        "{report}"
    );
    assert!(!text.contains("nemesis:"), "{text}");
    assert!(
        text.starts_with("// Shrunk by `dsim shrink scenarios/lock-lease-nemesis.ron --seed 58")
    );

    // The file is a plain scenario that fails the same invariant at its own seed, the
    // same way every time.
    let path = min.to_string_lossy();
    let (code, v) = run(&path, &[]);
    assert_eq!(code, 1);
    assert_eq!(v["violations"][0]["invariant"], "mutual_exclusion");
    assert_eq!(
        v["violations"][0]["time_ns"],
        report["after"]["violation_time_ns"]
    );
    let (_, again) = run(&path, &[]);
    assert_eq!(v["fingerprint"], again["fingerprint"]);
    assert_one_minimal(&text, "mutual_exclusion");

    // The copy in docs/ (shown in the README) is what shrinking gives today.
    let docs = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/shrink/lock-lease-nemesis-58.ron"),
    )
    .unwrap();
    let body = |t: &str| -> Vec<String> {
        t.lines()
            .filter(|l| !l.starts_with("//"))
            .map(String::from)
            .collect()
    };
    assert_eq!(
        body(&docs),
        body(&text),
        "regenerate docs/shrink/ (see README)"
    );
}

#[test]
fn a_naive_commit_bug_shrinks_to_one_fault_on_the_smallest_cluster() {
    let dir = out_dir("naive");
    let min = dir.join("min.ron");
    let (report, text) = shrink_json("scenarios/2pc-naive-nemesis.ron", 1, &min);
    assert_eq!(report["invariant"], "atomicity");
    assert!(
        report["before"]["faults"].as_u64().unwrap() >= 10,
        "{report}"
    );
    assert!(report["after"]["faults"].as_u64().unwrap() <= 2, "{report}");
    // Two participants, one client and the coordinator are all it takes.
    assert_eq!(report["after"]["nodes"], 4, "{report}");
    let (code, v) = run(&min.to_string_lossy(), &[]);
    assert_eq!(code, 1);
    assert_eq!(v["violations"][0]["invariant"], "atomicity");
    assert_one_minimal(&text, "atomicity");
}

#[test]
fn shrinking_is_deterministic() {
    let dir = out_dir("twice");
    let (a, b) = (dir.join("a.ron"), dir.join("b.ron"));
    let (ra, ta) = shrink_json("scenarios/lock-lease-pause.ron", 3, &a);
    let (rb, tb) = shrink_json("scenarios/lock-lease-pause.ron", 3, &b);
    let body = |t: &str| -> String { t.lines().filter(|l| !l.starts_with("//")).collect() };
    assert_eq!(body(&ta), body(&tb));
    assert_eq!(ra["steps"], rb["steps"]);
    assert_eq!(ra["runs"], rb["runs"]);
}

#[test]
fn the_explicit_schedule_fails_exactly_as_the_nemesis_run_did() {
    let loaded = protocols::builtin()
        .load(
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("scenarios/lock-lease-nemesis.ron")
                .to_str()
                .unwrap(),
        )
        .unwrap();
    let mut failing = 0;
    for seed in 0..30 {
        let original = loaded.run(seed, None);
        let Some(v) = &original.violation else {
            continue;
        };
        failing += 1;
        let mut explicit = loaded.clone();
        explicit.scenario = shrink::explicit_schedule(&loaded, &original);
        assert!(explicit.scenario.nemesis.is_none());
        assert_eq!(explicit.scenario.faults.len(), original.faults.len());
        let replay = explicit.run(seed, None);
        let w = replay.violation.as_ref().expect("still fails");
        assert_eq!(
            (&w.invariant, w.time_ns),
            (&v.invariant, v.time_ns),
            "seed {seed}"
        );
    }
    assert!(failing >= 10, "{failing} of 30 seeds fail");
}

#[test]
fn a_seed_that_passes_has_nothing_to_shrink() {
    let dir = out_dir("passes");
    let out = dir.join("min.ron");
    let o = dsim(&[
        "shrink",
        "scenarios/lock-fencing-pause.ron",
        "-o",
        &out.to_string_lossy(),
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("does not fail"), "{}", stderr(&o));
    assert!(!out.exists());
}

#[test]
fn a_run_budget_stops_the_search_with_the_best_so_far() {
    let dir = out_dir("budget");
    let out = dir.join("min.ron");
    let o = dsim(&[
        "shrink",
        "scenarios/lock-lease-nemesis.ron",
        "--seed",
        "4",
        "-o",
        &out.to_string_lossy(),
        "--max-runs",
        "3",
        "--json",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let report: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(report["runs"], 3);
    assert_eq!(report["runs_exhausted"], true);
    let (code, v) = run(&out.to_string_lossy(), &[]);
    assert_eq!(code, 1);
    assert_eq!(v["violations"][0]["invariant"], "mutual_exclusion");
}

#[test]
fn every_bundled_scenario_reads_back_the_same_once_written() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files: Vec<PathBuf> = std::fs::read_dir(root.join("scenarios"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "ron"))
        .collect();
    files.sort();
    assert!(files.len() > 20);
    for file in files {
        let first = protocols::builtin().load(file.to_str().unwrap()).unwrap();
        let text = scenario::to_ron(&first.scenario, &[]);
        let second = first
            .parse_same_protocol("written.ron", &text)
            .unwrap_or_else(|e| panic!("{}: {e}\n{text}", file.display()));
        assert_eq!(
            first.sim_options(7),
            second.sim_options(7),
            "{}",
            file.display()
        );
        assert_eq!(
            format!("{:?}", first.scenario.protocol),
            format!("{:?}", second.scenario.protocol),
            "{}",
            file.display()
        );
        assert_eq!(scenario::to_ron(&second.scenario, &[]), text);
    }
}

/// `-o` onto a path that cannot be written fails before the search, not after it; what
/// is written appears whole, with no temporary file left beside it.
#[test]
fn an_unwritable_output_fails_at_once_and_written_files_appear_whole() {
    // A folder inside a regular file cannot be made.
    let o = dsim(&[
        "shrink",
        "scenarios/lock-lease-nemesis.ron",
        "--seed",
        "58",
        "-o",
        "README.md/min.ron",
        "--json",
    ]);
    assert_eq!(o.status.code(), Some(2));
    let err = stderr(&o);
    assert!(err.contains("cannot create README.md"), "{err}");
    assert!(
        o.stdout.is_empty(),
        "no search ran: {}",
        String::from_utf8_lossy(&o.stdout)
    );

    let dir = out_dir("whole");
    let min = dir.join("min.ron");
    std::fs::write(&min, "an older file").unwrap();
    shrink_json("scenarios/lock-lease-nemesis.ron", 58, &min);
    let trace = dir.join("trace.jsonl");
    let o = dsim(&[
        "run",
        "scenarios/quickstart.ron",
        "--trace",
        &trace.to_string_lossy(),
    ]);
    assert_eq!(o.status.code(), Some(0));
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names, ["min.ron", "trace.jsonl"]);
    assert!(std::fs::read_to_string(&min)
        .unwrap()
        .starts_with("// Shrunk by"));
}
