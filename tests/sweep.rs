//! `dsim sweep` and `dsim merge`: failing seeds found, replayed exactly, and the same
//! result whatever the number of workers or shards.

mod common;

use std::path::Path;

use common::{dsim, run, stderr};
use serde_json::Value;

fn sweep(args: &[&str]) -> (i32, Value) {
    let mut all = vec!["sweep"];
    all.extend_from_slice(args);
    all.push("--json");
    let out = dsim(&all);
    let v = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", stderr(&out)));
    (out.status.code().unwrap(), v)
}

#[test]
fn a_sweep_finds_the_failing_seeds_and_each_replays_exactly() {
    let (code, v) = sweep(&[
        "scenarios/lock-lease-pause.ron",
        "--seeds",
        "0..16",
        "--jobs",
        "2",
    ]);
    assert_eq!(code, 1);
    assert_eq!(v["seeds_run"], 16);
    let failures = v["failures"].as_array().unwrap();
    assert!(failures.len() >= 3, "{v}");
    let seeds: Vec<u64> = failures
        .iter()
        .map(|f| f["seed"].as_u64().unwrap())
        .collect();
    assert!(seeds.windows(2).all(|w| w[0] < w[1]), "ordered by seed");
    assert!(seeds.contains(&3));
    for f in failures.iter().take(3) {
        let seed = f["seed"].as_u64().unwrap().to_string();
        let (code, replay) = run("scenarios/lock-lease-pause.ron", &["--seed", &seed]);
        assert_eq!(code, 1);
        assert_eq!(replay["fingerprint"], f["fingerprint"], "seed {seed}");
        assert_eq!(
            replay["violations"][0]["time_ns"], f["time_ns"],
            "seed {seed}"
        );
        assert_eq!(replay["violations"][0]["invariant"], f["invariant"]);
        assert_eq!(
            f["reproduce"],
            format!("dsim run scenarios/lock-lease-pause.ron --seed {seed}")
        );
    }
    let total: u64 = v["by_invariant"]
        .as_object()
        .unwrap()
        .values()
        .map(|n| n.as_u64().unwrap())
        .sum();
    assert_eq!(total as usize, failures.len());
}

#[test]
fn workers_and_shards_do_not_change_the_result() {
    let whole = |jobs: &str| {
        sweep(&[
            "scenarios/lock-lease-pause.ron",
            "--seeds",
            "0..12",
            "--jobs",
            jobs,
        ])
        .1
    };
    let (one, two) = (whole("1"), whole("2"));
    assert_eq!(one["failures"], two["failures"]);
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("sweep-shards");
    std::fs::create_dir_all(&dir).unwrap();
    let mut files = Vec::new();
    for i in 0..3 {
        let shard = format!("{i}/3");
        let (_, part) = sweep(&[
            "scenarios/lock-lease-pause.ron",
            "--seeds",
            "0..12",
            "--shard",
            &shard,
        ]);
        assert_eq!(part["seeds_run"], 4);
        let path = dir.join(format!("shard-{i}.json"));
        std::fs::write(&path, part.to_string()).unwrap();
        files.push(path.to_string_lossy().into_owned());
    }
    let mut args = vec!["merge", "--json"];
    args.extend(files.iter().map(String::as_str));
    let out = dsim(&args);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let merged: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(merged["failures"], one["failures"]);
    assert_eq!(merged["by_invariant"], one["by_invariant"]);
    assert_eq!(merged["seeds_run"], 12);
    assert_eq!(merged["shards"], serde_json::json!(["0/3", "1/3", "2/3"]));
    // The same shard twice is refused.
    let out = dsim(&["merge", &files[0], &files[0]]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("appears twice"));
    // An incomplete set is refused, and merged with --partial says what is missing.
    let out = dsim(&["merge", &files[0], &files[2]]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("shards 1/3 of this sweep are missing"),
        "{}",
        stderr(&out)
    );
    let out = dsim(&["merge", "--partial", "--json", &files[0], &files[2]]);
    let partial: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(partial["missing_shards"], serde_json::json!(["1/3"]));
    assert_eq!(partial["seeds_run"], 8);
    let out = dsim(&["merge", "--partial", &files[0], &files[2]]);
    assert!(String::from_utf8_lossy(&out.stdout).contains("incomplete: shards 1/3 missing"));
    // Shards of two different cuts of the range overlap and leave gaps: refused.
    let (_, other_cut) = sweep(&[
        "scenarios/lock-lease-pause.ron",
        "--seeds",
        "0..12",
        "--shard",
        "1/2",
    ]);
    let path = dir.join("shard-1-of-2.json");
    std::fs::write(&path, other_cut.to_string()).unwrap();
    let out = dsim(&["merge", &files[0], &path.to_string_lossy()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("different numbers of shards (/2, /3)"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn a_clean_sweep_exits_0_and_stop_after_stops_early() {
    let (code, v) = sweep(&["scenarios/lock-fencing.ron", "--seeds", "0..20"]);
    assert_eq!((code, v["failures"].as_array().unwrap().len()), (0, 0));
    let (code, v) = sweep(&[
        "scenarios/lock-lease-pause.ron",
        "--seeds",
        "0..200",
        "--jobs",
        "1",
        "--stop-after",
        "2",
    ]);
    assert_eq!(code, 1);
    assert_eq!(v["stopped_early"], true);
    assert!(v["seeds_run"].as_u64().unwrap() < 200);
}

#[test]
fn bad_sweep_arguments_exit_2() {
    for args in [
        vec!["sweep", "scenarios/quickstart.ron", "--seeds", "5..5"],
        vec!["sweep", "scenarios/quickstart.ron", "--shard", "3/2"],
        vec!["sweep", "no/such.ron"],
        vec!["merge", "scenarios/quickstart.ron"],
    ] {
        let out = dsim(&args);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
        assert!(!stderr(&out).contains("panicked"));
    }
}
