//! `dsim view`: a run as one self-contained HTML page (drawn by `reports::view`).
//!
//! The run happens twice, as for `dsim diagram`: once whole, for its summary (fingerprint,
//! verdicts, metrics) and to find the violation; then again as far as the window reaches,
//! read back from its trace through [`crate::trace_window`].
//!
//! **Large runs.** The page holds at most `messages_max` messages (100,000 by default, about
//! 15 MB of page), and as many timers and observations. When the run has more:
//! - with a violation, the window ends just after it and reaches back as far as the budget
//!   allows (the last messages before the violation);
//! - without one, it starts at the beginning (the first messages);
//! - `--from`/`--to` choose any other stretch, and `--max-messages` the budget.
//!
//! The page says what it left out. It also stays fluid when zoomed out over many messages:
//! above a few thousand arrows in view it draws how busy each lane is instead.

use std::collections::BTreeMap;
use std::time::Instant;

use linearizability::Kind;
use scenario::LoadedScenario;
use serde_json::{json, Value};
use sim_core::format_ns;
use sim_core::{RunOutcome, StopReason};

use crate::summary::Summary;
use crate::trace_window::{collect, Fate, Keep, SpanKind, TraceWindow, WindowOptions};

/// The most messages a page holds unless told otherwise.
pub const MESSAGES_MAX_DEFAULT: usize = 100_000;

/// The most a page may be told to hold: 16 MB of page for the 10,000-node benchmark, drawn
/// zoomed out in 77 ms in headless Chromium here (a million took 114 MB and 0.9 s a frame).
pub const MESSAGES_MAX_LIMIT: usize = 200_000;

/// What part of the run to show.
#[derive(Clone, Copy, Debug)]
pub struct ViewOptions {
    pub from_ns: Option<u64>,
    pub to_ns: Option<u64>,
    /// The most messages on the page (and as many timers and observations, and as many
    /// client history records).
    pub messages_max: usize,
}

impl Default for ViewOptions {
    fn default() -> Self {
        ViewOptions {
            from_ns: None,
            to_ns: None,
            messages_max: MESSAGES_MAX_DEFAULT,
        }
    }
}

/// A run's page, and the run it shows.
pub struct View {
    pub html: String,
    pub outcome: RunOutcome,
    /// Messages on the page, and in the whole run.
    pub messages_shown: usize,
    pub messages_total: u64,
}

/// Runs `loaded` at `seed` and makes its page.
pub fn view(loaded: &LoadedScenario, seed: u64, options: ViewOptions) -> View {
    let started = Instant::now();
    let outcome = loaded.run(seed, None);
    let summary = Summary::new(loaded, &outcome, started.elapsed(), None);
    let mut run: Value = serde_json::from_str(&summary.to_json()).unwrap_or(Value::Null);
    // The page is a function of the scenario, the seed and dsim alone: the same bytes
    // every time (the wall-clock figures of this machine's run are left out).
    if let Some(fields) = run.as_object_mut() {
        fields.remove("wall_time_s");
        fields.remove("events_per_s");
    }
    let violation_ns = outcome.violation.as_ref().map(|v| v.time_ns);
    let end_ns = outcome.end_time_ns;
    // Just past the violation: what happens in the instant it is seen.
    let to_ns = options
        .to_ns
        .or(violation_ns.map(|v| v + (v / 50).max(1_000_000)))
        .unwrap_or(end_ns)
        .max(1);
    let from_ns = options.from_ns.unwrap_or(0).min(to_ns.saturating_sub(1));
    let keep = if violation_ns.is_some() && options.from_ns.is_none() {
        Keep::Last
    } else {
        Keep::First
    };
    // A run with more messages than the page holds: the lines far from the ones kept need
    // no tracing or reading. Three times the budget's share of the run's time, at the run's
    // average rate, is read; the budget then cuts it exactly.
    let sent = outcome.messages.sent.max(1);
    let budget = options.messages_max.max(1) as u64;
    let share = ((to_ns - from_ns) as f64 * (budget as f64 / sent as f64) * 3.0) as u64;
    let (read_from, read_to) = match keep {
        _ if sent <= budget => (from_ns, to_ns),
        Keep::Last => (to_ns.saturating_sub(share).max(from_ns), to_ns),
        Keep::First => (from_ns, from_ns.saturating_add(share.max(1)).min(to_ns)),
    };
    let window = collect(
        loaded,
        seed,
        WindowOptions {
            from_ns: read_from,
            to_ns: read_to,
            messages_max: options.messages_max.max(1),
            notes_max: options.messages_max.max(1),
            keep,
        },
    );
    let title = format!(
        "{}, seed {seed}{}",
        loaded.scenario.name,
        outcome
            .violation
            .as_ref()
            .map(|v| format!(": {} violated at {}", v.invariant, format_ns(v.time_ns)))
            .unwrap_or_default()
    );
    let note = window_note(&window, &outcome, from_ns, to_ns, options.messages_max);
    let data = data(loaded, &outcome, &window, run, &title, note);
    View {
        html: reports::view::page(&title, &data),
        messages_shown: window.messages.len(),
        messages_total: outcome.messages.sent,
        outcome,
    }
}

/// Why the page shows less than the whole run, if it does, and how to see the rest.
fn window_note(
    window: &TraceWindow,
    outcome: &RunOutcome,
    from_ns: u64,
    to_ns: u64,
    messages_max: usize,
) -> String {
    let mut parts = Vec::new();
    let whole_run = from_ns == 0 && to_ns >= outcome.end_time_ns;
    if window.messages.len() as u64 >= messages_max as u64
        && outcome.messages.sent > messages_max as u64
    {
        parts.push(format!(
            "This page holds {} messages of the run's {} ({} – {}); a page holds at most {} \
             (--max-messages).",
            window.messages.len(),
            outcome.messages.sent,
            format_ns(window.from_ns),
            format_ns(window.to_ns),
            messages_max
        ));
    } else if !whole_run {
        parts.push(format!(
            "This page shows {} – {} of a run of {}.",
            format_ns(window.from_ns),
            format_ns(window.to_ns),
            format_ns(outcome.end_time_ns)
        ));
    }
    if !parts.is_empty() {
        parts.push("Choose another stretch with --from and --to.".into());
    }
    parts.join(" ")
}

fn data(
    loaded: &LoadedScenario,
    outcome: &RunOutcome,
    window: &TraceWindow,
    run: Value,
    title: &str,
    note: String,
) -> Value {
    let mut kinds: Vec<String> = Vec::new();
    let mut kind_index: BTreeMap<String, usize> = BTreeMap::new();
    let messages: Vec<Value> = window
        .messages
        .iter()
        .map(|m| {
            let kind = *kind_index.entry(m.kind().to_string()).or_insert_with(|| {
                kinds.push(m.kind().to_string());
                kinds.len() - 1
            });
            let (fate, handled, reason) = match m.fate {
                Fate::Delivered => (0, Value::Null, ""),
                Fate::Held(at) => (1, json!(at), ""),
                Fate::DroppedAtSend(why) => (2, Value::Null, why),
                Fate::DroppedOnArrival(why) => (3, Value::Null, why),
                Fate::InFlight => (4, Value::Null, ""),
            };
            json!([
                m.sent_ns,
                m.from,
                m.to,
                m.arrive_ns,
                kind,
                fate,
                handled,
                reason,
                u8::from(m.duplicate),
                m.text
            ])
        })
        .collect();
    let node = |n: Option<u32>| n.map_or(-1, i64::from);
    let faults: Vec<Value> = window
        .faults
        .iter()
        .map(|f| json!([f.at_ns, node(f.node), f.fault, f.what, f.origin]))
        .collect();
    let spans: Vec<Value> = window
        .spans
        .iter()
        .map(|s| {
            let kind = match s.kind {
                SpanKind::Crashed => "crash",
                SpanKind::Paused => "pause",
                SpanKind::Partitioned => "partition",
            };
            json!([node(s.node), s.from_ns, s.to_ns, kind, s.what])
        })
        .collect();
    let notes: Vec<Value> = window
        .notes
        .iter()
        .map(|n| json!([n.at_ns, n.node, n.kind, n.text]))
        .collect();
    let (clients, client_nodes, operations) = client_lanes(loaded, outcome, window);
    let invariants = &outcome.invariants;
    let history = if window.operations.is_empty() && outcome.history.is_empty() {
        Value::Null
    } else if !invariants.contains(&"linearizable") {
        json!({ "verdict": "not checked", "message": "" })
    } else {
        match &outcome.violation {
            Some(v) if v.invariant == "linearizable" => {
                json!({ "verdict": "violated", "message": v.message })
            }
            Some(_) if outcome.stop == StopReason::Violation => json!({
                "verdict": "not judged",
                "message": "the run stopped at another invariant's violation, before the history was checked"
            }),
            _ => json!({ "verdict": "held", "message": "" }),
        }
    };
    json!({
        "title": title,
        "run": run,
        "window": {
            "from_ns": window.from_ns,
            "to_ns": window.to_ns,
            "messages_total": window.messages_total,
            "messages_shown": window.messages.len(),
            "note": note,
        },
        "nodes": loaded.names,
        "kinds": kinds,
        "messages": messages,
        "faults": faults,
        "spans": spans,
        "notes": notes,
        "clients": clients,
        "client_nodes": client_nodes,
        "operations": operations,
        "history": history,
        "violation": window.violation.as_ref().map(|v| json!({
            "t_ns": v.at_ns,
            "node": node(v.node),
            "invariant": v.invariant,
            "message": v.message,
        })),
    })
}

/// A lane per client node, and more for a node only where its operations overlap; each
/// operation marked if the linearizability checker's message names it (as the one it
/// could not place, or one concurrent with it).
fn client_lanes(
    loaded: &LoadedScenario,
    outcome: &RunOutcome,
    window: &TraceWindow,
) -> (Vec<String>, Vec<u32>, Vec<Value>) {
    let mut lanes: Vec<(u32, u64)> = Vec::new(); // (node, busy until)
    let mut labels = Vec::new();
    let mut nodes = Vec::new();
    let message = outcome
        .violation
        .as_ref()
        .filter(|v| v.invariant == "linearizable")
        .map(|v| v.message.as_str())
        .unwrap_or("");
    let (culprit_part, concurrent_part) = match message.find("cannot be placed") {
        Some(at) => {
            let rest = &message[at..];
            let concurrent = rest.find("concurrent with it:").map_or("", |c| &rest[c..]);
            (&message[..at], concurrent)
        }
        None => ("", ""),
    };
    let mut ops: Vec<&crate::trace_window::Operation> = window.operations.iter().collect();
    ops.sort_by_key(|op| (op.node, op.call_ns));
    let mut rows = Vec::new();
    for op in ops {
        let end = op.complete.map_or(u64::MAX, |(t, _)| t);
        let lane = match lanes
            .iter()
            .position(|&(n, busy)| n == op.node && busy < op.call_ns)
        {
            Some(l) => l,
            None => {
                let same = lanes.iter().filter(|&&(n, _)| n == op.node).count();
                let name = &loaded.names[op.node as usize];
                labels.push(if same == 0 {
                    name.to_string()
                } else {
                    format!("{name} ({})", same + 1)
                });
                nodes.push(op.node);
                lanes.push((op.node, 0));
                lanes.len() - 1
            }
        };
        lanes[lane].1 = end;
        let status = match op.complete {
            None => "open",
            Some((_, Kind::Ok)) => "ok",
            Some((_, Kind::Fail)) => "fail",
            Some(_) => "info",
        };
        let shown = format!("at {}: {}", format_ns(op.call_ns), op.text);
        let mark = if !culprit_part.is_empty() && culprit_part.ends_with(&format!("{shown} ")) {
            1
        } else if !concurrent_part.is_empty() && concurrent_part.contains(&shown) {
            2
        } else {
            0
        };
        rows.push((
            op.call_ns,
            json!([
                lane,
                op.call_ns,
                op.complete.map(|(t, _)| t),
                status,
                op.text,
                mark
            ]),
        ));
    }
    rows.sort_by_key(|(t, _)| *t);
    (labels, nodes, rows.into_iter().map(|(_, v)| v).collect())
}
