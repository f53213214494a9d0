//! The example through dsim's own commands, as its user would run them: the library
//! functions behind `sweep` and `shrink`, and the `election` binary for the rest.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use dsim::sweep::{sweep, SeedRange, Shard};
use leader_election::ElectionOptions;
use scenario::shrink::{shrink, ShrinkOptions};
use scenario::{LoadedScenario, Registry};

const SAFE: &str = "scenarios/election.ron";
const FORGETFUL: &str = "scenarios/election-forgetful.ron";

fn registry() -> Registry {
    dsim::Cli::new()
        .protocol::<ElectionOptions>()
        .registry()
        .clone()
}

fn load(file: &str) -> LoadedScenario {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(file);
    registry()
        .load(path.to_str().unwrap())
        .unwrap_or_else(|e| panic!("{e}"))
}

fn election(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_election"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("election runs")
}

fn out_dir(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn the_safe_design_holds_on_every_seed_of_a_sweep() {
    let result = sweep(
        &load(SAFE),
        SeedRange { start: 0, end: 300 },
        Shard { index: 0, count: 1 },
        2,
        None,
    );
    assert_eq!(result.seeds_run, 300);
    assert!(result.failures.is_empty(), "{:?}", result.failures.first());
}

#[test]
fn a_sweep_finds_the_forgetful_voter_and_shrink_reduces_it() {
    let loaded = load(FORGETFUL);
    let result = sweep(
        &loaded,
        SeedRange { start: 0, end: 100 },
        Shard { index: 0, count: 1 },
        2,
        None,
    );
    assert!(
        result.by_invariant.get("election_safety") >= Some(&10),
        "{:?}",
        result.by_invariant
    );
    let seed = result.failures[0].seed;
    let shrunk = shrink(&loaded, seed, &ShrinkOptions::default(), &mut |_| {}).unwrap();
    assert_eq!(shrunk.invariant, "election_safety");
    assert!(shrunk.after.faults < shrunk.before.faults, "{shrunk:?}");
    assert!(shrunk.scenario.nemesis.is_none(), "an explicit schedule");
    // What shrink writes is a scenario like any other, and fails the same way.
    let text = scenario::to_ron(&shrunk.scenario, &[]);
    let again = registry().parse("min.ron", &text).unwrap();
    let outcome = again.run(again.scenario.seed, None);
    assert_eq!(outcome.violation.unwrap().invariant, "election_safety");
    // Every fault it kept is a crash or a restart or a partition: the flaw needs a voter
    // to forget, which only a crash does.
    assert!(text.contains("Crash("), "{text}");
}

#[test]
fn the_binary_runs_every_command_on_the_new_protocol() {
    // check and run
    let out = election(&["check", SAFE, FORGETFUL]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = election(&["run", FORGETFUL, "--seed", "0", "--json"]);
    assert_eq!(out.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["violations"][0]["invariant"], "election_safety");
    assert_eq!(
        v["reproduce"],
        format!("election run {FORGETFUL} --seed 0"),
        "the replay command names this program"
    );
    assert!(v["metrics"]["terms_won"].as_u64().unwrap() > 0);
    // sweep --json, then merge
    let dir = out_dir("election-commands");
    let mut shards = Vec::new();
    for shard in ["0/2", "1/2"] {
        let out = election(&[
            "sweep", FORGETFUL, "--seeds", "0..40", "--shard", shard, "--json",
        ]);
        let path = dir.join(format!("shard-{}.json", &shard[..1]));
        std::fs::write(&path, &out.stdout).unwrap();
        shards.push(path.to_string_lossy().into_owned());
    }
    let out = election(&["merge", &shards[0], &shards[1], "--json"]);
    let merged: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(merged["seeds_run"], 40);
    // shrink, then the diagram of what it wrote
    let min = dir.join("min.ron");
    let min = min.to_str().unwrap();
    let out = election(&["shrink", FORGETFUL, "--seed", "0", "-o", min]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("replay it with: election run"));
    let svg = dir.join("min.svg");
    let out = election(&["diagram", min, "-o", svg.to_str().unwrap()]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(std::fs::read_to_string(&svg).unwrap().contains("n4"));
    // ... and its page: exit 1 (it fails), the election's own messages inside
    let html = dir.join("min.html");
    let out = election(&["view", min, "-o", html.to_str().unwrap()]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let page = std::fs::read_to_string(&html).unwrap();
    assert!(page.contains("\"RequestVote\"") && page.contains("election_safety"));
    // compare, and a trace
    let out = election(&["compare", SAFE, FORGETFUL]);
    let table = String::from_utf8_lossy(&out.stdout);
    assert!(
        table.contains("election_safety ✗") && table.contains("terms_won"),
        "{table}"
    );
    let trace = dir.join("trace.jsonl");
    let out = election(&["run", SAFE, "--trace", trace.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0));
    assert!(std::fs::read_to_string(&trace)
        .unwrap()
        .contains("RequestVote"));
    // the built-in protocols are still there
    let out = election(&["check", "../../scenarios/quickstart.ron"]);
    assert_eq!(out.status.code(), Some(0));
}

#[test]
fn a_mistake_in_the_section_is_reported_at_its_line_and_column() {
    let text = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(SAFE)).unwrap();
    let cases = [
        (
            "persist_vote: true",
            "persist_votes: true",
            "unknown field `persist_votes`",
            "did you mean `persist_vote`?",
        ),
        (
            "Election(",
            "Elektion(",
            "unknown protocol `Elektion`",
            "did you mean `Election`?",
        ),
        (
            "nodes: 5",
            "nodes: 0",
            "nodes must be between 1 and 1000",
            "",
        ),
        (
            "election_timeout_min: \"150ms\"",
            "election_timeout_min: \"40ms\"",
            "must be longer than heartbeat_interval",
            "",
        ),
    ];
    for (from, to, expect, hint) in cases {
        let e = registry()
            .parse("e.ron", &text.replacen(from, to, 1))
            .unwrap_err();
        assert!(e.line >= 10, "{to}: {e}");
        assert!(
            e.message.contains(expect) && e.message.contains(hint),
            "{to}: {e}"
        );
    }
    let e = registry()
        .parse(
            "e.ron",
            &text.replacen("\"n0\"", "\"n9\"", 1).replacen(
                "start: \"500ms\",",
                "targets: [\"n9\"],",
                1,
            ),
        )
        .unwrap_err();
    assert!(e.message.contains("unknown node \"n9\""), "{e}");
}

/// The guide, docs/own-protocol.md, shows what the commands do; keep it true.
#[test]
fn the_guide_shows_what_the_commands_do() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let guide = std::fs::read_to_string(root.join("docs/own-protocol.md")).unwrap();
    let mut checked = 0;
    for block in guide.split("```ron\n").skip(1) {
        let example = block.split("```").next().unwrap();
        registry()
            .parse("guide.ron", example)
            .unwrap_or_else(|e| panic!("{e}\n{example}"));
        checked += 1;
    }
    assert!(checked >= 1);
    // The shrunk scenario in the guide is what `election shrink` writes today.
    let committed = "docs/own-protocol/election-forgetful-0.ron";
    let dir = out_dir("guide");
    let fresh = dir.join("election-forgetful-0.ron");
    let out = Command::new(env!("CARGO_BIN_EXE_election"))
        .args([
            "shrink",
            "examples/leader-election/scenarios/election-forgetful.ron",
        ])
        .args(["--seed", "0", "-o", fresh.to_str().unwrap()])
        .current_dir(&root)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let fresh = std::fs::read_to_string(&fresh).unwrap();
    let committed_text = std::fs::read_to_string(root.join(committed)).unwrap();
    let body = |t: &str| {
        t.lines()
            .filter(|l| !l.starts_with("//"))
            .collect::<Vec<_>>()
            .join("\n")
    };
    assert_eq!(
        body(&fresh),
        body(&committed_text),
        "regenerate {committed}"
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    let summary = stdout.lines().nth(3).unwrap();
    assert!(guide.contains(summary), "the guide shows `{summary}`");
}
