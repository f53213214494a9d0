//! `dsim shrink`: a failing seed's smallest fault schedule, written as a plain scenario.
//!
//! The search itself is `scenario::shrink`; this file shows its progress, writes the file
//! and reports the sizes before and after.

use std::io::IsTerminal;
use std::time::Duration as WallDuration;

use scenario::shrink::{self, Progress, ShrinkOptions, Shrunk, Size};
use scenario::LoadedScenario;
use serde::Serialize;
use sim_core::format_ns;

use reports::group;

/// What `dsim shrink --json` prints.
#[derive(Serialize)]
pub struct Report<'a> {
    pub scenario: &'a str,
    pub seed: u64,
    pub output: &'a str,
    pub invariant: &'a str,
    pub before: Size,
    pub after: Size,
    pub nemesis_faults: usize,
    pub runs: u32,
    pub runs_exhausted: bool,
    pub wall_ms: u128,
    pub steps: &'a [shrink::Step],
    pub violation: &'a str,
}

/// Shrinks with a spinner on a terminal, and a line per adopted change otherwise.
pub fn shrink_with_progress(
    loaded: &LoadedScenario,
    seed: u64,
    options: &ShrinkOptions,
) -> Result<Shrunk, shrink::ShrinkError> {
    let bar = std::io::stderr().is_terminal().then(|| {
        let style = indicatif::ProgressStyle::with_template("{spinner} {elapsed} · {msg}")
            .expect("a valid template");
        let bar = indicatif::ProgressBar::new_spinner().with_style(style);
        bar.enable_steady_tick(WallDuration::from_millis(100));
        bar
    });
    let mut on_progress = |p: &Progress| {
        let sizes = format!(
            "{} runs · {} faults · {} events",
            p.runs,
            p.size.faults,
            group(p.size.events)
        );
        match (&bar, &p.adopted) {
            (Some(bar), Some(what)) => {
                bar.println(format!("  smaller: {what}"));
                bar.set_message(sizes);
            }
            (Some(bar), None) => bar.set_message(sizes),
            (None, Some(what)) => eprintln!("  smaller: {what} ({sizes})"),
            (None, None) => {}
        }
    };
    let result = shrink::shrink(loaded, seed, options, &mut on_progress);
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    result
}

/// The comment lines at the top of the written scenario.
pub fn header(command: &str, output: &str, shrunk: &Shrunk) -> Vec<String> {
    let v = &shrunk.violation;
    let first_line = v.message.lines().next().unwrap_or_default();
    vec![
        format!(
            "Shrunk by `{command}` (dsim {}).",
            env!("CARGO_PKG_VERSION")
        ),
        format!(
            "At its seed it fails {} at {}: {first_line}",
            shrunk.invariant,
            format_ns(v.time_ns)
        ),
        format!(
            "faults {} → {}, events {} → {}, nodes {} → {}; {} candidate runs.",
            shrunk.before.faults,
            shrunk.after.faults,
            group(shrunk.before.events),
            group(shrunk.after.events),
            shrunk.before.nodes,
            shrunk.after.nodes,
            shrunk.runs
        ),
        format!("Replay: {} run {output}", crate::program_name()),
    ]
}

/// The report for people.
pub fn to_text(report: &Report) -> String {
    let row =
        |what: &str, before: String, after: String| format!("  {what:<10}{before:>12} → {after}\n");
    let mut out = format!(
        "{} at seed {}: {} fails\n",
        report.scenario, report.seed, report.invariant
    );
    out += &format!(
        "shrunk in {} candidate runs ({:.2} s){}:\n",
        report.runs,
        report.wall_ms as f64 / 1000.0,
        if report.runs_exhausted {
            ", stopped by --max-runs"
        } else {
            ""
        }
    );
    let (b, a) = (&report.before, &report.after);
    out += &row(
        "faults",
        format!("{} ({} nemesis)", b.faults, report.nemesis_faults),
        a.faults.to_string(),
    );
    out += &row("events", group(b.events), group(a.events));
    out += &row("nodes", b.nodes.to_string(), a.nodes.to_string());
    out += &row(
        "violation",
        format!("at {}", format_ns(b.violation_time_ns)),
        format!("at {}", format_ns(a.violation_time_ns)),
    );
    out += &format!("  {}\n", report.violation.replace('\n', "\n  "));
    out += &format!(
        "wrote {}; replay it with: {} run {}\n",
        report.output,
        crate::program_name(),
        report.output
    );
    out
}
