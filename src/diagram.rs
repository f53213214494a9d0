//! `dsim diagram`: a run's space-time diagram, from its own trace.
//!
//! Runs are deterministic, so the run happens twice: once to find where the violation is
//! (that is where the window goes by default), once with its trace streamed through a
//! filter that keeps only what the window shows. Nothing else of the trace is kept.

use std::cell::RefCell;
use std::io::Write;
use std::rc::Rc;

use reports::diagram::SpaceTime;
use serde_json::Value;
use sim_core::LoadedScenario;

/// Keeps the trace lines that matter for the window [from, to].
struct WindowFilter {
    line: Vec<u8>,
    from_ns: u64,
    to_ns: u64,
    kept: Rc<RefCell<Vec<Value>>>,
}

impl Write for WindowFilter {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        for &b in bytes {
            if b != b'\n' {
                self.line.push(b);
                continue;
            }
            if let Ok(e) = serde_json::from_slice::<Value>(&self.line) {
                let t = e["t_ns"].as_u64().unwrap_or(0);
                let kind = e["kind"].as_str().unwrap_or("");
                let arrives = e["deliver_at_ns"].as_u64().unwrap_or(t);
                let keep = match kind {
                    // Faults and resumes before the window still shape it (a crash at 1s
                    // shades the lane until the restart).
                    "fault" | "resume" | "violation" => t <= self.to_ns,
                    "send" => arrives >= self.from_ns && t <= self.to_ns,
                    "drop" => t >= self.from_ns && t <= self.to_ns,
                    _ => false,
                };
                if keep {
                    self.kept.borrow_mut().push(e);
                }
            }
            self.line.clear();
        }
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The most messages drawn; beyond it the picture is ink, not information.
const MESSAGES_MAX: usize = 3000;

pub fn space_time(
    loaded: &LoadedScenario,
    seed: u64,
    from_ns: Option<u64>,
    to_ns: Option<u64>,
) -> SpaceTime {
    let first = loaded.run(seed, None);
    let violation_ns = first.violation.as_ref().map(|v| v.time_ns);
    let (from_ns, to_ns) = match (from_ns, to_ns, violation_ns) {
        (Some(f), Some(t), _) => (f, t),
        (f, t, Some(v)) => (
            f.unwrap_or(v.saturating_sub(600_000_000)),
            t.unwrap_or(v + 20_000_000),
        ),
        (f, t, None) => (
            f.unwrap_or(0),
            t.unwrap_or(first.end_time_ns.min(1_000_000_000)),
        ),
    };
    let to_ns = to_ns.max(from_ns + 1);
    let kept = Rc::new(RefCell::new(Vec::new()));
    let filter = WindowFilter {
        line: Vec::new(),
        from_ns,
        to_ns,
        kept: kept.clone(),
    };
    let second = loaded.run(seed, Some(Box::new(filter)));
    debug_assert_eq!(first.fingerprint, second.fingerprint, "the same run twice");
    let events = kept.borrow();
    let lane = |name: &str| loaded.names.iter().position(|n| n == name);
    let ms = |ns: u64| ns as f64 / 1e6;
    let (lo, hi) = (ms(from_ns), ms(to_ns));
    let mut d = SpaceTime {
        nodes: loaded.names.clone(),
        from_ms: lo,
        to_ms: hi,
        ..SpaceTime::default()
    };
    let mut crashed_since: Vec<Option<f64>> = vec![None; loaded.names.len()];
    let mut paused_since: Vec<Option<f64>> = vec![None; loaded.names.len()];
    let mut partitioned_since: Option<(f64, String)> = None;
    let mut cut = 0;
    for e in events.iter() {
        let t = ms(e["t_ns"].as_u64().unwrap_or(0));
        let node = e["node"].as_str().unwrap_or("");
        match e["kind"].as_str().unwrap_or("") {
            "send" => {
                if d.messages.len() >= MESSAGES_MAX {
                    cut += 1;
                    continue;
                }
                if let (Some(a), Some(b)) = (lane(node), e["to"].as_str().and_then(lane)) {
                    let arrives = ms(e["deliver_at_ns"].as_u64().unwrap_or(0));
                    d.messages.push((t, a, arrives, b));
                }
            }
            "drop" => {
                if let Some(l) = lane(node) {
                    d.drops.push((t, l));
                }
            }
            "resume" => {
                if let Some(l) = lane(node) {
                    if let Some(s) = paused_since[l].take() {
                        d.down.push((l, s.max(lo), t.min(hi), false));
                    }
                }
            }
            "violation" => {
                let what = format!(
                    "{} violated on {node} ",
                    e["invariant"].as_str().unwrap_or("an invariant")
                );
                d.violation = Some((t, lane(node).unwrap_or(0), what));
            }
            "fault" => {
                let l = lane(node);
                match (e["fault"].as_str().unwrap_or(""), l) {
                    ("crash", Some(l)) => crashed_since[l] = Some(t),
                    ("restart", Some(l)) => {
                        if let Some(s) = crashed_since[l].take() {
                            d.down.push((l, s.max(lo), t.min(hi), true));
                        }
                    }
                    ("pause", Some(l)) => paused_since[l] = Some(t),
                    ("partition" | "partition_one_way", _) => {
                        let what = e["what"].as_str().unwrap_or("partition").to_string();
                        partitioned_since.get_or_insert((t, what));
                    }
                    ("heal", _) => {
                        if let Some((s, what)) = partitioned_since.take() {
                            d.partitions.push((s.max(lo), t.min(hi), what));
                        }
                    }
                    _ => {}
                }
            }
            _ => {}
        }
    }
    // What is still broken at the end of the window runs to its edge.
    for (l, s) in crashed_since.iter().enumerate() {
        if let Some(s) = s {
            d.down.push((l, s.max(lo), hi, true));
        }
    }
    for (l, s) in paused_since.iter().enumerate() {
        if let Some(s) = s {
            d.down.push((l, s.max(lo), hi, false));
        }
    }
    if let Some((s, what)) = partitioned_since {
        d.partitions.push((s.max(lo), hi, what));
    }
    d.down.retain(|&(_, a, b, _)| b > a);
    d.partitions.retain(|(a, b, _)| b > a);
    d.title = format!(
        "{}, seed {seed}: {:.1}–{:.1} ms{}{}",
        loaded.scenario.name,
        lo,
        hi,
        first
            .violation
            .as_ref()
            .map(|v| format!(" · {} violated", v.invariant))
            .unwrap_or_default(),
        if cut > 0 {
            format!(" · {cut} more messages not drawn")
        } else {
            String::new()
        }
    );
    d
}
