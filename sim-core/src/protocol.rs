//! Protocols: what runs on the nodes.
//!
//! [`Protocol`] is what the [`Simulation`](crate::Simulation) runs: it names the nodes,
//! builds them (at start and after every crash), and hands out its checkers and metrics.
//! How a scenario file names and configures a protocol (its `ProtocolOptions`) and the
//! registry of protocols a program knows are the `scenario` crate's, which has a complete
//! small example.

use crate::checker::{Checker, Metrics, NoMetrics};
use crate::node::Node;
use crate::NodeId;

/// A protocol the simulation can run.
pub trait Protocol {
    type Node: Node;

    /// The protocol's name, for people (the trace, error messages).
    fn name(&self) -> &'static str;

    /// The cluster's node names; a node's id is its index here.
    fn node_names(&self) -> Vec<String>;

    /// A fresh node, with empty volatile state (at start, and after each crash).
    fn make_node(&self, id: NodeId) -> Self::Node;

    /// Every invariant this protocol can check, by name. None by default.
    fn invariant_names(&self) -> &'static [&'static str] {
        &[]
    }

    /// The checker for one of [`invariant_names`](Self::invariant_names).
    fn checker(&self, _name: &str) -> Option<Box<dyn Checker<Self::Node>>> {
        None
    }

    /// The protocol's metrics collector. None by default.
    fn metrics(&self) -> Box<dyn Metrics<Self::Node>> {
        Box::new(NoMetrics)
    }
}
