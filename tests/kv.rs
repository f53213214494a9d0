//! The key-value cluster as its scenarios promise: migration that moves about 1/n under
//! consistent hashing and almost everything under mod n, hot keys spread by bounded loads,
//! and no lost write or second owner under a nemesis, for every seed tried.

mod common;

use std::path::Path;

use common::{dsim, run, stderr};
use serde_json::Value;

fn migrations(v: &Value) -> Vec<(String, f64)> {
    v["metrics"]["migrations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["change"].as_str().unwrap().to_string(),
                m["fraction_moved"].as_f64().unwrap(),
            )
        })
        .collect()
}

#[test]
fn a_join_and_a_leave_on_the_ring_move_about_one_in_n_and_lose_nothing() {
    let (code, v) = run("scenarios/hashing-join-leave.ron", &[]);
    assert_eq!(code, 0, "{}", v["violations"]);
    let m = &v["metrics"];
    assert_eq!(m["migration_settled"], true);
    assert_eq!(m["epoch"], 3);
    assert!(m["writes_acked"].as_u64().unwrap() > 1000);
    let moved = migrations(&v);
    assert_eq!(
        moved.iter().map(|(c, _)| c.as_str()).collect::<Vec<_>>(),
        ["join", "leave"]
    );
    for (change, fraction) in &moved {
        assert!((0.04..0.16).contains(fraction), "{change} moved {fraction}");
    }
    for inv in v["invariants"].as_array().unwrap() {
        assert_eq!(inv["held"], true, "{inv}");
    }
    // The leaver holds nothing at the end; the joiner holds its share.
    let keys = m["keys_per_node"].as_array().unwrap();
    assert_eq!(keys[3], 0);
    assert!(keys[10].as_u64().unwrap() > 0);
}

#[test]
fn mod_n_moves_almost_every_key_on_each_change() {
    let (code, v) = run("scenarios/hashing-join-leave-mod.ron", &[]);
    assert_eq!(code, 0, "{}", v["violations"]);
    for (change, fraction) in migrations(&v) {
        assert!(fraction > 0.85, "{change} moved only {fraction}");
    }
}

#[test]
fn bounded_loads_spreads_hot_keys_that_the_ring_piles_on_one_node() {
    let (_, ring) = run("scenarios/hashing-zipf-ring.ron", &[]);
    let (_, bounded) = run("scenarios/hashing-zipf-bounded.ron", &[]);
    let r = ring["metrics"]["requests_max_over_mean"].as_f64().unwrap();
    let b = bounded["metrics"]["requests_max_over_mean"]
        .as_f64()
        .unwrap();
    assert!(r > 1.8, "the ring's hottest node: {r}");
    assert!(b < r - 0.4, "bounded {b} against ring {r}");
    let (_, steady) = run("scenarios/hashing-ring-steady.ron", &[]);
    assert!(
        steady["metrics"]["requests_max_over_mean"]
            .as_f64()
            .unwrap()
            < 1.35
    );
}

/// Every seed tried holds both invariants under crashes, pauses and partitions. The default
/// suite tries 12 seeds; `DSIM_KV_SEEDS=1000 cargo test --release --test kv` tries more.
#[test]
fn no_seed_loses_a_write_or_leaves_two_owners_under_the_nemesis() {
    let seeds: u64 = common::count_from_env("DSIM_KV_SEEDS", 12);
    let mut faults = 0;
    for seed in 0..seeds {
        let (code, v) = run(
            "scenarios/hashing-nemesis.ron",
            &["--seed", &seed.to_string()],
        );
        assert_eq!(code, 0, "seed {seed}: {}", v["violations"]);
        assert_eq!(
            v["metrics"]["migration_settled"], true,
            "seed {seed} did not settle"
        );
        faults += v["faults"].as_array().unwrap().len();
    }
    assert!(
        faults as u64 > 10 * seeds,
        "the nemesis struck {faults} times in {seeds} runs"
    );
}

#[test]
fn out_charts_the_load_through_the_membership_changes() {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("kv-out");
    let _ = std::fs::remove_dir_all(&dir);
    let out = dsim(&[
        "run",
        "scenarios/hashing-join-leave.ron",
        "--out",
        &dir.to_string_lossy(),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let svg = std::fs::read_to_string(dir.join("load-over-time.svg")).unwrap();
    assert!(svg.contains("epoch 2: join") && svg.contains("epoch 3: leave") && svg.contains("s10"));
    assert_eq!(
        &std::fs::read(dir.join("load-over-time.png")).unwrap()[1..4],
        b"PNG"
    );
    let summary: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("summary.json")).unwrap()).unwrap();
    assert_eq!(summary["scenario"], "hashing-join-leave");
}

#[test]
fn impossible_membership_changes_are_bad_input() {
    common::refuses_variants(
        "scenarios/hashing-join-leave.ron",
        &[
            (
                "join-member",
                "Join(\"s10\")",
                "Join(\"s2\")",
                "already a member",
            ),
            (
                "leave-stranger",
                "Join(\"s10\")",
                "Leave(\"s10\")",
                "not a member",
            ),
            (
                "join-client",
                "Join(\"s10\")",
                "Join(\"c1\")",
                "\"c1\" is not a storage node",
            ),
            (
                "unknown-node",
                "Leave(\"s3\")",
                "Leave(\"s33\")",
                "\"s33\" is not a storage node",
            ),
            (
                "no-clients",
                "clients: 8",
                "clients: 0",
                "at least 1 client",
            ),
            (
                "bad-scheme",
                "Ring(vnodes: 100)",
                "Ring(vnodes: 0)",
                "vnodes must be at least 1",
            ),
            (
                "a-billion-vnodes",
                "Ring(vnodes: 100)",
                "Ring(vnodes: 1000000000)",
                "vnodes 1000000000 is more than dsim supports (10000)",
            ),
            (
                "huge-maglev",
                "Ring(vnodes: 100)",
                "Maglev(table_size: 4294967291)",
                "more than dsim supports (10000019, a prime)",
            ),
            (
                "too-many-clients",
                "clients: 8",
                "clients: 10000000",
                "clients: 10000000 is more than dsim supports (100000)",
            ),
            (
                "nanosecond-samples",
                "load_interval: \"500ms\"",
                "load_interval: \"1ns\"",
                "load_interval (1ns) must be at least 1ms",
            ),
        ],
    );
}
