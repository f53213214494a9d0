//! The virtual network ("packet simulator"): latency, loss, duplication and partitions.
//!
//! Every message a node sends passes through [`PacketSimulator::route`] at send time, which
//! decides, with draws from the network's own random stream, whether the message is lost
//! or blocked, how long it travels, and whether a duplicate follows it. Reordering is not a
//! separate knob: it falls out of random latency, as it does on real networks (jitter).
//!
//! Partitions are checked twice: when a message is sent, and again when it would be
//! delivered, because cutting a link also loses what was in flight on it.

use serde::{Deserialize, Serialize};

use crate::random::Random;
use crate::time::Duration;
use crate::NodeId;

/// How long a message takes from send to delivery.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, try_from = "LatencySpec")]
pub enum Latency {
    /// Always exactly this long.
    Constant(Duration),
    /// Uniform between `min` and `max`, inclusive.
    Uniform { min: Duration, max: Duration },
    /// Normal with this mean and standard deviation, clamped to [`min`, `max`].
    Normal {
        mean: Duration,
        stddev: Duration,
        min: Duration,
        max: Duration,
    },
    /// Exponential with this mean, clamped to [`min`, `max`]: a long tail of slow messages.
    Exponential {
        mean: Duration,
        min: Duration,
        max: Duration,
    },
}

/// How the scenario file spells a latency: clamps are optional there.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
enum LatencySpec {
    Constant(Duration),
    Uniform {
        min: Duration,
        max: Duration,
    },
    Normal {
        mean: Duration,
        stddev: Duration,
        #[serde(default)]
        min: Option<Duration>,
        #[serde(default)]
        max: Option<Duration>,
    },
    Exponential {
        mean: Duration,
        #[serde(default)]
        min: Option<Duration>,
        #[serde(default)]
        max: Option<Duration>,
    },
}

impl TryFrom<LatencySpec> for Latency {
    type Error = String;
    fn try_from(spec: LatencySpec) -> Result<Self, String> {
        let check = |min: Duration, max: Duration| {
            if min > max {
                Err(format!(
                    "latency min ({min}) is greater than its max ({max}); expected min <= max"
                ))
            } else {
                Ok(())
            }
        };
        Ok(match spec {
            LatencySpec::Constant(d) => Latency::Constant(d),
            LatencySpec::Uniform { min, max } => {
                check(min, max)?;
                Latency::Uniform { min, max }
            }
            LatencySpec::Normal {
                mean,
                stddev,
                min,
                max,
            } => {
                // Default clamps: never negative, and at most ten deviations above the mean.
                let min = min.unwrap_or_default();
                let max = max.unwrap_or(Duration(mean.0.saturating_add(10 * stddev.0)));
                check(min, max)?;
                Latency::Normal {
                    mean,
                    stddev,
                    min,
                    max,
                }
            }
            LatencySpec::Exponential { mean, min, max } => {
                let min = min.unwrap_or_default();
                let max = max.unwrap_or(Duration(mean.0.saturating_mul(20)));
                check(min, max)?;
                Latency::Exponential { mean, min, max }
            }
        })
    }
}

impl Latency {
    /// Draws one latency in nanoseconds.
    #[inline]
    pub fn sample_ns(&self, rng: &mut Random) -> u64 {
        match *self {
            Latency::Constant(d) => d.0,
            Latency::Uniform { min, max } => rng.between(min.0, max.0),
            Latency::Normal {
                mean,
                stddev,
                min,
                max,
            } => clamp_ns(rng.normal(mean.0 as f64, stddev.0 as f64), min, max),
            Latency::Exponential { mean, min, max } => {
                clamp_ns(rng.exponential(mean.0 as f64), min, max)
            }
        }
    }
}

fn clamp_ns(x: f64, min: Duration, max: Duration) -> u64 {
    (x.max(0.0) as u64).clamp(min.0, max.0)
}

impl Default for Latency {
    fn default() -> Self {
        Latency::Uniform {
            min: Duration::from_ms(1),
            max: Duration::from_ms(5),
        }
    }
}

/// The behaviour of one directed link.
#[derive(Clone, Debug, PartialEq)]
pub struct LinkOptions {
    pub latency: Latency,
    /// Probability that a message is lost.
    pub loss: f64,
    /// Probability that a message is delivered twice (each copy with its own latency).
    pub duplicate: f64,
}

impl Default for LinkOptions {
    fn default() -> Self {
        LinkOptions {
            latency: Latency::default(),
            loss: 0.0,
            duplicate: 0.0,
        }
    }
}

/// Why a message did not arrive.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DropReason {
    /// Lost by the link's loss probability.
    Loss,
    /// Sender and receiver were on different sides of a partition.
    Partition,
    /// The receiver was down when the message arrived.
    Crashed,
}

impl DropReason {
    pub fn as_str(self) -> &'static str {
        match self {
            DropReason::Loss => "loss",
            DropReason::Partition => "partition",
            DropReason::Crashed => "crashed",
        }
    }
}

/// What the network decided for one send.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Route {
    Dropped(DropReason),
    /// Delivered after `latency_ns`; if `duplicate_ns` is set, a second copy after that.
    Delivered {
        latency_ns: u64,
        duplicate_ns: Option<u64>,
    },
}

/// A one-way cut: nodes marked in `from` cannot reach nodes marked in `to`.
#[derive(Clone, Debug)]
struct OneWayCut {
    from: Vec<bool>,
    to: Vec<bool>,
}

/// Message counters, as reported in a run's summary.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct MessageStats {
    pub sent: u64,
    pub delivered: u64,
    pub dropped: u64,
    pub duplicated: u64,
    pub dropped_loss: u64,
    pub dropped_partition: u64,
    pub dropped_crashed: u64,
}

impl MessageStats {
    pub fn count_drop(&mut self, reason: DropReason) {
        self.dropped += 1;
        match reason {
            DropReason::Loss => self.dropped_loss += 1,
            DropReason::Partition => self.dropped_partition += 1,
            DropReason::Crashed => self.dropped_crashed += 1,
        }
    }
}

/// The network between `n` nodes.
#[derive(Clone, Debug)]
pub struct PacketSimulator {
    default: LinkOptions,
    /// Per-link overrides, sorted by (from, to) for binary search; usually empty.
    overrides: Vec<((NodeId, NodeId), LinkOptions)>,
    /// Partition group of each node; nodes in different groups cannot talk.
    group: Vec<u32>,
    one_way: Vec<OneWayCut>,
    /// True when any partition or cut is in force: the common case skips all checks.
    partitioned: bool,
    rng: Random,
    pub stats: MessageStats,
}

impl PacketSimulator {
    pub fn new(node_count: usize, default: LinkOptions, rng: Random) -> Self {
        PacketSimulator {
            default,
            overrides: Vec::new(),
            group: vec![0; node_count],
            one_way: Vec::new(),
            partitioned: false,
            rng,
            stats: MessageStats::default(),
        }
    }

    /// Sets the options of the directed link `from → to`.
    pub fn set_link(&mut self, from: NodeId, to: NodeId, options: LinkOptions) {
        match self
            .overrides
            .binary_search_by_key(&(from, to), |(k, _)| *k)
        {
            Ok(i) => self.overrides[i].1 = options,
            Err(i) => self.overrides.insert(i, ((from, to), options)),
        }
    }

    pub fn default_link(&self) -> &LinkOptions {
        &self.default
    }

    pub fn link(&self, from: NodeId, to: NodeId) -> &LinkOptions {
        if self.overrides.is_empty() {
            return &self.default;
        }
        match self
            .overrides
            .binary_search_by_key(&(from, to), |(k, _)| *k)
        {
            Ok(i) => &self.overrides[i].1,
            Err(_) => &self.default,
        }
    }

    /// Changes the loss probability of every link (default and overrides).
    pub fn set_loss(&mut self, loss: f64) {
        self.default.loss = loss;
        self.overrides.iter_mut().for_each(|(_, o)| o.loss = loss);
    }

    /// Changes the duplication probability of every link.
    pub fn set_duplicate(&mut self, p: f64) {
        self.default.duplicate = p;
        self.overrides.iter_mut().for_each(|(_, o)| o.duplicate = p);
    }

    /// Changes the latency of every link.
    pub fn set_latency(&mut self, latency: Latency) {
        self.default.latency = latency.clone();
        self.overrides
            .iter_mut()
            .for_each(|(_, o)| o.latency = latency.clone());
    }

    /// Splits the nodes into groups that cannot reach each other. Nodes named in no group
    /// form one more group together.
    pub fn partition(&mut self, groups: &[Vec<NodeId>]) {
        self.group.iter_mut().for_each(|g| *g = 0);
        for (i, members) in groups.iter().enumerate() {
            for &n in members {
                self.group[n as usize] = i as u32 + 1;
            }
        }
        self.partitioned = true;
    }

    /// Blocks messages from every node in `from` to every node in `to`, not the reverse.
    pub fn partition_one_way(&mut self, from: &[NodeId], to: &[NodeId]) {
        let n = self.group.len();
        let mut cut = OneWayCut {
            from: vec![false; n],
            to: vec![false; n],
        };
        from.iter().for_each(|&a| cut.from[a as usize] = true);
        to.iter().for_each(|&b| cut.to[b as usize] = true);
        self.one_way.push(cut);
        self.partitioned = true;
    }

    /// Removes every partition and one-way cut.
    pub fn heal(&mut self) {
        self.group.iter_mut().for_each(|g| *g = 0);
        self.one_way.clear();
        self.partitioned = false;
    }

    /// Whether `from` can currently reach `to`.
    #[inline]
    pub fn reachable(&self, from: NodeId, to: NodeId) -> bool {
        if !self.partitioned || from == to {
            return true;
        }
        let (a, b) = (from as usize, to as usize);
        self.group[a] == self.group[b] && !self.one_way.iter().any(|c| c.from[a] && c.to[b])
    }

    /// Decides the fate of one message sent now from `from` to `to`.
    #[inline(always)]
    pub fn route(&mut self, from: NodeId, to: NodeId) -> Route {
        self.stats.sent += 1;
        if !self.reachable(from, to) {
            self.stats.count_drop(DropReason::Partition);
            return Route::Dropped(DropReason::Partition);
        }
        // Index instead of borrowing `self.link()`, so the borrow of the rng stays disjoint.
        let link = if self.overrides.is_empty() {
            &self.default
        } else {
            match self
                .overrides
                .binary_search_by_key(&(from, to), |(k, _)| *k)
            {
                Ok(i) => &self.overrides[i].1,
                Err(_) => &self.default,
            }
        };
        if link.loss > 0.0 && self.rng.chance(link.loss) {
            self.stats.count_drop(DropReason::Loss);
            return Route::Dropped(DropReason::Loss);
        }
        let latency_ns = link.latency.sample_ns(&mut self.rng);
        let duplicate_ns = if link.duplicate > 0.0 && self.rng.chance(link.duplicate) {
            self.stats.duplicated += 1;
            Some(link.latency.sample_ns(&mut self.rng))
        } else {
            None
        };
        Route::Delivered {
            latency_ns,
            duplicate_ns,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::random::Stream;

    fn net(n: usize, loss: f64) -> PacketSimulator {
        PacketSimulator::new(
            n,
            LinkOptions {
                loss,
                ..LinkOptions::default()
            },
            Random::new(3, Stream::Network),
        )
    }

    #[test]
    fn observed_loss_matches_configured_loss() {
        let mut p = net(2, 0.1);
        let trials = 100_000;
        let lost = (0..trials)
            .filter(|_| matches!(p.route(0, 1), Route::Dropped(DropReason::Loss)))
            .count();
        let rate = lost as f64 / trials as f64;
        assert!((rate - 0.1).abs() < 0.005, "observed loss {rate}");
        assert_eq!(p.stats.dropped_loss, lost as u64);
    }

    #[test]
    fn duplication_rate_and_latency_bounds() {
        let mut p = PacketSimulator::new(
            2,
            LinkOptions {
                duplicate: 0.2,
                latency: Latency::Uniform {
                    min: Duration(10),
                    max: Duration(20),
                },
                loss: 0.0,
            },
            Random::new(3, Stream::Network),
        );
        let mut dups = 0;
        for _ in 0..50_000 {
            match p.route(0, 1) {
                Route::Delivered {
                    latency_ns,
                    duplicate_ns,
                } => {
                    assert!((10..=20).contains(&latency_ns));
                    dups += duplicate_ns.is_some() as u32;
                }
                Route::Dropped(r) => panic!("dropped: {r:?}"),
            }
        }
        assert!((dups as f64 / 50_000.0 - 0.2).abs() < 0.01);
    }

    #[test]
    fn one_way_partition_blocks_exactly_one_direction() {
        let mut p = net(3, 0.0);
        p.partition_one_way(&[0], &[1]);
        assert!(!p.reachable(0, 1));
        assert!(p.reachable(1, 0));
        assert!(p.reachable(0, 2) && p.reachable(2, 1));
        assert_eq!(p.route(0, 1), Route::Dropped(DropReason::Partition));
        assert!(matches!(p.route(1, 0), Route::Delivered { .. }));
        p.heal();
        assert!(p.reachable(0, 1));
    }

    #[test]
    fn group_partition_and_unlisted_nodes() {
        let mut p = net(5, 0.0);
        p.partition(&[vec![0, 1], vec![2]]);
        assert!(p.reachable(0, 1));
        assert!(!p.reachable(0, 2) && !p.reachable(2, 0));
        // 3 and 4 were named in no group: they form one more group together.
        assert!(p.reachable(3, 4));
        assert!(!p.reachable(3, 0) && !p.reachable(2, 4));
    }

    #[test]
    fn link_overrides_apply_in_one_direction() {
        let mut p = net(2, 0.0);
        p.set_link(
            0,
            1,
            LinkOptions {
                loss: 1.0,
                ..LinkOptions::default()
            },
        );
        assert_eq!(p.route(0, 1), Route::Dropped(DropReason::Loss));
        assert!(matches!(p.route(1, 0), Route::Delivered { .. }));
    }

    #[test]
    fn latency_distributions_stay_in_their_clamps() {
        let mut rng = Random::new(9, Stream::Network);
        let normal = Latency::Normal {
            mean: Duration(1000),
            stddev: Duration(500),
            min: Duration(200),
            max: Duration(1500),
        };
        let exp = Latency::Exponential {
            mean: Duration(1000),
            min: Duration(0),
            max: Duration(3000),
        };
        let (mut sum, n) = (0u64, 20_000);
        for _ in 0..n {
            let x = normal.sample_ns(&mut rng);
            assert!((200..=1500).contains(&x));
            let y = exp.sample_ns(&mut rng);
            assert!(y <= 3000);
            sum += y;
        }
        let mean = sum as f64 / n as f64;
        assert!(
            mean > 800.0 && mean < 1000.0,
            "clamped exponential mean {mean}"
        );
    }
}
