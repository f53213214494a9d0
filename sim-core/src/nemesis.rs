//! The random nemesis: faults nobody wrote down, drawn from the seed.
//!
//! Each kind of fault the scenario enables is a Poisson process: the gap between two
//! strikes is exponential with mean `every`, and what a strike breaks (a crash, a pause, a
//! partition) lasts an exponential time with mean `lasts` before it is undone. Strikes stop
//! at `stop`; what was broken is still undone after it, so a run ends with every node up
//! and the network whole, and liveness can be judged. The nemesis draws from its own
//! stream (`Stream::Faults`), so enabling it does not change the network's draws.

use serde::{Deserialize, Serialize};

use crate::faults::Fault;
use crate::random::Random;
use crate::time::{Duration, SignedDuration};
use crate::NodeId;

/// A nemesis that strikes more often than every millisecond is no fault schedule: it is
/// a flood of events that would run for ever.
fn at_least_a_millisecond<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
    let v = Duration::deserialize(d)?;
    if v.0 < crate::time::NS_PER_MS {
        return Err(serde::de::Error::custom(format!(
            "the nemesis strikes every {v} on average: it must be at least 1ms"
        )));
    }
    Ok(v)
}

/// How often a kind of fault strikes and how long it lasts (both means).
#[derive(Clone, Copy, Debug, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct FaultRate {
    /// Mean virtual time between two strikes, at least 1ms.
    #[serde(deserialize_with = "at_least_a_millisecond")]
    pub every: Duration,
    /// Mean time until the fault is undone (restart, resume, heal).
    pub lasts: Duration,
}

/// How often clocks jump, and by how much at most (either direction).
#[derive(Clone, Copy, Debug, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ClockJumpRate {
    #[serde(deserialize_with = "at_least_a_millisecond")]
    pub every: Duration,
    pub max: Duration,
}

/// The nemesis section of a scenario. `N` is how it names its targets: by name in a
/// scenario file, by [`NodeId`] in [`SimOptions`](crate::SimOptions).
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize)]
#[serde(
    deny_unknown_fields,
    try_from = "NemesisSpec<N>",
    bound(deserialize = "N: Deserialize<'de>")
)]
pub struct NemesisOptions<N> {
    /// No strike before this time.
    #[serde(default)]
    pub start: Duration,
    /// No strike after this time (default: the run's time limit).
    #[serde(default)]
    pub stop: Option<Duration>,
    /// Nodes the nemesis may crash, pause, partition or jump the clock of (default: all).
    /// A partition splits the targets in two sides at random; nodes that are not targets
    /// are in neither side, and the network puts unlisted nodes in a group of their own,
    /// so for the partition's duration they are cut off from both sides.
    #[serde(default = "Vec::new", skip_serializing_if = "Vec::is_empty")]
    pub targets: Vec<N>,
    #[serde(default)]
    pub crash: Option<FaultRate>,
    #[serde(default)]
    pub pause: Option<FaultRate>,
    #[serde(default)]
    pub partition: Option<FaultRate>,
    #[serde(default)]
    pub clock_jump: Option<ClockJumpRate>,
}

/// The kinds of strike, in a fixed order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StrikeKind {
    Crash,
    Pause,
    Partition,
    ClockJump,
}

impl StrikeKind {
    pub const ALL: [StrikeKind; 4] = [
        StrikeKind::Crash,
        StrikeKind::Pause,
        StrikeKind::Partition,
        StrikeKind::ClockJump,
    ];
}

/// What the nemesis needs to know about the cluster to pick a victim.
pub trait ClusterState {
    fn is_up(&self, node: NodeId) -> bool;
    fn is_paused(&self, node: NodeId) -> bool;
}

/// One strike: the fault now, and optionally its undoing after a delay.
#[derive(Clone, Debug, PartialEq)]
pub struct Strike {
    pub fault: Fault<NodeId>,
    pub undo: Option<(u64, Fault<NodeId>)>,
}

/// The running nemesis.
#[derive(Clone, Debug)]
pub struct Nemesis {
    start_ns: u64,
    stop_ns: u64,
    targets: Vec<NodeId>,
    crash: Option<FaultRate>,
    pause: Option<FaultRate>,
    partition: Option<FaultRate>,
    clock_jump: Option<ClockJumpRate>,
    /// True while a partition this nemesis made is in force: it makes one at a time.
    partitioned: bool,
    rng: Random,
}

/// The nemesis section as written, before its fields are checked against each other.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NemesisSpec<N> {
    #[serde(default)]
    start: Duration,
    #[serde(default)]
    stop: Option<Duration>,
    #[serde(default = "Vec::new")]
    targets: Vec<N>,
    #[serde(default)]
    crash: Option<FaultRate>,
    #[serde(default)]
    pause: Option<FaultRate>,
    #[serde(default)]
    partition: Option<FaultRate>,
    #[serde(default)]
    clock_jump: Option<ClockJumpRate>,
}

impl<N> TryFrom<NemesisSpec<N>> for NemesisOptions<N> {
    type Error = String;
    fn try_from(s: NemesisSpec<N>) -> Result<Self, String> {
        if let Some(stop) = s.stop {
            if stop <= s.start {
                return Err(format!(
                    "the nemesis stops ({stop}) before it starts ({}): it would never strike",
                    s.start
                ));
            }
        }
        Ok(NemesisOptions {
            start: s.start,
            stop: s.stop,
            targets: s.targets,
            crash: s.crash,
            pause: s.pause,
            partition: s.partition,
            clock_jump: s.clock_jump,
        })
    }
}

impl<N> Default for NemesisOptions<N> {
    fn default() -> Self {
        NemesisOptions {
            start: Duration::default(),
            stop: None,
            targets: Vec::new(),
            crash: None,
            pause: None,
            partition: None,
            clock_jump: None,
        }
    }
}

impl<N> NemesisOptions<N> {
    /// The same options with the targets named another way; `Err` if one cannot be.
    pub fn map_targets<M, E>(
        self,
        f: impl FnMut(&N) -> Result<M, E>,
    ) -> Result<NemesisOptions<M>, E> {
        Ok(NemesisOptions {
            targets: self.targets.iter().map(f).collect::<Result<_, _>>()?,
            start: self.start,
            stop: self.stop,
            crash: self.crash,
            pause: self.pause,
            partition: self.partition,
            clock_jump: self.clock_jump,
        })
    }
}

impl Nemesis {
    /// A nemesis over a cluster of `node_count`; no targets means every node.
    pub fn new(
        options: &NemesisOptions<NodeId>,
        node_count: u32,
        time_limit_ns: u64,
        rng: Random,
    ) -> Self {
        let targets = if options.targets.is_empty() {
            (0..node_count).collect()
        } else {
            options.targets.clone()
        };
        Nemesis {
            start_ns: options.start.0,
            stop_ns: options.stop.map_or(time_limit_ns, |d| d.0),
            targets,
            crash: options.crash,
            pause: options.pause,
            partition: options.partition,
            clock_jump: options.clock_jump,
            partitioned: false,
            rng,
        }
    }

    fn mean_gap_ns(&self, kind: StrikeKind) -> Option<u64> {
        match kind {
            StrikeKind::Crash => self.crash.map(|r| r.every.0),
            StrikeKind::Pause => self.pause.map(|r| r.every.0),
            StrikeKind::Partition => self.partition.map(|r| r.every.0),
            StrikeKind::ClockJump => self.clock_jump.map(|r| r.every.0),
        }
    }

    /// When `kind` strikes next after `now_ns`, or `None` if it is off or past `stop`.
    pub fn next_strike_ns(&mut self, kind: StrikeKind, now_ns: u64) -> Option<u64> {
        let mean = self.mean_gap_ns(kind)?;
        let from = now_ns.max(self.start_ns);
        let at = from.saturating_add(self.exp_ns(mean));
        (at <= self.stop_ns).then_some(at)
    }

    fn exp_ns(&mut self, mean_ns: u64) -> u64 {
        (self.rng.exponential(mean_ns as f64) as u64).max(1)
    }

    fn pick(&mut self, eligible: impl Fn(NodeId) -> bool) -> Option<NodeId> {
        let candidates: Vec<NodeId> = self
            .targets
            .iter()
            .copied()
            .filter(|&n| eligible(n))
            .collect();
        if candidates.is_empty() {
            return None;
        }
        Some(candidates[self.rng.below(candidates.len() as u64) as usize])
    }

    /// Strikes now; `None` when there is nothing to strike (every target down, say).
    pub fn strike(&mut self, kind: StrikeKind, cluster: &impl ClusterState) -> Option<Strike> {
        match kind {
            StrikeKind::Crash => {
                let rate = self.crash?;
                let node = self.pick(|n| cluster.is_up(n))?;
                let down = self.exp_ns(rate.lasts.0);
                Some(Strike {
                    fault: Fault::Crash(node),
                    undo: Some((down, Fault::Restart(node))),
                })
            }
            StrikeKind::Pause => {
                let rate = self.pause?;
                let node = self.pick(|n| cluster.is_up(n) && !cluster.is_paused(n))?;
                let duration = Duration(self.exp_ns(rate.lasts.0));
                Some(Strike {
                    fault: Fault::Pause { node, duration },
                    undo: None,
                })
            }
            StrikeKind::Partition => {
                let rate = self.partition?;
                if self.partitioned || self.targets.len() < 2 {
                    return None;
                }
                let mut sides = (Vec::new(), Vec::new());
                for &n in &self.targets {
                    if self.rng.chance(0.5) {
                        sides.0.push(n)
                    } else {
                        sides.1.push(n)
                    }
                }
                // Both sides must hold someone, or it is no partition at all.
                if sides.0.is_empty() {
                    sides.0.push(sides.1.pop().expect("two or more targets"));
                } else if sides.1.is_empty() {
                    sides.1.push(sides.0.pop().expect("two or more targets"));
                }
                self.partitioned = true;
                let lasts = self.exp_ns(rate.lasts.0);
                Some(Strike {
                    fault: Fault::Partition(vec![sides.0, sides.1]),
                    undo: Some((lasts, Fault::Heal)),
                })
            }
            StrikeKind::ClockJump => {
                let rate = self.clock_jump?;
                let node = self.pick(|_| true)?;
                let max = rate.max.0.min(i64::MAX as u64) as i64;
                let by = self.rng.between(0, 2 * max as u64) as i64 - max;
                Some(Strike {
                    fault: Fault::ClockJump {
                        node,
                        by: SignedDuration(by),
                    },
                    undo: None,
                })
            }
        }
    }

    /// Called when any heal is applied, so the nemesis may partition again.
    pub fn healed(&mut self) {
        self.partitioned = false;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::random::Stream;

    struct AllUp;
    impl ClusterState for AllUp {
        fn is_up(&self, _: NodeId) -> bool {
            true
        }
        fn is_paused(&self, _: NodeId) -> bool {
            false
        }
    }
    struct OnlyTwoUp;
    impl ClusterState for OnlyTwoUp {
        fn is_up(&self, n: NodeId) -> bool {
            n == 2
        }
        fn is_paused(&self, _: NodeId) -> bool {
            false
        }
    }

    fn options() -> NemesisOptions<NodeId> {
        let rate = FaultRate {
            every: Duration::from_secs(1),
            lasts: Duration::from_ms(100),
        };
        NemesisOptions {
            start: Duration::from_ms(500),
            stop: Some(Duration::from_secs(10)),
            crash: Some(rate),
            pause: Some(rate),
            partition: Some(rate),
            clock_jump: Some(ClockJumpRate {
                every: Duration::from_secs(1),
                max: Duration::from_ms(50),
            }),
            ..NemesisOptions::default()
        }
    }

    #[test]
    fn strikes_fall_inside_the_window_at_the_configured_rate() {
        let mut n = Nemesis::new(
            &options(),
            4,
            60_000_000_000,
            Random::new(1, Stream::Faults),
        );
        let mut t = 0;
        let mut count = 0;
        while let Some(at) = n.next_strike_ns(StrikeKind::Crash, t) {
            assert!(at > 500_000_000 && at <= 10_000_000_000);
            t = at;
            count += 1;
        }
        // 9.5 s of window at one strike per second on average.
        assert!((4..=20).contains(&count), "{count} strikes");
    }

    #[test]
    fn victims_are_eligible_and_partitions_have_two_sides() {
        let mut n = Nemesis::new(
            &options(),
            4,
            60_000_000_000,
            Random::new(2, Stream::Faults),
        );
        for _ in 0..50 {
            let s = n.strike(StrikeKind::Crash, &OnlyTwoUp).unwrap();
            assert_eq!(s.fault, Fault::Crash(2));
            assert!(matches!(s.undo, Some((d, Fault::Restart(2))) if d >= 1));
        }
        let p = n.strike(StrikeKind::Partition, &AllUp).unwrap();
        match &p.fault {
            Fault::Partition(g) => {
                assert_eq!(g.len(), 2);
                assert!(!g[0].is_empty() && !g[1].is_empty());
                assert_eq!(g[0].len() + g[1].len(), 4);
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(
            n.strike(StrikeKind::Partition, &AllUp),
            None,
            "one at a time"
        );
        n.healed();
        assert!(n.strike(StrikeKind::Partition, &AllUp).is_some());
        for _ in 0..50 {
            match n.strike(StrikeKind::ClockJump, &AllUp).unwrap().fault {
                Fault::ClockJump { by, .. } => assert!(by.0.abs() <= 50_000_000),
                other => panic!("{other:?}"),
            }
        }
    }

    #[test]
    fn targets_limit_the_victims() {
        let mut n = Nemesis::new(
            &NemesisOptions {
                targets: vec![3],
                ..options()
            },
            4,
            60_000_000_000,
            Random::new(3, Stream::Faults),
        );
        for _ in 0..20 {
            match n.strike(StrikeKind::Pause, &AllUp).unwrap().fault {
                Fault::Pause { node, .. } => assert_eq!(node, 3),
                other => panic!("{other:?}"),
            }
        }
    }
}
