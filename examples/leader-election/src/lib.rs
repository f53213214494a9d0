//! Heartbeat leader election, brought to dsim as a user's own protocol.
//!
//! Nodes `n0` … elect a leader by terms and votes, as Raft does (Ongaro and Ousterhout
//! 2014, §5.2): a follower that hears no heartbeat for a random election timeout (on its
//! own clock) starts the next term, votes for itself and asks the others; a node grants
//! one vote per term, to the first candidate that asks; a candidate with a majority of
//! votes leads, and sends heartbeats that keep the others followers. A node that sees a
//! higher term adopts it. Candidates ask again, every heartbeat interval, those who have
//! not granted their vote, so a lost request or a restarted voter does not stall the
//! election.
//!
//! **The invariant** (`election_safety`, in [`election_safety`]): at most one leader per
//! term. It rests on two things: majorities intersect, and a node never votes twice in a
//! term, even across a crash. The second is why the term and the vote are synced to disk
//! before a vote is granted.
//!
//! **The design flaw behind an option**: `persist_vote: false` keeps the term and the
//! vote in memory only, as an implementation that "optimises away" the fsync might. A
//! voter that crashes and restarts has forgotten whom it voted for, votes again in the same
//! term, and two candidates can both win it. `scenarios/election-forgetful.ron` turns the
//! flaw on; a sweep finds it and `election shrink` reduces it to the crashes and restarts
//! of the voters that forgot.
//!
//! The crate uses only the public APIs of `sim-core` and `dsim`: it is what a user writes.

pub mod election_safety;
pub mod metrics;
pub mod node;

use scenario::ProtocolOptions;
use scenario::{knob, Family};
use serde::{Deserialize, Serialize};
use sim_core::Duration;
use sim_core::NodeId;
use sim_core::Protocol;
use sim_core::{Checker, Metrics};

pub use node::ElectionNode;

/// The `Election(...)` section of a scenario.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, try_from = "ElectionSpec")]
pub struct ElectionOptions {
    /// Cluster size; nodes are named n0, n1, ….
    pub nodes: u32,
    /// A follower waits a random time in [min, max] (its own clock) for a heartbeat
    /// before it starts an election.
    pub election_timeout_min: Duration,
    pub election_timeout_max: Duration,
    /// How often a leader sends heartbeats and a candidate asks again.
    pub heartbeat_interval: Duration,
    /// Sync the term and the vote to disk before granting a vote. `false` is the flaw.
    pub persist_vote: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ElectionSpec {
    nodes: u32,
    #[serde(default = "default_timeout_min")]
    election_timeout_min: Duration,
    #[serde(default = "default_timeout_max")]
    election_timeout_max: Duration,
    #[serde(default = "default_heartbeat")]
    heartbeat_interval: Duration,
    #[serde(default = "default_persist")]
    persist_vote: bool,
}

fn default_timeout_min() -> Duration {
    Duration::from_ms(150)
}
fn default_timeout_max() -> Duration {
    Duration::from_ms(300)
}
fn default_heartbeat() -> Duration {
    Duration::from_ms(50)
}
fn default_persist() -> bool {
    true
}

/// What is wrong with a spec; the message is reported at the section's line and column.
impl TryFrom<ElectionSpec> for ElectionOptions {
    type Error = String;
    fn try_from(s: ElectionSpec) -> Result<Self, String> {
        if !(1..=1000).contains(&s.nodes) {
            return Err(format!("nodes must be between 1 and 1000, got {}", s.nodes));
        }
        if s.heartbeat_interval.0 == 0 {
            return Err("heartbeat_interval must be longer than zero".into());
        }
        if s.election_timeout_min > s.election_timeout_max {
            return Err(format!(
                "election_timeout_min ({}) is longer than election_timeout_max ({})",
                s.election_timeout_min, s.election_timeout_max
            ));
        }
        if s.election_timeout_min <= s.heartbeat_interval {
            return Err(format!(
                "election_timeout_min ({}) must be longer than heartbeat_interval ({}), or \
                 followers time out between heartbeats",
                s.election_timeout_min, s.heartbeat_interval
            ));
        }
        Ok(ElectionOptions {
            nodes: s.nodes,
            election_timeout_min: s.election_timeout_min,
            election_timeout_max: s.election_timeout_max,
            heartbeat_interval: s.heartbeat_interval,
            persist_vote: s.persist_vote,
        })
    }
}

/// Every invariant a scenario may name.
pub const INVARIANTS: &[&str] = &["election_safety"];

impl ProtocolOptions for ElectionOptions {
    const NAME: &'static str = "Election";
    type Protocol = Election;

    fn build(&self) -> Election {
        Election {
            options: self.clone(),
        }
    }

    // Optional: the shrinker would find `nodes` by itself, but it would not know that a
    // node can be removed from the middle of the family.
    fn smaller(&self) -> Vec<Vec<(String, Self)>> {
        vec![knob(self, "nodes", self.nodes, 1, |o, v| o.nodes = v)]
    }

    fn families(&self) -> Vec<Family<Self>> {
        vec![Family::of(self, "n", self.nodes, 1, |o, n| o.nodes = n)]
    }
}

/// The protocol: builds nodes and hands out the checker and the metrics.
pub struct Election {
    options: ElectionOptions,
}

impl Election {
    fn names(&self) -> Vec<String> {
        (0..self.options.nodes).map(|i| format!("n{i}")).collect()
    }
}

impl Protocol for Election {
    type Node = ElectionNode;

    fn name(&self) -> &'static str {
        "election"
    }

    fn node_names(&self) -> Vec<String> {
        self.names()
    }

    fn make_node(&self, _id: NodeId) -> ElectionNode {
        ElectionNode::new(self.options.clone())
    }

    fn invariant_names(&self) -> &'static [&'static str] {
        INVARIANTS
    }

    fn checker(&self, name: &str) -> Option<Box<dyn Checker<ElectionNode>>> {
        match name {
            "election_safety" => Some(Box::new(election_safety::ElectionSafety::new(self.names()))),
            _ => None,
        }
    }

    fn metrics(&self) -> Box<dyn Metrics<ElectionNode>> {
        Box::new(metrics::ElectionMetrics::default())
    }
}
