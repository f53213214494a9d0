//! Protocols: what runs on the nodes, and how a scenario file names and configures it.
//!
//! Two traits and a registry:
//!
//! - [`Protocol`] is what the [`Simulation`](crate::Simulation) runs: it names the nodes,
//!   builds them (at start and after every crash), and hands out its checkers and metrics.
//! - [`ProtocolOptions`](crate::ProtocolOptions) is a protocol's section of a scenario file, `Name(field: value,
//!   ...)`: the name files write, the fields (any `serde` type; its own checks run while the
//!   file is parsed, so a bad value is reported at its line and column), and how to build
//!   the [`Protocol`]. Optional hooks tell the shrinker how to make the cluster smaller.
//!   It lives with the scenario format, in [`scenario::section`](crate::scenario::section).
//! - A [`Registry`](crate::Registry) lists the protocols a program knows; the scenario parser dispatches on
//!   it, and every `dsim` command works on whatever it holds
//!   ([`scenario::registry`](crate::scenario::registry)).
//!
//! ```
//! use serde::{Deserialize, Serialize};
//! use sim_core::{Protocol, ProtocolOptions, Registry};
//! use sim_core::{Context, Node, NodeId, TimerId};
//!
//! /// `Echo(nodes: 3)`: node 0 says hello to everyone, who answer.
//! #[derive(Clone, Debug, Serialize, Deserialize)]
//! #[serde(deny_unknown_fields)]
//! struct EchoOptions {
//!     nodes: u32,
//! }
//!
//! struct Echo(u32);
//! struct EchoNode;
//!
//! impl Node for EchoNode {
//!     type Message = u64;
//!     type Observation = ();
//!     type Record = ();
//!     type Timer = u64;
//!     fn on_start(&mut self, ctx: &mut Context<'_, Self>) {
//!         if ctx.id() == 0 {
//!             for peer in 1..ctx.node_count() {
//!                 ctx.send(peer, 0);
//!             }
//!         }
//!     }
//!     fn on_message(&mut self, ctx: &mut Context<'_, Self>, from: NodeId, msg: u64) {
//!         if msg == 0 {
//!             ctx.send(from, 1);
//!         }
//!     }
//!     fn on_timer(&mut self, _: &mut Context<'_, Self>, _: TimerId, _: u64) {}
//! }
//!
//! impl Protocol for Echo {
//!     type Node = EchoNode;
//!     fn name(&self) -> &'static str {
//!         "echo"
//!     }
//!     fn node_names(&self) -> Vec<String> {
//!         (0..self.0).map(|i| format!("e{i}")).collect()
//!     }
//!     fn make_node(&self, _id: NodeId) -> EchoNode {
//!         EchoNode
//!     }
//! }
//!
//! impl ProtocolOptions for EchoOptions {
//!     const NAME: &'static str = "Echo";
//!     type Protocol = Echo;
//!     fn build(&self) -> Echo {
//!         Echo(self.nodes)
//!     }
//! }
//!
//! let registry = Registry::new().with::<EchoOptions>();
//! let scenario = registry
//!     .parse("echo.ron", r#"(name: "echo", limits: (time: "1s"), protocol: Echo(nodes: 3))"#)
//!     .unwrap();
//! assert_eq!(scenario.names, ["e0", "e1", "e2"]);
//! assert_eq!(scenario.run(1, None).messages.delivered, 4);
//!
//! let typo = registry.parse("t.ron", r#"(name: "t", limits: (time: "1s"), protocol: Ecko(nodes: 3))"#);
//! assert!(typo.unwrap_err().to_string().contains("did you mean `Echo`?"));
//! ```

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
