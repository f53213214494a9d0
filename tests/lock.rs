//! The lock variants as their scenarios promise: where the naive designs break, and that
//! fencing and optimistic versioning do not.

mod common;

use std::path::Path;

use common::run;
use serde_json::Value;

fn violation(v: &Value) -> (String, String) {
    let x = &v["violations"][0];
    (
        x["invariant"].as_str().unwrap_or("").to_string(),
        x["message"].as_str().unwrap_or("").to_string(),
    )
}

#[test]
fn a_paused_lease_holder_writes_after_its_lease_ran_out() {
    let (code, v) = run("scenarios/lock-lease-pause.ron", &[]);
    assert_eq!(code, 1);
    let (invariant, message) = violation(&v);
    assert_eq!(invariant, "mutual_exclusion");
    // Both writes, their tokens, and the pause between the stale grant and its write.
    for part in [
        "c0 (granted at",
        "token 5",
        "after c1",
        "token 8",
        "2.000s c0 paused",
        "3.500s c0 resumed",
    ] {
        assert!(message.contains(part), "missing {part:?} in {message}");
    }
    // The failing seed replays exactly.
    let (code2, again) = run("scenarios/lock-lease-pause.ron", &["--seed", "3"]);
    assert_eq!(
        (code2, &again["fingerprint"], &again["violations"]),
        (1, &v["fingerprint"], &v["violations"])
    );
}

#[test]
fn fencing_rejects_the_same_stale_write() {
    let (code, v) = run("scenarios/lock-fencing-pause.ron", &[]);
    assert_eq!(code, 0, "{}", v["violations"]);
    assert!(
        v["metrics"]["writes_rejected_stale_token"]
            .as_u64()
            .unwrap()
            >= 1
    );
    assert!(v["metrics"]["leases_lost"].as_u64().unwrap() >= 1);
}

#[test]
fn a_crashed_holder_keeps_the_naive_lock_for_ever() {
    let (code, v) = run("scenarios/lock-naive-crash.ron", &[]);
    assert_eq!(code, 1);
    let (invariant, message) = violation(&v);
    assert_eq!(invariant, "liveness");
    assert!(
        message.contains("held by c0, which crashed at 1.000s"),
        "{message}"
    );
    assert!(v["metrics"]["unavailable_max_ms"].as_f64().unwrap() >= 6_000.0);
}

#[test]
fn quorum_locking_breaks_with_a_fast_clock_and_with_a_forgetful_restart() {
    for file in [
        "scenarios/lock-quorum-drift.ron",
        "scenarios/lock-quorum-restart.ron",
    ] {
        let (code, v) = run(file, &[]);
        assert_eq!(code, 1, "{file}");
        let (invariant, message) = violation(&v);
        assert!(
            invariant == "no_lost_update" || invariant == "mutual_exclusion",
            "{file}: {invariant}"
        );
        assert!(
            message.contains("c0") || message.contains("c1"),
            "{message}"
        );
    }
    // The same partitions without the fast clock or the restart: the quorum holds.
    let text = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/lock-quorum-drift.ron"),
    )
    .unwrap();
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("lock-quorum");
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("no-drift.ron");
    std::fs::write(&path, text.replace("drift_ppm: 500000", "drift_ppm: 0")).unwrap();
    let (code, v) = run(&path.to_string_lossy(), &[]);
    assert_eq!(code, 0, "{}", v["violations"]);
}

#[test]
fn optimistic_versioning_loses_no_update() {
    let (code, v) = run("scenarios/lock-optimistic.ron", &[]);
    assert_eq!(code, 0, "{}", v["violations"]);
    let m = &v["metrics"];
    assert!(
        m["write_conflicts"].as_u64().unwrap() > 0,
        "contention produces conflicts"
    );
    // The counter counts every accepted increment; acknowledged ones are among them.
    let counter = m["counters"][0].as_u64().unwrap();
    assert_eq!(counter, m["writes_accepted"].as_u64().unwrap());
    assert!(m["increments_acked"].as_u64().unwrap() <= counter);
}

/// Every seed tried holds every invariant. The default suite tries 20;
/// `DSIM_LOCK_SEEDS=10000 cargo test --release --test lock` tries the issue's 10,000.
#[test]
fn fencing_holds_for_every_seed_under_the_nemesis() {
    let seeds: u64 = common::count_from_env("DSIM_LOCK_SEEDS", 20);
    let mut stale = 0;
    for seed in 0..seeds {
        let (code, v) = run("scenarios/lock-fencing.ron", &["--seed", &seed.to_string()]);
        assert_eq!(code, 0, "seed {seed}: {}", v["violations"]);
        stale += v["metrics"]["writes_rejected_stale_token"]
            .as_u64()
            .unwrap();
    }
    assert!(
        stale > 0,
        "the nemesis produced stale holders, and fencing stopped them"
    );
}

/// Regression: a Redlock client released the highest token of its grants at every server,
/// but each server numbers grants with its own counter, so a resent release of an old
/// holding freed a newer grant of the same number elsewhere (184 of seeds 0..2000 of
/// lock-quorum.ron failed). Each server is now released its own grant.
#[test]
fn redlock_releases_free_only_the_grants_they_name() {
    let out = common::dsim(&[
        "sweep",
        "scenarios/lock-quorum.ron",
        "--seeds",
        "0..300",
        "--json",
    ]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["seeds_run"], 300);
    assert_eq!(v["failures"], serde_json::json!([]), "{}", v["failures"]);
    // The clients did contend: some waited longer for the lock than anyone holds it.
    let (_, run) = run("scenarios/lock-quorum.ron", &[]);
    let m = &run["metrics"];
    let waited = m["acquire_latency_ms"]["max"].as_f64().unwrap();
    assert!(waited > m["hold_ms"]["max"].as_f64().unwrap(), "{m}");
}

#[test]
fn impossible_lock_setups_are_bad_input() {
    common::refuses_variants(
        "scenarios/lock-quorum-drift.ron",
        &[
            (
                "small-quorum",
                "servers: 5",
                "servers: 2",
                "at least 3 servers",
            ),
            (
                "lease-many",
                "variant: Quorum",
                "variant: Lease",
                "only Quorum uses several",
            ),
            ("no-clients", "clients: 2", "clients: 0", "at least 1"),
            (
                "ten-million-clients",
                "clients: 2",
                "clients: 10000000",
                "clients: 10000000 is more than dsim supports (100000)",
            ),
            (
                "bad-variant",
                "variant: Quorum",
                "variant: Redlock",
                "unknown variant `Redlock`",
            ),
        ],
    );
}

#[test]
fn a_late_duplicate_grant_does_not_end_the_holding_it_belongs_to() {
    // Found by `dsim shrink scenarios/lock-lease-nemesis.ron --seed 5`: the lock server
    // freezes while c0's acquire waits; c0 resends it, both answers arrive, and c0 used to
    // give the second one back, ending its own holding at the server while it went on
    // writing, so c2 got the lock 36ms into c0's 400ms lease.
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("lock-duplicate-grant");
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("duplicate-grant.ron");
    std::fs::write(
        &path,
        r#"(
    name: "duplicate-grant",
    seed: 5,
    limits: (time: "1747ms"),
    network: (latency: Uniform(min: "1ms", max: "10ms"), loss: 0.02),
    protocol: Lock(variant: Lease, clients: 3, locks: 2, ttl: "400ms", work_time: "60ms",
                   writes_per_hold: 4, think_time: "20ms"),
    faults: [(at: "1553ms", fault: Pause(node: "lock0", duration: "66ms"))],
)"#,
    )
    .unwrap();
    let (code, v) = run(&path.to_string_lossy(), &[]);
    assert_eq!(code, 0, "{}", v["violations"]);
}

/// Regression: a lock server granted anew an *older* request of its current holder that
/// arrived late (messages overtake each other on a jittery network), replacing the grant
/// the client had counted on with one the client gave back at once; the server then freed
/// the lock under a client that still held it (found at seed 1601 of a slow Redlock
/// scenario meant to pass). A late older request is now answered `Busy`.
#[test]
fn a_late_older_request_of_the_holder_does_not_replace_its_grant() {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("lock-late-request");
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("reorder.ron");
    std::fs::write(
        &path,
        r#"(
            name: "redlock-reordered-requests",
            seed: 1601,
            limits: (time: "20s"),
            network: (latency: Uniform(min: "1ms", max: "200ms")),
            protocol: Lock(variant: Quorum, servers: 5, clients: 3, ttl: "3s", persist: true,
                           work_time: "10ms", writes_per_hold: 30, think_time: "5ms",
                           request_timeout: "500ms", drift_allowance: 0.25),
            expect: Holds,
        )"#,
    )
    .unwrap();
    let path = path.to_string_lossy();
    let (code, v) = run(&path, &[]);
    assert_eq!(code, 0, "{}", v["violations"]);
    let out = common::dsim(&["sweep", &path, "--seeds", "1500..1700", "--json"]);
    let sweep: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        sweep["failures"],
        serde_json::json!([]),
        "{}",
        sweep["failures"]
    );
}
