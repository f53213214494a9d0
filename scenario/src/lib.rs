//! # scenario: dsim's scenario language, and the shrinker
//!
//! Scenario files: a cluster, a workload and a fault schedule, in RON.
//!
//! A file is parsed twice. The first pass checks syntax, field names and every value that
//! can be judged on its own (durations, probabilities, ranges); the protocol section then
//! tells which nodes and invariants exist. The second pass checks every node and invariant
//! name against those, so an unknown node in the fault schedule is reported at its own line
//! and column, like any other mistake. See `docs/scenario-format.md` for every field.

//!
//! ## The parts, by file
//!
//! | file | what |
//! |---|---|
//! | `file` | a whole file's parts ([`Scenario`]), and a checked one ready to run ([`LoadedScenario`]) |
//! | `section` | a protocol's own section of a file: the [`ProtocolOptions`] trait, its knobs and [`Family`]s the shrinker cuts |
//! | `registry` | the protocols a program knows, which the parser dispatches on ([`Registry`]) |
//! | `types` | values that check themselves while read: [`NodeName`], [`InvariantName`], [`positive_duration`] |
//! | `link` | a per-link override ([`LinkOverrideSpec`]) |
//! | `error` | a [`ScenarioError`]: file, line, column, and what is wrong |
//! | `syntax` | the RON options every reader and writer uses |
//! | `write` | a scenario written back as RON ([`to_ron`]) |
//! | [`shrink`] | the shrinker: the smallest scenario that still fails the same way |
//!
//! ## A protocol as a section of scenario files
//!
//! A protocol's [`ProtocolOptions`] are its section of a file, `Name(field: value, ...)`:
//! the name files write, the fields (any `serde` type; its own checks run while the file is
//! parsed, so a bad value is reported at its line and column), and how to build the
//! engine's `Protocol`. Optional hooks tell the shrinker how to make the cluster smaller.
//! A [`Registry`] lists the protocols a program knows; the parser dispatches on it, and
//! every `dsim` command works on whatever it holds.
//!
//! ```
//! use serde::{Deserialize, Serialize};
//! use scenario::{ProtocolOptions, Registry};
//! use sim_core::{Context, Node, NodeId, Protocol, TimerId};
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

mod error;
mod file;
mod link;
mod registry;
mod section;
pub mod shrink;
mod syntax;
#[cfg(test)]
mod testing;
mod types;
mod write;

pub use error::ScenarioError;
pub use file::{
    ClockSpec, Expect, Limits, LoadedScenario, NetworkSpec, Scenario, EVENTS_MAX_DEFAULT,
};
pub use link::LinkOverrideSpec;
pub use registry::Registry;
pub use section::{fewer, knob, smaller_numbers, Family, ProtocolOptions, ProtocolSection};
pub use types::{
    at_most, edit_distance, positive_duration, some_positive, suggest, InvariantName, NodeName,
};
pub use write::to_ron;
