//! `dsim diagram`: a run's space-time diagram, from its own trace.
//!
//! Runs are deterministic, so the run happens twice: once to find where the violation is
//! (that is where the window goes by default; a window given whole skips it), once, only as
//! far as the window reaches, with its trace streamed through a filter that keeps what the
//! window shows, judged from each line's time and kind before it is parsed, and at most
//! `MESSAGES_MAX` sends and drops. Memory stays bounded however busy the run: a 20ms window
//! of the 16-node benchmark takes 18 MB (it took 850 MB, and more on longer windows).

use std::cell::RefCell;
use std::io::Write;
use std::rc::Rc;

use reports::diagram::SpaceTime;
use serde_json::Value;
use sim_core::LoadedScenario;

/// Keeps the trace lines that matter for the window [from, to]: every fault, resume and
/// violation up to its end, and the first `MESSAGES_MAX` sends and drops in it (the rest
/// only counted), so a busy run's window costs bounded memory.
struct WindowFilter {
    line: Vec<u8>,
    from_ns: u64,
    to_ns: u64,
    kept: Rc<RefCell<Vec<Value>>>,
    /// Sends and drops kept, and those only counted.
    drawn: (usize, usize),
    cut: Rc<RefCell<usize>>,
}

/// The number after `"key":` in a trace line, without parsing the line.
fn number_field(line: &[u8], key: &[u8]) -> Option<u64> {
    let at = line.windows(key.len()).position(|w| w == key)? + key.len();
    let digits = line[at..].iter().take_while(|b| b.is_ascii_digit()).count();
    std::str::from_utf8(&line[at..at + digits])
        .ok()?
        .parse()
        .ok()
}

/// The string after `"kind":"` in a trace line.
fn kind_field(line: &[u8]) -> &[u8] {
    let key = b"\"kind\":\"";
    let Some(at) = line.windows(key.len()).position(|w| w == key) else {
        return b"";
    };
    let rest = &line[at + key.len()..];
    &rest[..rest.iter().position(|&b| b == b'"').unwrap_or(rest.len())]
}

impl WindowFilter {
    /// Whether a trace line belongs in the window, judged from its time and kind alone;
    /// only the lines kept are parsed.
    fn keep(&mut self, line: &[u8]) -> bool {
        let t = number_field(line, b"\"t_ns\":").unwrap_or(0);
        let kind = kind_field(line);
        match kind {
            // Faults and resumes before the window still shape it (a crash at 1s shades
            // the lane until the restart).
            b"fault" | b"resume" | b"violation" => t <= self.to_ns,
            b"send" | b"drop" => {
                let arrives = number_field(line, b"\"deliver_at_ns\":").unwrap_or(t);
                let inside = if kind == b"send" {
                    arrives >= self.from_ns && t <= self.to_ns
                } else {
                    t >= self.from_ns && t <= self.to_ns
                };
                let n = if kind == b"send" {
                    &mut self.drawn.0
                } else {
                    &mut self.drawn.1
                };
                if !inside {
                    false
                } else if *n >= MESSAGES_MAX {
                    *self.cut.borrow_mut() += usize::from(kind == b"send");
                    false
                } else {
                    *n += 1;
                    true
                }
            }
            _ => false,
        }
    }
}

impl Write for WindowFilter {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        for &b in bytes {
            if b != b'\n' {
                self.line.push(b);
                continue;
            }
            let line = std::mem::take(&mut self.line);
            if self.keep(&line) {
                if let Ok(e) = serde_json::from_slice::<Value>(&line) {
                    self.kept.borrow_mut().push(e);
                }
            }
            self.line = line;
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
    // A window given whole needs no first run to find where the violation is.
    let first = match (from_ns, to_ns) {
        (Some(_), Some(_)) => None,
        _ => Some(loaded.run(seed, None)),
    };
    let violation_ns = first
        .as_ref()
        .and_then(|o| o.violation.as_ref())
        .map(|v| v.time_ns);
    let end_ns = first.as_ref().map_or(0, |o| o.end_time_ns);
    let (from_ns, to_ns) = match (from_ns, to_ns, violation_ns) {
        (Some(f), Some(t), _) => (f, t),
        (f, t, Some(v)) => (
            f.unwrap_or(v.saturating_sub(600_000_000)),
            t.unwrap_or(v + 20_000_000),
        ),
        (f, t, None) => (f.unwrap_or(0), t.unwrap_or(end_ns.min(1_000_000_000))),
    };
    let to_ns = to_ns.max(from_ns + 1);
    let kept = Rc::new(RefCell::new(Vec::new()));
    let cut_sends = Rc::new(RefCell::new(0));
    let filter = WindowFilter {
        line: Vec::new(),
        from_ns,
        to_ns,
        kept: kept.clone(),
        drawn: (0, 0),
        cut: cut_sends.clone(),
    };
    // The same run again, traced, and only as far as the window reaches.
    let mut upto = loaded.clone();
    upto.scenario.limits.time.0 = upto.scenario.limits.time.0.min(to_ns.max(1));
    let second = upto.run(seed, Some(Box::new(filter)));
    let violation = first.and_then(|o| o.violation).or(second.violation);
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
    let cut = *cut_sends.borrow();
    for e in events.iter() {
        let t = ms(e["t_ns"].as_u64().unwrap_or(0));
        let node = e["node"].as_str().unwrap_or("");
        match e["kind"].as_str().unwrap_or("") {
            "send" => {
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
        violation
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
