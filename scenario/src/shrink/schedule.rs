//! The fault schedule as the shrinker sees it: episodes, and their spans in time.
//!
//! Faults come in episodes that only make sense together: a crash and the restart that
//! ends it, a partition and the heal that ends it. Delta debugging drops whole episodes,
//! so that it never leaves a node down for good, or the network cut for good, just because
//! the fault that undid it was dropped; that would be a different, and usually less
//! interesting, failure. Within an episode, the span from its first fault to its end is
//! what the shrinker narrows.

use sim_core::{Duration, Fault, TimedFault};

use crate::NodeName;

pub type Schedule = Vec<TimedFault<NodeName>>;

/// The schedule in episodes, each a list of indices into `faults`, ordered by first fault.
pub fn episodes(faults: &[TimedFault<NodeName>]) -> Vec<Vec<usize>> {
    let mut episodes: Vec<Vec<usize>> = Vec::new();
    // Which episode holds the crash of a node that has not restarted yet.
    let mut open_crashes: Vec<(&NodeName, usize)> = Vec::new();
    // Episodes with partitions that no heal has ended yet.
    let mut open_partitions: Vec<usize> = Vec::new();
    for (i, tf) in faults.iter().enumerate() {
        match &tf.fault {
            Fault::Crash(node) => {
                open_crashes.retain(|(n, _)| *n != node);
                open_crashes.push((node, episodes.len()));
                episodes.push(vec![i]);
            }
            Fault::Restart(node) => match open_crashes.iter().position(|(n, _)| *n == node) {
                Some(k) => {
                    let (_, e) = open_crashes.remove(k);
                    episodes[e].push(i);
                }
                None => episodes.push(vec![i]),
            },
            Fault::Partition(_) | Fault::PartitionOneWay { .. } => {
                open_partitions.push(episodes.len());
                episodes.push(vec![i]);
            }
            // A heal ends every open partition, so they become one episode with it.
            Fault::Heal if !open_partitions.is_empty() => {
                let first = open_partitions[0];
                for &e in open_partitions[1..].iter().rev() {
                    let moved = std::mem::take(&mut episodes[e]);
                    episodes[first].extend(moved);
                }
                episodes[first].push(i);
                episodes[first].sort_unstable();
                open_partitions.clear();
            }
            _ => episodes.push(vec![i]),
        }
    }
    episodes.retain(|e| !e.is_empty());
    episodes
}

/// The faults of the chosen episodes, in time order (ties keep their order in `faults`).
pub fn select(faults: &[TimedFault<NodeName>], chosen: &[Vec<usize>]) -> Schedule {
    let mut indices: Vec<usize> = chosen.iter().flatten().copied().collect();
    indices.sort_unstable();
    let mut out: Schedule = indices.into_iter().map(|i| faults[i].clone()).collect();
    out.sort_by_key(|tf| tf.at);
    out
}

/// An episode's extent in time, in the shapes the shrinker knows how to narrow.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Span {
    /// A pause: from its fault's time for its duration.
    Pause { index: usize },
    /// A fault and the one that undoes it (crash and restart, partition and heal).
    Pair { open: usize, close: usize },
    /// A fault that happens at one instant (clock jump, loss change, a crash for good).
    Instant { index: usize },
}

impl Span {
    pub fn of(faults: &[TimedFault<NodeName>], episode: &[usize]) -> Option<Span> {
        match *episode {
            [index] => Some(match faults[index].fault {
                Fault::Pause { .. } => Span::Pause { index },
                _ => Span::Instant { index },
            }),
            [open, close] => Some(Span::Pair { open, close }),
            _ => None,
        }
    }

    pub fn start_ns(self, faults: &[TimedFault<NodeName>]) -> u64 {
        match self {
            Span::Pause { index } | Span::Instant { index } => faults[index].at.0,
            Span::Pair { open, .. } => faults[open].at.0,
        }
    }

    /// When the episode is over; `None` for an instant.
    pub fn end_ns(self, faults: &[TimedFault<NodeName>]) -> Option<u64> {
        match self {
            Span::Pause { index } => match &faults[index].fault {
                Fault::Pause { duration, .. } => Some(faults[index].at.0 + duration.0),
                _ => None,
            },
            Span::Pair { close, .. } => Some(faults[close].at.0),
            Span::Instant { .. } => None,
        }
    }

    /// The schedule with this episode ending at `end_ns` instead (a shorter pause, an
    /// earlier restart or heal). Nothing changes for an instant.
    pub fn with_end(self, faults: &[TimedFault<NodeName>], end_ns: u64) -> Schedule {
        let mut out = faults.to_vec();
        match self {
            Span::Pause { index } => {
                let at = out[index].at.0;
                if let Fault::Pause { duration, .. } = &mut out[index].fault {
                    *duration = Duration(end_ns.saturating_sub(at));
                }
            }
            Span::Pair { close, .. } => out[close].at = Duration(end_ns),
            Span::Instant { .. } => {}
        }
        out.sort_by_key(|tf| tf.at);
        out
    }

    /// The schedule with this episode starting at `start_ns` instead, its end unchanged.
    pub fn with_start(self, faults: &[TimedFault<NodeName>], start_ns: u64) -> Schedule {
        let end = self.end_ns(faults);
        let mut out = faults.to_vec();
        match self {
            Span::Pause { index } => {
                out[index].at = Duration(start_ns);
                if let (Fault::Pause { duration, .. }, Some(end)) = (&mut out[index].fault, end) {
                    *duration = Duration(end.saturating_sub(start_ns));
                }
            }
            Span::Pair { open, .. } => out[open].at = Duration(start_ns),
            Span::Instant { index } => out[index].at = Duration(start_ns),
        }
        out.sort_by_key(|tf| tf.at);
        out
    }
}

/// The schedule with every time and pause duration rounded to a whole millisecond (the
/// nearest one, or the one before with `down`), keeping pauses at least 1ms long: easier
/// to read, and usually the same failure.
pub fn rounded_to_ms(faults: &[TimedFault<NodeName>], down: bool) -> Schedule {
    const MS: u64 = 1_000_000;
    let half = if down { 0 } else { MS / 2 };
    let round = |ns: u64| (ns + half) / MS * MS;
    let mut out = faults.to_vec();
    for tf in &mut out {
        tf.at = Duration(round(tf.at.0));
        if let Fault::Pause { duration, .. } = &mut tf.fault {
            *duration = Duration(round(duration.0).max(MS));
        }
    }
    out.sort_by_key(|tf| tf.at);
    out
}

/// The same fault schedule with only the nodes in `known`: faults that name a node that
/// is gone are dropped, and partitions lose the missing members.
pub fn keep_nodes(faults: &[TimedFault<NodeName>], known: &[String]) -> Schedule {
    let has = |n: &NodeName| known.contains(&n.0);
    let keep = |v: &Vec<NodeName>| v.iter().filter(|n| has(n)).cloned().collect::<Vec<_>>();
    faults
        .iter()
        .filter_map(|tf| {
            let fault = match &tf.fault {
                Fault::Crash(n) | Fault::Restart(n) if !has(n) => return None,
                Fault::Pause { node, .. }
                | Fault::ClockJump { node, .. }
                | Fault::ClockDrift { node, .. }
                    if !has(node) =>
                {
                    return None
                }
                Fault::Partition(groups) => {
                    let groups: Vec<Vec<NodeName>> = groups
                        .iter()
                        .map(keep)
                        .filter(|g: &Vec<NodeName>| !g.is_empty())
                        .collect();
                    Fault::Partition(groups)
                }
                Fault::PartitionOneWay { from, to } => {
                    let (from, to) = (keep(from), keep(to));
                    if from.is_empty() || to.is_empty() {
                        return None;
                    }
                    Fault::PartitionOneWay { from, to }
                }
                other => other.clone(),
            };
            Some(TimedFault { at: tf.at, fault })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(ms: u64, fault: Fault<NodeName>) -> TimedFault<NodeName> {
        TimedFault {
            at: Duration::from_ms(ms),
            fault,
        }
    }

    fn n(name: &str) -> NodeName {
        NodeName(name.to_string())
    }

    fn schedule() -> Schedule {
        vec![
            at(100, Fault::Crash(n("a"))),
            at(
                150,
                Fault::Pause {
                    node: n("b"),
                    duration: Duration::from_ms(300),
                },
            ),
            at(
                200,
                Fault::Partition(vec![vec![n("a")], vec![n("b"), n("c")]]),
            ),
            at(250, Fault::Restart(n("a"))),
            at(
                300,
                Fault::PartitionOneWay {
                    from: vec![n("c")],
                    to: vec![n("b")],
                },
            ),
            at(400, Fault::Heal),
            at(500, Fault::Restart(n("c"))),
        ]
    }

    #[test]
    fn crashes_pair_with_their_restarts_and_a_heal_closes_every_open_partition() {
        assert_eq!(
            episodes(&schedule()),
            vec![vec![0, 3], vec![1], vec![2, 4, 5], vec![6]]
        );
    }

    #[test]
    fn dropping_an_episode_drops_all_of_its_faults() {
        let s = schedule();
        let kept = select(&s, &[vec![1], vec![0, 3]]);
        let kinds: Vec<&str> = kept.iter().map(|tf| tf.fault.kind()).collect();
        assert_eq!(kinds, ["crash", "pause", "restart"]);
    }

    #[test]
    fn spans_move_their_ends_and_starts() {
        let s = schedule();
        let pause = Span::of(&s, &[1]).unwrap();
        assert_eq!(pause, Span::Pause { index: 1 });
        assert_eq!(pause.end_ns(&s), Some(450_000_000));
        let shorter = pause.with_end(&s, 200_000_000);
        assert_eq!(
            shorter[1].fault,
            Fault::Pause {
                node: n("b"),
                duration: Duration::from_ms(50)
            }
        );
        let later = pause.with_start(&s, 420_000_000);
        let moved = later.iter().find(|tf| tf.fault.kind() == "pause").unwrap();
        assert_eq!(moved.at, Duration::from_ms(420));
        assert_eq!(
            moved.fault,
            Fault::Pause {
                node: n("b"),
                duration: Duration::from_ms(30)
            }
        );
        let crash = Span::of(&s, &[0, 3]).unwrap();
        let earlier_restart = crash.with_end(&s, 120_000_000);
        assert_eq!(earlier_restart[1].fault, Fault::Restart(n("a")));
        assert_eq!(earlier_restart[1].at, Duration::from_ms(120));
        assert!(Span::of(&s, &[2, 4, 5]).is_none());
    }

    #[test]
    fn removed_nodes_leave_the_schedule() {
        let kept = keep_nodes(&schedule(), &["b".to_string(), "c".to_string()]);
        let kinds: Vec<&str> = kept.iter().map(|tf| tf.fault.kind()).collect();
        assert_eq!(
            kinds,
            ["pause", "partition", "partition_one_way", "heal", "restart"]
        );
        assert_eq!(kept[1].fault, Fault::Partition(vec![vec![n("b"), n("c")]]));
    }

    #[test]
    fn rounding_keeps_pauses_alive() {
        let s = vec![TimedFault {
            at: Duration(1_499_999),
            fault: Fault::Pause {
                node: n("a"),
                duration: Duration(200_000),
            },
        }];
        let r = rounded_to_ms(&s, false);
        assert_eq!(r[0].at, Duration::from_ms(1));
        assert_eq!(
            r[0].fault,
            Fault::Pause {
                node: n("a"),
                duration: Duration::from_ms(1)
            }
        );
    }
}
