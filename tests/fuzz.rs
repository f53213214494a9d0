//! Fuzzing the scenario parser and the run, on stable Rust: thousands of scenario files
//! mutated from the bundled ones (bytes cut, repeated and inserted, numbers made extreme,
//! names and durations bent, files truncated), each parsed and, if accepted, run on a
//! small event budget. Nothing may panic; every rejected file gets a line and column;
//! every run ends. The mutations come from a fixed seed, so a failure reproduces; set
//! `DSIM_FUZZ_CASES` for a longer session (3,000 by default).

mod common;

use std::panic::{catch_unwind, AssertUnwindSafe};

use sim_core::{Random, Stream};

/// Numbers that break assumptions: zero, one, the edges of the integer types, huge floats.
const EXTREMES: &[&str] = &[
    "0",
    "1",
    "-1",
    "2",
    "255",
    "65536",
    "4294967295",
    "4294967296",
    "18446744073709551615",
    "99999999999999999999999",
    "1e300",
    "-1e300",
    "0.5",
    "NaN",
    "1000000000",
];

/// Bits of RON and of dsim's vocabulary to splice in.
const TOKENS: &[&str] = &[
    "(",
    ")",
    "[",
    "]",
    ",",
    ":",
    "\"",
    "\"0\"",
    "\"-0s\"",
    "\"1ns\"",
    "\"1h\"",
    "\"n0\"",
    "\"c1\"",
    "\"p0\"",
    "Some(",
    "None",
    "true",
    "Heal",
    "Crash(",
    "Partition([",
    "[[]]",
    "//",
    "/*",
    "\\",
    "\u{0}",
    "é",
    "\u{202e}",
    "r#\"",
    "PingPong(",
    "Kv(",
    "Lock(",
    "Commit(",
    "Uniform(min: \"0\", max: \"0\")",
    "Constant(\"0\")",
    "expect: Holds,",
];

fn mutate(text: &str, rng: &mut Random) -> String {
    let mut bytes = text.as_bytes().to_vec();
    let steps = 1 + rng.below(3);
    for _ in 0..steps {
        let len = bytes.len().max(1) as u64;
        let at = rng.below(len) as usize;
        let at = at.min(bytes.len());
        match rng.below(7) {
            // Cut a range.
            0 => {
                let end = (at + 1 + rng.below(40) as usize).min(bytes.len());
                bytes.drain(at..end);
            }
            // Repeat a range.
            1 => {
                let end = (at + 1 + rng.below(40) as usize).min(bytes.len());
                let piece = bytes[at..end].to_vec();
                bytes.splice(at..at, piece);
            }
            // Insert a token.
            2 => {
                let t = TOKENS[rng.below(TOKENS.len() as u64) as usize];
                bytes.splice(at..at, t.bytes());
            }
            // Make the next number extreme.
            3 => {
                if let Some(start) = bytes[at..].iter().position(u8::is_ascii_digit) {
                    let start = at + start;
                    let end = start
                        + bytes[start..]
                            .iter()
                            .take_while(|b| b.is_ascii_digit() || **b == b'.')
                            .count();
                    let e = EXTREMES[rng.below(EXTREMES.len() as u64) as usize];
                    bytes.splice(start..end, e.bytes());
                }
            }
            // Truncate.
            4 => bytes.truncate(at),
            // A random byte (possibly not UTF-8).
            5 => bytes.insert(at, rng.below(256) as u8),
            // Bend a name: change one letter of an identifier.
            _ => {
                if let Some(p) = bytes[at..].iter().position(u8::is_ascii_lowercase) {
                    bytes[at + p] = b'a' + rng.below(26) as u8;
                }
            }
        }
    }
    String::from_utf8(bytes).unwrap_or_else(|e| {
        // Keep what the parser will see: the file reader refuses non-UTF-8 itself (tested
        // in the command-line suite); here the text goes in lossily.
        String::from_utf8_lossy(e.as_bytes()).into_owned()
    })
}

#[test]
fn mutated_scenarios_never_panic_are_refused_with_a_position_or_run_to_an_end() {
    let cases: u64 = common::count_from_env("DSIM_FUZZ_CASES", 3000);
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/scenarios");
    let mut corpus: Vec<(String, String)> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "ron"))
        .map(|p| {
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            (name, std::fs::read_to_string(&p).unwrap())
        })
        .collect();
    corpus.sort();
    let registry = protocols::builtin();
    let mut rng = Random::new(2026, Stream::Workload);
    let (mut refused, mut ran) = (0, 0);
    for case in 0..cases {
        let (name, base) = &corpus[rng.below(corpus.len() as u64) as usize];
        let text = mutate(base, &mut rng);
        let parsed = catch_unwind(AssertUnwindSafe(|| registry.parse("fuzz.ron", &text)));
        let context = || format!("case {case} (from {name}):\n{text}");
        match parsed {
            Err(_) => panic!("the parser panicked on {}", context()),
            Ok(Err(e)) => {
                refused += 1;
                assert!(
                    e.line >= 1 && e.column >= 1,
                    "no position in `{e}` for {}",
                    context()
                );
            }
            Ok(Ok(mut loaded)) => {
                ran += 1;
                let budget = loaded
                    .scenario
                    .limits
                    .events
                    .unwrap_or(u64::MAX)
                    .min(20_000);
                loaded.scenario.limits.events = Some(budget);
                let seed = loaded.scenario.seed;
                let outcome = catch_unwind(AssertUnwindSafe(|| loaded.run(seed, None)))
                    .unwrap_or_else(|_| panic!("the run panicked on {}", context()));
                assert!(outcome.events <= budget, "{}", context());
            }
        }
    }
    eprintln!("{cases} cases: {refused} refused, {ran} run");
    // The mutations reach both sides: files refused, and files accepted and run.
    assert!(refused > cases / 4, "refused {refused} of {cases}");
    assert!(ran > cases / 20, "ran {ran} of {cases}");
}

/// The history reader of `dsim lincheck` takes any bytes without panicking: each mutated
/// history is refused with a line, or checked to a verdict.
#[test]
fn mutated_histories_never_panic_the_linearizability_checker() {
    use dsim::lincheck::{check_text, ModelName};
    use linearizability::Budget;
    let base = "{:process 0, :type :invoke, :f :write, :value 1}\n\
                {:process 1, :type :invoke, :f :cas, :value [1 2]}\n\
                {:process 0, :type :ok, :f :write, :value 1}\n\
                {:process 1, :type :info, :f :cas, :value [1 2]}\n\
                {:process 2, :type :invoke, :f :read, :value nil, :key \"k\"}\n\
                {:process 2, :type :ok, :f :read, :value 2, :key \"k\"}\n\
                INFO  jepsen.util - 3\t:invoke\t:read\tnil\n\
                INFO  jepsen.util - 3\t:fail\t:read\t:timed-out\n";
    let cases = common::count_from_env("DSIM_FUZZ_CASES", 3000);
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("fuzz-histories");
    std::fs::create_dir_all(&dir).unwrap();
    let mut rng = Random::new(7, Stream::Workload);
    for case in 0..cases {
        let text = mutate(base, &mut rng);
        for model in [ModelName::Register, ModelName::CasRegister, ModelName::Kv] {
            // Checked, reported and (now and then) drawn, as `dsim lincheck --out` does.
            let result = catch_unwind(AssertUnwindSafe(|| {
                let report = check_text(&text, model, &Budget::steps(100_000));
                if let Ok(r) = &report {
                    let _ = (r.to_text(), r.to_json(0.0));
                    let chart = r.chart("fuzz");
                    if case % 100 == 0 {
                        reports::render(&chart, &dir.join(format!("{case}"))).unwrap();
                    }
                }
                report
            }));
            match result {
                Err(_) => panic!("case {case}, {model:?}: the checker panicked on\n{text}"),
                Ok(Err(e)) => assert!(e.line >= 1, "case {case}: no line in {e}"),
                Ok(Ok(_)) => {}
            }
        }
    }
}
