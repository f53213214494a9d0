//! Protocols: what runs on the simulated nodes.
//!
//! A protocol names its nodes, builds them (at start and again after every crash), and
//! says which invariants it can check and which metrics it reports. Each protocol lives in
//! its own module; the naive designs of the seed article stay in as named baselines.

pub mod kv;
pub mod lock;
pub mod ping_pong;
pub mod two_pc;

use crate::checker::{Checker, Metrics};
use crate::node::Node;
use crate::NodeId;

/// A protocol the simulation can run.
pub trait Protocol {
    type Node: Node;

    /// The protocol's name, as scenario files write it.
    fn name(&self) -> &'static str;

    /// The cluster's node names; a node's id is its index here.
    fn node_names(&self) -> Vec<String>;

    /// A fresh node, with empty volatile state (at start, and after each crash).
    fn make_node(&self, id: NodeId) -> Self::Node;

    /// Every invariant this protocol can check, by name.
    fn invariant_names(&self) -> &'static [&'static str];

    /// The checker for one of [`invariant_names`](Self::invariant_names).
    fn checker(&self, name: &str) -> Option<Box<dyn Checker<Self::Node>>>;

    /// The protocol's metrics collector.
    fn metrics(&self) -> Box<dyn Metrics<Self::Node>>;
}
