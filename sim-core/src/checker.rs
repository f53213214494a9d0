//! How invariants and metrics watch a run.
//!
//! Checkers do not poll node state after every event (that would cost O(nodes) per event).
//! They are told what matters, when it happens: the observations nodes report through
//! [`Context::observe`](crate::Context::observe), the lifecycle of each node (crash,
//! restart, pause, resume), and a last look at the whole cluster when the run ends. A
//! checker that finds a violation says so at once; the run stops there, at a virtual time
//! a replay reproduces exactly.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::node::Node;
use crate::storage::Storage;
use crate::NodeId;

/// A node's lifecycle, as the simulation tells checkers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lifecycle {
    Crashed,
    Restarted,
    Paused,
    Resumed,
}

/// A broken invariant.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Violation {
    pub invariant: String,
    pub time_ns: u64,
    pub node: Option<String>,
    pub message: String,
}

/// Read access to every node at the end of a run.
pub trait ClusterView<N: Node> {
    fn len(&self) -> usize;
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    fn name(&self, node: NodeId) -> &str;
    /// The node's volatile state, or `None` while it is down.
    fn node(&self, node: NodeId) -> Option<&N>;
    fn storage(&self, node: NodeId) -> &Storage<N::Record>;
    /// The network's message counters so far.
    fn messages(&self) -> crate::network::MessageStats;
    /// Messages sent but not yet handled, as (from, to, message): on the wire, or waiting
    /// in a paused node's socket buffer. An end-of-run check must not judge what they
    /// would still change.
    fn in_flight(&self) -> Vec<(NodeId, NodeId, &N::Message)>;
    /// What clients recorded through [`Context::append_history`](crate::Context::append_history), in
    /// order, stamped with virtual time.
    fn history(&self) -> &[linearizability::Entry];
}

/// An invariant: watches a run and says when it breaks.
pub trait Checker<N: Node> {
    /// The name a scenario's `invariants` list uses.
    fn name(&self) -> &'static str;

    /// False for a checker that never looks at observations (one that judges the
    /// history or the cluster at the end, say). When no checker and no metric looks at
    /// them and no trace is written, [`Context::observe`] drops them at once and the run
    /// pays nothing for them.
    ///
    /// [`Context::observe`]: crate::Context::observe
    fn wants_observations(&self) -> bool {
        true
    }

    /// A node reported `observation` at virtual time `now_ns`. `Err` is a violation.
    fn on_observation(
        &mut self,
        _now_ns: u64,
        _node: NodeId,
        _observation: &N::Observation,
    ) -> Result<(), String> {
        Ok(())
    }

    /// A node crashed, restarted, paused or resumed.
    fn on_lifecycle(&mut self, _now_ns: u64, _node: NodeId, _event: Lifecycle) {}

    /// A fault was applied (scheduled or by the nemesis), so a checker can say which
    /// partition or clock jump stood between two events it reports.
    fn on_fault(&mut self, _now_ns: u64, _fault: &crate::faults::Fault<NodeId>) {}

    /// The run ended (time or event limit, or nothing left to do) without a violation.
    fn on_finish(&mut self, _now_ns: u64, _cluster: &dyn ClusterView<N>) -> Result<(), String> {
        Ok(())
    }
}

/// A protocol's metrics: watches a run and reports numbers at its end.
pub trait Metrics<N: Node> {
    /// False for metrics that never look at observations (see [`Checker::wants_observations`]).
    fn wants_observations(&self) -> bool {
        true
    }
    fn on_observation(&mut self, _now_ns: u64, _node: NodeId, _observation: &N::Observation) {}
    fn on_lifecycle(&mut self, _now_ns: u64, _node: NodeId, _event: Lifecycle) {}
    fn report(
        &self,
        end_ns: u64,
        cluster: &dyn ClusterView<N>,
    ) -> BTreeMap<String, serde_json::Value>;
}

/// Metrics for a protocol that reports none.
pub struct NoMetrics;

impl<N: Node> Metrics<N> for NoMetrics {
    fn wants_observations(&self) -> bool {
        false
    }
    fn report(&self, _: u64, _: &dyn ClusterView<N>) -> BTreeMap<String, serde_json::Value> {
        BTreeMap::new()
    }
}
