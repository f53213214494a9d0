//! Atomic commitment as its scenarios promise: 2PC blocks but holds, cooperation shortens
//! the block, the naive "2PC" breaks at a crash and 3PC breaks at a partition.

mod common;

use std::path::Path;

use common::{dsim, run, stderr};
use serde_json::Value;

fn blocked_max(v: &Value) -> f64 {
    v["metrics"]["blocked_ms_max"].as_f64().unwrap()
}

#[test]
fn a_coordinator_crash_blocks_two_phase_commit_until_it_recovers_then_all_commit() {
    let (code, v) = run("scenarios/2pc-coordinator-crash.ron", &[]);
    assert_eq!(code, 0, "{}", v["violations"]);
    // p1 waited from about 2s until the coordinator came back at 4s.
    let blocked = blocked_max(&v);
    assert!(
        (1_800.0..2_500.0).contains(&blocked),
        "blocked {blocked} ms"
    );
    assert!(v["metrics"]["committed"].as_u64().unwrap() > 300);
    let (code, coop) = run("scenarios/2pc-cooperative-crash.ron", &[]);
    assert_eq!(code, 0, "{}", coop["violations"]);
    assert!(
        blocked_max(&coop) < blocked / 3.0,
        "cooperation: {} ms",
        blocked_max(&coop)
    );
}

#[test]
fn the_naive_commit_breaks_atomicity_at_a_crash_and_names_the_participants() {
    let (code, v) = run("scenarios/2pc-naive-crash.ron", &[]);
    assert_eq!(code, 1);
    let x = &v["violations"][0];
    assert_eq!(x["invariant"], "atomicity");
    let message = x["message"].as_str().unwrap();
    assert!(
        message.contains("committed at p") && message.contains("p1 has no record of it"),
        "{message}"
    );
}

#[test]
fn three_phase_commit_splits_under_a_partition_where_two_phase_commit_blocks() {
    let (code, v) = run("scenarios/2pc-3pc-partition.ron", &[]);
    assert_eq!(code, 1);
    let message = v["violations"][0]["message"].as_str().unwrap().to_string();
    assert!(
        message.contains("committed at p0") && message.contains("aborted at p"),
        "{message}"
    );
    // The same schedule under 2PC: atomic, at the price of blocking.
    let text = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/2pc-3pc-partition.ron"),
    )
    .unwrap();
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("commit");
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("2pc-partition.ron");
    std::fs::write(&path, text.replace("variant: ThreePc", "variant: TwoPc")).unwrap();
    let (code, two) = run(&path.to_string_lossy(), &[]);
    assert_eq!(code, 0, "{}", two["violations"]);
    assert!(blocked_max(&two) > 500.0);
}

#[test]
fn costs_per_transaction_grow_from_naive_to_two_to_three_phases() {
    let mut costs = Vec::new();
    for variant in ["Naive", "TwoPc", "ThreePc"] {
        let text = format!(
            "// cost\n(name: \"cost\", seed: 1, limits: (time: \"3s\"), network: (latency: Constant(\"2ms\")),\n\
             protocol: Commit(variant: {variant}, participants: 3, clients: 1, keys: 1000))"
        );
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("commit");
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(format!("cost-{variant}.ron"));
        std::fs::write(&path, text).unwrap();
        let (code, v) = run(&path.to_string_lossy(), &[]);
        assert_eq!(code, 0, "{variant}: {}", v["violations"]);
        let m = &v["metrics"];
        costs.push((
            m["messages_per_tx"].as_f64().unwrap(),
            m["log_syncs_per_tx"].as_f64().unwrap(),
        ));
    }
    // One client, no loss, two participants per transaction: exact message counts.
    // Naive: submit, 2 executes, outcome. 2PC: + 2 prepares, 2 votes, 2 decisions, 2 acks.
    // 3PC: + 2 pre-commits and 2 acks. Forced writes: 2PC 2 prepared + 1 commit + 2 outcomes.
    // (The last transaction may still be in flight when the run ends: allow a little.)
    for ((messages, syncs), (want_messages, want_syncs)) in
        costs.iter().zip([(4.0, 0.0), (10.0, 5.0), (14.0, 7.0)])
    {
        assert!((messages - want_messages).abs() < 0.1, "{costs:?}");
        assert!((syncs - want_syncs).abs() < 0.05, "{costs:?}");
    }
}

/// Every seed tried holds atomicity, validity and durability under the nemesis. The
/// default suite tries 20; `DSIM_COMMIT_SEEDS=10000 cargo test --release --test commit`
/// tries the 10,000.
#[test]
fn two_phase_commit_holds_for_every_seed_under_the_nemesis() {
    let seeds: u64 = common::count_from_env("DSIM_COMMIT_SEEDS", 20);
    for seed in 0..seeds {
        let (code, v) = run("scenarios/2pc-nemesis.ron", &["--seed", &seed.to_string()]);
        assert_eq!(code, 0, "seed {seed}: {}", v["violations"]);
    }
}

#[test]
fn compare_puts_variants_side_by_side_with_charts() {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("compare-out");
    let _ = std::fs::remove_dir_all(&dir);
    let out = dsim(&[
        "compare",
        "scenarios/2pc-coordinator-crash.ron",
        "scenarios/2pc-cooperative-crash.ron",
        "--out",
        &dir.to_string_lossy(),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("2pc-coordinator-crash") && text.contains("blocked_ms_max"),
        "{text}"
    );
    for chart in ["commit-latency", "blocking"] {
        let svg = std::fs::read_to_string(dir.join(format!("{chart}.svg"))).unwrap();
        assert!(
            svg.contains("2pc-cooperative-crash"),
            "{chart}.svg names the runs"
        );
        assert_eq!(
            &std::fs::read(dir.join(format!("{chart}.png"))).unwrap()[1..4],
            b"PNG"
        );
    }
    let json: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("compare.json")).unwrap()).unwrap();
    assert_eq!(json["runs"].as_array().unwrap().len(), 2);
    assert!(std::fs::read_to_string(dir.join("compare.md"))
        .unwrap()
        .contains("![blocking.svg](blocking.svg)"));
}

#[test]
fn a_naive_run_cut_off_while_writes_fly_has_not_broken_atomicity_yet() {
    // With no faults and no loss every Execute arrives; a time limit that falls between a
    // participant applying a transaction and the other receiving it is no violation.
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("naive-cut");
    std::fs::create_dir_all(&dir).unwrap();
    for limit_ms in (20..=400).step_by(7) {
        let path = dir.join(format!("cut-{limit_ms}.ron"));
        let text = format!(
            "(name: \"cut\", limits: (time: \"{limit_ms}ms\"), \
             network: (latency: Uniform(min: \"1ms\", max: \"10ms\")), \
             protocol: Commit(variant: Naive, participants: 2, clients: 2, keys: 5))"
        );
        std::fs::write(&path, text).unwrap();
        let (code, v) = run(&path.to_string_lossy(), &[]);
        assert_eq!(code, 0, "cut at {limit_ms}ms: {}", v["violations"]);
    }
}

/// Regression: the durability checker expected each key to hold the value of the last
/// commit a participant *acknowledged*, and blamed 3PC's p1 for holding a newer commit it
/// had learned from a peer while the coordinator was down (2pc-3pc-crash, seed 6781).
#[test]
fn a_commit_learned_from_a_peer_and_not_yet_acknowledged_is_kept_not_blamed() {
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("peer-outcome");
    std::fs::create_dir_all(&dir).unwrap();
    let trace = dir.join("trace.jsonl");
    let (code, v) = run(
        "scenarios/2pc-3pc-peer-outcome.ron",
        &["--trace", trace.to_str().unwrap()],
    );
    assert_eq!(code, 0, "{}", v["violations"]);
    // The situation is there: p1 applies a commit of key 20 that it never acknowledges,
    // after acknowledging an earlier commit of key 20.
    let lines: Vec<Value> = std::fs::read_to_string(&trace)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let p1 = |kind: &str, what: &str| -> Vec<String> {
        lines
            .iter()
            .filter(|e| e["node"] == "p1" && e["kind"] == kind)
            .filter_map(|e| e["what"].as_str().map(String::from))
            .filter(|w| w.starts_with(what) && w.contains("(20, "))
            .collect()
    };
    let tx_of = |w: &String| {
        w.split(',')
            .next()
            .unwrap()
            .replace(|c: char| !c.is_ascii_digit(), "")
    };
    let acked: Vec<String> = p1("observe", "Acknowledged { tx")
        .iter()
        .map(tx_of)
        .collect();
    let applied: Vec<String> = p1("observe", "Outcome { tx").iter().map(tx_of).collect();
    let last = applied.last().expect("p1 applied commits of key 20");
    assert!(!acked.is_empty());
    assert!(
        !acked.contains(last),
        "the last commit of key 20 is not acknowledged"
    );
    // And the original seed passes.
    let (code, v) = run("scenarios/2pc-3pc-crash.ron", &["--seed", "6781"]);
    assert_eq!(code, 0, "{}", v["violations"]);
}

/// Cooperative termination's hard case is exercised: uncertain participants ask each other
/// and hear "uncertain too", and they wait for the coordinator instead of deciding.
#[test]
fn uncertain_participants_ask_each_other_and_wait() {
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("cooperative-peers");
    std::fs::create_dir_all(&dir).unwrap();
    let trace = dir.join("trace.jsonl");
    let (code, v) = run(
        "scenarios/2pc-cooperative-peers.ron",
        &["--trace", trace.to_str().unwrap()],
    );
    assert_eq!(code, 0, "{}", v["violations"]);
    let text = std::fs::read_to_string(&trace).unwrap();
    let peer_uncertain = text
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .filter(|e| {
            e["kind"] == "deliver"
                && e["from"].as_str().is_some_and(|f| f.starts_with('p'))
                && e["msg"]
                    .as_str()
                    .is_some_and(|m| m.starts_with("PeerState") && m.contains("outcome: None"))
        })
        .count();
    assert!(
        peer_uncertain >= 10,
        "only {peer_uncertain} uncertain answers"
    );
}
