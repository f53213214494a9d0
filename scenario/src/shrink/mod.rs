//! Shrinking: the smallest scenario that still fails the same way.
//!
//! A failing seed of a scenario with a random nemesis comes with a fault schedule nobody
//! wrote down, and most of it has nothing to do with the bug. The shrinker takes the
//! failing run's concrete schedule (every fault the run applied, scripted or random),
//! writes it out as explicit faults with the nemesis removed, checks that this plain
//! scenario fails the same invariant at the same seed, and then minimizes it while it
//! still does:
//!
//! 1. drop whole fault episodes by delta debugging ([`ddmin`]);
//! 2. take away network and clock randomness (loss, duplication, link overrides, offsets);
//! 3. cut clients, nodes, keys and operations, one knob at a time, and remove nodes from
//!    the middle of their family ([`without_members`]);
//! 4. narrow each remaining episode: end it earlier (shorter pauses, earlier restarts and
//!    heals), then start it later ([`smallest_failing`]);
//! 5. round times to whole milliseconds, and find the shortest time limit that fails;
//!
//! and repeats until a round changes nothing. "Fails the same way" means the run violates
//! the same invariant; where and when may move, and the report says where it ended up.
//!
//! Every candidate is written as RON and read back through the scenario parser before it
//! runs, so the shrinker can only adopt scenarios that a user could have written, and the
//! file it hands out is exactly the one it ran.

mod reduce;
mod schedule;
mod search;

pub use reduce::{calmer_networks, without_members};
pub use schedule::{episodes, keep_nodes, rounded_to_ms, select, Schedule, Span};
pub use search::{ddmin, smallest_failing};

use serde::Serialize;

use sim_core::{format_ns, Duration, RunOutcome, TimedFault, Violation};

use crate::file::Reparse;
use crate::{to_ron, Expect, InvariantName, LoadedScenario, NodeName, Scenario};

const MS: u64 = 1_000_000;

/// How hard to try.
#[derive(Clone, Debug)]
pub struct ShrinkOptions {
    /// Candidate runs at most; the best scenario found so far is kept when they run out.
    pub runs_max: u32,
}

impl Default for ShrinkOptions {
    fn default() -> Self {
        ShrinkOptions { runs_max: 5_000 }
    }
}

/// How big a failing run is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Size {
    pub faults: usize,
    pub events: u64,
    pub nodes: usize,
    pub violation_time_ns: u64,
}

impl Size {
    fn of(outcome: &RunOutcome, faults: usize, nodes: usize) -> Self {
        Size {
            faults,
            events: outcome.events,
            nodes,
            violation_time_ns: outcome.violation.as_ref().map_or(0, |v| v.time_ns),
        }
    }
}

/// One change the shrinker kept, and the size after it.
#[derive(Clone, Debug, Serialize)]
pub struct Step {
    pub what: String,
    pub size: Size,
}

/// What shrinking found.
#[derive(Clone, Debug)]
pub struct Shrunk {
    /// The invariant that fails, before and after.
    pub invariant: String,
    /// The original run: the faults it applied, scripted and random.
    pub before: Size,
    /// Of those, how many came from the nemesis.
    pub nemesis_faults: usize,
    pub after: Size,
    /// Candidate runs, adopted or not (the first run of the seed not counted).
    pub runs: u32,
    /// True if `runs_max` ran out before a round changed nothing.
    pub runs_exhausted: bool,
    pub steps: Vec<Step>,
    /// The smallest failing scenario, with the seed in it.
    pub scenario: Scenario,
    pub violation: Violation,
}

/// Why there is nothing to shrink.
#[derive(Clone, Debug, PartialEq)]
pub enum ShrinkError {
    /// The seed does not fail.
    Passes { seed: u64 },
    /// Written out as explicit faults, the schedule no longer fails the same way (events
    /// due at the same nanosecond as a fault may run in another order).
    NotReproduced {
        invariant: String,
        got: Option<String>,
    },
}

impl std::fmt::Display for ShrinkError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ShrinkError::Passes { seed } => write!(
                f,
                "seed {seed} does not fail: every invariant holds, so there is nothing to \
                 shrink; find a failing seed with `dsim sweep`"
            ),
            ShrinkError::NotReproduced { invariant, got } => write!(
                f,
                "the run's fault schedule, written out as explicit faults, no longer fails \
                 {invariant} ({}); the failure depends on the exact order of events at one \
                 nanosecond",
                match got {
                    Some(other) => format!("it fails {other} instead"),
                    None => "every invariant holds".to_string(),
                }
            ),
        }
    }
}

/// The scenario's concrete schedule at `seed` as explicit faults, the nemesis removed.
pub fn explicit_schedule(loaded: &LoadedScenario, outcome: &RunOutcome) -> Scenario {
    let mut s = loaded.scenario.clone();
    s.seed = outcome.seed;
    s.nemesis = None;
    // What the written file is meant to show: the failure it was cut down to keep.
    if let Some(v) = &outcome.violation {
        let name = InvariantName(v.invariant.clone());
        s.expect = Some(Expect::Violates(vec![name]));
    }
    s.faults = outcome
        .faults
        .iter()
        .map(|applied| TimedFault {
            at: Duration(applied.at_ns),
            fault: applied
                .fault
                .map_nodes(|&id| Ok::<_, ()>(NodeName(loaded.names[id as usize].to_string())))
                .expect("naming nodes cannot fail"),
        })
        .collect();
    s
}

/// Shrinks the failure of `loaded` at `seed`. `progress` hears of every run.
pub fn shrink(
    loaded: &LoadedScenario,
    seed: u64,
    options: &ShrinkOptions,
    progress: &mut dyn FnMut(&Progress),
) -> Result<Shrunk, ShrinkError> {
    let original = loaded.run(seed, None);
    let Some(violation) = &original.violation else {
        return Err(ShrinkError::Passes { seed });
    };
    let invariant = violation.invariant.clone();
    let before = Size::of(&original, original.faults.len(), loaded.names.len());
    let nemesis_faults = original
        .faults
        .iter()
        .filter(|f| f.origin == sim_core::FaultOrigin::Nemesis)
        .count();

    let explicit = explicit_schedule(loaded, &original);
    let explicit_text = to_ron(&explicit, &[]);
    let mut shrinker = Shrinker {
        file: loaded.file.clone(),
        reparse: loaded.reparse,
        invariant: invariant.clone(),
        runs: 0,
        runs_max: options.runs_max,
        current: explicit,
        current_text: explicit_text.clone(),
        size: before,
        violation: violation.clone(),
        steps: Vec::new(),
        progress,
    };
    match shrinker.run(&explicit_text) {
        Ok((size, v)) => {
            shrinker.size = size;
            shrinker.violation = v;
        }
        Err(got) => {
            return Err(ShrinkError::NotReproduced { invariant, got });
        }
    }
    loop {
        let steps = shrinker.steps.len();
        shrinker.drop_episodes();
        shrinker.calm_network();
        shrinker.cut_protocol();
        shrinker.drop_members();
        shrinker.narrow_spans();
        shrinker.round_times();
        shrinker.cut_time_limit();
        if shrinker.steps.len() == steps || shrinker.runs >= shrinker.runs_max {
            break;
        }
    }
    Ok(Shrunk {
        invariant,
        before,
        nemesis_faults,
        after: shrinker.size,
        runs: shrinker.runs,
        runs_exhausted: shrinker.runs >= shrinker.runs_max,
        steps: shrinker.steps,
        scenario: shrinker.current,
        violation: shrinker.violation,
    })
}

/// Where the shrinker is, for progress bars.
#[derive(Clone, Debug)]
pub struct Progress {
    pub runs: u32,
    pub size: Size,
    /// The change just adopted, if the last run adopted one.
    pub adopted: Option<String>,
}

struct Shrinker<'a> {
    file: String,
    /// Reads back what the shrinker writes, with the scenario's protocol.
    reparse: Reparse,
    invariant: String,
    runs: u32,
    runs_max: u32,
    current: Scenario,
    /// `current` as written, to recognise candidates that change nothing.
    current_text: String,
    size: Size,
    violation: Violation,
    steps: Vec<Step>,
    progress: &'a mut dyn FnMut(&Progress),
}

impl Shrinker<'_> {
    /// Runs the scenario written as `text`. `Ok` with its size if it fails
    /// the invariant; otherwise what it failed instead, if anything.
    fn run(&mut self, text: &str) -> Result<(Size, Violation), Option<String>> {
        // A candidate the parser refuses is one a user could not have written.
        let loaded = (self.reparse)(&self.file, text).map_err(|_| None)?;
        let candidate = &loaded.scenario;
        self.runs += 1;
        let outcome = loaded.run(candidate.seed, None);
        match outcome.violation {
            Some(ref v) if v.invariant == self.invariant => Ok((
                Size::of(&outcome, candidate.faults.len(), loaded.names.len()),
                v.clone(),
            )),
            Some(v) => Err(Some(v.invariant)),
            None => Err(None),
        }
    }

    /// Adopts `candidate` if it still fails the same way; `what` describes the change.
    fn try_adopt(&mut self, candidate: Scenario, what: impl FnOnce() -> String) -> bool {
        let text = to_ron(&candidate, &[]);
        if self.runs >= self.runs_max || text == self.current_text {
            return false;
        }
        let adopted = match self.run(&text) {
            Ok((size, violation)) => {
                let what = what();
                self.current_text = text;
                self.current = candidate;
                self.size = size;
                self.violation = violation;
                self.steps.push(Step {
                    what: what.clone(),
                    size,
                });
                Some(what)
            }
            Err(_) => None,
        };
        let found = adopted.is_some();
        (self.progress)(&Progress {
            runs: self.runs,
            size: self.size,
            adopted,
        });
        found
    }

    fn with_faults(&self, faults: Schedule) -> Scenario {
        let mut s = self.current.clone();
        s.faults = faults;
        s
    }

    /// Delta debugging over the schedule's episodes.
    fn drop_episodes(&mut self) {
        let faults = self.current.faults.clone();
        let episodes = schedule::episodes(&faults);
        if episodes.is_empty() {
            return;
        }
        let total = episodes.len();
        let kept = search::ddmin(&episodes, &mut |chosen| {
            let candidate = self.with_faults(schedule::select(&faults, chosen));
            self.try_adopt(candidate, || {
                format!(
                    "kept {} of {total} fault episodes ({} faults)",
                    chosen.len(),
                    chosen.iter().map(Vec::len).sum::<usize>()
                )
            })
        });
        // ddmin adopts as it goes; make sure `current` holds exactly what it kept.
        debug_assert_eq!(self.current.faults, schedule::select(&faults, &kept));
    }

    fn calm_network(&mut self) {
        for (what, candidate) in reduce::calmer_networks(&self.current) {
            self.try_adopt(candidate, || what);
        }
    }

    fn cut_protocol(&mut self) {
        let knobs = self.current.protocol.smaller().len();
        for knob in 0..knobs {
            // Candidates for this knob, computed afresh: an earlier knob may have changed.
            let candidates = self
                .current
                .protocol
                .smaller()
                .into_iter()
                .nth(knob)
                .unwrap_or_default();
            for (what, protocol) in candidates {
                let mut candidate = self.current.clone();
                let names = protocol.node_names();
                candidate.protocol = protocol;
                candidate.faults = schedule::keep_nodes(&candidate.faults, &names);
                candidate.clocks.retain(|c| names.contains(&c.node.0));
                candidate
                    .network
                    .links
                    .retain(|l| names.contains(&l.from.0) && names.contains(&l.to.0));
                let dropped = self.current.faults.len() - candidate.faults.len();
                let what = if dropped > 0 {
                    format!("{what} (and {dropped} faults on the nodes gone)")
                } else {
                    what
                };
                if self.try_adopt(candidate, || what) {
                    break;
                }
            }
        }
    }

    /// Removes members that are not last in their family, one at a time.
    fn drop_members(&mut self) {
        loop {
            let candidates = reduce::without_members(&self.current);
            let mut adopted = false;
            for (what, candidate) in candidates {
                if self.try_adopt(candidate, || what) {
                    adopted = true;
                    break;
                }
            }
            if !adopted {
                return;
            }
        }
    }

    /// Ends each episode as early, then starts it as late, as still fails.
    fn narrow_spans(&mut self) {
        for e in 0..schedule::episodes(&self.current.faults).len() {
            self.narrow_end(e);
            self.narrow_start(e);
        }
    }

    fn span(&self, episode: usize) -> Option<Span> {
        let episodes = schedule::episodes(&self.current.faults);
        Span::of(&self.current.faults, episodes.get(episode)?)
    }

    /// A binary search over whole milliseconds `lo..=hi` for the least value whose
    /// candidate still fails; `hi` stands for the scenario as it is, known to fail.
    /// `candidate(m)` is the scenario for `m` and what it changes.
    fn search_ms(&mut self, lo: u64, hi: u64, candidate: &dyn Fn(u64) -> (Scenario, String)) {
        search::smallest_failing(lo, hi, &mut |m| {
            if m == hi {
                return true;
            }
            let (scenario, what) = candidate(m);
            self.try_adopt(scenario, || what)
        });
    }

    fn narrow_end(&mut self, episode: usize) {
        let Some(span) = self.span(episode) else {
            return;
        };
        let faults = self.current.faults.clone();
        let (start, Some(end)) = (span.start_ns(&faults), span.end_ns(&faults)) else {
            return;
        };
        // From 1ms after the start up to the end as it is.
        let (lo, hi) = (start / MS + 1, end.div_ceil(MS));
        if lo >= hi {
            return;
        }
        let label = describe(&faults, span);
        let base = self.with_faults(Vec::new());
        self.search_ms(lo, hi, &|m| {
            let mut c = base.clone();
            c.faults = span.with_end(&faults, m * MS);
            let what = format!(
                "{label}: ends at {} instead of {}",
                format_ns(m * MS),
                format_ns(end)
            );
            (c, what)
        });
    }

    fn narrow_start(&mut self, episode: usize) {
        let Some(span) = self.span(episode) else {
            return;
        };
        let faults = self.current.faults.clone();
        let start = span.start_ns(&faults);
        // An episode must keep at least 1ms; an instant may move up to the violation.
        let latest = match span.end_ns(&faults) {
            Some(end) => end.saturating_sub(MS),
            None => self.size.violation_time_ns.saturating_sub(1),
        };
        // Whole milliseconds strictly after the start; k = 0 is the latest of them, and
        // k = count the start as it is.
        let (first_ms, last_ms) = (start / MS + 1, latest / MS);
        if last_ms < first_ms {
            return;
        }
        let count = last_ms - first_ms + 1;
        let label = describe(&faults, span);
        let base = self.with_faults(Vec::new());
        self.search_ms(0, count, &|k| {
            let at = (last_ms - k) * MS;
            let mut c = base.clone();
            c.faults = span.with_start(&faults, at);
            let what = format!(
                "{label}: starts at {} instead of {}",
                format_ns(at),
                format_ns(start)
            );
            (c, what)
        });
    }

    fn round_times(&mut self) {
        for down in [false, true] {
            let rounded = schedule::rounded_to_ms(&self.current.faults, down);
            if rounded != self.current.faults {
                let candidate = self.with_faults(rounded);
                self.try_adopt(candidate, || "times rounded to whole milliseconds".into());
            }
        }
    }

    /// The shortest time limit that still fails, in whole milliseconds. For invariants
    /// checked as the run goes this is just past the violation; for those checked at the
    /// end (atomicity from the disks) it cuts the workload itself.
    fn cut_time_limit(&mut self) {
        let limit = self.current.limits.time.0;
        let base = self.current.clone();
        self.search_ms(1, limit.div_ceil(MS), &|m| {
            let mut c = base.clone();
            c.limits.time = Duration(m * MS);
            let what = format!("time limit {} → {}", format_ns(limit), format_ns(m * MS));
            (c, what)
        });
    }
}

/// "pause c0 for 1.500s at 2.000s", for step descriptions.
fn describe(faults: &[TimedFault<NodeName>], span: Span) -> String {
    let index = match span {
        Span::Pause { index } | Span::Instant { index } => index,
        Span::Pair { open, .. } => open,
    };
    let tf = &faults[index];
    format!("{} at {}", tf.fault.describe_by(|n| n.0.clone()), tf.at)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn faults_are_described_by_name() {
        let faults = vec![TimedFault {
            at: Duration::from_ms(2000),
            fault: sim_core::Fault::Pause {
                node: NodeName("c0".into()),
                duration: Duration::from_ms(1500),
            },
        }];
        assert_eq!(
            describe(&faults, Span::Pause { index: 0 }),
            "pause c0 for 1.500s at 2.000s"
        );
    }
}
