//! `dsim sweep` and `dsim merge`: many seeds on every core, and shards put back together.
//!
//! Each seed's run is the same single-threaded, deterministic run as `dsim run --seed N`:
//! workers only decide which seed runs where. Results are ordered by seed, so a sweep's
//! report does not depend on how the threads happened to interleave, and shards of one
//! range merge into exactly the report the whole sweep would give.

use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Instant;

use scenario::LoadedScenario;
use serde::{Deserialize, Serialize};
use sim_core::format_ns;

/// `A..B`: seeds A (inclusive) to B (exclusive).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SeedRange {
    pub start: u64,
    pub end: u64,
}

impl std::str::FromStr for SeedRange {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let bad = || format!("seed range `{s}` is not of the form A..B (e.g. 0..10000)");
        let (a, b) = s.split_once("..").ok_or_else(bad)?;
        let (start, end): (u64, u64) =
            (a.parse().map_err(|_| bad())?, b.parse().map_err(|_| bad())?);
        if start >= end {
            return Err(format!("seed range `{s}` is empty; expected A < B"));
        }
        Ok(SeedRange { start, end })
    }
}

impl std::fmt::Display for SeedRange {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}..{}", self.start, self.end)
    }
}

/// `I/N`: the seeds whose offset in the range is I modulo N.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shard {
    pub index: u64,
    pub count: u64,
}

impl std::str::FromStr for Shard {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let bad = || format!("shard `{s}` is not of the form I/N with 0 <= I < N (e.g. 3/16)");
        let (i, n) = s.split_once('/').ok_or_else(bad)?;
        let (index, count): (u64, u64) =
            (i.parse().map_err(|_| bad())?, n.parse().map_err(|_| bad())?);
        if count == 0 || index >= count {
            return Err(bad());
        }
        Ok(Shard { index, count })
    }
}

impl std::fmt::Display for Shard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Failure {
    pub seed: u64,
    pub invariant: String,
    pub time_ns: u64,
    pub fingerprint: String,
    pub message: String,
    pub reproduce: String,
}

/// A seed whose outcome contradicts what the scenario declares it shows.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Contradiction {
    pub seed: u64,
    pub why: String,
}

/// A sweep's result, as `--json` prints it and `dsim merge` reads it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SweepResult {
    pub scenario: String,
    pub file: String,
    pub seeds: String,
    /// The shards this result covers (`["0/1"]` for a whole sweep).
    pub shards: Vec<String>,
    pub seeds_run: u64,
    pub stopped_early: bool,
    pub failures: Vec<Failure>,
    pub by_invariant: BTreeMap<String, u64>,
    /// How long it took (not part of the result proper: merged results add them up).
    pub wall_time_s: f64,
    /// What the scenario declares it shows (`expect`), if it does.
    #[serde(default)]
    pub expected: Option<String>,
    /// Seeds whose outcome contradicts the declaration.
    #[serde(default)]
    pub contradictions: Vec<Contradiction>,
    /// Shards of the sweep not in this result (`dsim merge --partial`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub missing_shards: Vec<String>,
}

impl SweepResult {
    fn count(&mut self) {
        self.failures.sort_by_key(|f| f.seed);
        self.contradictions.sort_by_key(|c| c.seed);
        self.by_invariant.clear();
        for f in &self.failures {
            *self.by_invariant.entry(f.invariant.clone()).or_default() += 1;
        }
    }

    pub fn to_text(&self) -> String {
        let mut s = format!(
            "swept {} seeds of {} ({}{}) in {:.1}s: {} failing\n",
            self.seeds_run,
            self.scenario,
            self.seeds,
            if self.shards == ["0/1"] {
                String::new()
            } else {
                format!(", shards {}", self.shards.join(","))
            },
            self.wall_time_s,
            self.failures.len()
        );
        if !self.missing_shards.is_empty() {
            s.push_str(&format!(
                "incomplete: shards {} missing, their seeds not run\n",
                self.missing_shards.join(", ")
            ));
        }
        if self.stopped_early {
            s.push_str("stopped early (--stop-after): not every seed of the range ran\n");
        }
        if let Some(declared) = &self.expected {
            if self.contradictions.is_empty() {
                s.push_str(&format!("expected: {declared}; no seed contradicts it\n"));
            } else {
                s.push_str(&format!(
                    "expected: {declared}; CONTRADICTED by {} seed(s):\n",
                    self.contradictions.len()
                ));
                for c in self.contradictions.iter().take(20) {
                    s.push_str(&format!("  seed {}: {}\n", c.seed, c.why));
                }
            }
        }
        for (invariant, n) in &self.by_invariant {
            s.push_str(&format!("{invariant}: {n} seed(s)\n"));
            for f in self
                .failures
                .iter()
                .filter(|f| &f.invariant == invariant)
                .take(20)
            {
                s.push_str(&format!(
                    "  seed {} at {}: {}\n    {}\n",
                    f.seed,
                    format_ns(f.time_ns),
                    f.message,
                    f.reproduce
                ));
            }
            if *n > 20 {
                s.push_str(&format!("  … and {} more (see --json)\n", n - 20));
            }
        }
        s
    }
}

/// Runs the seeds of `range` that belong to `shard` on `jobs` threads.
pub fn sweep(
    loaded: &LoadedScenario,
    range: SeedRange,
    shard: Shard,
    jobs: usize,
    stop_after: Option<u64>,
) -> SweepResult {
    let seeds: Vec<u64> = (range.start..range.end)
        .filter(|s| (s - range.start) % shard.count == shard.index)
        .collect();
    let started = Instant::now();
    let next = AtomicUsize::new(0);
    let failed = AtomicU64::new(0);
    let done = AtomicU64::new(0);
    let failures = Mutex::new(Vec::new());
    let contradictions = Mutex::new(Vec::new());
    let expect = loaded.scenario.expect.as_ref();
    let own_seed = loaded.scenario.seed;
    let progress = Progress::new(seeds.len() as u64);
    std::thread::scope(|scope| {
        for _ in 0..jobs.max(1) {
            scope.spawn(|| loop {
                if stop_after.is_some_and(|k| failed.load(Ordering::Relaxed) >= k) {
                    break;
                }
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(&seed) = seeds.get(i) else { break };
                // The same run as `dsim run --seed N`: nothing here is shared with the
                // simulation but the scenario, which it only reads.
                let outcome = loaded.run(seed, None);
                let violated = outcome.violation.as_ref().map(|v| v.invariant.as_str());
                if let Some(why) = expect.and_then(|e| e.contradiction(violated, seed, own_seed)) {
                    contradictions
                        .lock()
                        .expect("no worker panics holding it")
                        .push(Contradiction { seed, why });
                }
                if let Some(v) = outcome.violation {
                    failed.fetch_add(1, Ordering::Relaxed);
                    failures
                        .lock()
                        .expect("no worker panics holding it")
                        .push(Failure {
                            seed,
                            invariant: v.invariant,
                            time_ns: v.time_ns,
                            fingerprint: format!("{:016x}", outcome.fingerprint),
                            message: v.message,
                            reproduce: format!(
                                "{} run {} --seed {seed}",
                                crate::program_name(),
                                loaded.file
                            ),
                        });
                }
                let n = done.fetch_add(1, Ordering::Relaxed) + 1;
                progress.tick(n, failed.load(Ordering::Relaxed));
            });
        }
    });
    progress.finish();
    let seeds_run = done.into_inner();
    let mut result = SweepResult {
        scenario: loaded.scenario.name.clone(),
        file: loaded.file.clone(),
        seeds: range.to_string(),
        shards: vec![shard.to_string()],
        seeds_run,
        stopped_early: seeds_run < seeds.len() as u64,
        failures: failures.into_inner().expect("workers are done"),
        by_invariant: BTreeMap::new(),
        wall_time_s: started.elapsed().as_secs_f64(),
        expected: expect.map(|e| e.describe()),
        contradictions: contradictions.into_inner().expect("workers are done"),
        missing_shards: Vec::new(),
    };
    result.count();
    result
}

/// A progress bar on a terminal, a plain line every tenth of the way otherwise.
struct Progress {
    bar: Option<indicatif::ProgressBar>,
    total: u64,
}

impl Progress {
    fn new(total: u64) -> Self {
        let bar = std::io::stderr().is_terminal().then(|| {
            let style = indicatif::ProgressStyle::with_template(
                "{bar:40} {pos}/{len} seeds · {per_sec} · {msg} · {eta} left",
            )
            .expect("a valid template");
            indicatif::ProgressBar::new(total)
                .with_style(style)
                .with_message("0 failing")
        });
        Progress { bar, total }
    }

    fn tick(&self, done: u64, failed: u64) {
        match &self.bar {
            Some(bar) => {
                bar.set_position(done);
                bar.set_message(format!("{failed} failing"));
            }
            None => {
                let step = (self.total / 10).max(1);
                if done % step == 0 || done == self.total {
                    eprintln!("{done}/{} seeds, {failed} failing", self.total);
                }
            }
        }
    }

    fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

/// Puts shard results of one sweep back together. They must be shards of one sweep, cut
/// into the same number of shards; a missing shard is an error unless `partial`, and the
/// result then lists the missing ones.
pub fn merge(parts: Vec<SweepResult>, partial: bool) -> Result<SweepResult, String> {
    let count_of = |shard: &str| -> Result<u64, String> {
        shard
            .parse::<Shard>()
            .map(|s| s.count)
            .map_err(|e| format!("a result names a bad shard: {e}"))
    };
    let mut counts = std::collections::BTreeSet::new();
    for p in &parts {
        for s in &p.shards {
            counts.insert(count_of(s)?);
        }
    }
    if counts.len() > 1 {
        let listed: Vec<String> = counts.iter().map(|c| format!("/{c}")).collect();
        return Err(format!(
            "these results cut the sweep into different numbers of shards ({}): their seeds \
             overlap and leave gaps; merge the shards of one cut",
            listed.join(", ")
        ));
    }
    let mut parts = parts.into_iter();
    let mut merged = parts.next().ok_or("nothing to merge")?;
    for p in parts {
        if (p.file.as_str(), p.seeds.as_str()) != (merged.file.as_str(), merged.seeds.as_str()) {
            return Err(format!(
                "these results are of different sweeps: {} {} and {} {}",
                merged.file, merged.seeds, p.file, p.seeds
            ));
        }
        if let Some(dup) = p.shards.iter().find(|s| merged.shards.contains(s)) {
            return Err(format!("shard {dup} appears twice"));
        }
        merged.shards.extend(p.shards);
        merged.seeds_run += p.seeds_run;
        merged.stopped_early |= p.stopped_early;
        merged.failures.extend(p.failures);
        merged.contradictions.extend(p.contradictions);
        merged.wall_time_s += p.wall_time_s;
    }
    merged.shards.sort();
    if let Some(&count) = counts.iter().next() {
        let missing: Vec<String> = (0..count)
            .map(|i| format!("{i}/{count}"))
            .filter(|s| !merged.shards.contains(s))
            .collect();
        if !missing.is_empty() && !partial {
            return Err(format!(
                "shards {} of this sweep are missing; merge all {count} (or pass --partial \
                 to merge what is here)",
                missing.join(", ")
            ));
        }
        merged.missing_shards = missing;
    }
    merged.count();
    Ok(merged)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_and_shards_parse_and_refuse_nonsense() {
        assert_eq!("0..10".parse(), Ok(SeedRange { start: 0, end: 10 }));
        assert!("10..10".parse::<SeedRange>().is_err());
        assert!("ten..20".parse::<SeedRange>().is_err());
        assert_eq!(
            "3/16".parse(),
            Ok(Shard {
                index: 3,
                count: 16
            })
        );
        assert!("16/16".parse::<Shard>().is_err());
        assert!("1/0".parse::<Shard>().is_err());
    }
}
