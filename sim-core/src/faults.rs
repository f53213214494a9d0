//! The fault model: what can go wrong, and when.
//!
//! A [`Fault`] is one thing done to the cluster at one virtual time. Scenario files list
//! them by node name (`Fault<NodeName>`); the simulation applies them by node id
//! (`Fault<NodeId>`). The random nemesis produces the same faults, so every run's concrete
//! schedule can be read back from its trace and its summary, whoever injected it.
//!
//! Semantics, as the simulation applies them:
//! - `Crash`: the process dies. Its volatile state (the node value) and its unsynced
//!   storage writes are lost, its pending timers never fire, and messages that reach it
//!   while it is down are dropped. Crashing a node that is down does nothing.
//! - `Restart`: a fresh node is built and `on_restart` runs on the synced storage.
//! - `Pause`: the process freezes for `duration` (a GC pause, a stopped VM, SIGSTOP). It runs
//!   no handler and no timer. Messages that arrive meanwhile wait in its socket buffer and
//!   timers that come due wait too; on resume they are handled in arrival order, at the
//!   resume time, while the node still holds the stale view it had before the pause. Its
//!   clock keeps running. This is the schedule that breaks locks without fencing.
//! - `Partition`: nodes in different groups cannot reach each other; nodes named in no
//!   group form one more group. It replaces any earlier partition but keeps one-way cuts.
//! - `PartitionOneWay`: messages from `from` to `to` are lost; the reverse still flows.
//! - `Heal`: removes every partition and one-way cut.
//! - `SetLoss`, `SetDuplicate`, `SetLatency`: change every link from now on.
//! - `ClockJump`: steps one node's clock by a signed amount. `ClockDrift`: sets the rate
//!   error of its clock in parts per million from now on (positive runs fast).

use serde::{Deserialize, Serialize};

use crate::network::Latency;
use crate::probability::Probability;
use crate::time::Ppm;
use crate::time::{format_ns, Duration, SignedDuration};
use crate::NodeId;

/// One fault. `N` is how nodes are named: a name in scenario files, an id in the engine.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub enum Fault<N> {
    Crash(N),
    Restart(N),
    Pause {
        node: N,
        duration: Duration,
    },
    #[serde(deserialize_with = "groups")]
    Partition(Vec<Vec<N>>),
    PartitionOneWay {
        #[serde(deserialize_with = "some_nodes")]
        from: Vec<N>,
        #[serde(deserialize_with = "some_nodes")]
        to: Vec<N>,
    },
    Heal,
    SetLoss(Probability),
    SetDuplicate(Probability),
    SetLatency(Latency),
    ClockJump {
        node: N,
        by: SignedDuration,
    },
    ClockDrift {
        node: N,
        ppm: Ppm,
    },
}

/// A partition's groups: at least one, none of them empty (nodes in no group form one).
fn groups<'de, D, N>(d: D) -> Result<Vec<Vec<N>>, D::Error>
where
    D: serde::Deserializer<'de>,
    N: Deserialize<'de>,
{
    let groups = Vec::<Vec<N>>::deserialize(d)?;
    if groups.is_empty() || groups.iter().any(Vec::is_empty) {
        return Err(serde::de::Error::custom(
            "a partition lists one group of nodes or more, none of them empty (nodes it does \
             not list form a group of their own), e.g. Partition([[\"n0\"], [\"n1\", \"n2\"]])",
        ));
    }
    Ok(groups)
}

/// One node or more.
fn some_nodes<'de, D, N>(d: D) -> Result<Vec<N>, D::Error>
where
    D: serde::Deserializer<'de>,
    N: Deserialize<'de>,
{
    let nodes = Vec::<N>::deserialize(d)?;
    if nodes.is_empty() {
        return Err(serde::de::Error::custom("expected one node or more"));
    }
    Ok(nodes)
}

impl<N> Fault<N> {
    /// The same fault with its nodes renamed (names to ids, or ids to names).
    pub fn map_nodes<M, E>(&self, mut f: impl FnMut(&N) -> Result<M, E>) -> Result<Fault<M>, E> {
        let mut all = |v: &Vec<N>| v.iter().map(&mut f).collect::<Result<Vec<M>, E>>();
        Ok(match self {
            Fault::Crash(n) => Fault::Crash(f(n)?),
            Fault::Restart(n) => Fault::Restart(f(n)?),
            Fault::Pause { node, duration } => Fault::Pause {
                node: f(node)?,
                duration: *duration,
            },
            Fault::Partition(groups) => {
                Fault::Partition(groups.iter().map(&mut all).collect::<Result<_, E>>()?)
            }
            Fault::PartitionOneWay { from, to } => Fault::PartitionOneWay {
                from: all(from)?,
                to: all(to)?,
            },
            Fault::Heal => Fault::Heal,
            Fault::SetLoss(p) => Fault::SetLoss(*p),
            Fault::SetDuplicate(p) => Fault::SetDuplicate(*p),
            Fault::SetLatency(l) => Fault::SetLatency(l.clone()),
            Fault::ClockJump { node, by } => Fault::ClockJump {
                node: f(node)?,
                by: *by,
            },
            Fault::ClockDrift { node, ppm } => Fault::ClockDrift {
                node: f(node)?,
                ppm: *ppm,
            },
        })
    }

    /// A short name of the fault's kind, as the trace writes it.
    pub fn kind(&self) -> &'static str {
        match self {
            Fault::Crash(_) => "crash",
            Fault::Restart(_) => "restart",
            Fault::Pause { .. } => "pause",
            Fault::Partition(_) => "partition",
            Fault::PartitionOneWay { .. } => "partition_one_way",
            Fault::Heal => "heal",
            Fault::SetLoss(_) => "set_loss",
            Fault::SetDuplicate(_) => "set_duplicate",
            Fault::SetLatency(_) => "set_latency",
            Fault::ClockJump { .. } => "clock_jump",
            Fault::ClockDrift { .. } => "clock_drift",
        }
    }
}

impl Fault<NodeId> {
    /// A one-line description with node names, for people ("pause n2 for 500ms").
    pub fn describe(&self, names: &[String]) -> String {
        self.describe_by(|n| names[*n as usize].clone())
    }
}

impl<N> Fault<N> {
    /// A one-line description, with `name` saying what to call each node.
    pub fn describe_by(&self, name: impl Fn(&N) -> String) -> String {
        let list = |v: &Vec<N>| v.iter().map(&name).collect::<Vec<_>>().join(",");
        match self {
            Fault::Crash(n) => format!("crash {}", name(n)),
            Fault::Restart(n) => format!("restart {}", name(n)),
            Fault::Pause { node, duration } => format!("pause {} for {duration}", name(node)),
            Fault::Partition(groups) => format!(
                "partition {}",
                groups
                    .iter()
                    .map(|g| format!("[{}]", list(g)))
                    .collect::<Vec<_>>()
                    .join(" | ")
            ),
            Fault::PartitionOneWay { from, to } => {
                format!("partition one way [{}] -/-> [{}]", list(from), list(to))
            }
            Fault::Heal => "heal".to_string(),
            Fault::SetLoss(p) => format!("set loss {}", p.0),
            Fault::SetDuplicate(p) => format!("set duplicate {}", p.0),
            Fault::SetLatency(l) => format!("set latency {l:?}"),
            Fault::ClockJump { node, by } => {
                let sign = if by.0 < 0 { "-" } else { "+" };
                format!(
                    "clock jump {} by {sign}{}",
                    name(node),
                    format_ns(by.0.unsigned_abs())
                )
            }
            Fault::ClockDrift { node, ppm } => format!("clock drift {} {}ppm", name(node), ppm.0),
        }
    }
}

/// A fault at a virtual time, as a scenario's `faults` list gives it.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct TimedFault<N> {
    pub at: Duration,
    pub fault: Fault<N>,
}

/// Who injected a fault.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FaultOrigin {
    /// Listed in the scenario's schedule (or called through the simulation's verbs).
    Scheduled,
    /// Injected by the random nemesis.
    Nemesis,
}

/// A fault that was applied during a run: the concrete schedule.
#[derive(Clone, Debug, PartialEq)]
pub struct AppliedFault {
    pub at_ns: u64,
    pub fault: Fault<NodeId>,
    pub origin: FaultOrigin,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn map_nodes_renames_every_node_and_reports_the_first_failure() {
        let f: Fault<&str> = Fault::PartitionOneWay {
            from: vec!["a", "b"],
            to: vec!["c"],
        };
        let ids = f
            .map_nodes(|n| Ok::<_, String>(n.as_bytes()[0] as u32 - b'a' as u32))
            .unwrap();
        assert_eq!(
            ids,
            Fault::PartitionOneWay {
                from: vec![0, 1],
                to: vec![2]
            }
        );
        let err = Fault::Crash("zz").map_nodes(|n| Err::<u32, _>(format!("unknown {n}")));
        assert_eq!(err, Err("unknown zz".to_string()));
    }

    #[test]
    fn descriptions_name_nodes() {
        let names: Vec<String> = ["n0", "n1", "n2"].iter().map(|s| s.to_string()).collect();
        let pause = Fault::Pause {
            node: 2,
            duration: Duration::from_ms(500),
        };
        assert_eq!(pause.describe(&names), "pause n2 for 500ms");
        let p = Fault::Partition(vec![vec![0, 1], vec![2]]);
        assert_eq!(p.describe(&names), "partition [n0,n1] | [n2]");
        let j = Fault::ClockJump {
            node: 1,
            by: SignedDuration(-200_000_000),
        };
        assert_eq!(j.describe(&names), "clock jump n1 by -200ms");
    }
}
