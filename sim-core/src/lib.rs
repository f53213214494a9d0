//! # sim-core: the engine of dsim
//!
//! dsim runs distributed protocols as simulated nodes inside one single-threaded event
//! loop, with a seeded virtual clock and a lossy virtual network, so that any partition,
//! crash, pause or message-loss schedule reproduces exactly from its seed.
//!
//! ## The parts, by file
//!
//! | file | stands in for |
//! |---|---|
//! | [`simulation`] | the world: event loop, virtual time, the verbs `crash`, `partition`, … |
//! | [`event_queue`] | the scheduler: pending events, earliest first, ties in order; a timing wheel for the near ones |
//! | `radix_heap` | the scheduler's store for events beyond the wheel (or all of them, when the wheel does not pay) |
//! | `due_run` | the scheduler's earliest events, in order, that both stores fill |
//! | `ring_buffer` | the scheduler's buffers, written without a call that would take the event by reference |
//! | `prefetch` | the hint that brings upcoming nodes and events into cache |
//! | [`node`] | a process: the sans-IO [`Node`] trait and its [`Context`] |
//! | `timers` | the kernel's timer list: what each armed timer carries, by [`TimerId`] |
//! | [`network`] | the network: latency, loss, duplication, partitions ("packet simulator") |
//! | [`storage`] | a disk: durable writes that survive a crash only once synced |
//! | [`time`] | clocks: durations, and each node's drifting, jumping local clock |
//! | [`faults`] | the fault model: crash, restart, pause, partition, heal, clock faults |
//! | [`nemesis`] | the random nemesis: faults drawn from the seed |
//! | [`random`] | randomness: one ChaCha stream per purpose |
//! | [`fingerprint`] | the run fingerprint: a fixed hash of the event sequence |
//! | [`trace`] | the JSON Lines trace |
//! | [`names`] | node names, packed |
//! | [`checker`] | invariants and metrics: what watches a run |
//! | [`linearizability`] | the linearizability checker and its sequential models |
//! | [`protocol`] | what runs on the nodes: the [`Protocol`] trait |
//! | [`scenario`] | RON scenario files, read and written; a protocol's section of them ([`ProtocolOptions`]), and the [`Registry`] of protocols the parser dispatches on |
//! | [`shrink`] | the shrinker: the smallest scenario that still fails the same way |
//!
//! ## Writing a node
//!
//! A node reacts to a start, a message, a timer or a restart, and acts only through its
//! context. Here is a node that echoes every message back:
//!
//! ```
//! use sim_core::{Context, Node, NodeId, TimerId};
//!
//! struct Echo;
//!
//! impl Node for Echo {
//!     type Message = u64;
//!     type Observation = ();
//!     type Record = ();
//!     type Timer = u64;
//!
//!     fn on_start(&mut self, ctx: &mut Context<'_, Self>) {
//!         if ctx.id() == 0 {
//!             ctx.send(1, 0);
//!         }
//!     }
//!     fn on_message(&mut self, ctx: &mut Context<'_, Self>, from: NodeId, msg: u64) {
//!         ctx.send(from, msg + 1);
//!     }
//!     fn on_timer(&mut self, _ctx: &mut Context<'_, Self>, _timer: TimerId, _tag: u64) {}
//! }
//! ```
//!
//! A [`Protocol`] names the nodes, builds them, and lists its invariants; [`Simulation`]
//! runs it. Its [`ProtocolOptions`] make it a section of scenario files, and a
//! [`Registry`] of them is what the scenario parser and every `dsim` command work on: the
//! [`protocol`] module has a complete small example, and `docs/own-protocol.md` walks
//! from an empty crate to a shrunk, diagrammed failing seed.
//!
//! The engine knows no protocol. dsim's own (ping-pong, the key-value cluster, the lock
//! service, atomic commitment) live in the `protocols` crate and use only this crate's
//! public API.
//!
//! ## Determinism
//!
//! Nothing that reaches the simulation reads the wall clock, spawns a thread, draws
//! unseeded randomness or iterates a hash table. Events due at the same nanosecond run in
//! the order they were scheduled. The same scenario, seed and dsim version give the same
//! fingerprint on every run and every machine.

pub mod checker;
mod due_run;
pub mod event_queue;
pub mod faults;
pub mod fingerprint;
pub mod linearizability;
pub mod names;
pub mod nemesis;
pub mod network;
pub mod node;
mod prefetch;
pub mod protocol;
mod radix_heap;
pub mod random;
mod ring_buffer;
pub mod scenario;
pub mod shrink;
pub mod simulation;
pub mod storage;
#[cfg(test)]
mod testing;
pub mod time;
mod timers;
pub mod trace;

pub use checker::{Checker, ClusterView, Lifecycle, Metrics, Violation};
pub use faults::{AppliedFault, Fault, FaultOrigin, TimedFault};
pub use network::{Latency, LinkOptions, MessageStats};
pub use node::{Context, Node, NodeId, TimerId};
pub use protocol::Protocol;
pub use scenario::registry::Registry;
pub use scenario::section::{ProtocolOptions, ProtocolSection};
pub use scenario::{LoadedScenario, ScenarioError};
pub use simulation::{RunOutcome, SimOptions, Simulation, StopReason};
