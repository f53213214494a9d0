//! What `dsim run` prints: a summary for people, or one JSON object for programs.

use std::fmt::Write as _;
use std::time::Duration as WallDuration;

use reports::files::write_whole;
use reports::group;
use scenario::LoadedScenario;
use serde_json::{json, Value};
use sim_core::format_ns;
use sim_core::{FaultOrigin, RunOutcome, StopReason};

pub struct Summary<'a> {
    loaded: &'a LoadedScenario,
    outcome: &'a RunOutcome,
    wall: WallDuration,
    /// `--max-events` as given on the command line, carried into the replay command.
    max_events_override: Option<u64>,
}

impl<'a> Summary<'a> {
    pub fn new(
        loaded: &'a LoadedScenario,
        outcome: &'a RunOutcome,
        wall: WallDuration,
        max_events_override: Option<u64>,
    ) -> Self {
        Summary {
            loaded,
            outcome,
            wall,
            max_events_override,
        }
    }

    /// The exact command that replays this run.
    pub fn reproduce(&self) -> String {
        let mut cmd = format!(
            "{} run {} --seed {}",
            crate::program_name(),
            self.loaded.file,
            self.outcome.seed
        );
        if let Some(n) = self.max_events_override {
            cmd.push_str(&format!(" --max-events {n}"));
        }
        cmd
    }

    /// What the scenario declares it shows, and what in this run contradicts that.
    pub fn expectation(&self) -> Option<(String, Option<String>)> {
        let expect = self.loaded.scenario.expect.as_ref()?;
        let violated = self
            .outcome
            .violation
            .as_ref()
            .map(|v| v.invariant.as_str());
        let own = self.loaded.scenario.seed;
        Some((
            expect.describe(),
            expect.contradiction(violated, self.outcome.seed, own),
        ))
    }

    fn events_per_s(&self) -> f64 {
        self.outcome.events as f64 / self.wall.as_secs_f64().max(1e-9)
    }

    fn stop_text(&self) -> String {
        match self.outcome.stop {
            StopReason::Quiescent => "no events left".into(),
            StopReason::TimeLimit => "time limit reached".into(),
            StopReason::EventLimit => "event limit reached".into(),
            StopReason::Violation => "stopped at a violation".into(),
            StopReason::PendingLimit => "stopped: more events pending than limits.pending \
                                         allows; the workload grows without bound (every \
                                         message duplicated?)"
                .into(),
            StopReason::Stalled => format!(
                "stopped: virtual time no longer advances ({} events in a row at this \
                 instant: zero latency? a zero-delay timer?)",
                group(sim_core::STALL_EVENTS_MAX)
            ),
        }
    }

    pub fn to_json(&self) -> String {
        let o = self.outcome;
        let m = &o.messages;
        let names = &self.loaded.names;
        let value = json!({
            "dsim_version": env!("CARGO_PKG_VERSION"),
            "scenario": self.loaded.scenario.name,
            "file": self.loaded.file,
            "seed": o.seed,
            "fingerprint": format!("{:016x}", o.fingerprint),
            "events": o.events,
            "virtual_time_ns": o.end_time_ns,
            "stop_reason": o.stop,
            "messages": {
                "sent": m.sent,
                "delivered": m.delivered,
                "dropped": m.dropped,
                "duplicated": m.duplicated,
                "dropped_by": {
                    "loss": m.dropped_loss,
                    "partition": m.dropped_partition,
                    "crashed": m.dropped_crashed,
                },
            },
            "invariants": o.invariants.iter().map(|name| json!({
                "name": name,
                "held": o.violation.as_ref().is_none_or(|v| v.invariant != *name),
                // False where the run stopped at another invariant's violation: this one
                // held as far as the run went, and one judged at the end was not judged.
                "whole_run": o.violation.is_none(),
            })).collect::<Vec<_>>(),
            "violations": o.violation.iter().collect::<Vec<_>>(),
            "metrics": o.metrics,
            "faults": o.faults.iter().map(|f| json!({
                "at_ns": f.at_ns,
                "what": f.fault.describe_by(|n| names[*n as usize].to_string()),
                "origin": f.origin,
            })).collect::<Vec<_>>(),
            "wall_time_s": self.wall.as_secs_f64(),
            "events_per_s": self.events_per_s().round(),
            "reproduce": self.reproduce(),
            "expected": self.expectation().map(|(declared, contradiction)| json!({
                "declared": declared,
                "met": contradiction.is_none(),
                "contradiction": contradiction,
            })),
        });
        value.to_string()
    }

    /// The run as a Markdown report: the summary, then the charts written beside it.
    pub fn to_markdown(&self, charts: &[std::path::PathBuf]) -> String {
        let mut s = format!(
            "# {}, seed {}\n\n",
            self.loaded.scenario.name, self.outcome.seed
        );
        s.push_str("```\n");
        s.push_str(&self.to_text());
        s.push_str("```\n");
        for chart in charts
            .iter()
            .filter(|p| p.extension().is_some_and(|e| e == "svg"))
        {
            let file = chart
                .file_name()
                .map(|f| f.to_string_lossy().into_owned())
                .unwrap_or_default();
            let _ = write!(s, "\n![{file}]({file})\n");
        }
        s.push_str("\nThe numbers behind them: `summary.json`.\n");
        s
    }

    pub fn to_text(&self) -> String {
        let o = self.outcome;
        let m = &o.messages;
        let mut s = String::new();
        let _ = writeln!(
            s,
            "scenario     {} ({})",
            self.loaded.scenario.name, self.loaded.file
        );
        let _ = writeln!(s, "seed         {}", o.seed);
        let _ = writeln!(
            s,
            "virtual time {} ({})",
            format_ns(o.end_time_ns),
            self.stop_text()
        );
        let _ = writeln!(s, "events       {}", group(o.events));
        let _ = writeln!(
            s,
            "messages     sent {} · delivered {} · dropped {} (loss {}, partition {}, crashed {}) · duplicated {}",
            group(m.sent),
            group(m.delivered),
            group(m.dropped),
            group(m.dropped_loss),
            group(m.dropped_partition),
            group(m.dropped_crashed),
            group(m.duplicated)
        );
        let by_nemesis = o
            .faults
            .iter()
            .filter(|f| f.origin == FaultOrigin::Nemesis)
            .count();
        let _ = writeln!(
            s,
            "faults       {} applied ({} scheduled, {} by the nemesis)",
            o.faults.len(),
            o.faults.len() - by_nemesis,
            by_nemesis
        );
        // Scalars on one line; lists and objects one per line; the load timeline (long)
        // only in --json and in the charts of --out.
        let (scalars, nested): (Vec<_>, Vec<_>) = o
            .metrics
            .iter()
            .filter(|(k, _)| k.as_str() != "load_timeline")
            .partition(|(_, v)| !v.is_array() && !v.is_object());
        if !scalars.is_empty() {
            let parts: Vec<String> = scalars
                .iter()
                .map(|(k, v)| format!("{k} {}", plain(v)))
                .collect();
            let _ = writeln!(s, "metrics      {}", parts.join(" · "));
        }
        for (k, v) in nested {
            match v.as_array() {
                Some(items) if items.iter().all(Value::is_object) && !items.is_empty() => {
                    for item in items {
                        let _ = writeln!(s, "             {k}: {}", compact(item));
                    }
                }
                _ => {
                    let _ = writeln!(s, "             {k}: {}", compact(v));
                }
            }
        }
        for name in &o.invariants {
            match &o.violation {
                Some(v) if v.invariant == *name => {
                    let _ = writeln!(
                        s,
                        "invariant    {name}: VIOLATED at {}{}: {}",
                        format_ns(v.time_ns),
                        v.node
                            .as_ref()
                            .map(|n| format!(" on {n}"))
                            .unwrap_or_default(),
                        v.message
                    );
                }
                Some(v) => {
                    // Checked as far as the run went: a check made only at a run's end
                    // (the history's linearizability, say) was not made at all.
                    let _ = writeln!(
                        s,
                        "invariant    {name}: held until the run stopped at {} (not judged \
                         if it is judged at a run's end)",
                        format_ns(v.time_ns)
                    );
                }
                None => {
                    let _ = writeln!(s, "invariant    {name}: held");
                }
            }
        }
        let _ = writeln!(
            s,
            "wall time    {:.3}s ({:.2} M events/s)",
            self.wall.as_secs_f64(),
            self.events_per_s() / 1e6
        );
        if let Some((declared, contradiction)) = self.expectation() {
            match contradiction {
                None => {
                    let _ = writeln!(s, "expected     {declared}: as declared");
                }
                Some(why) => {
                    let _ = writeln!(s, "expected     {declared}: CONTRADICTED, {why}");
                }
            }
        }
        let _ = writeln!(s, "fingerprint  {:016x}", o.fingerprint);
        if o.violation.is_some() {
            let _ = writeln!(s, "reproduce    {}", self.reproduce());
        }
        s
    }
}

/// `{"a":1,"b":"x"}` as `a 1, b x`; anything else as compact JSON.
fn compact(v: &Value) -> String {
    match v.as_object() {
        Some(map) => map
            .iter()
            .filter(|(_, x)| !x.is_null())
            .map(|(k, x)| format!("{k} {}", plain(x)))
            .collect::<Vec<_>>()
            .join(", "),
        None => v.to_string(),
    }
}

fn plain(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// `dsim compare`: runs side by side, by the metrics they share.
pub struct Comparison<'a> {
    runs: &'a [(LoadedScenario, RunOutcome)],
}

impl<'a> Comparison<'a> {
    pub fn new(runs: &'a [(LoadedScenario, RunOutcome)]) -> Self {
        Comparison { runs }
    }

    fn label(loaded: &LoadedScenario) -> String {
        loaded.scenario.name.clone()
    }

    /// Scalar metrics every run has, in name order.
    fn shared_metrics(&self) -> Vec<String> {
        let Some((_, first)) = self.runs.first() else {
            return Vec::new();
        };
        first
            .metrics
            .iter()
            .filter(|(_, v)| v.is_number() || v.is_string())
            .map(|(k, _)| k.clone())
            .filter(|k| self.runs.iter().all(|(_, o)| o.metrics.contains_key(k)))
            .collect()
    }

    pub fn to_json(&self) -> String {
        let runs: Vec<Value> = self
            .runs
            .iter()
            .map(|(l, o)| {
                json!({
                    "scenario": l.scenario.name,
                    "file": l.file,
                    "seed": o.seed,
                    "fingerprint": format!("{:016x}", o.fingerprint),
                    "violations": o.violation.iter().collect::<Vec<_>>(),
                    "messages": { "sent": o.messages.sent, "delivered": o.messages.delivered },
                    "metrics": o.metrics,
                })
            })
            .collect();
        json!({ "runs": runs }).to_string()
    }

    pub fn to_text(&self) -> String {
        let keys = self.shared_metrics();
        let mut s = String::new();
        let width = self
            .runs
            .iter()
            .map(|(l, _)| Self::label(l).len())
            .max()
            .unwrap_or(8)
            .max(8);
        let _ = write!(s, "{:<width$}  {:<9}", "scenario", "verdict");
        for k in &keys {
            let _ = write!(s, "  {k}");
        }
        s.push('\n');
        for (l, o) in self.runs {
            let verdict = o
                .violation
                .as_ref()
                .map_or("held".to_string(), |v| format!("{} ✗", v.invariant));
            let _ = write!(s, "{:<width$}  {:<9}", Self::label(l), verdict);
            for k in &keys {
                let v = plain(&o.metrics[k]);
                let _ = write!(s, "  {v:>w$}", w = k.len());
            }
            s.push('\n');
        }
        s
    }

    /// compare.json, compare.md, and for commit runs the latency and blocking charts.
    pub fn write(&self, dir: &std::path::Path) -> Result<Vec<String>, String> {
        use reports::compare::{blocking, latency_histogram};
        std::fs::create_dir_all(dir)
            .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
        let mut files = Vec::new();
        let json_path = dir.join("compare.json");
        write_whole(&json_path, (self.to_json() + "\n").as_bytes())?;
        files.push(json_path.display().to_string());
        let mut charts = Vec::new();
        let histograms: Vec<(String, &Value)> = self
            .runs
            .iter()
            .filter_map(|(l, o)| {
                o.metrics
                    .get("commit_latency_histogram")
                    .map(|h| (Self::label(l), h))
            })
            .collect();
        if !histograms.is_empty() && histograms.len() == self.runs.len() {
            let upper = histograms[0].1["upper_ms"]
                .as_array()
                .cloned()
                .unwrap_or_default();
            let buckets = upper
                .iter()
                .map(|b| b.as_f64().map_or("more".to_string(), |b| format!("≤{b}ms")))
                .collect();
            let series = histograms
                .iter()
                .map(|(name, h)| {
                    let counts: Vec<f64> = h["counts"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .map(|c| c.as_f64().unwrap_or(0.0))
                        .collect();
                    let total = counts.iter().sum::<f64>().max(1.0);
                    (name.clone(), counts.iter().map(|c| c / total).collect())
                })
                .collect();
            let chart = latency_histogram(buckets, series);
            charts.extend(reports::render(&chart, &dir.join("commit-latency"))?);
            let runs: Vec<String> = self.runs.iter().map(|(l, _)| Self::label(l)).collect();
            let metric = |key: &str| -> Vec<f64> {
                self.runs
                    .iter()
                    .map(|(_, o)| o.metrics.get(key).and_then(Value::as_f64).unwrap_or(0.0))
                    .collect()
            };
            let chart = blocking(runs, metric("blocked_ms_max"), metric("blocked_ms_p99"));
            charts.extend(reports::render(&chart, &dir.join("blocking"))?);
        }
        let mut md = String::from("# Comparison\n\nMade by `dsim compare`.\n\n```\n");
        md.push_str(&self.to_text());
        md.push_str("```\n");
        for c in charts
            .iter()
            .filter(|p| p.extension().is_some_and(|e| e == "svg"))
        {
            let f = c
                .file_name()
                .map(|f| f.to_string_lossy().into_owned())
                .unwrap_or_default();
            let _ = write!(md, "\n![{f}]({f})\n");
        }
        let md_path = dir.join("compare.md");
        write_whole(&md_path, md.as_bytes())?;
        files.extend(charts.iter().map(|p| p.display().to_string()));
        files.push(md_path.display().to_string());
        Ok(files)
    }
}
