//! Writing a scenario back to RON, for files that dsim makes (`dsim shrink`).
//!
//! The output reads like a hand-written scenario: one top-level field a line, each fault of
//! the schedule on its own line, durations in the largest unit that states them exactly,
//! and every protocol parameter spelled out, so that the file does not depend on defaults
//! that a later version might change. Reading the text back gives the same scenario.

use crate::file::Scenario;
use crate::syntax::inline;

/// `text` in lines of at most `width` characters, broken between words (a longer word
/// gets a line of its own).
fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut lines = vec![String::new()];
    for word in text.split_whitespace() {
        let line = lines.last_mut().expect("never empty");
        if line.is_empty() {
            line.push_str(word);
        } else if line.chars().count() + 1 + word.chars().count() <= width {
            line.push(' ');
            line.push_str(word);
        } else {
            lines.push(word.to_string());
        }
    }
    lines
}

/// The scenario as RON text, preceded by `header` lines as `//` comments.
pub fn to_ron(scenario: &Scenario, header: &[String]) -> String {
    let mut out = String::new();
    for line in header {
        for wrapped in wrap(line, 88) {
            out.push_str(&format!("// {wrapped}\n"));
        }
    }
    out.push_str("(\n");
    let mut field = |name: &str, value: String| out.push_str(&format!("    {name}: {value},\n"));
    field("name", inline(&scenario.name));
    field("seed", inline(&scenario.seed));
    field("limits", inline(&scenario.limits));
    field("network", inline(&scenario.network));
    if !scenario.clocks.is_empty() {
        field("clocks", inline(&scenario.clocks));
    }
    field("protocol", scenario.protocol.to_ron());
    if !scenario.faults.is_empty() {
        let lines: Vec<String> = scenario
            .faults
            .iter()
            .map(|f| format!("        {},\n", inline(f)))
            .collect();
        field("faults", format!("[\n{}    ]", lines.concat()));
    }
    if let Some(nemesis) = &scenario.nemesis {
        field("nemesis", inline(nemesis));
    }
    if let Some(invariants) = &scenario.invariants {
        field("invariants", inline(invariants));
    }
    if let Some(expect) = &scenario.expect {
        field("expect", inline(expect));
    }
    out.push_str(")\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The parser's own example, with every other kind of fault added.
    fn full() -> String {
        crate::file::tests::GOOD.replacen(
            "faults: [",
            r#"faults: [
        (at: "1700ms", fault: Partition([["n0"], ["n1", "n2"]])),
        (at: "1800ms", fault: ClockJump(node: "n0", by: "-1500us")),
        (at: "1850ms", fault: ClockDrift(node: "n1", ppm: -300)),
        (at: "1900ms", fault: SetLatency(Normal(mean: "2ms", stddev: "500us"))),
        (at: "1901ms", fault: SetLoss(0.25)),
        (at: "1902ms", fault: SetDuplicate(0.125)),
        (at: "1903ms", fault: Heal),
        (at: "1904ms", fault: Restart("n1")),"#,
            1,
        )
    }

    #[test]
    fn header_lines_are_wrapped_between_words() {
        assert_eq!(wrap("aa bb cc dd", 5), ["aa bb", "cc dd"]);
        assert_eq!(wrap("a verylongword b", 4), ["a", "verylongword", "b"]);
        assert_eq!(wrap("", 10), [""]);
    }

    #[test]
    fn a_written_scenario_reads_back_the_same() {
        let first = crate::testing::registry().parse("t.ron", &full()).unwrap();
        let text = to_ron(&first.scenario, &["made by a test".into()]);
        let second = first
            .parse_same_protocol("written.ron", &text)
            .unwrap_or_else(|e| {
                panic!("{e}\n{text}");
            });
        assert_eq!(to_ron(&second.scenario, &["made by a test".into()]), text);
        assert_eq!(first.sim_options(5), second.sim_options(5));
        assert!(text.starts_with("// made by a test\n(\n"), "{text}");
        assert!(
            text.contains(
                "        (at: \"1500ms\", fault: Pause(node: \"n2\", duration: \"100ms\")),\n"
            ),
            "{text}"
        );
        assert!(text.contains("by: \"-1500us\""), "{text}");
    }
}
