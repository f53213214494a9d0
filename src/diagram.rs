//! `dsim diagram`: a run's space-time diagram, from its own trace.
//!
//! Runs are deterministic, so the run happens twice: once to find where the violation is
//! (that is where the window goes by default; a window given whole skips it), once, only as
//! far as the window reaches, read back through [`crate::trace_window`], keeping at most
//! `MESSAGES_MAX` messages. Memory stays bounded however busy the run: a 20ms window of the
//! 16-node benchmark takes 18 MB (it took 850 MB, and more on longer windows).

use reports::diagram::SpaceTime;
use scenario::LoadedScenario;

use crate::trace_window::{collect, Fate, Keep, SpanKind, WindowOptions};

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
    let window = collect(
        loaded,
        seed,
        WindowOptions {
            from_ns,
            to_ns,
            messages_max: MESSAGES_MAX,
            notes_max: 0,
            keep: Keep::First,
        },
    );
    let violation = first
        .and_then(|o| o.violation)
        .map(|v| v.invariant)
        .or_else(|| window.violation.as_ref().map(|v| v.invariant.clone()));
    let ms = |ns: u64| ns as f64 / 1e6;
    let (lo, hi) = (ms(window.from_ns), ms(window.to_ns));
    let mut d = SpaceTime {
        nodes: loaded.names.to_vec(),
        from_ms: ms(from_ns),
        to_ms: ms(to_ns),
        ..SpaceTime::default()
    };
    for m in &window.messages {
        let kind = m.kind();
        let label = match d.kinds.iter().position(|k| k == kind) {
            Some(i) => i,
            None => {
                d.kinds.push(kind.to_string());
                d.kinds.len() - 1
            }
        };
        match m.fate {
            Fate::DroppedAtSend(_) => d.drops.push((ms(m.sent_ns), m.from as usize)),
            fate => {
                d.messages.push((
                    ms(m.sent_ns),
                    m.from as usize,
                    ms(m.arrive_ns),
                    m.to as usize,
                    label,
                ));
                if let Fate::DroppedOnArrival(_) = fate {
                    d.drops.push((ms(m.arrive_ns), m.to as usize));
                }
            }
        }
    }
    for span in &window.spans {
        match (span.kind, span.node) {
            (SpanKind::Partitioned, _) => {
                d.partitions
                    .push((ms(span.from_ns), ms(span.to_ns), span.what.clone()))
            }
            (kind, Some(node)) => d.down.push((
                node as usize,
                ms(span.from_ns),
                ms(span.to_ns),
                kind == SpanKind::Crashed,
            )),
            _ => {}
        }
    }
    if let Some(v) = window.violation.as_ref().filter(|v| v.at_ns <= to_ns) {
        let on = v
            .node
            .map(|n| &loaded.names[n as usize])
            .unwrap_or("the cluster");
        d.violation = Some((
            ms(v.at_ns),
            v.node.unwrap_or(0) as usize,
            format!("{} violated on {on} ", v.invariant),
        ));
    }
    let cut = window.messages_total as usize - window.messages.len();
    d.title = format!(
        "{}, seed {seed}: {:.1}–{:.1} ms{}{}",
        loaded.scenario.name,
        ms(from_ns),
        ms(to_ns),
        violation
            .map(|v| format!(" · {v} violated"))
            .unwrap_or_default(),
        if cut > 0 {
            format!(
                " · {cut} more messages after {:.1} ms not drawn",
                hi.max(lo)
            )
        } else {
            String::new()
        }
    );
    d
}
