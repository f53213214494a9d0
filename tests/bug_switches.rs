//! Every safety mechanism is exercised by a scenario meant to pass: each named bug switch
//! (a mistake the literature warns about) planted into the protocol makes that scenario
//! fail within 100 seeds. The table is the README's; the first failing seed is pinned, so
//! the README stays true.

mod common;

use common::{dsim, stderr};
use serde_json::Value;

/// (scenario, bug, first failing seed of 0..100, the invariant that catches it)
const SWITCHES: &[(&str, &str, u64, &str)] = &[
    ("lock-quorum.ron", "WrongMajority", 0, "mutual_exclusion"),
    (
        "lock-quorum-slow.ron",
        "ValidityIgnoresAcquisition",
        7,
        "mutual_exclusion",
    ),
    ("lock-lease.ron", "EarlyLeaseExpiry", 0, "mutual_exclusion"),
    (
        "lock-fencing-restart.ron",
        "FencingOffByOne",
        0,
        "mutual_exclusion",
    ),
    (
        "lock-fencing-restart.ron",
        "TokenNotPersisted",
        5,
        "mutual_exclusion",
    ),
    (
        "lock-optimistic.ron",
        "SharedIdempotencyKey",
        0,
        "linearizable",
    ),
    ("2pc-nemesis.ron", "UnforcedPrepared", 2, "atomicity"),
    ("2pc-nemesis.ron", "DecisionBeforeForce", 1, "atomicity"),
    ("2pc-nemesis.ron", "AbortAfterYes", 0, "atomicity"),
    (
        "2pc-cooperative-peers.ron",
        "UncertainPeerMeansAbort",
        10,
        "atomicity",
    ),
    (
        "hashing-migration-crash.ron",
        "AckBeforeSync",
        2,
        "no_lost_write",
    ),
    (
        "hashing-migration-crash.ron",
        "ChangeBeforeSettled",
        0,
        "no_lost_write",
    ),
];

/// The scenario with `bugs: [bug]` added to its protocol section.
fn with_bug(file: &str, bug: &str) -> String {
    let text = std::fs::read_to_string(format!("{}/scenarios/{file}", env!("CARGO_MANIFEST_DIR")))
        .unwrap();
    if let Some(at) = text.find("(variant: ") {
        let comma = at + text[at..].find(',').unwrap() + 1;
        return format!("{} bugs: [{bug}],{}", &text[..comma], &text[comma..]);
    }
    let at = text.find("Kv(").expect("a protocol section") + 3;
    format!("{}bugs: [{bug}], {}", &text[..at], &text[at..])
}

#[test]
fn each_bug_switch_is_caught_by_its_scenario_within_100_seeds() {
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("bug-switches");
    std::fs::create_dir_all(&dir).unwrap();
    for &(file, bug, first, invariant) in SWITCHES {
        let path = dir.join(format!("{bug}-{file}"));
        std::fs::write(&path, with_bug(file, bug)).unwrap();
        let out = dsim(&[
            "sweep",
            &path.to_string_lossy(),
            "--seeds",
            "0..100",
            "--jobs",
            "1",
            "--stop-after",
            "1",
            "--json",
        ]);
        let v: Value = serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("{bug}: {e} {}", stderr(&out)));
        let failure = &v["failures"][0];
        assert_eq!(failure["seed"], first, "{bug} on {file}: {v}");
        assert_eq!(failure["invariant"], invariant, "{bug} on {file}");
        // The switch, not the scenario: without it the same seed passes.
        let (code, clean) = common::run(
            &format!("scenarios/{file}"),
            &["--seed", &first.to_string()],
        );
        assert_eq!(code, 0, "{file} at seed {first}: {}", clean["violations"]);
    }
}

#[test]
fn an_unknown_bug_is_refused_with_the_list() {
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("bug-switches");
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("typo.ron");
    std::fs::write(&path, with_bug("lock-quorum.ron", "WrongMajorty")).unwrap();
    let out = dsim(&["check", &path.to_string_lossy()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("did you mean `WrongMajority`?"),
        "{}",
        stderr(&out)
    );
}
