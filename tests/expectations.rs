//! Every bundled scenario says what it is meant to show (`expect`), and a sweep of its
//! seeds agrees: a scenario meant to pass that fails at some seed is a bug in the protocol
//! or the checker until shown otherwise. `DSIM_EXPECT_SEEDS` sets how many seeds (200 by
//! default; 10000 with `--release` for the long sweep).

mod common;

use common::{dsim, run, stderr};
use serde_json::Value;

fn bundled() -> Vec<String> {
    let mut files: Vec<String> =
        std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/scenarios"))
            .unwrap()
            .map(|e| format!("scenarios/{}", e.unwrap().file_name().to_string_lossy()))
            .filter(|n| n.ends_with(".ron"))
            .collect();
    files.sort();
    files
}

#[test]
fn every_bundled_scenario_declares_what_it_shows_and_its_seeds_agree() {
    let seeds: u64 = common::count_from_env("DSIM_EXPECT_SEEDS", 200);
    let range = format!("0..{seeds}");
    let mut contradicted = Vec::new();
    for file in bundled() {
        let (_, own) = run(&file, &["--max-events", "200000"]);
        assert!(own["expected"].is_object(), "{file} declares no `expect`");
        if file.contains("bench-") {
            continue; // 10 million events a seed: their own seed, above, is enough
        }
        let out = dsim(&["sweep", &file, "--seeds", &range, "--json"]);
        let v: Value = serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("{file}: {e} {}", stderr(&out)));
        assert_eq!(v["seeds_run"], seeds, "{file}");
        for c in v["contradictions"].as_array().unwrap() {
            contradicted.push(format!("{file} seed {}: {}", c["seed"], c["why"]));
        }
    }
    assert!(contradicted.is_empty(), "{}", contradicted.join("\n"));
}

#[test]
fn an_outcome_that_contradicts_the_declaration_is_reported_by_run_and_sweep() {
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("expect");
    std::fs::create_dir_all(&dir).unwrap();
    let text = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/pingpong-isolated.ron"),
    )
    .unwrap();
    let path = dir.join("claims-to-hold.ron");
    std::fs::write(
        &path,
        text.replace("expect: Violates([\"progress\"])", "expect: Holds"),
    )
    .unwrap();
    let path = path.to_string_lossy();

    let out = dsim(&["run", &path]);
    let summary = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        summary.contains("expected     every invariant holds: CONTRADICTED, meant to hold, but violated progress"),
        "{summary}"
    );
    let (_, v) = run(&path, &[]);
    assert_eq!(v["expected"]["met"], false);

    let out = dsim(&["sweep", &path, "--seeds", "0..5"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("expected: every invariant holds; CONTRADICTED by 5 seed(s):"),
        "{text}"
    );

    // Held where it was meant to fail, at its own seed.
    let healed = dir.join("heals-early.ron");
    std::fs::write(&healed, text_of_isolated_healing_early()).unwrap();
    let (code, v) = run(&healed.to_string_lossy(), &[]);
    assert_eq!(code, 0);
    assert_eq!(
        v["expected"]["contradiction"],
        "meant to violate progress at its own seed, but every invariant held"
    );
}

/// pingpong-isolated with the partition healed before `max_silence` runs out.
fn text_of_isolated_healing_early() -> String {
    std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/pingpong-isolated.ron"),
    )
    .unwrap()
    .replace(
        "(at: \"4500ms\", fault: Heal)",
        "(at: \"2800ms\", fault: Heal)",
    )
}
